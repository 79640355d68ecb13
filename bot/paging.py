"""One page of a long list (no discord import: services return it, cogs render it).

A service that lists what can grow (members, families, days) offers ``page`` and ``size``
and returns a :class:`Page`: the rows of that page, their count in all, and where the page
is ("page 2 of 7"). Page numbers start at 0; a page past the end is the last one (a list may
have shrunk since its buttons were drawn)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int  # 0-based
    size: int
    total: int  # rows in all pages

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return self.number * self.size

    @property
    def has_prev(self) -> bool:
        return self.number > 0

    @property
    def has_next(self) -> bool:
        return self.number + 1 < self.pages

    @property
    def paged(self) -> bool:
        return self.pages > 1


def clamp(page: int, size: int, total: int) -> int:
    """``page`` within 0 … last page of ``total`` rows."""
    return max(0, min(page, max(0, -(-total // size) - 1)))


def page_of(rows: Sequence[T], page: int, size: int) -> Page[T]:
    """The page of a list already in memory (short lists, or rows computed in Python)."""
    number = clamp(page, size, len(rows))
    start = number * size
    return Page(list(rows[start:start + size]), number, size, len(rows))
