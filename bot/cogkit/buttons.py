"""Restart-proof buttons and selects in one short class, and the one way to read a label.

A :class:`PersistentButton` carries what it acts on in its ``custom_id``, written as a format
(``"familia:bc:confirm:{broadcast_id}"``); after a restart discord.py rebuilds the button from
the id alone. The formats are a contract with every message already posted: never change one.

**A custom_id is data, not authority**: anyone can send any id. Every click goes through
:meth:`PersistentButton.admit` before ``run``, the one re-check of every button and select:

- **guild**: an id naming a ``guild_id`` must name the guild the click happened in; in a DM
  (only items with ``in_dm``, such as an invitation's Accept) the row the id names must be
  about the clicker, which their ``authorize`` checks (:func:`known_member` for the clicker's
  own rows in that guild);
- **permission**, read from the interaction and the database: ``who`` is ``"anyone"``,
  ``"program"`` (a member of the program or a manager) or ``"managers"``;
- **the row** the id names: :meth:`PersistentButton.authorize` (a family's leaders, a flag
  only managers may set…), and the service checks the row belongs to the guild.

Ids without a ``guild_id`` act in the interaction's guild only (services look rows up by the
guild *and* the id), so an id of another server finds nothing.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, Self

import discord

from bot.checks import is_manager, require_creator
from bot.errors import NotAllowed, UserError
from bot.interactions import PersistentItem, familia

_FIELD_PATTERNS = {"int": r"\d+", "str": r"[\w.-]+"}
WHO = ("anyone", "program", "managers")  # who may press a button (checked on each click)
ROW_ID_MAX = 2**63 - 1  # SQLite's largest integer (and Discord's snowflakes fit)


class _HasTemplates(Protocol):
    @property
    def templates(self) -> Any: ...


def labels(template: str) -> Callable[..., str]:
    """``label(bot, locale, name, *args)``: macro ``name`` of a feature's labels template
    (``templates/<template>``), in ``locale``."""

    def label(bot: _HasTemplates, locale: str, name: str, *args: Any) -> str:
        return str(bot.templates.macro(locale, template, name, *args))

    return label


class PersistentButton(PersistentItem, discord.ui.DynamicItem[discord.ui.Button[Any]],
                       template=r"(?!)"):
    """A button that outlives restarts. A subclass names its ``custom_id`` format, the type of
    each field (``int`` unless annotated ``str``; a ``str`` field's pattern may be narrowed in
    ``patterns``), its look, and implements ``run``::

        class ConfirmButton(PersistentButton, custom_id="familia:bc:confirm:{broadcast_id}"):
            style = discord.ButtonStyle.success
            default_label = "✓"
            managers_only = True
            broadcast_id: int

            async def run(self, interaction): ...

        ConfirmButton(label(bot, locale, "confirm"), broadcast_id=7)
    """

    who: ClassVar[str] = "anyone"  # "anyone", "program" or "managers": checked on each click
    in_dm: ClassVar[bool] = False  # may be pressed in a DM (its id names the guild)
    custom_id_format: ClassVar[str] = ""
    fields: ClassVar[dict[str, type]] = {}
    patterns: ClassVar[dict[str, str]] = {}
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary
    emoji: ClassVar[str | None] = None
    default_label: ClassVar[str] = ""

    def __init_subclass__(cls, *, custom_id: str | None = None, **kwargs: Any) -> None:
        if custom_id is None:  # an intermediate base: nothing to parse
            super().__init_subclass__(template=r"(?!)", **kwargs)
            return
        if cls.who not in WHO:
            raise TypeError(f"{cls.__name__}.who is one of {WHO}, not {cls.who!r}")
        if cls.in_dm and cls.authorize is PersistentButton.authorize:
            raise TypeError(f"{cls.__name__} works in a DM: its authorize checks the row is "
                            "the clicker's")
        hints: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            hints.update(getattr(klass, "__annotations__", {}))
        parts: list[str] = []
        fields: dict[str, type] = {}
        for literal, name, _spec, _conv in string.Formatter().parse(custom_id):
            parts.append(re.escape(literal))
            if name is None:
                continue
            hint = hints.get(name, "int")
            kind = hint if isinstance(hint, str) else getattr(hint, "__name__", str(hint))
            if kind not in _FIELD_PATTERNS:
                raise TypeError(f"{cls.__name__}.{name}: a custom_id field is int or str")
            fields[name] = int if kind == "int" else str
            pattern = cls.patterns.get(name, _FIELD_PATTERNS[kind])
            parts.append(f"(?P<{name}>{pattern})")
        cls.custom_id_format, cls.fields = custom_id, fields
        super().__init_subclass__(template="".join(parts), **kwargs)

    def __init__(self, text: str | None = None, *, emoji: str | None = None,
                 **values: Any) -> None:
        if set(values) != set(self.fields):
            raise TypeError(f"{type(self).__name__} takes {sorted(self.fields)}, "
                            f"not {sorted(values)}")
        for name, value in values.items():
            setattr(self, name, value)
        super().__init__(self.component(text, emoji, self.custom_id_format.format(**values)))

    def component(self, text: str | None, emoji: str | None, custom_id: str) -> Any:
        """The Discord component: a button (:class:`PersistentSelect` makes a select)."""
        return discord.ui.Button(
            label=text or self.default_label or None, emoji=emoji or self.emoji,
            style=self.button_style(), custom_id=custom_id,
        )

    def button_style(self) -> discord.ButtonStyle:
        """The style; a subclass whose style depends on its fields overrides this."""
        return self.style

    @property
    def named_guild(self) -> int | None:
        """The guild the custom id names, if it names one."""
        return getattr(self, "guild_id", None) if "guild_id" in self.fields else None

    async def admit(self, interaction: discord.Interaction) -> None:
        """The one re-check before every click's :meth:`run` (see the module's docstring):
        the guild, ``who`` may press it, then :meth:`authorize`. Raises to refuse."""
        if any(isinstance(getattr(self, name), int) and getattr(self, name) > ROW_ID_MAX
               for name in self.fields):  # no row has such an id: a forged one
            raise NotAllowed("common.not_allowed")
        named = self.named_guild
        if interaction.guild_id is None:  # ``authorize`` checks the row is the clicker's
            if not self.in_dm or named is None:
                raise UserError("common.guild_only")
        elif named is not None and named != interaction.guild_id:
            raise NotAllowed("common.other_server")
        who = "managers" if self.managers_only else self.who
        if who == "managers" and not await is_manager(interaction):
            raise NotAllowed("common.managers_only")
        if who == "program":
            await require_creator(interaction)
        await self.authorize(interaction)

    async def authorize(self, interaction: discord.Interaction) -> None:
        """What the row the id names allows this clicker (raise to refuse); by default the
        service that ``run`` calls checks it."""

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> Self:
        values = {name: kind(match[name]) for name, kind in cls.fields.items()}
        if not isinstance(item, discord.ui.Button):  # a button's id in another component
            return cls(**values)
        return cls(item.label or None, emoji=str(item.emoji) if item.emoji else None, **values)


class PersistentSelect(PersistentButton):
    """A select menu that outlives restarts, with the same re-check on every pick: a subclass
    names its ``custom_id`` like a button; ``options`` are (label, value) pairs and
    :attr:`values` what was picked."""

    def __init__(self, options: list[tuple[str, str]] | None = None, *,
                 placeholder: str | None = None, **values: Any) -> None:
        self._options = [discord.SelectOption(label=text, value=value)
                         for text, value in options or [("-", "-")]]
        self._placeholder = placeholder
        super().__init__(**values)

    def component(self, text: str | None, emoji: str | None, custom_id: str) -> Any:
        return discord.ui.Select(custom_id=custom_id, options=self._options,
                                 placeholder=self._placeholder, min_values=1, max_values=1)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> Self:
        return cls(**{name: kind(match[name]) for name, kind in cls.fields.items()})

    @property
    def values(self) -> list[str]:
        select = self.item
        return list(select.values) if isinstance(select, discord.ui.Select) else []


async def known_member(interaction: discord.Interaction, guild_id: int) -> bool:
    """Whether the clicker of a DM button belongs to ``guild_id``: Familia knows them there
    (a member row) or Discord shows them as a member."""
    bot = familia(interaction)
    if await bot.services.members.get(guild_id, interaction.user.id) is not None:
        return True
    guild = bot.get_guild(guild_id)
    return guild is not None and guild.get_member(interaction.user.id) is not None
