"""Paged lists: ◀️/▶️ buttons that outlive restarts and a "page 2 of 7" line.

A listing that can grow (a roster, the families, a history) shows one page
(:class:`bot.paging.Page`, offered by its service) and :func:`nav` draws its buttons. Each
listing has its own :class:`PageButton` subclass whose ``custom_id`` holds what the list is of
and the page to show (``"familia:pg:roster:{family_id}:{page}"``), and implements ``render``:
it reads the page again **re-checking guild, family and permission** from the interaction and
the database (a custom id is data, not authority) and returns the message and its buttons.

A click on an ephemeral list turns its page in place; on a posted one, the page goes to the
clicker alone. The template shows where the page is with ``position(page)`` of
``discord/pages.j2``.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.cogkit import guild_id
from bot.cogkit.buttons import PersistentButton
from bot.errors import NotAllowed
from bot.interactions import FamiliaView, edit, send
from bot.paging import Page

PAGES = "discord/pages.j2"
PAGE_MAX = 100_000  # no list has more pages (a page's offset must fit SQLite's integers)


class PageButton(PersistentButton):
    """◀️ or ▶️ of a paged list; a subclass names its ``custom_id`` (ending in ``{page}``)
    and implements :meth:`render`."""

    page: int

    async def admit(self, interaction: discord.Interaction) -> None:
        if self.page > PAGE_MAX:  # past any list's end: a forged id
            raise NotAllowed("common.not_allowed")
        await super().admit(interaction)

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        """The message of page ``self.page`` and its buttons, permission checked again."""
        raise NotImplementedError

    async def render_files(self, interaction: discord.Interaction
                           ) -> tuple[str, discord.ui.View | None, list[discord.File]]:
        """:meth:`render` with the files the page shows (a board's chart); none by default."""
        text, view = await self.render(interaction)
        return text, view, []

    async def run(self, interaction: discord.Interaction) -> None:
        guild_id(interaction)  # a page is of a guild's list: refused in a DM, before anything
        message = interaction.message
        in_place = message is not None and message.flags.ephemeral
        if in_place:
            await interaction.response.defer()
        else:  # a posted list: the next page is for the clicker only
            await interaction.response.defer(ephemeral=True, thinking=True)
        text, view, files = await self.render_files(interaction)
        if in_place:  # the page's files replace the old page's (a chart of the other page)
            await edit(interaction, text, attachments=files, view=view)
        else:
            await send(interaction, text, view=view, files=files)


def nav(bot: Any, locale: str, page: Page[Any], button: type[PageButton],
        **values: Any) -> discord.ui.View | None:
    """◀️/▶️ for ``page`` (none for a list of one page): ``button`` with ``values`` and the
    page number it turns to."""
    if not page.paged:
        return None
    view = FamiliaView(timeout=None)
    if page.has_prev:
        view.add_item(button(bot.templates.macro(locale, PAGES, "previous"), emoji="◀️",
                             page=page.number - 1, **values))
    if page.has_next:
        view.add_item(button(bot.templates.macro(locale, PAGES, "next"), emoji="▶️",
                             page=page.number + 1, **values))
    return view


