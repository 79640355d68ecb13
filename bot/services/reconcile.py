"""Reconciliation: what creators reported in check-ins against what the platform exported.

For a month and the program (or one family), per current member: hours, diamonds and new
followers summed over their check-ins of the month's days, against the imported figures (the
month's imported total when a monthly file was imported, else the sum of its imported days),
with the difference. A figure is **flagged** when both sides exist and they differ by more
than the guild's tolerance (``stat_settings.tolerance_pct``, default 10 %) of the imported
figure — or the platform says 0 where the creator reported something. A creator with only one
side is listed as "no import" or "no check-ins". The risk flags and reviews read the same rows
(:meth:`ReconcileService.rows`); the manager gets them as a message and as a CSV.
"""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.clock import Clock
from bot.db import Database
from bot.errors import NotAllowed, UserError
from bot.services.families import Family, FamilyService
from bot.services.platform_figures import DEFAULT_TOLERANCE
from bot.sheets import to_bytes

COMPARED = ("hours", "diamonds", "followers")

_ROWS = """
    WITH members AS (
        SELECT fm.user_id, fm.family_id, f.name AS family FROM family_members fm
        JOIN families f ON f.id = fm.family_id
        WHERE fm.guild_id = :g AND fm.left_at IS NULL
          AND (:f IS NULL OR fm.family_id = :f)
    ),
    ck AS (
        SELECT user_id, count(*) AS days, round(sum(hours), 2) AS hours,
               sum(diamonds) AS diamonds, sum(followers) AS followers
        FROM checkins WHERE guild_id = :g AND local_date BETWEEN :a AND :b
          AND user_id IN (SELECT user_id FROM members)
        GROUP BY user_id
    ),
    pd AS (
        SELECT user_id, count(*) AS days, round(sum(hours), 2) AS hours,
               sum(diamonds) AS diamonds, sum(followers) AS followers
        FROM platform_stats WHERE guild_id = :g AND period_kind = 'day'
          AND period BETWEEN :a AND :b AND user_id IN (SELECT user_id FROM members)
        GROUP BY user_id
    ),
    pm AS (
        SELECT user_id, hours, diamonds, followers FROM platform_stats
        WHERE guild_id = :g AND period_kind = 'month' AND period = :m
          AND user_id IN (SELECT user_id FROM members)
    )
    SELECT m.user_id, m.family_id, m.family, ck.days AS ck_days,
           ck.hours AS ck_hours, ck.diamonds AS ck_diamonds, ck.followers AS ck_followers,
           pm.user_id IS NOT NULL OR pd.user_id IS NOT NULL AS imported,
           coalesce(pm.hours, pd.hours) AS im_hours,
           coalesce(pm.diamonds, pd.diamonds) AS im_diamonds,
           coalesce(pm.followers, pd.followers) AS im_followers
    FROM members m LEFT JOIN ck ON ck.user_id = m.user_id
    LEFT JOIN pd ON pd.user_id = m.user_id LEFT JOIN pm ON pm.user_id = m.user_id
    ORDER BY m.family, m.user_id"""


@dataclass(frozen=True)
class Figure:
    """One metric of one creator: self-reported, imported, the difference (reported minus
    imported, None when a side is missing) and whether it is past the tolerance."""

    reported: float | None
    imported: float | None
    flagged: bool

    @property
    def difference(self) -> float | None:
        if self.reported is None or self.imported is None:
            return None
        return round(self.reported - self.imported, 2)

    @property
    def percent(self) -> float | None:
        """The difference as a share of the imported figure (None without both, or 0)."""
        diff = self.difference
        if diff is None or not self.imported:
            return None
        return diff / self.imported


@dataclass(frozen=True)
class Line:
    user_id: int
    family_id: int
    family: str
    checkin_days: int
    status: str  # 'ok', 'differs', 'no_import', 'no_checkins', 'no_data'
    figures: dict[str, Figure]

    @property
    def flagged(self) -> bool:
        return self.status == "differs"


@dataclass(frozen=True)
class Report:
    month: str
    family_id: int | None
    tolerance_pct: float
    lines: list[Line]

    @property
    def flagged(self) -> list[Line]:
        return [line for line in self.lines if line.flagged]

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)


