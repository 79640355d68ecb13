"""Tiers: a manager defines three, previews last month's sweep, applies it; the promotions
are announced in the family channels, and anyone can list the tiers."""

from __future__ import annotations

TITLE = "Tiers"


async def play(demo) -> None:
    maria, ana = demo.people["maria"], demo.person("ana")
    channels = [c for c in (demo.emu.channel_by_name(demo.guild, name)
                            for name in ("soles", "lunas")) if c is not None]
    for channel in channels:
        demo.skip(channel)
    demo.narrate("a tier is reached in a month when every threshold it sets is met")
    with demo.quietly():
        await demo.command(maria, "tier", {"name": "Bronze", "rank": 1, "hours": 40},
                           subcommand="define")
    demo.narrate("Bronze (rank 1: 40 hours a month) is defined the same way, then Silver and Gold")
    await demo.command(maria, "tier", {"name": "Silver", "rank": 2, "hours": 70,
                                       "valid-days": 20}, subcommand="define")
    await demo.command(maria, "tier", {"name": "Gold", "rank": 3, "hours": 90,
                                       "diamonds": 25000}, subcommand="define")
    demo.narrate("the sweep reads last month's progress; first a preview, nothing changes")
    await demo.command(maria, "tier", subcommand="sweep")
    await demo.command(maria, "tier", {"apply": True}, subcommand="sweep")
    for channel in channels:
        await demo.wait_posts(channel)
    await demo.command(ana, "tier", subcommand="list")
