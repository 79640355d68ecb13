"""SQLite through aiosqlite: one writer connection, one reader, numbered migrations.

Writes are serialised through the writer connection and an asyncio lock; every unit of work is
one ``async with db.transaction() as tx`` block. Reads that do not need to see an open
transaction go through the reader connection (WAL lets it read while the writer writes).

Checkpoints (copying the WAL back into the database file, with its two fsync calls) run on a
connection of their own, beside the writer: SQLite's automatic checkpoint would run them in
the writer's COMMIT every thousand pages, and a unit of work that writes a few dozen pages
(a check-in and its running totals) would wait on one every few dozen commits. The writer
keeps an automatic checkpoint as a backstop (:data:`WRITER_AUTOCHECKPOINT` pages): it finds
the WAL already copied, so it only finishes the rest and lets the WAL start over.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import filelock

log = logging.getLogger(__name__)
T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Commits after which the checkpointer copies the WAL into the database file (off the writer).
CHECKPOINT_AFTER = 16
# The writer's own automatic checkpoint (pages of WAL): only a backstop that bounds the WAL
# (about 16 MB) while the checkpointer runs behind a burst of writes.
WRITER_AUTOCHECKPOINT = 4000


class DatabaseTooNew(Exception):
    """The database was written by a newer Familia than this one."""


class MigrationFailed(Exception):
    """A migration raised; the database is left exactly as before it."""


class DatabaseInUse(Exception):
    """Another Familia process holds this database file (one process per file)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(folder: Path | None = None) -> list[Migration]:
    """The migrations shipped in the ``migrations`` package (or ``folder``), in order."""
    if folder is None:
        files = [
            (entry.name, entry.read_text(encoding="utf-8"))
            for entry in resources.files("migrations").iterdir()
            if entry.name.endswith(".sql")
        ]
    else:
        files = [(p.name, p.read_text(encoding="utf-8")) for p in folder.glob("*.sql")]
    found: list[Migration] = []
    for name, sql in files:
        match = _MIGRATION_NAME.match(name)
        if not match:
            raise ValueError(f"migration file {name!r} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), sql))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def _is_insert(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "INSERT"


class SyncTransaction:
    """A unit of work's statements run synchronously in the database thread (see
    :meth:`Database.run`); the same methods as :class:`Transaction`, without ``await``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement; returns lastrowid for an INSERT, else the rowcount."""
        cursor = self._conn.execute(sql, params)
        try:
            return (cursor.lastrowid or 0) if _is_insert(sql) else cursor.rowcount
        finally:
            cursor.close()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows).close()

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        cursor = self._conn.execute(sql, params)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def fetchval(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.fetchone(sql, params)
        return None if row is None else row[0]


def _in_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
    """``fn(SyncTransaction, *args)`` in ``conn``'s thread: one trip, however many statements.

    aiosqlite runs each call in its connection's thread and wakes the event loop when it is
    done; a statement used to cost three such trips (execute, fetch, close).

    The one place Familia uses aiosqlite internals: aiosqlite (0.22) has no public way to run
    a function in its connection's thread — every public method wraps one sqlite3 call.
    ``_execute`` is its own way of queueing a call on that thread and ``_conn`` the sqlite3
    connection (both stable since 0.17; the version range is pinned in pyproject.toml and
    every database test exercises this)."""
    raw = conn._conn  # the sqlite3 connection, only ever used from its thread
    return conn._execute(lambda: fn(SyncTransaction(raw), *args))


async def _to_the_end(step: Awaitable[Any]) -> None:
    """Await ``step``; if the waiting task is cancelled meanwhile, let the step finish first
    (a BEGIN, COMMIT or ROLLBACK half-awaited leaves the connection in an unknown state),
    then pass the cancellation on."""
    task = asyncio.ensure_future(step)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


class Transaction:
    """The handle a unit of work gets: statements on the writer inside BEGIN IMMEDIATE, one
    trip to the database thread each."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement; returns lastrowid for an INSERT, else the rowcount."""
        return await _in_thread(self._conn, SyncTransaction.execute, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await _in_thread(self._conn, SyncTransaction.executemany, sql, list(rows))

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return await _in_thread(self._conn, SyncTransaction.fetchone, sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return await _in_thread(self._conn, SyncTransaction.fetchall, sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return await _in_thread(self._conn, SyncTransaction.fetchval, sql, params)


def _unit(tx: SyncTransaction, fn: Callable[[SyncTransaction], T]) -> T:
    tx.execute("BEGIN IMMEDIATE")
    try:
        result = fn(tx)
    except BaseException:
        tx.execute("ROLLBACK")
        raise
    tx.execute("COMMIT")
    return result


def _units(tx: SyncTransaction, fns: list[Callable[[SyncTransaction], Any]]
           ) -> list[tuple[bool, Any]]:
    """Several units of work in one transaction (one COMMIT), each in a savepoint of its own:
    a unit that raises is rolled back alone, and its exception is its result. An error that
    ends the whole transaction (SQLite rolls back on a full disk, say) fails them all."""
    results: list[tuple[bool, Any]] = []
    tx.execute("BEGIN IMMEDIATE")
    try:
        for fn in fns:
            tx.execute("SAVEPOINT unit")
            try:
                value = fn(tx)
            except Exception as exc:
                if not tx.in_transaction:
                    raise
                tx.execute("ROLLBACK TO unit")
                tx.execute("RELEASE unit")
                results.append((False, exc))
            else:
                tx.execute("RELEASE unit")
                results.append((True, value))
    except BaseException:
        if tx.in_transaction:
            tx.execute("ROLLBACK")
        raise
    tx.execute("COMMIT")
    return results


class BatchFailed(Exception):
    """The transaction that held this unit of work (with others: :meth:`Database.run`)
    failed as a whole; the cause is chained."""


def _batch_failed(error: BaseException, index: int) -> BaseException:
    """The first caller of a failed batch gets the error itself; each other caller an
    exception of its own (one exception object raised in several tasks would share and grow
    one traceback)."""
    if index == 0:
        return error
    failed = BatchFailed(f"the transaction failed: {error}")
    failed.__cause__ = error
    return failed


class Database:
    """The application's database. Create with :meth:`open`, close with :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._process_lock: filelock.BaseFileLock | None = None
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpointing: asyncio.Task[None] | None = None
        self._commits = 0  # since the checkpointer last started a pass
        # units of work waiting for the writer (Database.run): the next one to run takes all
        self._pending: list[tuple[Callable[[SyncTransaction], Any], asyncio.Future[Any]]] = []

    @classmethod
    async def open(cls, path: Path | str, *, exclusive: bool = False) -> Database:
        """Open (and create) the database. ``exclusive``: this process is *the* Familia of
        this file (the bot, ``familia db upgrade``): it holds ``<file>.lock`` until
        :meth:`close`, and a second one is refused with :class:`DatabaseInUse`. The lock is
        the operating system's (``flock``), so it goes with the process however it ends."""
        db = cls(Path(path))
        db.path.parent.mkdir(parents=True, exist_ok=True)
        if exclusive:
            db._hold()
        try:
            await db._connect()
        except BaseException:
            await db.close()
            raise
        return db

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _hold(self) -> None:
        lock = filelock.FileLock(self.lock_path, timeout=0, fallback_to_soft=False)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise DatabaseInUse(
                f"another Familia is already running on {self.path} (it holds "
                f"{self.lock_path}); stop it first, or give this one its own DATABASE_PATH"
            ) from None
        self._process_lock = lock

    async def _connect(self) -> None:
        self._writer = await self._connection()
        await self._writer.executescript(
            f"PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT:d};")
        self._reader = await self._connection()

    async def _connection(self) -> aiosqlite.Connection:
        # isolation_level=None: autocommit, so our own BEGIN/COMMIT are the only transactions
        # and executescript() never commits behind our back.
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.executescript(
            "PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;"
            # deleted rows are overwritten with zeros, not left in free space (/me delete)
            " PRAGMA secure_delete=ON;"
        )
        return conn

    async def close(self) -> None:
        self._commits = 0  # a pass in flight is the last one
        await self._checkpoints_done()
        for conn in (self._checkpointer, self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._checkpointer = self._reader = self._writer = None
        lock, self._process_lock = self._process_lock, None
        if lock is not None:
            lock.release()

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is closed")
        return self._writer

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("database is closed")
        return self._reader

    # -- units of work -------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        async with self._lock:
            try:
                await _to_the_end(self.writer.execute("BEGIN IMMEDIATE"))
                yield Transaction(self.writer)
            except BaseException:  # a task cancelled mid-way must not leave it open
                if self.writer.in_transaction:
                    await _to_the_end(self.writer.execute("ROLLBACK"))
                raise
            else:
                await _to_the_end(self.writer.execute("COMMIT"))
                self._committed()

    async def run(self, fn: Callable[[SyncTransaction], T]) -> T:
        """``fn(tx)`` as one unit of work (BEGIN IMMEDIATE … COMMIT, ROLLBACK if it raises)
        in a single trip to the database thread. For hot paths (a check-in): ``fn`` is plain
        synchronous code that only runs SQL through ``tx`` (in the database thread).

        Group commit: units that queue up while the writer is busy (a burst of check-ins)
        go together, in one trip and one COMMIT, each in a savepoint of its own (one that
        raises is rolled back alone and raises to its own caller). Each caller returns once
        its unit is committed, as with a transaction of its own."""
        mine: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        entry: tuple[Callable[[SyncTransaction], Any], asyncio.Future[Any]] = (fn, mine)
        self._pending.append(entry)
        try:
            async with self._lock:
                if not mine.done():  # not taken by the unit before: take every one waiting
                    await self._run_pending()
        except asyncio.CancelledError:
            if entry in self._pending:  # never started: it never will
                self._pending.remove(entry)
            if mine.done() and not mine.cancelled():
                mine.exception()  # its outcome goes with the cancellation
            else:
                mine.cancel()
            raise
        return await mine

    async def _run_pending(self) -> None:
        batch = [(fn, future) for fn, future in self._pending if not future.done()]
        self._pending.clear()
        if not batch:
            return
        work: Awaitable[Any] = (_in_thread(self.writer, _unit, batch[0][0]) if len(batch) == 1
                                else _in_thread(self.writer, _units, [fn for fn, _ in batch]))
        step = asyncio.ensure_future(work)
        try:
            await _to_the_end(step)  # cancelled meanwhile: the callers still get their results
        except Exception:  # the batch failed: each caller gets its error from its future
            pass
        finally:
            if step.done() and not step.cancelled():
                failed = step.exception()
                outcomes = ([(False, _batch_failed(failed, i)) for i in range(len(batch))]
                            if failed is not None
                            else [(True, step.result())] if len(batch) == 1
                            else step.result())
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
                if failed is None:
                    self._committed(len(batch))

    # -- checkpoints -----------------------------------------------------------------------------

    def _committed(self, units: int = 1) -> None:
        """Units of work committed: every :data:`CHECKPOINT_AFTER` of them, the checkpointer
        copies the WAL into the database file in its own thread (the writer goes on)."""
        self._commits += units
        if self._commits >= CHECKPOINT_AFTER and self._checkpointing is None:
            self._checkpointing = asyncio.create_task(self._checkpoint_passes(),
                                                      name=f"checkpoint {self.path.name}")

    async def _checkpoint_passes(self) -> None:
        try:
            while self._commits >= CHECKPOINT_AFTER and self._writer is not None:
                self._commits = 0
                if self._checkpointer is None:
                    self._checkpointer = await self._connection()
                # PASSIVE: never waits for the writer or a reader; what it cannot copy yet,
                # the next pass (or the writer's backstop) does
                await _in_thread(self._checkpointer, SyncTransaction.fetchall,
                                 "PRAGMA wal_checkpoint(PASSIVE)", ())
        except Exception:  # the writer's own automatic checkpoint still bounds the WAL
            log.exception("checkpointing %s failed", self.path)
        finally:
            self._checkpointing = None

    async def _checkpoints_done(self) -> None:
        """Let a checkpoint pass in flight end (before a ``TRUNCATE`` checkpoint or closing)."""
        task = self._checkpointing
        if task is not None:
            await asyncio.wait([task])

    async def checkpoint(self) -> bool:
        """Copy the WAL into the database file and empty it (``TRUNCATE``), between units of
        work; False when a reader kept it from finishing (the next checkpoint will)."""
        await self._checkpoints_done()
        async with self._lock:
            async with self.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                row = await cursor.fetchone()
        return row is not None and row[0] == 0

    # -- reads -----------------------------------------------------------------------------------

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return await _in_thread(self.reader, SyncTransaction.fetchone, sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return await _in_thread(self.reader, SyncTransaction.fetchall, sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return await _in_thread(self.reader, SyncTransaction.fetchval, sql, params)

    # -- migrations ------------------------------------------------------------------------------

    async def version(self) -> int:
        async with self.writer.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row is not None else 0

    async def status(
        self, migrations: list[Migration] | None = None
    ) -> tuple[int, list[Migration]]:
        """The current version and the migrations not applied yet."""
        migrations = load_migrations() if migrations is None else migrations
        current = await self.version()
        return current, [m for m in migrations if m.version > current]

    async def migrate(self, migrations: list[Migration] | None = None) -> list[Migration]:
        """Apply pending migrations in order, each atomically. Returns what was applied.

        Each migration reads the version and applies itself inside one ``BEGIN IMMEDIATE``
        (SQLite's write lock), so processes migrating one file at once apply each migration
        exactly once: the others wait for the lock, then find it applied."""
        migrations = load_migrations() if migrations is None else migrations
        latest = migrations[-1].version if migrations else 0
        async with self._lock:
            current = await self.version()
            if current > latest:
                raise DatabaseTooNew(
                    f"database {self.path} is at version {current}, newer than this Familia "
                    f"(knows up to {latest}); upgrade Familia instead"
                )
            applied = []
            for migration in migrations:
                if migration.version <= current:
                    continue
                try:
                    done = await _in_thread(self.writer, _apply, migration)
                except Exception as exc:
                    raise MigrationFailed(
                        f"migration {migration.version:04d}_{migration.name} failed: {exc}"
                    ) from exc
                if done:
                    log.info("applied migration %04d_%s", migration.version, migration.name)
                    applied.append(migration)
            return applied


def _statements(script: str) -> list[str]:
    """A script's statements, cut where SQLite itself says one is complete (a trigger's body
    or a ``;`` inside a string stay whole)."""
    statements: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if _has_sql(buffer):
                statements.append(buffer)
            buffer = ""
    if _has_sql(buffer):
        statements.append(buffer)  # unfinished: executing it raises SQLite's own error
    return statements


def _has_sql(text: str) -> bool:
    lines = (line.split("--", 1)[0] for line in text.splitlines())
    return bool("".join(lines).strip(" \t\r\n;"))


def _apply(tx: SyncTransaction, migration: Migration) -> bool:
    """One migration under the write lock, unless the version read under it says it is
    applied already (another process did it meanwhile). ``executescript`` is not used: it
    commits first, which would read the version outside the lock."""
    tx.execute("BEGIN IMMEDIATE")
    try:
        current = tx.fetchval("PRAGMA user_version")
        if current >= migration.version:
            tx.execute("ROLLBACK")
            return False
        if current != migration.version - 1:
            raise RuntimeError(f"the database is at version {current}")
        for statement in _statements(migration.sql):
            tx.execute(statement)
        tx.execute(f"PRAGMA user_version = {migration.version:d}")
    except BaseException:
        if tx.in_transaction:
            tx.execute("ROLLBACK")
        raise
    tx.execute("COMMIT")
    return True
