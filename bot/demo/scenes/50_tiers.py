"""Tiers: the program's three tiers, and a fourth the manager adds for its top creators; the
sweep of last month previewed (only what changes), then applied; the promotions are
announced in the family channels."""

from __future__ import annotations

TITLE = "Tiers"


async def play(demo) -> None:
    maria, ana = demo.people["maria"], demo.person("ana")
    channels = await demo.family_channels()
    for channel in channels:
        demo.skip(channel)
    demo.narrate("a tier is reached in a month when every threshold it sets is met; the "
                 "program has had three since it began, and last month's sweep gave everyone "
                 "the highest they reached")
    await demo.command(ana, "tier", subcommand="list")
    demo.narrate("maria adds a fourth tier for the program's top creators")
    await demo.command(maria, "tier", {"name": "Diamond", "rank": 4, "hours": 120,
                                       "valid-days": 25}, subcommand="define")
    demo.narrate("the sweep reads last month's progress again; first a preview of what "
                 "changes, nothing is stored")
    await demo.command(maria, "tier", subcommand="sweep")
    await demo.command(maria, "tier", {"apply": True}, subcommand="sweep")
    await demo.settled()
    announced = [c for c in channels if demo.unseen(c)]
    for channel in announced[:2]:
        demo.posts(channel)
    if len(announced) > 2:
        demo.narrate(f"and so in {len(announced) - 2} more family channels")
