"""Every English message has a Spanish translation, with the same placeholders."""

import re

import pytest

from bot.i18n import load_catalogs, normalise, pick_locale
from bot.i18n_check import command_messages, missing, template_messages
from bot.runner import offline_tree

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
DISCORD_NAME = re.compile(r"^[-_\w]{1,32}$")


@pytest.fixture(scope="module")
def catalogs():
    return load_catalogs()


async def _all_messages():
    async with offline_tree() as tree:
        return template_messages() + await command_messages(tree)


async def test_every_message_has_a_spanish_translation(catalogs):
    lacking = missing(catalogs["es"], await _all_messages())
    assert not lacking, "untranslated (run `familia i18n missing`):\n" + "\n".join(
        f"{m.where}: {m.msgid}" for m in lacking
    )


async def test_translations_keep_placeholders_and_command_name_rules(catalogs):
    es = catalogs["es"]
    for message in await _all_messages():
        translated = (
            es.pgettext(message.context, message.msgid) if message.context
            else es.gettext(message.msgid)
        )
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(message.msgid)), (
            message.msgid
        )
        if message.context == "command":
            assert DISCORD_NAME.match(translated) and translated == translated.lower(), translated


def test_catalog_found_its_messages(catalogs):
    assert catalogs["es"].gettext("Saved.") == "Guardado."
    assert catalogs["es"].pgettext("command", "settings") == "ajustes"
    assert catalogs["en"].gettext("Saved.") == "Saved."


@pytest.mark.parametrize(
    ("chosen", "discord_locale", "guild", "expected"),
    [
        ("es", "en-US", "en", "es"),
        (None, "es-419", "en", "es"),
        (None, "es-ES", "en", "es"),
        (None, "fr", "es", "es"),
        (None, "en-GB", "es", "en"),
        (None, None, "en", "en"),
    ],
)
def test_reply_language_order(chosen, discord_locale, guild, expected):
    assert pick_locale(chosen, discord_locale, guild) == expected


def test_normalise():
    assert normalise("es-419") == "es"
    assert normalise("pt-BR") is None
    assert normalise("") is None


def test_templates_render_in_both_languages(templates):
    from bot.services.guilds import GuildSettings

    settings = GuildSettings(1, "America/Bogota", "es", 55, {"announcements": 9})
    en = templates.render("en", "discord/settings/view.md.j2", settings=settings, changed=None)
    es = templates.render("es", "discord/settings/view.md.j2", settings=settings, changed="x")
    assert "Time zone: `America/Bogota`" in en
    assert "Default language: Spanish" in en
    assert "<@&55>" in en and "<#9>" in en
    assert es.startswith("✅ Guardado.")
    assert "Zona horaria: `America/Bogota`" in es
    assert "Idioma predeterminado: Español" in es
