"""The Discord delivery queue: one ``deliveries`` row per channel post, DM or role change.

A service queues a row in the transaction of the event that causes it (:meth:`add`), with a
dedupe key unique per guild, so queueing twice is a no-op; it never imports discord. The
sender (:mod:`bot.delivery.sender`) claims rows under a lease (:mod:`bot.leases`), sends, and
records each message on Discord as it lands (:meth:`part_sent`); a row is ``sent`` only once
Discord accepted all of it. Reports read the rows back by ``source``.

Nothing here imports discord.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import leases
from bot.clock import Clock, from_db, to_db
from bot.db import Database, SyncTransaction, Transaction
from bot.text import PART_LIMIT, split_text

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(0)  # as soon as the sender comes round again
# Discord still answering 429 after discord.py's own waits (a rate-limit storm): the row waits
# 2 s, 4, 8 … (at most a minute) and is tried up to this many times before it fails
RATE_LIMITED_ATTEMPTS = 8
RATE_LIMITED_WAIT = timedelta(seconds=2)
RATE_LIMITED_MAX_WAIT = timedelta(minutes=1)
# No row waits longer than this (a retry is due at once): one waiting longer was stamped
# before the wall clock went back, and is due now.
HORIZON = timedelta(minutes=5)
# Settling writes only where the row is still this claim's (see bot.leases): ?owner, ?attempts
_FENCE = " AND state = 'sending' AND lease_owner = ? AND attempts = ?"
TARGETS = ("channel", "dm", "role_add", "role_remove", "edit")
# messages (posts, DMs to open channels, edits), DMs whose channel is not open yet, role changes
LANES = (leases.DELIVERY_MESSAGES, leases.DELIVERY_NEW_DMS, leases.DELIVERY_ROLES)


@dataclass(frozen=True)
class Send:
    """One delivery a service wants made (see the migration for the payload's keys)."""

    kind: str
    dedupe_key: str
    target: str  # channel | dm | role_add | role_remove | edit
    target_id: int  # channel id | user id (edit: the message's channel id)
    payload: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    channel_id: int | None = None  # a DM channel already known
    role_id: int | None = None
    priority: int = 0  # higher first: someone is waiting for it
    # Maybe on Discord already since then (an attempt of an older sender, taken over by an
    # upgrade): queued as a lease run out, so the sender reads back before sending.
    sent_since: datetime | None = None

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"unknown delivery target {self.target!r}")


@dataclass(frozen=True)
class Delivery:
    id: int
    guild_id: int
    kind: str
    source: str | None
    target: str
    target_id: int
    role_id: int | None
    channel_id: int | None
    payload: dict[str, Any]
    attempts: int
    parts_sent: int
    message_ids: list[int]
    claimed_at: datetime | None
    resumed: bool = False  # taken back from a lease that ran out: read Discord back first

    @property
    def parts(self) -> list[str]:
        """The messages, in order: the payload's parts (one too long split in its turn), or
        its content split to fit."""
        if "parts" in self.payload:
            return [piece for part in self.payload["parts"]
                    for piece in ([part] if len(part) <= PART_LIMIT else split_text(part))]
        return split_text(self.payload.get("content", ""))

    def nonce(self, part: int) -> str:
        """Derived from the row and the part: Discord deduplicates a repeat
        (``enforce_nonce``) and the read-back after a crash recognises it. A payload taken
        over from an older sender lists the nonces that sender used (``nonces``)."""
        if "nonces" in self.payload:
            return str(self.payload["nonces"][part])
        return f"{self.payload.get('nonce', f'd{self.id}')}p{part}"


def attachment(filename: str, data: bytes) -> dict[str, str]:
    """A file for a payload's ``files``."""
    return {"filename": filename, "data": base64.b64encode(data).decode()}


def _delivery(row: Any, resumed: bool = False) -> Delivery:
    return Delivery(
        row["id"], row["guild_id"], row["kind"], row["source"], row["target"],
        row["target_id"], row["role_id"], row["channel_id"], json.loads(row["payload"]),
        row["attempts"], row["parts_sent"], json.loads(row["message_ids"]),
        from_db(row["claimed_at"]) if row["claimed_at"] else None, resumed,
    )


ADD = (
    "INSERT INTO deliveries (guild_id, kind, source, target, target_id, role_id,"
    " channel_id, payload, dedupe_key, priority, state, lease_until, claimed_at,"
    " next_attempt_at, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (guild_id, dedupe_key) DO NOTHING"
)

PART_SENT = (
    "UPDATE deliveries SET parts_sent = max(parts_sent, ?),"
    " message_ids = json_insert(message_ids, '$[#]', ?),"
    " state = CASE WHEN ? THEN 'sent' ELSE state END,"
    " sent_at = CASE WHEN ? THEN ? ELSE sent_at END,"
    " lease_owner = CASE WHEN ? THEN NULL ELSE lease_owner END,"
    " lease_until = CASE WHEN ? THEN NULL ELSE lease_until END"
    " WHERE id = ?"
)


