"""Discord's hard limits, enforced in one place on the send path.

Discord refuses a message over any of these (400, code 50035 "Invalid Form Body"), so a
template that grows later would turn an answer into an error. Every send goes through
:func:`fit_message` (``bot.interactions.send`` and ``edit`` for replies, follow-ups and
edits; the delivery sender for channel posts, DMs and their edits) and every autocomplete
through :func:`fit_choices`: what is too long is cut — a text at a line break with a
localised "… and N more", a list of fields or options after the last that fits — instead of
failing. Lists meant to be long are paged or split before (``bot.cogkit.pages``); this is the
net under them.

A view's 25 items in 5 rows of 5 are guarded by discord.py itself when the view is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot.text import cut, fit

CONTENT = 2000
EMBEDS = 10
EMBED_TOTAL = 6000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR = 256
ROWS = 5
ROW_ITEMS = 5
BUTTON_LABEL = 80
CUSTOM_ID = 100
SELECT_OPTIONS = 25
OPTION_TEXT = 100  # a select option's label, value and description
PLACEHOLDER = 150
CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100

MARKERS = "discord/pages.j2"
More = Callable[[int], str]
C = TypeVar("C", bound=app_commands.Choice[Any])


def marker(templates: Any, locale: str) -> More:
    """``more(n)``: "… and n more" in ``locale``."""
    return lambda n: templates.macro(locale, MARKERS, "more", n)


def fit_content(text: str, more: More) -> str:
    return fit(text, CONTENT, more)


def _embed_size(data: dict[str, Any]) -> int:
    return (len(data.get("title", "")) + len(data.get("description", ""))
            + sum(len(f.get("name", "")) + len(f.get("value", ""))
                  for f in data.get("fields", []))
            + len(data.get("footer", {}).get("text", ""))
            + len(data.get("author", {}).get("name", "")))


def fit_embeds(embeds: Sequence[discord.Embed], more: More) -> list[discord.Embed]:
    """At most 10 embeds, each field within its limit, 25 fields, 6,000 characters in all;
    fields left out are counted in the last description's "… and N more"."""
    datas: list[dict[str, Any]] = [dict(embed.to_dict()) for embed in embeds[:EMBEDS]]
    for data in datas:
        if "title" in data:
            data["title"] = cut(data["title"], EMBED_TITLE)
        if "description" in data:
            data["description"] = fit(data["description"], EMBED_DESCRIPTION, more)
        if "footer" in data and "text" in data["footer"]:
            data["footer"]["text"] = cut(data["footer"]["text"], FOOTER)
        if "author" in data and "name" in data["author"]:
            data["author"]["name"] = cut(data["author"]["name"], AUTHOR)
        fields = data.get("fields", [])
        dropped = max(0, len(fields) - EMBED_FIELDS)
        data["fields"] = [{**f, "name": cut(f.get("name", ""), FIELD_NAME),
                           "value": fit(f.get("value", ""), FIELD_VALUE, more)}
                          for f in fields[:EMBED_FIELDS]]
        if dropped:
            _note(data, more(dropped))
    while datas and sum(map(_embed_size, datas)) > EMBED_TOTAL:
        last = datas[-1]
        over = sum(map(_embed_size, datas)) - EMBED_TOTAL
        if last.get("fields"):
            left = len(last["fields"]) - 1
            last["fields"] = last["fields"][:-1]
            if not left:
                _note(last, more(1))
        elif len(last.get("description", "")) > over + 40:
            last["description"] = fit(last["description"],
                                      len(last["description"]) - over, more)
        else:
            datas.pop()
    return [discord.Embed.from_dict(data) for data in datas]


def _note(data: dict[str, Any], text: str) -> None:
    footer = data.setdefault("footer", {})
    footer["text"] = cut(f"{footer.get('text', '')} {text}".strip(), FOOTER)


def fit_view(view: discord.ui.View) -> discord.ui.View:
    """Labels, custom ids, placeholders and select options within Discord's limits (in
    place); the 25 items in 5 rows are already guarded by discord.py."""
    for item in view.children:
        if isinstance(item, discord.ui.Button):
            if item.label:
                item.label = cut(item.label, BUTTON_LABEL)
        elif isinstance(item, discord.ui.Select):
            if item.placeholder:
                item.placeholder = cut(item.placeholder, PLACEHOLDER)
            item.options = [_fit_option(option) for option in item.options[:SELECT_OPTIONS]]
            item.max_values = min(item.max_values, len(item.options) or 1)
            item.min_values = min(item.min_values, item.max_values)
        custom_id = getattr(item, "custom_id", None)
        if custom_id and len(custom_id) > CUSTOM_ID:
            raise ValueError(f"custom_id over {CUSTOM_ID} characters: {custom_id[:40]}…")
    return view


def _fit_option(option: discord.SelectOption) -> discord.SelectOption:
    option.label = cut(option.label, OPTION_TEXT)
    if option.description:
        option.description = cut(option.description, OPTION_TEXT)
    if len(option.value) > OPTION_TEXT:
        raise ValueError(f"select option value over {OPTION_TEXT}: {option.value[:40]}…")
    return option


def fit_choices(choices: Sequence[C]) -> list[C]:
    """An autocomplete answer: the first 25 choices, each name within 100 characters (a
    value is what the command receives back: one too long is left out, never cut)."""
    fitting = [choice for choice in choices
               if not isinstance(choice.value, str) or len(choice.value) <= CHOICE_VALUE]
    for choice in fitting[:CHOICES]:
        choice.name = cut(choice.name, CHOICE_NAME)
    return list(fitting[:CHOICES])


def fit_message(templates: Any, locale: str, content: str | None, *,
                embeds: Sequence[discord.Embed] | None = None,
                view: discord.ui.View | None = None) -> dict[str, Any]:
    """The keyword arguments of a send or edit, within every limit: ``content``, and
    ``embeds`` and ``view`` when given."""
    more = marker(templates, locale)
    out: dict[str, Any] = {}
    if content is not None:
        out["content"] = fit_content(content, more)
    if embeds is not None:
        out["embeds"] = fit_embeds(embeds, more)
    if view is not None:
        out["view"] = fit_view(view)
    return out
