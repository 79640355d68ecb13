"""Stats import: the platform's own figures per creator and day (or month), from its exports.

The life of an import (``stat_imports`` rows):

1. **stage** — the upload is read off the event loop (``bot/sheets``: CSV or ``.xlsx``,
   headers in English or Spanish), each row matched to a creator by platform handle or user
   id (``creator_profiles``) and checked; good rows go to ``platform_staging`` chunk by chunk,
   refused ones are counted with their line and reason. Nothing the program shows changes.
   The preview compares the staged rows with what is stored: added, changed, unchanged.
2. **apply** — one transaction: the rows that differ replace the stored ones for the same
   creator and period (never added twice: ``platform_stats`` is keyed by creator and period),
   what they replaced is kept in ``platform_replaced``, and the progress model of the creators
   and weeks/months touched is recomputed (``platform_figures``). Applying the same file again
   changes nothing (0 added, 0 changed).
3. **rollback** — one transaction: the rows the import wrote go, the rows it replaced come
   back (when the import that wrote them still stands), the progress model is recomputed.

Each import keeps its file's SHA-256, its periods and its counts; every step is audited.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import islice
from operator import getitem, itemgetter
from typing import Any

from bot.clock import Clock, to_db
from bot.db import Database, SyncTransaction, Transaction
from bot.errors import FamiliaError, NotFound, UserError
from bot.services import platform_figures
from bot.services.bounds import ID_MAX
from bot.services.platform_figures import period_days
from bot.sheets import (
    Column,
    Limits,
    Schema,
    Sheet,
    SheetError,
    cell,
    open_sheet_async,
)
from bot.sheets import values as sv

LIMITS = Limits(max_bytes=25 * 1024 * 1024, max_rows=500_000)
CHUNK = 5_000  # rows read, checked and staged at a time (the event loop runs between)
REFUSED_KEPT = 200  # refused rows kept with their reason for the preview (the rest counted)
APPLY_STEPS = 8  # the apply is reported in about this many steps

METRICS = ("hours", "diamonds", "followers", "valid_days", "sessions", "peak_viewers",
           "avg_viewers", "gifters")
# per day, per month (the longest): what a row may hold
MAXIMA = {
    "day": {"hours": 24, "diamonds": 10_000_000, "followers": 1_000_000, "valid_days": 1,
            "sessions": 1_000, "peak_viewers": 10_000_000, "avg_viewers": 10_000_000,
            "gifters": 10_000_000},
    "month": {"hours": 744, "diamonds": 310_000_000, "followers": 31_000_000,
              "valid_days": 31, "sessions": 31_000, "peak_viewers": 10_000_000,
              "avg_viewers": 10_000_000, "gifters": 310_000_000},
}

# Each column: its key, English aliases, Spanish aliases, titles (what a template writes).
_COLUMNS = (
    ("handle", ("creator", "creator handle", "username", "user name", "tiktok handle",
                "platform handle", "creator username", "nickname"),
     ("usuario", "creador", "nombre de usuario", "handle del creador"),
     {"en": "Handle", "es": "Usuario"}),
    ("platform_id", ("creator id", "user id", "uid", "platform id", "tiktok id", "anchor id"),
     ("id del creador", "id de usuario", "id de creador", "id de plataforma"),
     {"en": "Creator ID", "es": "ID del creador"}),
    ("date", ("day", "date of live", "live date"), ("fecha", "dia", "fecha del live"),
     {"en": "Date", "es": "Fecha"}),
    ("month", ("period",), ("mes", "periodo"), {"en": "Month", "es": "Mes"}),
    ("hours", ("live duration", "duration", "live hours", "hours live", "hours", "live time"),
     ("duracion", "duracion del live", "horas", "horas en vivo", "tiempo en vivo",
      "duracion live"),
     {"en": "LIVE duration", "es": "Duración del LIVE"}),
    ("diamonds", ("diamond", "diamonds earned"), ("diamantes", "diamantes recibidos"),
     {"en": "Diamonds", "es": "Diamantes"}),
    ("followers", ("new followers", "followers gained", "follower growth", "followers"),
     ("nuevos seguidores", "seguidores nuevos", "seguidores"),
     {"en": "New followers", "es": "Nuevos seguidores"}),
    ("valid_days", ("valid day", "valid live days", "active days", "valid"),
     ("dias validos", "dia valido", "dias activos", "valido"),
     {"en": "Valid days", "es": "Días válidos"}),
    ("sessions", ("live sessions", "lives", "number of lives", "sessions"),
     ("sesiones", "sesiones live", "numero de lives"),
     {"en": "LIVE sessions", "es": "Sesiones LIVE"}),
    ("peak_viewers", ("peak viewers", "max viewers"),
     ("pico de espectadores", "espectadores maximos", "maximo de espectadores"),
     {"en": "Peak viewers", "es": "Pico de espectadores"}),
    ("avg_viewers", ("average viewers", "avg viewers"),
     ("espectadores promedio", "promedio de espectadores"),
     {"en": "Average viewers", "es": "Espectadores promedio"}),
    ("gifters", ("unique gifters",), ("donantes", "regaladores"),
     {"en": "Gifters", "es": "Donantes"}),
)
SCHEMA = Schema(tuple(Column(key, (*en, *es), titles=titles)
                      for key, en, es, titles in _COLUMNS))
# Headers that say the file was written in Spanish: its numbers use "," as decimal mark.
_SPANISH = {sv.fold(a) for _, _, es, titles in _COLUMNS for a in (*es, titles["es"])}

# The stored columns, in the order every statement below uses.
_COLS = "guild_id, user_id, period_kind, period, " + ", ".join(METRICS)
_DIFFERS = " OR ".join(f"p.{m} IS NOT s.{m}" for m in METRICS)
_COUNTS = f"""
    SELECT count(*) AS rows, count(DISTINCT s.user_id) AS creators,
           min(s.period) AS first, max(s.period) AS last,
           coalesce(sum(p.user_id IS NULL), 0) AS added,
           coalesce(sum(p.user_id IS NOT NULL AND ({_DIFFERS})), 0) AS changed
    FROM platform_staging s LEFT JOIN platform_stats p ON p.guild_id = s.guild_id
      AND p.user_id = s.user_id AND p.period_kind = s.period_kind AND p.period = s.period
    WHERE s.import_id = ?"""
# The stored rows a range of the staged ones replace (kept for a rollback) …
_KEEP_REPLACED = f"""
    INSERT INTO platform_replaced (import_id, {_COLS}, old_import_id)
    SELECT :i, {', '.join('p.' + c.strip() for c in _COLS.split(','))}, p.import_id
    FROM platform_staging s JOIN platform_stats p ON p.guild_id = s.guild_id
      AND p.user_id = s.user_id AND p.period_kind = s.period_kind AND p.period = s.period
    WHERE s.import_id = :i AND s.rowid BETWEEN :r1 AND :r2 AND ({_DIFFERS})"""
# … and the staged rows written over them (an unchanged row keeps its import).
_UPSERT = f"""
    INSERT INTO platform_stats ({_COLS}, import_id)
    SELECT {_COLS}, import_id FROM platform_staging
    WHERE import_id = :i AND rowid BETWEEN :r1 AND :r2
    ON CONFLICT (guild_id, user_id, period_kind, period) DO UPDATE SET
        {', '.join(f'{m} = excluded.{m}' for m in METRICS)}, import_id = excluded.import_id
    WHERE {' OR '.join(f'{m} IS NOT excluded.{m}' for m in METRICS)}"""
_RESTORE = f"""
    INSERT INTO platform_stats ({_COLS}, import_id)
    SELECT {_COLS}, old_import_id FROM platform_replaced r
    WHERE r.import_id = ? AND r.old_import_id IN (
        SELECT id FROM stat_imports WHERE state = 'applied')
      AND true
    ON CONFLICT (guild_id, user_id, period_kind, period) DO NOTHING"""
# A creator by platform handle or id (creator profiles, bot/services/profiles.py).
PROFILES = ("SELECT user_id, handle, platform_user_id FROM creator_profiles"
            " WHERE guild_id = ?")


@dataclass(frozen=True)
class Refused:
    """A row not imported: its line and why (a file-layer or stats refusal)."""

    line: int
    error: FamiliaError

    @property
    def reason(self) -> str:
        return self.error.code


@dataclass(frozen=True)
class ImportRecord:
    id: int
    file_name: str
    file_hash: str
    granularity: str
    first_period: str | None
    last_period: str | None
    rows_read: int
    rows_refused: int
    creators: int
    added: int
    changed: int
    unchanged: int
    state: str
    created_by: int | None
    created_at: str

    @property
    def rows(self) -> int:
        return self.added + self.changed + self.unchanged


@dataclass(frozen=True)
class Preview:
    record: ImportRecord
    refused: list[Refused]
    unknown_columns: tuple[str, ...]
    columns: tuple[str, ...]  # the metrics the file has
    duplicate_of: int | None = None  # an applied import of the same file


@dataclass(frozen=True)
class Step:
    """Where a long import is: ``stage`` ("reading" or "applying": rows; "totals": creators
    whose progress is recomputed), how many are done and the total (0 when not known yet)."""

    stage: str
    done: int
    total: int


Progress = Callable[[Step], Awaitable[None]]


async def _quiet(step: Step) -> None:
    return None


def _record(row: Any) -> ImportRecord:
    return ImportRecord(
        row["id"], row["file_name"], row["file_hash"], row["granularity"],
        row["first_period"], row["last_period"], row["rows_read"], row["rows_refused"],
        row["creators"], row["added"], row["changed"], row["unchanged"], row["state"],
        row["created_by"], row["created_at"])


class _Reader:
    """Turns a sheet's rows into staged tuples (in a worker thread, chunk by chunk).

    An export repeats itself (the same dates on every creator, the same durations and
    counts): each distinct cell is parsed once and remembered (:data:`_CACHED` per column),
    which is most of what makes 450,000 rows quick to read."""

    def __init__(self, guild_id: int, import_id: int, columns: tuple[str, ...],
                 kind: str, decimal: str, handles: dict[str, int],
                 ids: dict[str, int], who: tuple[str, ...] = ("handle", "platform_id"),
                 text: bool = True) -> None:
        self.guild_id = guild_id
        self.import_id = import_id
        self.metrics = tuple(m for m in METRICS if m in columns)
        self.kind = kind
        self.period_key = "date" if kind == "day" else "month"
        self.who = who  # the creator's columns the file has
        # a cell as the file layer's rows give it: a CSV's text is read by cell()
        self.cell: Callable[[Any], Any] = cell if text else _as_is
        # what a row's cells are, in order (Sheet.records)
        self.keys = (*who, self.period_key, *self.metrics)
        self.decimal = decimal
        self.handles = handles
        self.ids = ids
        self.maxima = MAXIMA[kind]
        self.periods: dict[Any, str] = {}  # cell as read -> period
        # per metric, cell as read -> its value (None for a blank cell)
        self.values: list[dict[Any, float | int | None]] = [{} for _ in self.metrics]
        self.creators: dict[Any, int] = {}  # creator's cell(s) as read -> member
        # creator and period -> the first line with them; keyed by one int (a tuple key per
        # row would leave 450,000 objects for the garbage collector to walk, again and again)
        self.seen: dict[int, int] = {}
        self.period_ids: dict[str, int] = {}
        self.refused: list[Refused] = []
        self.refused_count = 0

    def refuse(self, line: int, error: FamiliaError) -> None:
        self.refused_count += 1
        if len(self.refused) < REFUSED_KEPT:
            self.refused.append(Refused(line, error))

    def _who(self, cells: dict[str, Any], line: int) -> int | None:
        handle, pid = cells.get("handle"), cells.get("platform_id")
        if pid is not None:
            user = self.ids.get(pid if isinstance(pid, str) else "") or self.ids.get(
                sv.parse_platform_id(pid))
            if user is not None:
                return user
        if handle is not None:
            user = self.handles.get(handle) if isinstance(handle, str) else None
            if user is None:
                user = self.handles.get(sv.normalise_handle(handle))
            if user is not None:
                return user
        if sv.blank(handle) and sv.blank(pid):
            self.refuse(line, UserError("stats.no_creator"))
        else:
            self.refuse(line, UserError(
                "stats.unknown_creator", value=str(handle if not sv.blank(handle) else pid)))
        return None

    def _period(self, raw: Any) -> str:
        if self.kind == "day":
            # a Spanish file writes day/month/year; an English one may be either
            return sv.parse_date(raw, day_first=True if self.decimal == "," else None
                                 ).isoformat()
        return sv.parse_month(raw).isoformat()[:7]

    def _number(self, metric: str, raw: Any) -> float | int:
        if metric == "hours":
            if isinstance(raw, str) and self.decimal == "." and raw.replace(".", "", 1).isdigit():
                value: float | int = round(float(raw), 4)
            else:
                value = sv.parse_hours(raw, self.decimal)
        elif isinstance(raw, str) and raw.isdigit():
            value = int(raw)
        elif isinstance(raw, str) and _GROUPED[self.decimal].fullmatch(raw):
            value = int(raw.replace("," if self.decimal == "." else ".", ""))  # 1,234
        elif metric == "valid_days" and isinstance(raw, str) and sv.fold(raw) in _YES_NO:
            value = _YES_NO[sv.fold(raw)]
        else:
            value = sv.parse_int(raw, self.decimal)
        if value > self.maxima[metric]:
            raise SheetError("stats.too_high", value=str(raw)[:32], maximum=self.maxima[metric],
                             column=metric)
        return value

    def _creator(self, line: int, cells: tuple[Any, ...]) -> int | None:
        """The member of a row whose creator's cells were not met before (None: refused)."""
        width = len(self.who)
        named = dict(zip(self.who, (self.cell(c) for c in cells[:width]), strict=True))
        user = self._who(named, line)
        creator = cells[0] if width == 1 else cells[:width]
        if (user is not None and isinstance(creator, str | int | tuple)
                and len(self.creators) < _CACHED):
            self.creators[creator] = user
        return user

    def _day(self, line: int, raw: Any) -> str | None:
        """The period of a cell not met before (None: refused; SheetError: not a date)."""
        value = self.cell(raw)
        if value is None:
            self.refuse(line, UserError("stats.no_period"))
            return None
        period = self._period(value)
        if _hashable(raw) and len(self.periods) < _CACHED:
            self.periods[raw] = period
        return period

    def _figures(self, cells: tuple[Any, ...]) -> tuple:
        """The metrics of a row with a cell not met before (SheetError: one is refused)."""
        figures: list[Any] = []
        for metric, known, raw in zip(self.metrics, self.values, cells, strict=True):
            if _hashable(raw) and raw in known:
                figures.append(known[raw])
                continue
            value = self.cell(raw)
            number = None if value is None else self._number(metric, value)
            if _hashable(raw) and len(known) < _CACHED:
                known[raw] = number
            figures.append(number)
        return tuple(figures)

    def take(self, records: Iterator[tuple[int, tuple[Any, ...]]], size: int
             ) -> tuple[int, list[tuple]]:
        """Up to ``size`` of the sheet's records (:meth:`bot.sheets.Sheet.records` of
        :attr:`keys`): how many were read, and the rows to stage — (member, period, each
        metric the file has). A row whose every cell was met before is a few dictionary
        look-ups; a cell not met before is read and checked (and remembered), in the order
        a person reads the row: creator, period, metrics."""
        out: list[tuple] = []
        append = out.append
        creators, periods, values = self.creators, self.periods, self.values
        seen, period_ids = self.seen, self.period_ids
        width = len(self.who)
        creator_of = itemgetter(0) if width == 1 else itemgetter(slice(0, width))
        read = 0
        for line, cells in islice(records, size):
            read += 1
            try:
                try:
                    user = creators[creator_of(cells)]
                except (KeyError, TypeError):
                    member = self._creator(line, cells)
                    if member is None:
                        continue
                    user = member
                try:
                    period = periods[cells[width]]
                except (KeyError, TypeError):
                    day = self._day(line, cells[width])
                    if day is None:
                        continue
                    period = day
                try:
                    figures = tuple(map(getitem, values, cells[width + 1:]))
                except (KeyError, TypeError):
                    figures = self._figures(cells[width + 1:])
            except SheetError as exc:
                self.refuse(line, exc)
                continue
            pid = period_ids.get(period)
            if pid is None:
                pid = period_ids[period] = len(period_ids)
            first = seen.setdefault(user * 1_048_576 + pid, line)
            if first != line:
                self.refuse(line, UserError("stats.duplicate_row", first=first))
                continue
            append((user, period, *figures))
        return read, out


