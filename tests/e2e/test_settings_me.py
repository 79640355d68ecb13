"""/settings and /me end to end through the emulator, in English and Spanish."""

from __future__ import annotations

import pytest


async def test_commands_are_synced_with_spanish_names(app):
    synced = app.emu.synced_commands()
    assert {"settings", "me"} <= set(synced)
    assert synced["settings"]["name_localizations"]["es-ES"] == "ajustes"
    view = next(o for o in synced["settings"]["options"] if o["name"] == "view")
    assert view["name_localizations"]["es-419"] == "ver"


async def test_manager_views_and_changes_settings(app):
    text = await app.reply(app.owner, "settings", subcommand="view")
    assert "Time zone: `UTC`" in text
    it = await app.run(app.owner, "settings", {"zone": "America/Mexico_City"},
                       subcommand="timezone")
    text = await it.reply_text()
    assert it.ephemeral
    assert text.startswith("✅ Saved.") and "`America/Mexico_City`" in text
    assert (await app.services.guilds.get(app.guild.id)).timezone == "America/Mexico_City"


async def test_timezone_autocomplete(app):
    choices = await app.emu.autocomplete(app.guild, app.owner, "settings", "zone", "bogo",
                                         subcommand="timezone")
    assert choices[0]["value"] == "America/Bogota"


async def test_unknown_timezone_is_refused_in_spanish(app):
    it = await app.run(app.owner, "settings", {"zone": "America/Mexico_Cty"},
                       subcommand="timezone", locale="es-419")
    text = await it.reply_text()
    assert it.ephemeral
    assert "No conozco la zona horaria" in text and "America/Mexico_City" in text
    assert (await app.services.guilds.get(app.guild.id)).timezone == "UTC"


async def test_creator_cannot_change_settings(app):
    ana = app.user("ana")
    it = await app.run(ana, "settings", {"language": "es"}, subcommand="language")
    text = await it.reply_text()
    assert it.ephemeral and "Only program managers" in text
    assert (await app.services.guilds.get(app.guild.id)).locale == "en"
    text = await app.reply(ana, "settings", subcommand="view", locale="es-ES")
    assert "Solo los gestores" in text


async def test_manager_role_grants_manager_commands(app):
    role = app.emu.create_role(app.guild, "Program managers")
    await app.reply(app.owner, "settings", {"role": role}, subcommand="manager-role")
    bea = app.user("bea", roles=[role])
    text = await app.reply(bea, "settings", subcommand="view")
    assert f"<@&{role.id}>" in text


async def test_channel_settings_check_the_kind(app):
    general = app.emu.channel_by_name(app.guild, "general")
    text = await app.reply(app.owner, "settings", {"purpose": "family_category",
                                                   "channel": general}, subcommand="channel")
    assert "need a category" in text
    text = await app.reply(app.owner, "settings", {"purpose": "announcements",
                                                   "channel": general}, subcommand="channel")
    assert f"<#{general.id}>" in text


async def test_guild_language_then_member_override(app):
    await app.reply(app.owner, "settings", {"language": "es"}, subcommand="language")
    ana = app.user("ana", locale="en-US")
    # Ana's Discord is English: that wins over the guild default.
    assert "Your preferences" in await app.reply(ana, "me", subcommand="view")
    text = await app.reply(ana, "me", {"language": "es"}, subcommand="language")
    assert "Tus preferencias" in text and "Idioma: Español" in text
    text = await app.reply(ana, "me", {"language": "auto"}, subcommand="language")
    assert "Your preferences" in text


@pytest.mark.parametrize("locale", ["en-US", "es-ES"])
async def test_me_timezone(app, locale):
    ana = app.user("ana", locale=locale)
    text = await app.reply(ana, "me", {"zone": "Asia/Jakarta"}, subcommand="timezone")
    assert "`Asia/Jakarta`" in text
    assert (await app.services.members.get(app.guild.id, ana.id)).timezone == "Asia/Jakarta"
    text = await app.reply(ana, "me", {"zone": "Nowhere/Land"}, subcommand="timezone")
    assert ("I don't know" in text) if locale == "en-US" else ("No conozco" in text)
    assert (await app.services.members.get(app.guild.id, ana.id)).timezone == "Asia/Jakarta"


async def test_unexpected_error_shows_a_code_and_logs_it(app, caplog, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(app.services.guilds, "set_locale", broken)
    text = await app.reply(app.owner, "settings", {"language": "es"}, subcommand="language")
    assert "Something went wrong" in text and "database on fire" not in text
    code = text.split("(code ")[1][:6]
    assert any(code in r.getMessage() and r.exc_info for r in caplog.records)


async def test_export_and_delete_my_data(app):
    ana = app.user("ana")
    await app.reply(ana, "me", {"zone": "Asia/Jakarta"}, subcommand="timezone")
    it = await app.run(ana, "me", subcommand="export")
    message = await it.wait_message()
    assert b"Asia/Jakarta" in message.attachments[0].data
    it = await app.run(ana, "me", subcommand="delete")
    prompt = await it.wait_message()
    confirm = await app.emu.click(ana, prompt, "familia:me:delete")
    assert "deleted" in await confirm.reply_text()
    assert await app.services.members.get(app.guild.id, ana.id) is None


async def test_one_log_line_per_command(app, caplog):
    caplog.set_level("INFO", logger="familia.commands")
    await app.reply(app.owner, "settings", subcommand="view")

    def lines():
        return [r.getMessage() for r in caplog.records if r.name == "familia.commands"]

    await app.emu.wait_for(lines, what="the command log line")
    lines = lines()
    assert len(lines) == 1
    assert f"guild={app.guild.id}" in lines[0] and "command=settings view" in lines[0]
    assert "outcome=ok" in lines[0] and "ms=" in lines[0]
