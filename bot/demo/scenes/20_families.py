"""A manager creates a family; its new leader is asked by DM to accept the program agreement
and does; a creator asks to join, accepting it too; the leader approves in the family
channel, and her roster shows everyone has accepted."""

from __future__ import annotations

TITLE = "Families"


async def play(demo) -> None:
    maria, lucia = demo.people["maria"], demo.person("lucia", locale="es-419")
    sofia = demo.person("sofia")
    await demo.command(maria, "family", {"name": "Soles", "leader": sofia},
                       subcommand="create")
    channel = demo.emu.channel_by_name(demo.guild, "soles")
    if channel is not None:
        demo.narrate(f"a private channel #{channel.name} and a role now exist; only the "
                     "family, its leaders and managers can see the channel")
    demo.narrate("a manager cannot accept the program agreement for sofia: Familia asks her")
    await demo.emu.wait_for(lambda: demo.emu.dms(sofia), 5, "the agreement DM")
    for dm in demo.dms(sofia):
        accept = next((c for c in dm.custom_ids if c.startswith("familia:agree:")), None)
        if accept is not None:
            await demo.click(sofia, dm, accept, "I accept")
    asked = await demo.command(lucia, "family", {"family": "Soles"}, subcommand="join")
    message = await asked.wait_message()
    join_button = next((c for c in message.custom_ids if c.startswith("familia:join:")), None)
    if join_button is None or channel is None:
        return
    await demo.click(lucia, message, join_button, "accept the agreement and ask to join")
    posts = demo.posts(channel)
    request = next((p for p in posts if any(c.startswith("familia:req:y:")
                                            for c in p.custom_ids)), None)
    if request is None:
        return
    approve = next(c for c in request.custom_ids if c.startswith("familia:req:y:"))
    await demo.click(sofia, request, approve, "Approve")
    demo.posts(channel)
    demo.dms(lucia)
    await demo.command(sofia, "family", subcommand="roster")
