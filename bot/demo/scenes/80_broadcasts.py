"""A manager broadcasts to every family: a form, a private preview, Confirm, one post per
family channel (rosa's shown), a DM to the creator who opted in, and the delivery report."""

from __future__ import annotations

TITLE = "Broadcasts"
TEXT = ("Marathon weekend! Saturday from 18:00 every family goes live together.\n\n"
        "@everyone bring a friend — this ping will not notify anyone unless ticked.")


async def play(demo) -> None:
    maria = demo.people["maria"]
    ana = demo.person("ana")
    demo.narrate("ana wants broadcasts as direct messages too (off by default)")
    await demo.command(ana, "broadcast", {"enabled": True}, subcommand="optin")
    demo.narrate("a time in the past is refused, and nothing is stored")
    await demo.command(maria, "broadcast", {"audience": "all", "routes": "channel,dm",
                                            "at": "2020-01-01 10:00"}, subcommand="new")
    opened = await demo.command(maria, "broadcast", {"audience": "all", "routes": "channel,dm"},
                                subcommand="new")
    preview = await demo.fill(maria, opened, {"text": TEXT})
    head = await preview.wait_message()
    confirm = next(c for c in head.custom_ids if c.startswith("familia:bc:confirm:"))
    services = demo.bot.services
    _, ours = await demo.family_led_by(demo.person("rosa"))
    for channel in await demo.family_channels():
        demo.skip(channel)
    demo.narrate("nothing is sent until she confirms")
    await demo.click(maria, head, confirm, "Confirm and send")
    await demo.emu.wait_for(_finished(services), 20.0, "the broadcast to finish")
    if ours is not None:
        demo.narrate("in rosa's family channel, as in every other one:")
        demo.posts(ours)
    demo.dms(ana)
    await demo.command(maria, "broadcast", subcommand="report")


def _finished(services):
    async def check() -> bool:
        await services.broadcasts.finish()
        return not await services.db.fetchval(
            "SELECT count(*) FROM broadcasts WHERE state = 'sending'")
    return check
