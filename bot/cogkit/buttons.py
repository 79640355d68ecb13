"""Restart-proof buttons in one short class, and the one way to read a button's label.

A :class:`PersistentButton` carries what it acts on in its ``custom_id``, written as a format
(``"familia:bc:confirm:{broadcast_id}"``); after a restart discord.py rebuilds the button from
the id alone. The formats are a contract with every message already posted: never change one.

**A custom_id is data, not authority**: anyone can send any id. ``run`` re-checks guild,
family and permission from the interaction and the database, as if the id were typed by a
stranger (``managers_only`` refuses everyone but program managers before ``run``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, Self

import discord

from bot.interactions import PersistentItem

_FIELD_PATTERNS = {"int": r"\d+", "str": r"[\w.-]+"}


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
        super().__init__(discord.ui.Button(
            label=text or self.default_label or None, emoji=emoji or self.emoji,
            style=self.button_style(), custom_id=self.custom_id_format.format(**values),
        ))

    def button_style(self) -> discord.ButtonStyle:
        """The style; a subclass whose style depends on its fields overrides this."""
        return self.style

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> Self:
        values = {name: kind(match[name]) for name, kind in cls.fields.items()}
        if not isinstance(item, discord.ui.Button):  # a button's id in another component
            return cls(**values)
        return cls(item.label or None, emoji=str(item.emoji) if item.emoji else None, **values)
