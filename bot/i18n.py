"""Translations: gettext catalogs (``locales/<lang>/*.po``) read with Babel.

English is the source language: msgids are the English text, so English needs no catalog.
Every ``.po`` file of a language is merged, so each feature can keep its own file.
"""

from __future__ import annotations

import gettext
from importlib import resources
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from bot.config import SUPPORTED_LOCALES

SOURCE_LOCALE = "en"


class Catalog(gettext.NullTranslations):
    """One language's messages, keyed by (context, msgid)."""

    def __init__(self, locale: str, messages: dict[tuple[str | None, str], Any]) -> None:
        super().__init__()
        self.locale = locale
        self.messages = messages

    def _lookup(self, context: str | None, msgid: str) -> Any:
        return self.messages.get((context, msgid))

    def gettext(self, message: str) -> str:
        found = self._lookup(None, message)
        return found if isinstance(found, str) and found else message

    def pgettext(self, context: str, message: str) -> str:
        found = self._lookup(context, message)
        return found if isinstance(found, str) and found else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.npgettext(None, msgid1, msgid2, n)

    def npgettext(self, context: str | None, msgid1: str, msgid2: str, n: int) -> str:
        found = self._lookup(context, msgid1)
        if isinstance(found, tuple | list) and all(found):
            # Spanish and English: two forms, singular for exactly one.
            return found[0] if n == 1 else found[1]
        return msgid1 if n == 1 else msgid2

    def has(self, msgid: str, context: str | None = None) -> bool:
        found = self._lookup(context, msgid)
        if isinstance(found, tuple | list):
            return all(found)
        return bool(found)


def load_catalogs(folder: Path | None = None) -> dict[str, Catalog]:
    """A catalog per supported locale (English empty: its msgids are the text)."""
    catalogs = {SOURCE_LOCALE: Catalog(SOURCE_LOCALE, {})}
    for locale in SUPPORTED_LOCALES:
        if locale == SOURCE_LOCALE:
            continue
        messages: dict[tuple[str | None, str], Any] = {}
        base = resources.files("locales") / locale if folder is None else folder / locale
        for entry in sorted(base.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".po"):
                continue
            with entry.open("rb") as handle:
                po = read_po(handle, locale=locale)
            for message in po:
                if not message.id or message.fuzzy:
                    continue
                key = message.id[0] if isinstance(message.id, tuple | list) else message.id
                messages[(message.context, key)] = message.string
        catalogs[locale] = Catalog(locale, messages)
    return catalogs


def normalise(locale: str | None) -> str | None:
    """``"es-419"`` → ``"es"``; unsupported or empty → None."""
    if not locale:
        return None
    short = str(locale).split("-")[0].split("_")[0].lower()
    return short if short in SUPPORTED_LOCALES else None


def pick_locale(chosen: str | None, discord_locale: str | None, guild_default: str) -> str:
    """Reply language: the member's choice, else their Discord locale, else the guild's."""
    return normalise(chosen) or normalise(discord_locale) or guild_default
