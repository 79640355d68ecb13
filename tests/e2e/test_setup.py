"""/setup end to end through the emulator: the wizard step by step (picks saved at once,
channels and a role created with the right permissions, the tier template, the first family,
the digest schedule), resuming where the manager stopped, /setup status with the permissions
Familia lacks and how to fix them, in English and Spanish, and nobody else pressing it."""

from __future__ import annotations

from typing import Any

from emulator import Overwrite
from emulator import models as m


def find(message, text: str) -> dict[str, Any]:
    """The component of ``message`` whose label or placeholder is ``text``."""
    for row in message.components:
        for item in row.get("components", []):
            if text in (item.get("label"), item.get("placeholder")):
                return item
    shown = [i.get("label") or i.get("placeholder")
             for r in message.components for i in r.get("components", [])]
    raise AssertionError(f"no {text!r} in {shown}")


async def settled(app, it):
    """Wait until the bot answered: a deferred update is followed by its edit."""
    await it.wait_response()
    await app.emu.wait_for(lambda: not it.awaiting_update or it.failed,
                           what="the wizard's update")
    return it


async def press(app, user, message, text: str):
    return await settled(app, await app.emu.click(user, message,
                                                  find(message, text)["custom_id"]))


async def pick(app, user, message, text: str, values: list[Any]):
    return await settled(app, await app.emu.select(user, message,
                                                   find(message, text)["custom_id"], values))


async def wizard(app, user=None, locale=None, **options):
    it = await app.run(user or app.owner, "setup", options, subcommand="start", locale=locale)
    return await it.wait_message()


def current(app, message):
    return app.emu.message(message.id)


async def test_wizard_walks_a_new_server_through_every_step(app):
    services, guild = app.services, app.guild
    ana = app.user("ana")
    message = await wizard(app)
    assert message.ephemeral and "step 1 of 7: Time zone and language" in message.content
    await pick(app, app.owner, message, "The program's time zone", ["America/Bogota"])
    message = current(app, message)
    assert "Saved." in message.content and "`America/Bogota`" in message.content
    assert (await services.guilds.get(guild.id)).timezone == "America/Bogota"
    await press(app, app.owner, message, "Next")
    message = current(app, message)
    assert "step 2 of 7: Manager role" in message.content
    await press(app, app.owner, message, "Create a manager role")
    message = current(app, message)
    role = app.emu.role_by_name(guild, "Program managers")
    assert role is not None and (await services.guilds.get(guild.id)).manager_role_id == role.id
    await press(app, app.owner, message, "Next")
    message = current(app, message)
    assert "step 3 of 7: Channels" in message.content
    general = app.emu.channel_by_name(guild, "general")
    await pick(app, app.owner, message, "Announcements", [general])
    await press(app, app.owner, current(app, message), "Create the missing channels")
    channels = (await services.guilds.get(guild.id)).channels
    assert channels["announcements"] == general.id
    log = app.emu.channel_by_name(guild, "managers-log")
    category = app.emu.channel_by_name(guild, "Families")
    assert channels["managers"] == log.id and channels["family_category"] == category.id
    assert category.type == m.CATEGORY
    # the managers' log is private: a creator cannot see it, a manager can
    assert not app.emu.can_view(guild, ana, log)
    assert app.emu.can_view(guild, app.user("mia", roles=[role]), log)
    message = current(app, message)
    assert "Familia has every permission" in message.content
    await press(app, app.owner, message, "Next")
    message = current(app, message)
    assert "step 4 of 7: Support desk" in message.content
    await press(app, app.owner, message, "Create the missing channels")
    desk = await services.tickets.settings(guild.id)
    assert desk is not None
    assert desk.support_channel_id == app.emu.channel_by_name(guild, "support").id
    staff = app.emu.channel(desk.staff_channel_id)
    assert not app.emu.can_view(guild, ana, staff)
    await press(app, app.owner, current(app, message), "Next")
    message = current(app, message)
    assert "step 5 of 7: Tiers" in message.content and "3,000 diamonds" in message.content
    await press(app, app.owner, message, "Use the three-tier template")
    tiers = await services.tiers.list_tiers(guild.id)
    assert [(t.name, t.rank) for t in tiers] == [("Rising", 1), ("Established", 2),
                                                  ("Star", 3)]
    message = current(app, message)
    assert find(message, "Use the three-tier template").get("disabled")
    await press(app, app.owner, message, "Next")
    message = current(app, message)
    assert "step 6 of 7: First family" in message.content
    leader = app.user("leo")
    it = await pick(app, app.owner, message, "Who leads the first family?", [leader])
    await settled(app, await it.submit({"name": "Lobos"}))
    family = (await services.families.list_families(guild.id))[0]
    assert family.name == "Lobos" and family.leader_user_id == leader.id
    assert family.channel_id and app.emu.channel(family.channel_id).parent_id == category.id
    message = current(app, message)
    assert "1 family" in message.content
    await press(app, app.owner, message, "Next")
    message = current(app, message)
    assert "step 7 of 7: Email schedule" in message.content
    await pick(app, app.owner, message, "The day weekly digests go out", ["4"])
    await pick(app, app.owner, current(app, message), "The hour, in each person's time zone",
               ["18"])
    assert (await services.setup.status(guild.id)).schedule == (4, 18)
    await press(app, app.owner, current(app, message), "Finish")
    message = current(app, message)
    assert "the end" in message.content and not message.components
    assert "Everything is set up" in message.content
    text = await app.reply(app.owner, "setup", subcommand="status")
    assert text.count("✅") >= 8 and "⬜" not in text


