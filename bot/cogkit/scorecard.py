"""The family scorecard as a message, a chart and a CSV (``/family scorecard`` and the
monthly post to the managers' channel)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from bot import charts, limits
from bot.cogkit.buttons import labels
from bot.services.scorecard import Scorecard, csv_rows

SHOWN_FAMILIES = 15  # families a scorecard message lists (all of them in the CSV)
label = labels("discord/insights/labels.j2")


def scorecard_files(bot: Any, locale: str, card: Scorecard) -> list[tuple[str, bytes]]:
    """The scorecard's chart (the first families' scores) and its CSV."""
    shown = card.cards[:SHOWN_FAMILIES]
    files = []
    if shown:
        png = charts.bar_chart([c.name for c in shown], [c.score for c in shown],
                               title=f"{card.span.first} – {card.span.last}",
                               value_label=label(bot, locale, "scorecard_chart"))
        files.append((f"scorecard-{card.span.key}.png", png))
    out = io.StringIO()
    writer = csv.writer(out)
    for row in csv_rows(card):
        writer.writerow([_safe(v) for v in row])
    files.append((f"scorecard-{card.span.key}.csv", out.getvalue().encode("utf-8-sig")))
    return files


def _safe(value: Any) -> Any:
    """A cell a spreadsheet will not run (a family name starting with = + - @)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def scorecard_text(bot: Any, locale: str, card: Scorecard, mine: Any = None,
                   everyone: bool = True) -> str:
    """The message: the leader's own card, and for managers the first families (as many of
    the first 15 as fit one message; all of them are in the CSV)."""
    return fitted(lambda n: bot.templates.render(
        locale, "discord/insights/scorecard.md.j2", card=card, mine=mine,
        shown=card.cards[:n] if everyone else [],
        more=len(card.cards) - len(card.cards[:n]) if everyone else 0),
        SHOWN_FAMILIES)


def fitted(render: Callable[[int], str], rows: int) -> str:
    """``render(n)`` with the most rows, at most ``rows``, that fit one Discord message."""
    text = render(rows)
    while len(text) > limits.CONTENT and rows > 0:
        rows -= 1
        text = render(rows)
    return text
