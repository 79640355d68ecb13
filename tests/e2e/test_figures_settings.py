"""/settings figures end to end: a manager decides whether leaders count in the figures; the
settings page says it, in English and Spanish, and only managers may change it."""

from __future__ import annotations


async def test_manager_chooses_whether_leaders_count(app):
    text = await app.reply(app.owner, "settings", subcommand="view")
    assert "Leaders and co-leaders count in the figures: on the days they stream" in text
    it = await app.run(app.owner, "settings", {"leaders": "never"}, subcommand="figures")
    text = await it.reply_text()
    assert it.ephemeral and text.startswith("✅ Saved.")
    assert "Leaders and co-leaders count in the figures: never" in text
    assert (await app.services.guilds.get(app.guild.id)).leaders_count == "never"
    text = await app.reply(app.owner, "settings", subcommand="view", locale="es-ES")
    assert "Líderes y colíderes cuentan en las cifras: nunca" in text


async def test_a_creator_cannot_change_who_counts(app):
    it = await app.run(app.user("ana"), "settings", {"leaders": "always"}, subcommand="figures")
    text = await it.reply_text()
    assert it.ephemeral and "Only program managers" in text
    assert (await app.services.guilds.get(app.guild.id)).leaders_count == "streaming"


async def test_the_option_is_localised(app):
    synced = app.emu.synced_commands()["settings"]
    figures = next(o for o in synced["options"] if o["name"] == "figures")
    assert figures["name_localizations"]["es-ES"] == "cifras"
    [leaders] = figures["options"]
    assert [c["value"] for c in leaders["choices"]] == ["streaming", "always", "never"]
