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
import multiprocessing
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
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
    Row,
    Schema,
    Sheet,
    SheetError,
    batches,
    open_sheet,
    open_sheet_async,
)
from bot.sheets import values as sv

LIMITS = Limits(max_bytes=25 * 1024 * 1024, max_rows=500_000)
CHUNK = 5_000  # rows read, checked and staged at a time (the event loop runs between)
REFUSED_KEPT = 200  # refused rows kept with their reason for the preview (the rest counted)
APPLY_STEPS = 8  # the apply is reported in about this many steps
WORKER_LINES = 50_000  # a file of more lines is read in a worker process

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
_STAGE = (f"INSERT INTO platform_staging (import_id, {_COLS})"
          f" VALUES (?, ?, ?, ?, ?, {', '.join('?' * len(METRICS))})")
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
                 ids: dict[str, int]) -> None:
        self.guild_id = guild_id
        self.import_id = import_id
        self.columns = [(i, m) for i, m in enumerate(METRICS) if m in columns]
        self.kind = kind
        self.period_key = "date" if kind == "day" else "month"
        self.decimal = decimal
        self.handles = handles
        self.ids = ids
        self.maxima = MAXIMA[kind]
        self.periods: dict[Any, str] = {}  # raw cell -> period
        self.values: dict[str, dict[Any, float | int]] = {m: {} for m in METRICS}
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
                if user is not None and isinstance(handle, str):
                    self.handles[handle] = user  # the same spelling again: found at once
            if user is not None:
                return user
        if sv.blank(handle) and sv.blank(pid):
            self.refuse(line, UserError("stats.no_creator"))
        else:
            self.refuse(line, UserError(
                "stats.unknown_creator", value=str(handle if not sv.blank(handle) else pid)))
        return None

    def _period(self, raw: Any) -> str:
        key = raw if isinstance(raw, str | int | float) else repr(raw)
        found = self.periods.get(key)
        if found is None:
            if self.kind == "day":
                # a Spanish file writes day/month/year; an English one may be either
                found = sv.parse_date(raw, day_first=True if self.decimal == "," else None
                                      ).isoformat()
            else:
                found = sv.parse_month(raw).isoformat()[:7]
            if len(self.periods) < _CACHED:
                self.periods[key] = found
        return found

    def _number(self, metric: str, raw: Any) -> float | int:
        if metric == "hours":
            if isinstance(raw, str) and self.decimal == "." and raw.replace(".", "", 1).isdigit():
                value: float | int = round(float(raw), 4)
            else:
                value = sv.parse_hours(raw, self.decimal)
        elif isinstance(raw, str) and raw.isdigit():
            value = int(raw)
        elif metric == "valid_days" and isinstance(raw, str) and sv.fold(raw) in _YES_NO:
            value = _YES_NO[sv.fold(raw)]
        else:
            value = sv.parse_int(raw, self.decimal)
        if value > self.maxima[metric]:
            raise SheetError("stats.too_high", value=str(raw)[:32], maximum=self.maxima[metric],
                             column=metric)
        return value

    def take(self, rows: list[Row]) -> list[tuple]:
        out = []
        head = (self.import_id, self.guild_id)
        for row in rows:
            cells = row.cells
            try:
                user = self._who(cells, row.line)
                if user is None:
                    continue
                raw = cells.get(self.period_key)
                if raw is None:
                    self.refuse(row.line, UserError("stats.no_period"))
                    continue
                period = self.periods.get(raw) if isinstance(raw, str) else None
                if period is None:
                    period = self._period(raw)
                figures: list[Any] = [None] * len(METRICS)
                for index, metric in self.columns:
                    raw = cells.get(metric)
                    if raw is None:
                        continue
                    known = self.values[metric]
                    value = known.get(raw) if isinstance(raw, str | int | float) else None
                    if value is None:
                        value = self._number(metric, raw)
                        if len(known) < _CACHED and isinstance(raw, str | int | float):
                            known[raw] = value
                    figures[index] = value
            except SheetError as exc:
                self.refuse(row.line, exc)
                continue
            pid = self.period_ids.setdefault(period, len(self.period_ids))
            first = self.seen.setdefault(user * 1_048_576 + pid, row.line)
            if first != row.line:
                self.refuse(row.line, UserError("stats.duplicate_row", first=first))
                continue
            out.append((*head, user, self.kind, period, *figures))
        return out


_CACHED = 200_000  # distinct cells remembered per column
@dataclass(frozen=True)
class _Layout:
    """What a file's header says: daily or monthly rows, the metrics it has, its decimal
    mark (Spanish headers: ","), the columns ignored."""

    kind: str
    columns: tuple[str, ...]
    decimal: str
    unknown: tuple[str, ...]
    csv: bool


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
    return _Layout(kind, columns, decimal, header.unknown, sheet.kind == "csv")


class _Source:
    """Where a file is read and checked: :meth:`open` (the header), :meth:`begin` (the
    creators to match), :meth:`chunk` (rows read, rows to stage; None at the end),
    :meth:`end` (the refused rows)."""

    async def open(self, data: bytes, file_name: str, limits: Limits,
                   locale: str) -> _Layout:
        raise NotImplementedError

    async def begin(self, guild_id: int, import_id: int, layout: _Layout,
                    handles: dict[str, int], ids: dict[str, int]) -> None:
        raise NotImplementedError

    async def chunk(self) -> tuple[int, list[tuple]] | None:
        raise NotImplementedError

    async def end(self) -> tuple[list[Refused], int]:
        raise NotImplementedError

    def close(self) -> None:
        return None