class DeliveryQueue:
    def __init__(self, db: Database, clock: Clock, *, lease: timedelta = LEASE,
                 owner: str | None = None) -> None:
        self.db = db
        self.clock = clock
        self.lease = lease
        self.owner = owner or uuid.uuid4().hex  # this process
        self.leases = leases.Holder(db, self.owner, clock, lease, horizon=HORIZON)
        self._queued = asyncio.Event()

    # -- services: queueing ------------------------------------------------------------------

    async def add(self, tx: Transaction, guild_id: int, sends: list[Send]) -> int:
        """Queue ``sends`` in ``tx`` (one statement); returns how many were new. Call
        :meth:`notify` once the transaction committed."""
        before = await tx.fetchval("SELECT total_changes()")
        await tx.executemany(ADD, self._rows(guild_id, sends))
        return await tx.fetchval("SELECT total_changes()") - before

    def add_now(self, tx: SyncTransaction, guild_id: int, sends: list[Send]) -> int:
        """:meth:`add` in a unit of work run in one trip (``Database.run``: a hot path)."""
        before = tx.fetchval("SELECT total_changes()")
        tx.executemany(ADD, self._rows(guild_id, sends))
        return int(tx.fetchval("SELECT total_changes()")) - before

    def _rows(self, guild_id: int, sends: list[Send]) -> list[tuple[Any, ...]]:
        now = to_db(self.clock.now())
        return [(guild_id, s.kind, s.source, s.target, s.target_id, s.role_id, s.channel_id,
                 json.dumps(s.payload), s.dedupe_key, s.priority,
                 "queued" if s.sent_since is None else "sending",
                 None if s.sent_since is None else now,
                 None if s.sent_since is None else to_db(s.sent_since), now, now)
                for s in sends]

    def notify(self) -> None:
        """Something was queued: wake the sender now rather than at its next poll."""
        self._queued.set()

    async def next_due_in(self) -> float | None:
        """Seconds until the earliest queued row is due (0 if one is due already), or None
        when nothing waits: a retry set a little later (a rate-limit storm's 2 s, 4 s …)
        is tried when it is due, not at the next poll."""
        due = await self.db.fetchval(
            "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'queued'")
        if due is None:
            return None
        return max(0.0, (from_db(due) - self.clock.now()).total_seconds())

    async def wait_queued(self, timeout: float) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
        # arrives as the event is set, and the sender would not stop
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._queued.wait()
        self._queued.clear()

    # -- the sender: claim, settle -----------------------------------------------------------

    async def claim(self, limit: int = 16, *, lane: int | None = None) -> list[Delivery]:
        """Lease due rows of one lane (an index of :data:`LANES`), or of all of them; their
        leases are renewed until they are settled or let go."""
        found: list[Delivery] = []
        for queue in LANES if lane is None else LANES[lane:lane + 1]:
            claimed = await self.leases.claim(queue, limit - len(found))
            found += [_delivery(c.row, c.resumed) for c in claimed]
        return found

    async def take_over(self) -> int:
        """The sender starts: rows another process left ``sending`` are resumed at once."""
        return await self.leases.take_over(LANES[0])

    async def release(self, delivery: Delivery) -> None:
        """Give back a claimed row the sender did not try."""
        await self.leases.release(LANES[0], [delivery.id])

    def let_go(self, delivery: Delivery) -> None:
        """Stop renewing a row the sender stopped working on without settling it (cancelled):
        its lease runs out and it is resumed (read back) later."""
        self.leases.let_go([delivery.id])

    async def stop(self) -> None:
        """The sender stopped: no lease is renewed any more."""
        await self.leases.stop()

    async def _settle(self, delivery: Delivery, sql: str, params: tuple[Any, ...], *,
                      final: bool = True,
                      then: Callable[[Transaction], Awaitable[None]] | None = None) -> None:
        """One fenced settling statement (``sql`` ends with the fence); raises
        :class:`~bot.leases.LeaseLost` when the row is no longer this claim's."""
        fenced = (*params, self.owner, delivery.attempts)
        if then is None:  # one trip to the database thread
            changed = await self.db.run(lambda tx: tx.execute(sql, fenced))
        else:
            async with self.db.transaction() as tx:
                changed = await tx.execute(sql, fenced)
                if changed:
                    await then(tx)
        if not changed:
            self.leases.let_go([delivery.id])
            raise leases.LeaseLost(f"delivery {delivery.id} was taken back")
        if final:
            self.leases.let_go([delivery.id])

    async def set_channel(self, delivery: Delivery, channel_id: int) -> None:
        """The DM channel was opened: remember it for this delivery."""
        await self._settle(delivery, "UPDATE deliveries SET channel_id = ? WHERE id = ?"
                           + _FENCE, (channel_id, delivery.id), final=False)

    async def part_sent(self, delivery: Delivery, part: int, message_id: int) -> None:
        """Part ``part`` (0-based) is on Discord; the last part makes the delivery sent."""
        done = part + 1 >= len(delivery.parts)
        # one trip to the database thread: every post of a burst (a program's check-ins)
        # records its message this way
        await self._settle(delivery, PART_SENT + _FENCE,
                           (part + 1, message_id, done, done, to_db(self.clock.now()), done,
                            done, delivery.id), final=done)

    async def done(self, delivery: Delivery, *, already: bool = False) -> None:
        """A role change (or an edit) is in place; ``already``: it was before (the member
        already had the role, or no longer had it), recorded as the outcome ``already``."""
        await self._settle(
            delivery,
            "UPDATE deliveries SET state = 'sent', sent_at = ?, outcome = ?,"
            " lease_owner = NULL, lease_until = NULL WHERE id = ?" + _FENCE,
            (to_db(self.clock.now()), "already" if already else "done", delivery.id))

    async def superseded(self, delivery: Delivery) -> bool:
        """An edit queued later for the same message exists: this one need not be made (the
        edits of a message may be in flight together; the last one queued wins)."""
        return bool(await self.db.fetchval(
            "SELECT 1 FROM deliveries WHERE guild_id = ? AND target = 'edit' AND target_id = ?"
            " AND json_extract(payload, '$.message_id') = ? AND id > ? LIMIT 1",
            (delivery.guild_id, delivery.target_id, delivery.payload["message_id"],
             delivery.id)))

    async def failed(self, delivery: Delivery, reason: str) -> bool:
        """Failed for good; a refused DM with a fallback queues it in the same transaction
        (True when it did)."""
        fallback = delivery.payload.get("fallback") if reason == "dms_closed" else None

        async def queue_fallback(tx: Transaction) -> None:
            if fallback:
                await self.add(tx, delivery.guild_id, [Send(**fallback)])

        await self._settle(
            delivery,
            "UPDATE deliveries SET state = 'failed', error = ?, lease_owner = NULL,"
            " lease_until = NULL WHERE id = ?" + _FENCE, (reason, delivery.id),
            then=queue_fallback)
        if fallback:
            self.notify()
        return bool(fallback)

    async def retry(self, delivery: Delivery, error: str,
                    after: timedelta = RETRY_AFTER) -> None:
        """A temporary failure: queued again ``after`` a while."""
        await self._settle(
            delivery,
            "UPDATE deliveries SET state = 'queued', error = ?, next_attempt_at = ?,"
            " lease_owner = NULL, lease_until = NULL WHERE id = ?" + _FENCE,
            (error, to_db(self.clock.now() + after), delivery.id))

    # -- reports -----------------------------------------------------------------------------

    async def counts(self, source: str) -> dict[str, dict[str, int]]:
        """target -> state -> n for the rows of ``source``."""
        counts: dict[str, dict[str, int]] = {}
        for row in await self.db.fetchall(
                "SELECT target, state, count(*) AS n FROM deliveries WHERE source = ?"
                " GROUP BY target, state", (source,)):
            counts.setdefault(row["target"], {})[row["state"]] = row["n"]
        return counts

    async def failures(self, source: str) -> list[tuple[str, str, int]]:
        """(target, reason, n) of the failed rows of ``source``, most frequent first."""
        return [(r["target"], r["error"] or "unknown", r["n"]) for r in await self.db.fetchall(
            "SELECT target, error, count(*) AS n FROM deliveries WHERE source = ?"
            " AND state = 'failed' GROUP BY target, error ORDER BY n DESC", (source,))]

    async def unfinished(self, source: str) -> int:
        return await self.db.fetchval(
            "SELECT count(*) FROM deliveries WHERE source = ? AND state IN ('queued', 'sending')",
            (source,))

    async def wait_settled(self, guild_id: int, keys: list[str], timeout: float,
                           poll: float = 0.05) -> dict[str, str]:
        """Wait (at most ``timeout`` seconds) until the rows of ``keys`` are sent or failed;
        returns each existing key's state then."""
        deadline = time.monotonic() + timeout
        while True:
            states = {r["dedupe_key"]: r["state"] for r in await self.db.fetchall(
                "SELECT dedupe_key, state FROM deliveries WHERE guild_id = ? AND dedupe_key IN"
                " (SELECT value FROM json_each(?))", (guild_id, json.dumps(keys)))}
            if time.monotonic() >= deadline or all(
                    state in ("sent", "failed") for state in states.values()):
                return states
            await asyncio.sleep(poll)

    async def get(self, delivery_id: int) -> Delivery:
        return _delivery(await self.db.fetchone("SELECT * FROM deliveries WHERE id = ?",
                                                (delivery_id,)))
