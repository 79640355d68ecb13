"""Command names and descriptions in every supported language, from the gettext catalogs.

Names (commands, groups, options) are looked up with the context ``"command"`` so that a
name like ``view`` does not collide with the same English word in prose.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.i18n import Catalog, normalise

NAME_PLACES = (Where.command_name, Where.group_name, Where.parameter_name)
NAME_CONTEXT = "command"


class FamiliaTranslator(app_commands.Translator):
    def __init__(self, catalogs: dict[str, Catalog]) -> None:
        self.catalogs = catalogs

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContext,
    ) -> str | None:
        lang = normalise(locale.value)
        if lang is None or lang == "en":
            return None
        catalog = self.catalogs[lang]
        source = string.message
        if context.location in NAME_PLACES:
            found = catalog.pgettext(NAME_CONTEXT, source)
        else:
            found = catalog.gettext(source)
        return None if found == source else found
