"""One page of a long list (no discord import: services return it, cogs render it).

A service that lists what can grow (members, families, days) offers ``page`` and ``size``
and returns a :class:`Page`: the rows of that page, their count in all, and where the page
is ("page 2 of 7"). Page numbers start at 0; a page past the end is the last one (a list may
have shrunk since its buttons were drawn)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.text import PART_LIMIT, split_text

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


def pack(items: Sequence[T], render: Callable[[list[T]], str], *,
         first: Callable[[list[T]], str] | None = None, limit: int = PART_LIMIT
         ) -> list[tuple[str, list[T]]]:
    """``items`` shown whole across as few messages of at most ``limit`` characters as it
    takes, each message with the items it completes: (text, items). ``render`` draws a
    message of some items (a heading and them); ``first``, if given, draws the first
    message (an answer that shows what fits of them under it). An item too long for a message
    of its own is split over several; it is complete with the last of them. Marking what
    was shown after each message Discord took never marks an item that was not shown."""
    messages: list[tuple[str, list[T]]] = []
    draw = first or render
    group: list[T] = []

    def close() -> None:
        nonlocal draw, group
        *head, last = split_text(draw(group), limit) or [""]
        messages.extend([(part, []) for part in head] + [(last, group)])
        draw, group = render, []

    for item in items:
        if len(draw([*group, item])) <= limit:
            group.append(item)
            continue
        if group or draw is first:
            close()
            if len(draw([item])) <= limit:
                group = [item]
                continue
        *head, last = split_text(draw([item]), limit)
        messages.extend([(part, []) for part in head] + [(last, [item])])
    if group or draw is first:
        close()
    return messages