def _stage_sql(guild_id: int, import_id: int, layout: _Layout) -> str:
    """The INSERT that stages :meth:`_Reader.take`'s rows: the import, guild and kind
    written in (three values fewer to bind per row), then the creator, period and metrics."""
    return (f"INSERT INTO platform_staging (import_id, guild_id, period_kind, user_id,"
            f" period{''.join(', ' + m for m in layout.columns)}) VALUES"
            f" ({int(import_id):d}, {int(guild_id):d},"
            f" '{'day' if layout.kind == 'day' else 'month'}', ?, ?"
            f"{', ?' * len(layout.columns)})")


def _as_is(value: Any) -> Any:
    return value


def _hashable(value: Any) -> bool:
    return isinstance(value, str | int | float | date | datetime | time)


_CACHED = 200_000  # distinct cells remembered per column
# a whole number with its thousands grouped, as parse_int reads it, by decimal mark
_GROUPED = {".": re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+"),
            ",": re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+")}
@dataclass(frozen=True)
class _Layout:
    """What a file's header says: daily or monthly rows, the metrics it has, its decimal
    mark (Spanish headers: ","), the columns ignored."""

    kind: str
    columns: tuple[str, ...]
    decimal: str
    unknown: tuple[str, ...]
    csv: bool
    who: tuple[str, ...] = ("handle", "platform_id")  # the creator's columns it has


def _layout(sheet: Sheet, locale: str) -> _Layout:
    header = sheet.header
    if "handle" not in header and "platform_id" not in header:
        raise SheetError("sheets.missing_columns", columns=" / ".join(
            SCHEMA.titles(locale, ["handle", "platform_id"])))
    kind = "day" if "date" in header else "month" if "month" in header else None
    if kind is None:
        raise SheetError("sheets.missing_columns", columns=" / ".join(
            SCHEMA.titles(locale, ["date", "month"])))
    columns = tuple(m for m in METRICS if m in header)
    if not columns:
        raise SheetError("sheets.missing_columns", columns=", ".join(
            SCHEMA.titles(locale, ["hours", "diamonds", "followers", "valid_days"])))
    spanish = sum(sv.fold(h) in _SPANISH for h in header.headers)
    decimal = "," if spanish * 2 > len([h for h in header.headers if h]) else "."
    who = tuple(k for k in ("handle", "platform_id") if k in header)
    return _Layout(kind, columns, decimal, header.unknown, sheet.kind == "csv", who)


_YES_NO = {"yes": 1, "y": 1, "si": 1, "true": 1, "x": 1, "no": 0, "n": 0, "false": 0}


class PlatformStatsService:
    def __init__(self, db: Database, clock: Clock, valid_day_hours: float = 1.0,
                 limits: Limits = LIMITS, chunk: int = CHUNK) -> None:
        self.db = db
        self.clock = clock
        self.valid_day_hours = valid_day_hours
        self.limits = limits
        self.chunk = chunk

    # -- stage and preview ---------------------------------------------------------------------

    async def stage(self, guild_id: int, actor_id: int, file_name: str, data: bytes,
                    locale: str = "en", progress: Progress = _quiet) -> Preview:
        """Read an upload and stage its rows (see the module's docstring); a file Familia
        cannot read is refused whole (:class:`SheetError`) and nothing is kept.

        The file is read in the bot's process, :attr:`chunk` rows at a time, each chunk in a
        thread (the event loop runs between, and while a chunk is read): the next chunk is
        read while the one before is written, and only those two are held."""
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        lines = data.count(b"\n")
        sheet = await open_sheet_async(data, file_name, SCHEMA, self.limits, locale)
        layout = _layout(sheet, locale)
        handles, ids = await self._creators(guild_id)
        now = to_db(self.clock.now())
        import_id = await self._insert_import(guild_id, actor_id, file_name, digest,
                                              layout.kind, now)
        reader = _Reader(guild_id, import_id, layout.columns, layout.kind, layout.decimal,
                         handles, ids, layout.who, layout.csv)
        records = sheet.records(reader.keys)
        statement = _stage_sql(guild_id, import_id, layout)
        total = lines - 1 if layout.csv else 0
        done = 0
        writing: asyncio.Future[None] | None = None
        try:
            while True:
                read, staged = await asyncio.to_thread(reader.take, records, self.chunk)
                if writing is not None:
                    await writing
                    writing = None
                if not read:
                    break
                if staged:
                    writing = asyncio.ensure_future(self.db.run(_stager(statement, staged)))
                done += read
                await progress(Step("reading", done, max(total, done)))
        except BaseException:
            if writing is not None:  # its outcome goes with the error
                await asyncio.wait([writing])
                if not writing.cancelled():
                    writing.exception()
            await self.discard(guild_id, import_id)
            raise
        refused, refused_count = reader.refused, reader.refused_count
        if done == 0:
            await self.discard(guild_id, import_id)
            raise SheetError("sheets.empty")

        def count(tx: SyncTransaction) -> tuple[Any, Any]:
            found = tx.fetchone(_COUNTS, (import_id,))
            tx.execute(
                "UPDATE stat_imports SET first_period = ?, last_period = ?, rows_read = ?,"
                " rows_refused = ?, creators = ?, added = ?, changed = ?, unchanged = ?"
                " WHERE id = ?",
                (found["first"], found["last"], done, refused_count, found["creators"],
                 found["added"], found["changed"],
                 found["rows"] - found["added"] - found["changed"], import_id))
            same = tx.fetchval(
                "SELECT max(id) FROM stat_imports WHERE guild_id = ? AND file_hash = ?"
                " AND state = 'applied'", (guild_id, digest))
            return tx.fetchone("SELECT * FROM stat_imports WHERE id = ?", (import_id,)), same

        row, same = await self.db.run(count)
        return Preview(_record(row), refused, layout.unknown, layout.columns, same)

    async def _insert_import(self, guild_id: int, actor_id: int, file_name: str, digest: str,
                             kind: str, now: str) -> int:
        async with self.db.transaction() as tx:
            # a preview never applied is dropped when the next file is staged
            await self._drop_staged(tx, guild_id)
            return await tx.execute(
                "INSERT INTO stat_imports (guild_id, file_hash, file_name, granularity, state,"
                " created_by, created_at) VALUES (?, ?, ?, ?, 'staged', ?, ?)",
                (guild_id, digest, file_name[:200], kind, actor_id, now))

    async def _drop_staged(self, tx: Transaction, guild_id: int) -> None:
        await tx.execute(
            "DELETE FROM platform_staging WHERE import_id IN (SELECT id FROM stat_imports"
            " WHERE guild_id = ? AND state = 'staged')", (guild_id,))
        await tx.execute("DELETE FROM stat_imports WHERE guild_id = ? AND state = 'staged'",
                         (guild_id,))

    async def _creators(self, guild_id: int) -> tuple[dict[str, int], dict[str, int]]:
        """Platform handle → member and platform id → member, from the creator profiles."""
        rows = await self.db.fetchall(PROFILES, (guild_id,))
        handles = {r["handle"]: r["user_id"] for r in rows if r["handle"]}
        ids = {str(r["platform_user_id"]): r["user_id"] for r in rows if r["platform_user_id"]}
        return handles, ids

    async def discard(self, guild_id: int, import_id: int) -> None:
        """Forget a staged import (its preview was not applied)."""
        async with self.db.transaction() as tx:
            state = await tx.fetchval(
                "SELECT state FROM stat_imports WHERE id = ? AND guild_id = ?",
                (import_id, guild_id))
            if state is None:
                raise NotFound("stats.unknown_import", value=import_id)
            if state == "applied":
                raise UserError("stats.already_applied", id=import_id)
            await tx.execute(
                "DELETE FROM platform_staging WHERE import_id = ? AND import_id IN (SELECT id"
                " FROM stat_imports WHERE guild_id = ? AND state = 'staged')",
                (import_id, guild_id))
            await tx.execute(
                "DELETE FROM stat_imports WHERE id = ? AND guild_id = ? AND state = 'staged'",
                (import_id, guild_id))

    # -- apply ---------------------------------------------------------------------------------

    async def get(self, guild_id: int, import_id: int) -> ImportRecord:
        row = await self.db.fetchone(
            "SELECT * FROM stat_imports WHERE id = ? AND guild_id = ?", (import_id, guild_id))
        if row is None:
            raise NotFound("stats.unknown_import", value=import_id)
        return _record(row)

    async def apply(self, guild_id: int, import_id: int, actor_id: int,
                    progress: Progress = _quiet) -> ImportRecord:
        """Apply a staged import in one transaction (see the module's docstring)."""
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM stat_imports WHERE id = ? AND guild_id = ?",
                                    (import_id, guild_id))
            if row is None:
                raise NotFound("stats.unknown_import", value=import_id)
            if row["state"] == "applied":
                raise UserError("stats.already_applied", id=import_id)
            if row["state"] != "staged":
                raise UserError("stats.import_gone", id=import_id)
            record = _record(row)
            low, high = await tx.fetchone(
                "SELECT min(rowid), max(rowid) FROM platform_staging WHERE import_id = ?",
                (import_id,))
            total = record.rows
            if low is not None:
                step = max(1, -(-(high - low + 1) // APPLY_STEPS))
                for start in range(low, high + 1, step):
                    params = {"i": import_id, "r1": start, "r2": start + step - 1}
                    await tx.execute(_KEEP_REPLACED, params)
                    await tx.execute(_UPSERT, params)
                    done = min(total, start + step - low)
                    await progress(Step("applying", done, total))
            users = [r[0] for r in await tx.fetchall(
                "SELECT DISTINCT user_id FROM platform_staging WHERE import_id = ?",
                (import_id,))]
            if record.first_period is not None and record.last_period is not None:
                first, last = period_days(record.granularity, record.first_period,
                                          record.last_period)
                await _fill_users(tx, "SELECT user_id FROM platform_staging WHERE import_id = ?",
                                  (import_id,))
                done = 0
                for span in platform_figures.slices(users):
                    for sql, params_ in platform_figures.rebuild_statements(
                            guild_id, first, last, self.valid_day_hours, who="some",
                            users=span):
                        await tx.execute(sql, params_)
                    done = min(len(users), done + platform_figures.CHUNK)
                    await progress(Step("totals", done, len(users)))
            await tx.execute("DELETE FROM platform_staging WHERE import_id = ?", (import_id,))
            await tx.execute("UPDATE stat_imports SET state = 'applied', applied_at = ?"
                             " WHERE id = ?", (now, import_id))
            await _audit(tx, guild_id, actor_id, "stats.import", str(import_id), now,
                         file_hash=record.file_hash, period=[record.first_period,
                                                             record.last_period],
                         added=record.added, changed=record.changed,
                         unchanged=record.unchanged, refused=record.rows_refused)
            row = await tx.fetchone("SELECT * FROM stat_imports WHERE id = ?", (import_id,))
        return _record(row)

    async def rollback(self, guild_id: int, import_id: int, actor_id: int) -> ImportRecord:
        """Undo an applied import in one transaction (see the module's docstring)."""
        if not 1 <= import_id <= ID_MAX:  # a raw API call's number past SQLite's
            raise NotFound("stats.unknown_import", value=import_id)
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM stat_imports WHERE id = ? AND guild_id = ?",
                                    (import_id, guild_id))
            if row is None or row["state"] == "staged":
                raise NotFound("stats.unknown_import", value=import_id)
            if row["state"] == "rolled_back":
                raise UserError("stats.already_rolled_back", id=import_id)
            record = _record(row)
            await _fill_users(
                tx, "SELECT user_id FROM platform_stats WHERE import_id = ? AND guild_id = ?"
                " UNION SELECT user_id FROM platform_replaced WHERE import_id = ?",
                (import_id, guild_id, import_id))
            await tx.execute("UPDATE stat_imports SET state = 'rolled_back',"
                             " rolled_back_by = ?, rolled_back_at = ? WHERE id = ?",
                             (actor_id, now, import_id))
            await tx.execute("DELETE FROM platform_stats WHERE import_id = ? AND guild_id = ?",
                             (import_id, guild_id))
            await tx.execute(_RESTORE, (import_id,))
            await tx.execute("DELETE FROM platform_replaced WHERE import_id = ?", (import_id,))
            if record.first_period is not None and record.last_period is not None:
                first, last = period_days(record.granularity, record.first_period,
                                          record.last_period)
                users = [r[0] for r in await tx.fetchall(
                    "SELECT user_id FROM temp.rebuild_users")]
                for part in platform_figures.slices(users):
                    for sql, params in platform_figures.rebuild_statements(
                            guild_id, first, last, self.valid_day_hours, who="some",
                            users=part):
                        await tx.execute(sql, params)
            await _audit(tx, guild_id, actor_id, "stats.rollback", str(import_id), now,
                         file_hash=record.file_hash)
            row = await tx.fetchone("SELECT * FROM stat_imports WHERE id = ?", (import_id,))
        return _record(row)

    async def imports(self, guild_id: int, limit: int = 10) -> list[ImportRecord]:
        """The latest applied or rolled-back imports, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM stat_imports WHERE guild_id = ? AND state <> 'staged'"
            " ORDER BY id DESC LIMIT ?", (guild_id, limit))
        return [_record(r) for r in rows]


def _stager(statement: str, rows: list[tuple]) -> Callable[[SyncTransaction], None]:
    def stage(tx: SyncTransaction) -> None:
        tx.executemany(statement, rows)
    return stage


async def _fill_users(tx: Transaction, select: str, params: tuple) -> None:
    """The creators a rebuild recomputes (``temp.rebuild_users``), chosen in SQL."""
    await tx.execute("CREATE TEMP TABLE IF NOT EXISTS rebuild_users"
                     " (user_id INTEGER PRIMARY KEY)")
    await tx.execute("DELETE FROM temp.rebuild_users")
    await tx.execute(f"INSERT OR IGNORE INTO temp.rebuild_users (user_id) {select}", params)


async def _audit(tx: Transaction, guild_id: int, actor_id: int | None, action: str,
                 target: str | None, now: str, **details: Any) -> None:
    import json

    await tx.execute(
        "INSERT INTO audit_log (guild_id, actor_id, action, target, details, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (guild_id, actor_id, action, target, json.dumps(details, default=str), now))
