"""The support desk: maria sets it up (a support channel for the tickets' private threads, a
staff channel for what staff see about the creator) and gives the Technical category its
helpers; ana opens a ticket about her gifts; sam of the helpers claims it, answers in the
thread and waits on ana (the clock stands still), whose answer ends the wait; sam closes it;
maria looks at the desk's numbers."""

from __future__ import annotations

from emulator.models import (
    BOT_DEFAULT,
    PRIVATE_THREAD,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Overwrite,
)

TITLE = "Support desk"
MANAGE_THREADS = 1 << 34  # Discord's Manage Threads permission bit


async def play(demo) -> None:
    emu, guild = demo.emu, demo.guild
    maria, ana = demo.people["maria"], demo.person("ana")
    demo.narrate("an admin lets Familia manage threads and makes the desk's channels and role")
    emu.set_bot_permissions(guild, BOT_DEFAULT | MANAGE_THREADS)
    support = emu.create_channel(guild, "support")
    helpers = emu.create_role(guild, "Helpers")
    # what staff read about a creator stays with staff: private to the helpers (managers see
    # every channel as admins)
    staff = emu.create_channel(guild, "staff", overwrites=[
        Overwrite(guild.id, 0, deny=VIEW_CHANNEL),
        Overwrite(helpers.id, 0, allow=VIEW_CHANNEL | SEND_MESSAGES),
        Overwrite(emu.app.bot.id, 1, allow=VIEW_CHANNEL | SEND_MESSAGES)])
    sam = emu.create_user("sam")
    emu.add_member(guild, sam, [helpers])
    demo.people["sam"] = sam
    cached = demo.bot.get_guild(guild.id)
    await emu.wait_for(lambda: cached.get_member(sam.id) and cached.get_channel(staff.id)
                       and cached.get_role(helpers.id), 10.0, "the desk in the bot's cache")
    await demo.command(maria, "ticket", {"channel": support, "staff_channel": staff},
                       subcommand="setup")
    await demo.command(maria, "ticket", {"category": "technical", "role": helpers},
                       subcommand="category")
    demo.narrate("ana's gifts do not show on her LIVE; she asks for help")
    picker = await (await demo.command(ana, "ticket", subcommand="open")).wait_message()
    select_id = next(c for c in picker.custom_ids if c.startswith("familia:tk:pick:"))
    form = await demo.choose(ana, picker, select_id, ["technical"], "Technical")
    await demo.fill(ana, form, {"subject": "Gifts not showing",
                                "description": "Since yesterday my gifts do not show."})
    await demo.settled()
    [thread] = [c for c in emu.channels(guild, PRIVATE_THREAD) if c.parent_id == support.id]
    demo.narrate("a private thread: ana, her leader, the helpers; the context goes to staff")
    question = (await demo.wait_posts(thread))[0]
    await demo.wait_posts(staff)
    claim = next(c for c in question.custom_ids if c.startswith("familia:tk:claim:"))
    await demo.click(sam, question, claim, "Claim")
    answer = "The platform fixed it yesterday: restart the app, please."
    demo.narrate(f"sam answers in the thread: “{answer}”")
    emu.send_message(thread, sam, answer)
    demo.skip(thread)
    wait = next(c for c in question.custom_ids if c.startswith("familia:tk:wait:"))
    await demo.click(sam, question, wait, "Waiting on creator")
    await demo.settled()
    await demo.wait_posts(thread)
    reply = "Restarted: my gifts show again, thank you!"
    demo.narrate(f"ana answers in the thread: “{reply}”; the wait ends, the clock runs again")
    emu.send_message(thread, ana, reply)
    demo.skip(thread)
    close = next(c for c in question.custom_ids if c.startswith("familia:tk:close:"))
    reasons = await (await demo.click(sam, question, close, "Close")).wait_message()
    reason = next(c for c in reasons.custom_ids if c.startswith("familia:tk:reason:"))
    note = await demo.choose(sam, reasons, reason, ["resolved"], "Resolved")
    await demo.fill(sam, note, {"note": "Restarting the app brings the gifts back."})
    await demo.settled()
    await demo.wait_posts(thread)
    await demo.command(maria, "ticket", {"period": "7d"}, subcommand="stats")