async def test_wizard_resumes_and_changes_only_what_is_changed(app):
    services, guild = app.services, app.guild
    await services.guilds.set_timezone(guild.id, app.owner.id, "America/Lima")
    message = await wizard(app)
    await press(app, app.owner, message, "Skip")  # basics skipped: the zone stays
    await press(app, app.owner, current(app, message), "Skip")  # no manager role
    assert (await services.guilds.get(guild.id)).timezone == "America/Lima"
    again = await wizard(app)  # resumes at the first step neither done nor skipped
    assert "step 3 of 7: Channels" in again.content
    earlier = await wizard(app, step="basics")
    assert "`America/Lima`" in earlier.content
    status = await app.reply(app.owner, "setup", subcommand="status")
    assert "⏭️ **Manager role**" in status and "skipped; set it with /settings manager-role" \
        in status
    assert "⬜ **Channels**" in status and "/settings channel" in status
    assert (await services.guilds.get(guild.id)).timezone == "America/Lima"


async def test_status_names_missing_permissions_and_the_fix_in_spanish(app):
    guild = app.guild
    bot_id = app.emu.app.bot.id
    muted = app.emu.create_channel(guild, "anuncios", overwrites=[
        Overwrite(bot_id, 1, deny=m.SEND_MESSAGES)])
    await app.emu.wait_for(lambda: app.bot.get_channel(muted.id), what="the channel")
    # picking a channel Familia cannot post in is refused, nothing saved
    message = await wizard(app, step="channels", locale="es-419")
    assert "paso 3 de 7" in message.content
    it = await pick(app, app.owner, message, "Anuncios", [muted])
    refusal = await it.reply_text()
    assert "Send Messages" in refusal and f"<#{muted.id}>" in refusal
    assert "announcements" not in (await app.services.guilds.get(guild.id)).channels
    # set anyway through /settings: /setup status names what is missing and the fix
    await app.services.guilds.set_channel(guild.id, app.owner.id, "announcements", muted.id)
    text = await app.reply(app.owner, "setup", subcommand="status", locale="es-419")
    assert "Send Messages" in text and f"<#{muted.id}>" in text
    assert "Permisos" in text and "⬜" in text


async def test_only_managers_set_up_and_press(app):
    ana = app.user("ana")
    text = await app.reply(ana, "setup", subcommand="start")
    assert "Only program managers" in text
    message = await wizard(app)
    # the manager's message, pressed by someone else (a forged copy): refused, nothing saved
    it = await app.emu.select(ana, message, find(message, "The program's time zone")[
        "custom_id"], ["Europe/Madrid"])
    assert "Only program managers" in await it.reply_text()
    assert (await app.services.guilds.get(app.guild.id)).timezone == "UTC"


async def test_tier_template_never_replaces_tiers(app):
    await app.services.tiers.define(app.guild.id, app.owner.id, "Gold", 1, min_hours=10)
    message = await wizard(app, step="tiers")
    assert "1 tier already" in message.content
    assert find(message, "Use the three-tier template").get("disabled")
