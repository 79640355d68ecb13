"""The sender task: claims due outbox rows and delivers them over a few reused SMTP
connections.

Each row is held under a lease (:class:`bot.leases.Holder`): renewed while the batch is being
sent, however slow the server, and settled only where it is still this sender's. Outcomes are
written within :data:`SETTLE_AFTER` seconds of the server's answer (the ``250`` of a delivered
message), in one transaction for those that came meanwhile (at most :data:`SETTLE_BATCH`
waiting before the write starts): the window in which a crash repeats a delivered message is
those milliseconds plus one database write, not a batch, and a thousand mails a second take
about a hundred transactions a second, not a thousand. What remains is SMTP's own: a crash
between the server's ``250`` and that write (or a connection lost while waiting for the
``250``) sends the message again when its lease is taken over — at least once, with the same
Message-ID, so a receiving server or mail client can tell the repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from pathlib import Path

from bot import leases
from bot.clock import Clock
from bot.db import Database
from bot.mail import outbox
from bot.mail.smtp import Connection, PermanentFailure, SmtpConfig, TemporaryFailure, build_message

log = logging.getLogger(__name__)

# Outcomes are written together, at most this many seconds after the first of them came, or
# as soon as this many wait: the window in which a crash repeats a delivered message.
SETTLE_AFTER = 0.01
SETTLE_BATCH = 20


class Sender:
    def __init__(
        self, db: Database, config: SmtpConfig, clock: Clock, *, connections: int = 3,
        batch: int = 200, lease: timedelta = timedelta(minutes=5), backoff_base: float = 60.0,
        backoff_cap: float = 6 * 3600.0, outbox_dir: Path | None = None, poll: float = 30.0,
        owner: str | None = None, queue: leases.LeasedQueue = leases.EMAIL_OUTBOX,
        settle_after: float = SETTLE_AFTER, settle_batch: int = SETTLE_BATCH,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.connections = [Connection(config) for _ in range(max(1, connections))]
        self.batch = batch
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.outbox_dir = outbox_dir
        self.poll = poll
        self.owner = owner or f"email-{uuid.uuid4().hex[:12]}"
        self.queue = queue  # the rows it delivers: all, or only the test mails (EMAIL_TESTS)
        self.leases = leases.Holder(db, self.owner, clock, lease,
                                    horizon=timedelta(seconds=backoff_cap))
        self.settle_after = settle_after
        self.settle_batch = max(1, settle_batch)
        self._pending: list[outbox.Outcome] = []
        self._writing: asyncio.Task[None] | None = None
        self._first_at = 0.0  # when the oldest outcome waiting came (the loop's clock)
        self._full = asyncio.Event()  # settle_batch outcomes wait, or the round ends: write now
        self._flushing = False
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New mail was queued: deliver now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver forever (until cancelled); connections are closed on the way out. Starting,
        it takes over the leases another process left (one process per database file)."""
        try:
            await self.leases.take_over(leases.EMAIL_OUTBOX)
            while True:
                self._wake.clear()
                try:
                    await self.drain()
                except Exception:  # keep the task alive; the rows stay queued
                    log.exception("email delivery round failed")
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                # cancellation that comes as the event is set (a wake), and the sender would
                # never stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll):
                        await self._wake.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        await self.leases.stop()
        for connection in self.connections:
            await connection.close()

    async def drain(self) -> int:
        """Deliver everything due now; returns how many rows were tried.

        Pipelined so the SMTP connections never wait on the database: the next batch is
        claimed while this one is being sent, and outcomes are recorded as they come
        (within :data:`SETTLE_AFTER`)."""
        tried = 0
        rows = await self._claim()
        try:
            while rows:
                tried += len(rows)
                delivering = asyncio.ensure_future(self._deliver(rows))
                try:
                    upcoming = await self._claim()
                finally:
                    outcomes = await delivering
                if any(o.error and not o.permanent for o in outcomes):
                    # The server is unhappy: leave the rest for the backoff.
                    await outbox.release(self.leases, [r["id"] for r in upcoming])
                    break
                rows = upcoming
        finally:
            await self._written()
            # Whatever is still in hand (a round that failed or was cancelled) is left to
            # its lease, not renewed for ever.
            self.leases.let_go(list(self.leases.in_hand))
        return tried

    async def _claim(self) -> list:
        return await outbox.claim(self.leases, self.batch, self.queue)

    # -- outcomes, recorded as they come (within SETTLE_AFTER) ------------------------------

    def _outcome(self, outcome: outbox.Outcome) -> outbox.Outcome:
        if not self._pending:
            self._first_at = asyncio.get_running_loop().time()
        self._pending.append(outcome)
        if len(self._pending) >= self.settle_batch:
            self._full.set()
        if self._writing is None or self._writing.done():
            self._writing = asyncio.ensure_future(self._write())
        return outcome

    async def _write(self) -> None:
        """Write the outcomes waiting, once ``settle_batch`` of them wait or the first of them
        has waited ``settle_after`` seconds, whichever comes first (at once when the round
        ends): a delivered message is written down within that time (plus the write before
        it), and a thousand mails a second take about a hundred transactions a second, not a
        thousand."""
        loop = asyncio.get_running_loop()
        while self._pending:
            wait = self._first_at + self.settle_after - loop.time()
            if wait > 0 and len(self._pending) < self.settle_batch and not self._flushing:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._full.wait()
            self._full.clear()
            batch, self._pending = self._pending, []
            try:
                await outbox.record(self.db, batch, self.clock.now(), self.backoff_base,
                                    self.backoff_cap, self.owner)
            except Exception:  # left to their leases: resent later (at least once)
                log.exception("recording %d email outcomes failed", len(batch))
            finally:
                self.leases.let_go(o.row_id for o in batch)

    async def _written(self) -> None:
        """Write every outcome so far, without waiting for more, and wait until it is
        recorded."""
        self._flushing = True
        try:
            while self._writing is not None and not self._writing.done():
                self._full.set()
                await asyncio.shield(self._writing)
        finally:
            self._flushing = False

    # -- sending -----------------------------------------------------------------------------

    async def _deliver(self, rows: list) -> list[outbox.Outcome]:
        queue: asyncio.Queue = asyncio.Queue()
        for row in rows:
            queue.put_nowait(row)
        outcomes: list[outbox.Outcome] = []
        down = asyncio.Event()

        async def worker(connection: Connection) -> None:
            while not queue.empty():
                row = queue.get_nowait()
                if not self.leases.holds(row["id"], row["attempts"]):
                    continue  # taken back meanwhile (a renewal found it gone): not ours
                if down.is_set():  # one connection failed to reach the server: don't hammer
                    outcomes.append(self._outcome(outbox.Outcome(
                        row["id"], row["recipient"], row["attempts"],
                        "not tried: server unreachable")))
                    continue
                outcomes.append(self._outcome(await self._send_one(connection, row, down)))

        await asyncio.gather(*(worker(c) for c in self.connections))
        return outcomes

    async def _send_one(self, connection: Connection, row, down: asyncio.Event
                        ) -> outbox.Outcome:
        if row["kind"] in outbox.ATTACHING:  # its files, read only for the kinds with some
            row = {**row, "attachments": await outbox.attachments(self.db, row["id"])}
        data = build_message(row, self.config.sender)
        try:
            await connection.send(row["recipient"], data)
        except PermanentFailure as exc:
            log.warning("email %s refused for good: %s", row["id"], exc)
            return outbox.Outcome(row["id"], row["recipient"], row["attempts"], str(exc), True,
                                  bounce=exc.mailbox)
        except TemporaryFailure as exc:
            if exc.unreachable:
                down.set()
            log.warning("email %s not delivered yet (try %s): %s", row["id"], row["attempts"], exc)
            return outbox.Outcome(row["id"], row["recipient"], row["attempts"], str(exc))
        if self.outbox_dir is not None:
            self._write_eml(self.outbox_dir, row, data)
        return outbox.Outcome(row["id"], row["recipient"], row["attempts"])

    @staticmethod
    def _write_eml(folder: Path, row, data: bytes) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{row['id']:08d}-{row['kind']}.eml").write_bytes(data)