def month_days(period: str) -> tuple[date, date]:
    first = date.fromisoformat(period + "-01")
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _off(reported: float, imported: float, tolerance_pct: float) -> bool:
    if imported == 0:
        return reported > 0
    return abs(reported - imported) > imported * tolerance_pct / 100 + 1e-9


def _line(row: Any, tolerance_pct: float) -> Line:
    has_ck, has_im = row["ck_days"] is not None, bool(row["imported"])
    figures: dict[str, Figure] = {}
    for metric in COMPARED:
        reported = row[f"ck_{metric}"] if has_ck else None
        imported = row[f"im_{metric}"] if has_im else None
        flagged = (reported is not None and imported is not None
                   and _off(reported, imported, tolerance_pct))
        figures[metric] = Figure(reported, imported, flagged)
    if has_ck and has_im:
        status = "differs" if any(f.flagged for f in figures.values()) else "ok"
    else:
        status = "no_import" if has_ck else "no_checkins" if has_im else "no_data"
    return Line(row["user_id"], row["family_id"], row["family"], row["ck_days"] or 0, status,
                figures)


_ORDER = {"differs": 0, "no_import": 1, "no_checkins": 2, "ok": 3, "no_data": 4}


class ReconcileService:
    def __init__(self, db: Database, clock: Clock, families: FamilyService) -> None:
        self.db = db
        self.clock = clock
        self.families = families

    def month(self, text: str | None) -> str:
        """``YYYY-MM`` as typed; by default the last complete month (UTC)."""
        if text is None:
            first = self.clock.now().replace(day=1)
            return (first - timedelta(days=1)).strftime("%Y-%m")
        parts = text.strip().split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or not (
                1 <= int(parts[1]) <= 12 and len(parts[0]) == 4):
            raise UserError("families.bad_month", value=text)
        return f"{int(parts[0]):04d}-{int(parts[1]):02d}"

    async def scope(self, guild_id: int, viewer_id: int, family: Family | None,
                    manager: bool) -> Family | None:
        """The family a reconciliation covers: a manager's choice (None: the program), a
        leader's own family (another is refused)."""
        if manager:
            return family
        led = await self.families.family_led_by(guild_id, viewer_id)
        if led is None or (family is not None and family.id != led.id):
            raise NotAllowed("leaderboards.not_your_family")
        return led

    async def tolerance(self, guild_id: int) -> float:
        found = await self.db.fetchval(
            "SELECT tolerance_pct FROM stat_settings WHERE guild_id = ?", (guild_id,))
        return DEFAULT_TOLERANCE if found is None else float(found)

    async def report(self, guild_id: int, month: str, family_id: int | None = None) -> Report:
        """Every current member of the program (or of ``family_id``) for the month
        ``YYYY-MM``: flagged first (largest share off first), then the rest."""
        tolerance = await self.tolerance(guild_id)
        first, last = month_days(month)
        rows = await self.db.fetchall(_ROWS, {"g": guild_id, "f": family_id,
                                              "a": first.isoformat(), "b": last.isoformat(),
                                              "m": month})
        lines = [_line(r, tolerance) for r in rows]

        def worst(line: Line) -> float:
            shares = [abs(f.percent) for f in line.figures.values()
                      if f.flagged and f.percent is not None]
            return -max(shares, default=float("inf") if line.flagged else 0.0)

        lines.sort(key=lambda line: (_ORDER[line.status], worst(line)))
        return Report(month, family_id, tolerance, [ln for ln in lines
                                                    if ln.status != "no_data"])

    async def csv(self, report: Report, names: dict[int, str], titles: Sequence[str],
                  statuses: dict[str, str]) -> bytes:
        """The report as a CSV (UTF-8 with BOM): ``titles`` is the header in the reader's
        language, ``statuses`` the status words, ``names`` the members' display names."""
        def rows() -> Iterable[list[Any]]:
            for line in report.lines:
                cells: list[Any] = [names.get(line.user_id, str(line.user_id)),
                                    str(line.user_id), line.family, line.checkin_days]
                for metric in COMPARED:
                    figure = line.figures[metric]
                    cells += [figure.reported, figure.imported, figure.difference,
                              "x" if figure.flagged else ""]
                cells.append(statuses[line.status])
                yield cells

        return await asyncio.to_thread(to_bytes, "csv", list(titles), list(rows()))
