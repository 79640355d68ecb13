"""Moving and leaving: a creator asks to move to another family and its leader approves; another
leaves, picking a reason; the leader's and the manager's /family stats count both."""

from __future__ import annotations

TITLE = "Moving and leaving"


async def play(demo) -> None:
    maria, rosa, tomas = demo.people["maria"], demo.person("rosa"), demo.person("tomas")
    carla, gala = demo.person("carla"), demo.person("gala")
    _, ours = await demo.family_led_by(rosa)
    theirs, other = await demo.family_led_by(tomas)
    if ours is None or other is None:
        demo.narrate("no family channels: the server was not seeded")
        return
    demo.skip(ours)
    demo.skip(other)
    await demo.command(carla, "family", {"family": theirs}, subcommand="transfer")
    posts = demo.posts(other)
    request = next((p for p in posts if any(c.startswith("familia:req:y:")
                                            for c in p.custom_ids)), None)
    if request is not None:
        approve = next(c for c in request.custom_ids if c.startswith("familia:req:y:"))
        await demo.click(tomas, request, approve, "Approve")
    asked = await demo.command(gala, "family", {"note": "Moving to another city"},
                               subcommand="leave")
    message = await asked.wait_message()
    menu = next((c for c in message.custom_ids if c.startswith("familia:leave:reason:")), None)
    if menu is not None:
        await demo.choose(gala, message, menu, ["personal"], "Personal reasons")
    await demo.wait_posts(ours)
    demo.narrate("the leader sees her family's last 30 days; the manager, the whole program")
    await demo.command(rosa, "family", subcommand="stats")
    await demo.command(maria, "family", subcommand="stats")