class _InProcess(_Source):
    """In the bot's process, each chunk in a thread (a small file)."""

    async def open(self, data: bytes, file_name: str, limits: Limits,
                   locale: str) -> _Layout:
        self.sheet = await open_sheet_async(data, file_name, SCHEMA, limits, locale)
        return _layout(self.sheet, locale)

    async def begin(self, guild_id: int, import_id: int, layout: _Layout,
                    handles: dict[str, int], ids: dict[str, int]) -> None:
        self.reader = _Reader(guild_id, import_id, layout.columns, layout.kind,
                              layout.decimal, handles, ids)
        self.rows = batches(self.sheet, CHUNK)

    async def chunk(self) -> tuple[int, list[tuple]] | None:
        rows = await anext(self.rows, None)
        if rows is None:
            return None
        return len(rows), await asyncio.to_thread(self.reader.take, rows)

    async def end(self) -> tuple[list[Refused], int]:
        return self.reader.refused, self.reader.refused_count


# -- a big file, read in a worker process --------------------------------------------------
# The worker's one reading at a time: its sheet's rows and its reader.
_WORKER: dict[str, Any] = {}


def _refusal(exc: FamiliaError) -> tuple[str, dict[str, Any]]:
    """An error as it crosses processes (an exception's keyword values are not pickled)."""
    return exc.code, exc.params


def _worker_open(data: bytes, file_name: str, limits: Limits, locale: str) -> Any:
    try:
        sheet = open_sheet(data, file_name, SCHEMA, limits, locale)
        layout = _layout(sheet, locale)
    except SheetError as exc:
        return "refused", _refusal(exc)
    _WORKER.clear()
    _WORKER["rows"] = sheet.rows()
    return "ok", layout


def _worker_begin(guild_id: int, import_id: int, layout: _Layout, handles: dict[str, int],
                  ids: dict[str, int]) -> None:
    _WORKER["reader"] = _Reader(guild_id, import_id, layout.columns, layout.kind,
                                layout.decimal, handles, ids)


def _worker_chunk(size: int) -> Any:
    rows, taken = _WORKER["rows"], []
    try:
        for row in rows:
            taken.append(row)
            if len(taken) >= size:
                break
    except SheetError as exc:
        return "refused", _refusal(exc)
    if not taken:
        return "ok", None
    return "ok", (len(taken), _WORKER["reader"].take(taken))


def _worker_end() -> Any:
    reader = _WORKER.pop("reader")
    _WORKER.clear()
    return [(r.line, _refusal(r.error)) for r in reader.refused], reader.refused_count


def _answer(found: Any) -> Any:
    status, value = found
    if status == "refused":
        code, params = value
        raise SheetError(code, **params)
    return value


class _InWorker(_Source):
    """In a worker process of its own (``spawn``: the bot has threads, which must not be
    forked), stopped at the end; the bot only stores what it sends back."""

    def __init__(self) -> None:
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def open(self, data: bytes, file_name: str, limits: Limits,
                   locale: str) -> _Layout:
        return _answer(await self._run(_worker_open, data, file_name, limits, locale))

    async def begin(self, guild_id: int, import_id: int, layout: _Layout,
                    handles: dict[str, int], ids: dict[str, int]) -> None:
        await self._run(_worker_begin, guild_id, import_id, layout, handles, ids)

    async def chunk(self) -> tuple[int, list[tuple]] | None:
        return _answer(await self._run(_worker_chunk, CHUNK))

    async def end(self) -> tuple[list[Refused], int]:
        refused, count = await self._run(_worker_end)
        # rebuilt as the file layer's refusal: its code names the message either way
        return [Refused(line, SheetError(code, **params)) for line, (code, params) in refused
                ], count

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


_YES_NO = {"yes": 1, "y": 1, "si": 1, "true": 1, "x": 1, "no": 0, "n": 0, "false": 0}


class PlatformStatsService:
    def __init__(self, db: Database, clock: Clock, valid_day_hours: float = 1.0,
                 limits: Limits = LIMITS, worker_lines: int = WORKER_LINES) -> None:
        self.db = db
        self.clock = clock
        self.valid_day_hours = valid_day_hours
        self.limits = limits
        self.worker_lines = worker_lines

    # -- stage and preview ---------------------------------------------------------------------

    async def stage(self, guild_id: int, actor_id: int, file_name: str, data: bytes,
                    locale: str = "en", progress: Progress = _quiet) -> Preview:
        """Read an upload and stage its rows (see the module's docstring); a file Familia
        cannot read is refused whole (:class:`SheetError`) and nothing is kept. A big file
        (more than :data:`WORKER_LINES` lines) is read in a worker process, so the bot's
        event loop and its other threads are not kept from running meanwhile."""
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        lines = data.count(b"\n")
        source: _Source = (_InWorker() if lines > self.worker_lines else _InProcess())
        try:
            layout = await source.open(data, file_name, self.limits, locale)
            handles, ids = await self._creators(guild_id)
            now = to_db(self.clock.now())
            import_id = await self._insert_import(guild_id, actor_id, file_name, digest,
                                                  layout.kind, now)
            await source.begin(guild_id, import_id, layout, handles, ids)
            total = lines - 1 if layout.csv else 0
            done = 0
            try:
                while (chunk := await source.chunk()) is not None:
                    read, staged = chunk
                    if staged:
                        await self.db.run(_stager(staged))
                    done += read
                    await progress(Step("reading", done, max(total, done)))
                refused, refused_count = await source.end()
            except BaseException:
                await self.discard(guild_id, import_id)
                raise
        finally:
            source.close()
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


def _stager(rows: list[tuple]) -> Callable[[SyncTransaction], None]:
    def stage(tx: SyncTransaction) -> None:
        tx.executemany(_STAGE, rows)
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
