"""The sender task: claims due outbox rows and delivers them over a few reused SMTP
connections, recording outcomes in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from pathlib import Path

from bot.clock import Clock
from bot.db import Database
from bot.mail import outbox
from bot.mail.smtp import Connection, PermanentFailure, SmtpConfig, TemporaryFailure, build_message

log = logging.getLogger(__name__)


class Sender:
    def __init__(
        self, db: Database, config: SmtpConfig, clock: Clock, *, connections: int = 3,
        batch: int = 200, lease: timedelta = timedelta(minutes=5), backoff_base: float = 60.0,
        backoff_cap: float = 6 * 3600.0, outbox_dir: Path | None = None, poll: float = 30.0,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.connections = [Connection(config) for _ in range(max(1, connections))]
        self.batch = batch
        self.lease = lease
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.outbox_dir = outbox_dir
        self.poll = poll
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New mail was queued: deliver now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver forever (until cancelled); connections are closed on the way out."""
        try:
            while True:
                self._wake.clear()
                try:
                    await self.drain()
                except Exception:  # keep the task alive; the rows stay queued
                    log.exception("email delivery round failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)
        finally:
            await self.close()

    async def close(self) -> None:
        for connection in self.connections:
            await connection.close()

    async def drain(self) -> int:
        """Deliver everything due now; returns how many rows were tried.

        Pipelined so the SMTP connections never wait on the database: the next batch is
        claimed while this one is being sent, and outcomes are recorded while the next one
        is."""
        tried = 0
        recording: asyncio.Future | None = None
        rows = await self._claim()
        try:
            while rows:
                tried += len(rows)
                delivering = asyncio.ensure_future(self._deliver(rows))
                try:
                    upcoming = await self._claim()
                finally:
                    outcomes = await delivering
                if recording is not None:
                    await recording
                recording = asyncio.ensure_future(self._record(outcomes))
                if any(o.error and not o.permanent for o in outcomes):
                    # The server is unhappy: leave the rest for the backoff.
                    await outbox.release(self.db, [r["id"] for r in upcoming])
                    break
                rows = upcoming
        finally:
            if recording is not None:
                await recording
        return tried

    async def _claim(self) -> list:
        return await outbox.claim(self.db, self.clock.now(), self.batch, self.lease)

    async def _record(self, outcomes: list[outbox.Outcome]) -> None:
        await outbox.record(self.db, outcomes, self.clock.now(), self.backoff_base,
                            self.backoff_cap)

    async def _deliver(self, rows: list) -> list[outbox.Outcome]:
        queue: asyncio.Queue = asyncio.Queue()
        for row in rows:
            queue.put_nowait(row)
        outcomes: list[outbox.Outcome] = []
        down = asyncio.Event()

        async def worker(connection: Connection) -> None:
            while not queue.empty():
                row = queue.get_nowait()
                if down.is_set():  # one connection failed to reach the server: don't hammer
                    outcomes.append(outbox.Outcome(row["id"], row["recipient"], row["attempts"],
                                                   "not tried: server unreachable"))
                    continue
                outcomes.append(await self._send_one(connection, row, down))

        await asyncio.gather(*(worker(c) for c in self.connections))
        return outcomes

    async def _send_one(self, connection: Connection, row, down: asyncio.Event
                        ) -> outbox.Outcome:
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
