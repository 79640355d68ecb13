"""The progress model: running totals per creator, ISO week and month, in the creator's zone.

Daily stats are the check-ins themselves; ``progress_totals`` holds one row per creator and
period, changed in the same transaction as the check-in (an edit subtracts the old values and
adds the new), so reads — tiers, leaderboards, the /checkin reply — never scan history.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.db import Database, SyncTransaction, Transaction
from bot.localtime import iso_week, month
from bot.services import platform_figures
from bot.services.tiers import Progress

MANY_ROWS = 2000  # rows turned into objects in a worker thread rather than on the loop

METRICS = ("hours", "diamonds", "followers", "valid_days", "checkins")
# The top of a period by a metric; ``{metric}`` is filled in from METRICS only (one index
# per metric serves the order).
TOP = """
    SELECT user_id, {metric} AS value FROM progress_totals
    WHERE guild_id = ? AND period_kind = ? AND period = ? AND {metric} > 0
    ORDER BY {metric} DESC LIMIT ?"""


@dataclass(frozen=True)
class Top:
    user_id: int
    value: float


@dataclass(frozen=True)
class Totals:
    checkins: int = 0
    valid_days: int = 0
    hours: float = 0.0
    diamonds: int = 0
    followers: int = 0


def _periods(day: date) -> list[tuple[str, str]]:
    return [("week", iso_week(day)), ("month", month(day))]


def _week(rows: list[Any]) -> Totals:
    found = next(dict(r) for r in rows if r["period_kind"] == "week")
    del found["period_kind"]
    return Totals(**found)


class ProgressService:
    def __init__(self, db: Database, valid_day_hours: float = 1.0) -> None:
        self.db = db
        self.valid_day_hours = valid_day_hours

    def _delta(self, row: dict[str, Any] | None, sign: int) -> tuple:
        if row is None:
            return (0, 0, 0.0, 0, 0)
        valid = 1 if row["hours"] >= self.valid_day_hours else 0
        return (sign, sign * valid, sign * row["hours"], sign * row["diamonds"],
                sign * row["followers"])

    async def apply(
        self, tx: Transaction, guild_id: int, user_id: int, day: date,
        old: dict[str, Any] | None, new: dict[str, Any] | None,
    ) -> Totals:
        """Replace ``old`` (a day's previous stats, or None) by ``new`` in every period;
        returns the week's totals after the change."""
        if await tx.fetchone(platform_figures.HAS_IMPORTED,
                             (guild_id, user_id, day.isoformat(), month(day))):
            for sql, params in self._imported(guild_id, user_id, day):
                await tx.execute(sql, params)
            return await self.totals(guild_id, user_id, "week", iso_week(day), tx=tx)
        return _week(await tx.fetchall(*self._apply(guild_id, user_id, day, old, new)))

    def apply_now(
        self, tx: SyncTransaction, guild_id: int, user_id: int, day: date,
        old: dict[str, Any] | None, new: dict[str, Any] | None,
    ) -> Totals:
        """:meth:`apply` inside :meth:`Database.run`."""
        if tx.fetchone(platform_figures.HAS_IMPORTED,
                       (guild_id, user_id, day.isoformat(), month(day))):
            for sql, params in self._imported(guild_id, user_id, day):
                tx.execute(sql, params)
            row = tx.fetchone(
                "SELECT checkins, valid_days, hours, diamonds, followers FROM progress_totals"
                " WHERE guild_id = ? AND user_id = ? AND period_kind = 'week' AND period = ?",
                (guild_id, user_id, iso_week(day)))
            return Totals() if row is None else Totals(**dict(row))
        return _week(tx.fetchall(*self._apply(guild_id, user_id, day, old, new)))

    def _imported(self, guild_id: int, user_id: int, day: date
                  ) -> list[tuple[str, dict[str, Any]]]:
        """A day whose creator has imported figures that day or month: the week and month
        are recomputed by the one rule of the sources (bot/services/platform_figures.py)
        instead of adding the check-in's difference, for just this creator."""
        return platform_figures.rebuild_statements(
            guild_id, day, day, self.valid_day_hours, who="one", user_id=user_id)

    def _apply(self, guild_id: int, user_id: int, day: date, old: dict[str, Any] | None,
               new: dict[str, Any] | None) -> tuple[str, tuple]:
        minus, plus = self._delta(old, -1), self._delta(new, 1)
        change = tuple(a + b for a, b in zip(minus, plus, strict=True))
        (week_kind, week), (month_kind, month_) = _periods(day)
        return (
            "INSERT INTO progress_totals (guild_id, user_id, period_kind, period, checkins,"
            " valid_days, hours, diamonds, followers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?),"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id, period_kind, period)"
            " DO UPDATE SET checkins = checkins + excluded.checkins,"
            " valid_days = valid_days + excluded.valid_days,"
            " hours = round(hours + excluded.hours, 2),"
            " diamonds = diamonds + excluded.diamonds,"
            " followers = followers + excluded.followers"
            " RETURNING period_kind, checkins, valid_days, hours, diamonds, followers",
            (guild_id, user_id, week_kind, week, *change,
             guild_id, user_id, month_kind, month_, *change),
        )

    async def totals(
        self, guild_id: int, user_id: int, kind: str, period: str,
        *, tx: Transaction | None = None,
    ) -> Totals:
        row = await (tx or self.db).fetchone(
            "SELECT checkins, valid_days, hours, diamonds, followers FROM progress_totals"
            " WHERE guild_id = ? AND user_id = ? AND period_kind = ? AND period = ?",
            (guild_id, user_id, kind, period),
        )
        return Totals() if row is None else Totals(**dict(row))

    async def of_periods(self, guild_id: int, kind: str, periods: list[str]
                         ) -> dict[tuple[int, str], Totals]:
        """Every creator's totals for some periods of a kind (weeks or months), by (user,
        period): the rows the boards of those periods read."""
        if kind not in ("week", "month"):
            raise ValueError(kind)
        marks = ",".join("?" * len(periods))  # one index range per period
        # weeks: from their covering index alone (migration 0018), which needs the kind written out
        source = ("progress_totals INDEXED BY progress_week_totals WHERE period_kind = 'week'"
                  if kind == "week" else "progress_totals WHERE period_kind = 'month'")
        rows = await self.db.fetchall(
            "SELECT user_id, period, checkins, valid_days, hours, diamonds, followers"
            f" FROM {source} AND guild_id = ? AND period IN ({marks})", (guild_id, *periods))

        def totals() -> dict[tuple[int, str], Totals]:
            return {(r["user_id"], r["period"]): Totals(r["checkins"], r["valid_days"],
                                                        r["hours"], r["diamonds"], r["followers"])
                    for r in rows}

        # a whole program's rows (tens of thousands): built off the event loop
        return await asyncio.to_thread(totals) if len(rows) > MANY_ROWS else totals()

    async def week_of(self, guild_id: int, user_id: int, day: date, **kw: Any) -> Totals:
        return await self.totals(guild_id, user_id, "week", iso_week(day), **kw)

    async def month_progress(self, guild_id: int, period: str) -> dict[int, Progress]:
        """Every creator's totals for the month ``YYYY-MM``."""
        rows = await self.db.fetchall(
            "SELECT user_id, hours, diamonds, valid_days, followers FROM progress_totals"
            " WHERE guild_id = ? AND period_kind = 'month' AND period = ?",
            (guild_id, period),
        )
        return {
            r["user_id"]: Progress(r["hours"], r["diamonds"], r["valid_days"], r["followers"])
            for r in rows
        }

    async def top(
        self, guild_id: int, kind: str, period: str, metric: str, limit: int = 10
    ) -> list[Top]:
        """The top ``limit`` creators of a period by ``metric`` (served by an index)."""
        if metric not in METRICS or kind not in ("week", "month"):
            raise ValueError(metric)
        rows = await self.db.fetchall(TOP.format(metric=metric), (guild_id, kind, period, limit))
        return [Top(r["user_id"], r["value"]) for r in rows]
