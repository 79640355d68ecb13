"""The program's boards: the weekly board with pages, a family against family board, a
creator's progress and tier pace, the leader's at-risk list, and the Monday post."""

from __future__ import annotations

TITLE = "Leaderboards and progress"


async def play(demo) -> None:
    maria, rosa = demo.people["maria"], demo.person("rosa")
    ana, leo = demo.person("ana"), demo.person("leo")
    demo.narrate("the week's board of the whole program, ten a page, and where you stand")
    board = await demo.command(leo, "leaderboard", subcommand="creators")
    message = await board.wait_message()
    following = next((c for c in message.custom_ids if c.startswith("familia:lb:")), None)
    if following:
        demo.narrate("the page buttons carry the board in their id: they work after a restart")
        await demo.click(leo, message, following, "Next ▶️")
    await demo.command(ana, "leaderboard", {"metric": "diamonds", "period": "all"},
                       subcommand="creators")
    demo.narrate("family against family, by average per member so that a small family can win")
    await demo.command(ana, "leaderboard", subcommand="families")
    await demo.command(ana, "leaderboard", {"period": "custom", "from": "2026-03-09",
                                            "to": "2026-03-01"}, subcommand="creators")
    await demo.command(ana, "progress", subcommand="view")
    await demo.command(rosa, "progress", subcommand="risk")
    await demo.command(rosa, "progress", subcommand="family")
    channel = demo.emu.create_channel(demo.guild, "leaderboard")
    await demo.command(maria, "settings", {"purpose": "leaderboard", "channel": channel},
                       subcommand="channel")
    demo.narrate("Monday: the scheduled sweep posts last week's final board, once")
    cog = demo.bot.get_cog("Leaderboards")
    if cog is not None:
        await cog.sweep()
        await cog.sweep()
    demo.posts(channel)
