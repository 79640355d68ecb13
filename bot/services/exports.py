"""Exports: the program's tables as rows for a spreadsheet — the roster, check-ins, progress
and KPIs — over a period and for one family or the whole program.

Who may export what (:meth:`ExportService.table` checks it): managers anything; a family's
leader or co-leader their own family only (and never the managers' notes). A table is keys
and rows of plain values (ints, floats, text, dates); the caller names the columns in the
reader's language and writes the file off the event loop (:mod:`bot.sheets.writing`).

A Discord user id is written as text: a spreadsheet keeps numbers as doubles, which round a
19-digit id (``.xlsx`` keeps the text exact; Excel opening a CSV still shows it as a number).

The roster's columns are the roster import's (:data:`bot.services.roster.ROSTER`), so an
exported roster imports again unchanged (its extra columns are listed as ignored).

Progress follows the progress model (``progress_totals``: ISO weeks and months in each
creator's zone); a period of another kind (all time) adds up the months.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.clock import Clock, from_db
from bot.db import Database
from bot.errors import NotAllowed, UserError
from bot.localtime import day_start, local_date
from bot.mail.outbox import Attachment
from bot.services.email import EmailService
from bot.services.families import Family, FamilyService
from bot.services.guilds import GuildService
from bot.services.kpis import KpiService
from bot.services.roster import ROSTER

KINDS = ("roster", "checkins", "progress", "kpis")
COLUMNS: dict[str, tuple[str, ...]] = {
    "roster": (*(c.key for c in ROSTER.columns), "joined_family", "agreement"),
    "checkins": ("date", "user", "handle", "family", "hours", "diamonds", "followers",
                 "peak_viewers", "mood", "notes"),
    "progress": ("user", "handle", "family", "checkins", "valid_days", "hours", "diamonds",
                 "followers"),
    "kpis": ("family", "members", "members_start", "joins", "leaves", "attrition",
             "median_tenure_days", "checkins", "with_feedback", "feedback_rate",
             "median_response_minutes"),
}
EARLIEST = date(2000, 1, 1)  # "all time" starts here
# An export past Discord's attachment size goes by email up to this size (SMTP servers
# commonly take 25 MB or more per message; base64 adds a third).
EMAIL_MAX_MB = 18
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

ROSTER_ROWS = (
    "SELECT fm.user_id, fm.joined_at, fm.agreement_version, f.id AS family_id,"
    " f.name AS family, cp.* FROM family_members fm JOIN families f ON f.id = fm.family_id"
    " LEFT JOIN creator_profiles cp ON cp.guild_id = fm.guild_id AND cp.user_id = fm.user_id"
    " WHERE fm.guild_id = :guild AND fm.left_at IS NULL"
    " AND (:family IS NULL OR fm.family_id = :family) ORDER BY f.name, fm.joined_at, fm.id"
)
CHECKIN_ROWS = (
    "SELECT c.local_date, c.user_id, cp.handle, f.name AS family, c.hours, c.diamonds,"
    " c.followers, c.peak_viewers, c.mood, c.notes FROM checkins c"
    " LEFT JOIN families f ON f.id = c.family_id"
    " LEFT JOIN creator_profiles cp ON cp.guild_id = c.guild_id AND cp.user_id = c.user_id"
    " WHERE c.guild_id = :guild AND c.local_date BETWEEN :first AND :last"
    " AND (:family IS NULL OR c.family_id = :family) ORDER BY c.local_date, c.user_id"
)
# each member of the program (or of the family) now, with their totals of the period
PROGRESS_ROWS = (
    "SELECT fm.user_id, cp.handle, f.name AS family, coalesce(sum(p.checkins), 0) AS checkins,"
    " coalesce(sum(p.valid_days), 0) AS valid_days, coalesce(sum(p.hours), 0) AS hours,"
    " coalesce(sum(p.diamonds), 0) AS diamonds, coalesce(sum(p.followers), 0) AS followers"
    " FROM family_members fm JOIN families f ON f.id = fm.family_id"
    " LEFT JOIN creator_profiles cp ON cp.guild_id = fm.guild_id AND cp.user_id = fm.user_id"
    " LEFT JOIN progress_totals p ON p.guild_id = fm.guild_id AND p.user_id = fm.user_id"
    " AND p.period_kind = :kind AND (:period IS NULL OR p.period = :period)"
    " WHERE fm.guild_id = :guild AND fm.left_at IS NULL"
    " AND (:family IS NULL OR fm.family_id = :family)"
    " GROUP BY fm.user_id ORDER BY f.name, hours DESC, fm.user_id"
)


@dataclass(frozen=True)
class Table:
    kind: str
    columns: tuple[str, ...]
    rows: list[list[Any]]
    family: Family | None
    first: date
    last: date


class ExportService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService,
                 families: FamilyService, kpis: KpiService,
                 email: EmailService | None = None) -> None:
        self.db = db
        self.clock = clock
        self.guilds = guilds
        self.families = families
        self.kpis = kpis
        self.email = email

    async def send_by_email(self, guild_id: int, actor_id: int, *, as_manager: bool,
                            filename: str, data: bytes, size_mb: float, limit_mb: int,
                            locale: str, kind: str, rows: int, period: str,
                            family: str | None) -> str:
        """An export past the server's attachment size, queued by email to the manager who
        asked, at their verified address (returned masked, for the answer). Refused, saying
        what to narrow, for a leader, without a verified address, or past
        :data:`EMAIL_MAX_MB`. Sent once per file and day (dedupe key of its hash)."""
        if not as_manager or self.email is None:
            raise UserError("exports.too_big", size_mb=size_mb, limit_mb=limit_mb)
        if len(data) > EMAIL_MAX_MB * 2**20:
            raise UserError("exports.too_big_for_email", size_mb=size_mb,
                            limit_mb=EMAIL_MAX_MB)
        address = await self.email.get(guild_id, actor_id)
        if address is None or not address.verified:
            raise UserError("exports.too_big_no_address", size_mb=size_mb, limit_mb=limit_mb)
        today = self.clock.now().date().isoformat()
        key = f"export:{guild_id}:{actor_id}:{today}:{hashlib.sha256(data).hexdigest()[:32]}"
        content_type = CONTENT_TYPES[filename.rsplit(".", 1)[-1]]
        async with self.db.transaction() as tx:
            await self.email.queue(
                tx, guild_id, actor_id, address.address, "export", key, locale,
                attachments=(Attachment(filename, content_type, data),), export_kind=kind,
                rows=rows, period=period, family=family, filename=filename,
                size_mb=size_mb)
        self.email.on_queued()
        return address.masked

    async def scope(self, guild_id: int, actor_id: int, family: Family | None, *,
                    as_manager: bool) -> Family | None:
        """The family an export covers: any (None: the whole program) for a manager; for
        anyone else the family they lead, which must be the one named, if any."""
        if as_manager:
            return family
        led = await self.families.family_led_by(guild_id, actor_id)
        if led is None or (family is not None and family.id != led.id):
            raise NotAllowed("families.not_your_family")
        return led

    async def table(self, guild_id: int, actor_id: int, kind: str, first: date | None,
                    last: date | None, family: Family | None, *, as_manager: bool,
                    period_kind: str | None = None, period_key: str | None = None) -> Table:
        """The rows of export ``kind`` for the period ``first``…``last`` (None: all time;
        ``period_kind``/``period_key`` name an ISO week or a month for progress)."""
        if kind not in KINDS:
            raise ValueError(f"unknown export {kind!r}")
        scope = await self.scope(guild_id, actor_id, family, as_manager=as_manager)
        tz = (await self.guilds.get(guild_id)).timezone
        start, end = first or EARLIEST, last or local_date(self.clock.now(), tz)
        params = {"guild": guild_id, "family": scope.id if scope else None,
                  "first": start.isoformat(), "last": end.isoformat()}
        if kind == "roster":
            positions = positions_of(await self.families.list_families(guild_id))
            rows = [self._roster_row(r, positions, as_manager) for r in
                    await self.db.fetchall(ROSTER_ROWS, params)]
        elif kind == "checkins":
            rows = [[date.fromisoformat(r["local_date"]), str(r["user_id"]), _at(r["handle"]),
                     r["family"], r["hours"], r["diamonds"], r["followers"],
                     r["peak_viewers"], r["mood"], r["notes"]]
                    for r in await self.db.fetchall(CHECKIN_ROWS, params)]
        elif kind == "progress":
            by = period_kind if period_kind in ("week", "month") else "month"
            key = period_key if period_kind in ("week", "month") else None
            rows = [[str(r["user_id"]), _at(r["handle"]), r["family"], r["checkins"],
                     r["valid_days"], round(r["hours"], 2), r["diamonds"], r["followers"]]
                    for r in await self.db.fetchall(PROGRESS_ROWS,
                                                    params | {"kind": by, "period": key})]
        else:
            rows = await self._kpis(tz, guild_id, scope, start, end)
        return Table(kind, COLUMNS[kind], rows, scope, start, end)

    @staticmethod
    def _roster_row(r: Any, positions: dict[int, str], notes: bool) -> list[Any]:
        family_row = {"user": str(r["user_id"]), "handle": _at(r["handle"]), "family": r["family"],
                      "position": positions.get(r["user_id"], "creator"),
                      "joined_family": from_db(r["joined_at"]).date(),
                      "agreement": r["agreement_version"] or None}
        values = {key: r[key] for key in ("platform_user_id", "region", "language",
                                          "category", "platform_joined_on",
                                          "program_joined_on")}
        values["manager_notes"] = r["manager_notes"] if notes else None
        return [family_row.get(k, values.get(k)) for k in COLUMNS["roster"]]

    async def _kpis(self, tz: str, guild_id: int, scope: Family | None, first: date,
                    last: date) -> list[list[Any]]:
        start, end = day_start(first, tz), day_start(last + timedelta(days=1), tz)
        families = [scope] if scope is not None else [
            *await self.families.list_families(guild_id), None]
        rows = []
        for family in families:
            report = await self.kpis.report(guild_id, family.id if family else None, start,
                                            end)
            s, q = report.stats, report.quality
            rows.append([family.name if family else None, s.members, s.members_start, s.joins,
                         s.leaves, _round(s.attrition, 4), _round(s.median_tenure_days, 1),
                         q.checkins, q.with_feedback, round(q.feedback_rate, 4),
                         _round(q.median_response_minutes, 1)])
        return rows


def _at(handle: str | None) -> str | None:
    return f"@{handle}" if handle else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def positions_of(families: list[Family]) -> dict[int, str]:
    """Each leader's and co-leader's position, by user id (the roster's position column)."""
    found: dict[int, str] = {}
    for family in families:
        if family.leader_user_id:
            found[family.leader_user_id] = "leader"
        if family.co_leader_user_id:
            found[family.co_leader_user_id] = "co_leader"
    return found

