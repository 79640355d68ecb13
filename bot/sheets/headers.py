"""Header matching: a file's first row against the columns a reader expects, in English and
Spanish with their common variants.

A header and an alias match when they are equal once *folded*: case and accents dropped,
punctuation and underscores read as spaces, a unit in brackets ignored (``LIVE duration
(h)`` is ``live duration``), a leading ``#``/``№`` dropped. Columns the reader does not know
are listed (the caller shows them: "ignored: …"); a column named twice, or a required one
missing, refuses the file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.sheets.errors import SheetError

_BRACKETS = re.compile(r"[\(\[\{][^\)\]\}]*[\)\]\}]")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: object) -> str:
    """The comparable form of a header: lower case, no accents, words separated by one space."""
    if text is None:
        return ""
    value = unicodedata.normalize("NFKD", str(text).strip().lstrip("\ufeff"))
    value = "".join(c for c in value if not unicodedata.combining(c)).casefold()
    value = value.replace("º", "").replace("ª", "")
    value = _NOT_WORD.sub(" ", value).strip()
    return value


def _fold_bare(text: object) -> str:
    """``fold`` without a unit in brackets: ``Diamonds (total)`` → ``diamonds``."""
    return fold(_BRACKETS.sub(" ", str(text or "")))


@dataclass(frozen=True)
class Column:
    """One column a reader understands: its key, the headers it is known by, whether the
    file must have it."""

    key: str
    aliases: tuple[str, ...]
    required: bool = False
    # the header written in a template or an export, per locale ("en", "es")
    titles: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def title(self, locale: str) -> str:
        return self.titles.get(locale) or self.titles.get("en") or self.key


@dataclass(frozen=True)
class HeaderMatch:
    """Where each known column is (0-based position), and what was not understood."""

    positions: dict[str, int]
    unknown: tuple[str, ...]  # headers as written, in file order
    headers: tuple[str, ...]

    def __contains__(self, key: str) -> bool:
        return key in self.positions


@dataclass(frozen=True)
class Schema:
    """The columns of one kind of file (a roster, a stats export)."""

    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for column in self.columns:
            for alias in (column.key, *column.aliases, *column.titles.values()):
                folded = fold(alias)
                if seen.setdefault(folded, column.key) != column.key:
                    raise ValueError(f"alias {alias!r} names both {seen[folded]} and "
                                     f"{column.key}")

    def _lookup(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for column in self.columns:
            for alias in (column.key, *column.aliases, *column.titles.values()):
                table[fold(alias)] = column.key
        return table

    def match(self, header: Sequence[object], locale: str = "en") -> HeaderMatch:
        """Match a header row; refuse a column named twice or a required one missing (named
        in ``locale``, the reader's language)."""
        table = self._lookup()
        positions: dict[str, int] = {}
        unknown: list[str] = []
        written = tuple("" if h is None else str(h).strip().lstrip("\ufeff") for h in header)
        for index, text in enumerate(written):
            if not text:
                continue
            key = table.get(fold(text)) or table.get(_fold_bare(text))
            if key is None:
                unknown.append(text)
            elif key in positions:
                raise SheetError("sheets.duplicate_column", column=text)
            else:
                positions[key] = index
        missing = [c for c in self.columns if c.required and c.key not in positions]
        if missing:
            raise SheetError("sheets.missing_columns",
                             columns=", ".join(c.title(locale) for c in missing))
        return HeaderMatch(positions=positions, unknown=tuple(unknown), headers=written)

    def titles(self, locale: str, keys: Sequence[str] | None = None) -> list[str]:
        """The header row to write (a template, an export) in a reader's language."""
        wanted = keys if keys is not None else [c.key for c in self.columns]
        by_key = {c.key: c for c in self.columns}
        return [by_key[k].title(locale) for k in wanted]
