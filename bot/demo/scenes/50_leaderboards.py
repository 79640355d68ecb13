"""Two weeks of check-ins later: the weekly board with pages, a family against family board,
a creator's progress and tier pace, the leader's at-risk list, and the Monday post."""

from __future__ import annotations

from datetime import timedelta

from bot.services.families import AGREEMENT_VERSION

TITLE = "5 · Leaderboards and progress"
CREATORS = ("ana", "bruno", "carla", "diego", "elena", "fabio", "gala", "hugo", "ines",
            "joel", "kira", "leo")


async def _seed(demo) -> tuple:
    """Two families, twelve creators and two weeks of stats, written as check-ins do."""
    services, gid = demo.bot.services, demo.guild.id
    maria = demo.people["maria"]
    leaders = demo.person("rosa"), demo.person("tomas")
    teams = []
    for name, leader in zip(("Soles", "Lunas"), leaders, strict=True):
        teams.append(await services.families.create(gid, maria.id, name, leader.id))
    today = demo.bot.clock.now().date()
    for i, name in enumerate(CREATORS):
        user = demo.person(name)
        team = teams[0] if i < 9 else teams[1]  # a small family of three (and its leader)
        request = await services.families.request_join(gid, user.id, team.id,
                                                       AGREEMENT_VERSION)
        await services.families.decide(gid, team.leader_user_id, request.id, True)
        for back in range(14):
            day = today - timedelta(days=back)
            if (i + back) % 4 == 0:
                continue  # a rest day
            hours = round(1 + ((i * 7 + back * 3) % 9) / 2, 1)
            async with services.db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO checkins (guild_id, user_id, family_id, local_date, timezone,"
                    " hours, diamonds, followers, peak_viewers, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 'UTC', ?, ?, ?, 0, 'demo', 'demo')",
                    (gid, user.id, team.id, day.isoformat(), hours, int(hours * 310), i + 3))
                await services.progress.apply(tx, gid, user.id, day, None, {
                    "hours": hours, "diamonds": int(hours * 310), "followers": i + 3})
    await services.tiers.define(gid, maria.id, "Gold", 1, min_hours=90, min_diamonds=25000)
    return leaders, teams


async def play(demo) -> None:
    maria = demo.people["maria"]
    (rosa, _), _ = await _seed(demo)
    demo.narrate("two weeks of check-ins later (twelve creators in Soles and Lunas)")
    ana, leo = demo.person("ana"), demo.person("leo")
    board = await demo.command(leo, "leaderboard", subcommand="creators")
    message = await board.wait_message()
    following = next((c for c in message.custom_ids if c.startswith("familia:lb:")), None)
    if following:
        demo.narrate("the page buttons carry the board in their id: they work after a restart")
        await demo.click(leo, message, following, "Next ▶️")
    await demo.command(ana, "leaderboard", {"metric": "diamonds", "period": "all"},
                       subcommand="creators")
    demo.narrate("family against family: by average per member, so the small family can win")
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
