"""Claim → work → settle: the one lease mechanism of every durable queue (the email outbox,
the Discord delivery queue).

A queue is a table with ``state``, ``next_attempt_at``, ``lease_owner``, ``lease_until``,
``attempts`` and ``claimed_at`` columns. A row is *due* when it waits (``queued``, its
``next_attempt_at`` passed) or when it is being worked on under a lease that ran out (the
worker died mid-way). Claiming a due row takes a lease on it for ``lease`` (owner, expiry,
claim time) and counts an attempt, in one transaction, so no two workers hold the same row.
A row claimed back from an expired lease is *resumed*: its last attempt may have reached the
other side, and the worker settles that before trying again (the email sender resends; the
Discord sender reads back). Releasing gives a row back without counting the attempt.

A worker holds its leases through a :class:`Holder` (one per owner and table):
- **held while worked on**: a heartbeat renews the leases of the rows in hand every third of
  the lease, so a batch that takes longer than the lease is never due to anyone; and the
  holder never claims back a row it still has in hand, whatever the wall clock says (a clock
  jumping forwards makes every lease look expired until the next beat).
- **fenced**: settling a row (sent, failed, queued again, released) is written only where the
  lease is still this owner's *and* of this claim (``attempts``, counted by each claim, is
  the fencing token). A row taken back by someone else is never settled by the one who lost
  it; a renewal that finds a row gone drops it from the hand, so it is not sent either.
- **time**: leases and waits are stored as UTC wall-clock times (several processes read
  them), but the heartbeat runs on the event loop's monotonic clock. A wall clock that jumps
  back cannot hold a row back for longer than the queue ever waits (``horizon``): a row
  waiting longer than that is due. At start-up a worker takes over every lease of another
  owner (one process per database file is enforced by :mod:`bot.db`), so a lease stamped
  before a jump back never outlives its dead owner.

The statements are written whole per queue (:data:`EMAIL_OUTBOX`, and the lanes of the
Discord queue: :data:`DELIVERY_MESSAGES`, :data:`DELIVERY_NEW_DMS`, :data:`DELIVERY_ROLES`); a
queue is one of those, never a table name from input.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.clock import Clock, to_db
from bot.db import Database, SyncTransaction

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The row's lease is no longer this claim's (taken back by another owner): whoever
    holds it now settles it."""


@dataclass(frozen=True)
class LeasedQueue:
    """The statements of one queue table (parameters numbered as noted)."""

    name: str
    # SELECT id, state … of due rows, oldest first: ?1 now, ?2 now + horizon (a row waiting
    # past it was stamped before the clock went back), ?3 ids in hand (JSON), ?4 limit
    due: str
    take: str  # UPDATE … lease: ?1 owner, ?2 until, ?3 claimed at, ?4 ids (JSON) RETURNING …
    release: str  # UPDATE … back to waiting, the attempt not counted: ?1 ids (JSON), ?2 owner
    expire: str  # UPDATE … every lease not ours runs out now: ?1 now, ?2 owner
    renew: str  # UPDATE … lease_until: ?1 until, ?2 ids (JSON), ?3 owner RETURNING id, attempts


def _due(table: str, where: str, order: str) -> str:
    return (f"SELECT id, state FROM {table} WHERE {where}"
            " ((state = 'queued' AND (next_attempt_at <= ?1 OR next_attempt_at > ?2))"
            " OR (state = 'sending' AND lease_until <= ?1"
            " AND id NOT IN (SELECT value FROM json_each(?3))))"
            f" ORDER BY {order} LIMIT ?4")


def _release(table: str) -> str:
    return (f"UPDATE {table} SET state = 'queued', lease_owner = NULL, lease_until = NULL,"
            " attempts = attempts - 1 WHERE id IN (SELECT value FROM json_each(?1))"
            " AND state = 'sending' AND lease_owner = ?2")


def _expire(table: str) -> str:
    return (f"UPDATE {table} SET lease_until = ?1 WHERE state = 'sending'"
            " AND lease_owner IS NOT ?2")


def _renew(table: str) -> str:
    return (f"UPDATE {table} SET lease_until = ?1 WHERE id IN (SELECT value FROM json_each(?2))"
            " AND state = 'sending' AND lease_owner = ?3 RETURNING id, attempts")


EMAIL_OUTBOX = LeasedQueue(
    name="email_outbox",
    due=_due("email_outbox", "", "next_attempt_at, id"),
    take="UPDATE email_outbox SET state = 'sending', lease_owner = ?1, lease_until = ?2,"
         " claimed_at = ?3, attempts = attempts + 1"
         " WHERE id IN (SELECT value FROM json_each(?4))"
         " RETURNING id, recipient, kind, dedupe_key, attempts",  # the bodies: outbox.claim
    release=_release("email_outbox"), expire=_expire("email_outbox"),
    renew=_renew("email_outbox"),
)
# The test mails only (``familia email test``): the command delivers its own mail now and
# leaves every other row to the bot's sender.
EMAIL_TESTS = LeasedQueue(
    name="email_outbox (test mails)",
    due=_due("email_outbox", "kind = 'test' AND", "next_attempt_at, id"),
    take=EMAIL_OUTBOX.take, release=EMAIL_OUTBOX.release, expire=EMAIL_OUTBOX.expire,
    renew=EMAIL_OUTBOX.renew,
)

# A row taken back from a lease that ran out keeps the time of the claim whose send may have
# reached Discord: the sender reads the channel back from there, however late the restart.
_DELIVERIES_TAKE = ("UPDATE deliveries SET state = 'sending', lease_owner = ?1, lease_until = ?2,"
                    " claimed_at = CASE state WHEN 'sending' THEN coalesce(claimed_at, ?3)"
                    " ELSE ?3 END, attempts = attempts + 1"
                    " WHERE id IN (SELECT value FROM json_each(?4)) RETURNING *")
_DELIVERIES_ORDER = "priority DESC, next_attempt_at, id"

# The Discord queue has lanes, claimed apart so that what Discord limits more tightly never
# holds the slots of ordinary messages: opening a DM channel (about 10 a second) and changing
# a member's roles (about one a second per guild).
DELIVERY_MESSAGES = LeasedQueue(
    name="deliveries (messages)",
    due=_due("deliveries", "(target IN ('channel', 'edit')"
                           " OR (target = 'dm' AND channel_id IS NOT NULL)) AND",
             _DELIVERIES_ORDER),
    take=_DELIVERIES_TAKE, release=_release("deliveries"), expire=_expire("deliveries"),
    renew=_renew("deliveries"),
)
DELIVERY_NEW_DMS = LeasedQueue(
    name="deliveries (DMs to open)",
    due=_due("deliveries", "target = 'dm' AND channel_id IS NULL AND", _DELIVERIES_ORDER),
    take=_DELIVERIES_TAKE, release=_release("deliveries"), expire=_expire("deliveries"),
    renew=_renew("deliveries"),
)
DELIVERY_ROLES = LeasedQueue(
    name="deliveries (role changes)",
    due=_due("deliveries", "target IN ('role_add', 'role_remove') AND", _DELIVERIES_ORDER),
    take=_DELIVERIES_TAKE, release=_release("deliveries"), expire=_expire("deliveries"),
    renew=_renew("deliveries"),
)


@dataclass(frozen=True)
class Claimed:
    row: Any  # the row as RETURNING gave it
    resumed: bool  # taken back from an expired lease: the last attempt may have landed


class Holder:
    """The leases one ``owner`` holds on one table (the queues passed to :meth:`claim` share
    it): claimed, renewed while in hand, settled fenced, let go.

    ``horizon``: the longest a row of this table is ever made to wait (a backoff's cap); a
    row waiting longer is due at once (the wall clock went back)."""

    def __init__(self, db: Database, owner: str, clock: Clock, lease: timedelta,
                 horizon: timedelta = timedelta(hours=6)) -> None:
        self.db = db
        self.owner = owner
        self.clock = clock
        self.lease = lease
        self.horizon = horizon
        self.in_hand: dict[int, int] = {}  # row id → attempts at its claim (the fence)
        self._renew_sql: str | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def beat(self) -> float:
        """Seconds between renewals (monotonic): a third of the lease."""
        return max(0.05, self.lease.total_seconds() / 3)

    async def claim(self, queue: LeasedQueue, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due rows of ``queue``; they are in hand until settled or
        let go, and renewed meanwhile."""
        if limit <= 0:
            return []
        now = self.clock.now()
        stamp = to_db(now)
        due_params = (stamp, to_db(now + self.horizon), json.dumps(list(self.in_hand)), limit)
        until = to_db(now + self.lease)

        def take(tx: SyncTransaction) -> tuple[dict[int, str], list[Any]]:
            """The due rows and their lease, in one trip to the database thread (a burst of
            check-in posts claims a batch every few dozen milliseconds)."""
            due = {r["id"]: r["state"] for r in tx.fetchall(queue.due, due_params)}
            if not due:
                return due, []
            return due, tx.fetchall(queue.take, (self.owner, until, stamp,
                                                 json.dumps(list(due))))

        due, rows = await self.db.run(take)
        if not due:
            return []
        order = {row_id: i for i, row_id in enumerate(due)}
        rows.sort(key=lambda r: order[r["id"]])
        for row in rows:
            self.in_hand[row["id"]] = row["attempts"]
        self._renew_sql = queue.renew
        self._start_heartbeat()
        return [Claimed(r, resumed=due[r["id"]] == "sending") for r in rows]

    def holds(self, row_id: int, attempts: int) -> bool:
        """This claim of the row is still in hand (a renewal did not find it taken)."""
        return self.in_hand.get(row_id) == attempts

    def let_go(self, ids: Iterable[int]) -> None:
        """Rows settled (or abandoned: their lease runs out and they are resumed later)."""
        for row_id in ids:
            self.in_hand.pop(row_id, None)

    async def release(self, queue: LeasedQueue, ids: list[int]) -> None:
        """Give back rows claimed but not tried, as they were (only where still ours)."""
        if ids:
            async with self.db.transaction() as tx:
                await tx.execute(queue.release, (json.dumps(ids), self.owner))
            self.let_go(ids)

    async def take_over(self, queue: LeasedQueue) -> int:
        """Let every lease held by another owner run out now (a worker starting after a
        crash, when one worker per database is the rule): its rows are due, and resumed,
        at once."""
        async with self.db.transaction() as tx:
            return await tx.execute(queue.expire, (to_db(self.clock.now()), self.owner))

    async def renew(self) -> list[int]:
        """Extend the lease of every row in hand; returns the rows found no longer ours
        (settled elsewhere or taken back), which are dropped from the hand."""
        if not self.in_hand or self._renew_sql is None:
            return []
        hand = dict(self.in_hand)
        renew, params = self._renew_sql, (to_db(self.clock.now() + self.lease),
                                          json.dumps(list(hand)), self.owner)
        kept = {r["id"]: r["attempts"]
                for r in await self.db.run(lambda tx: tx.fetchall(renew, params))}
        lost = [row_id for row_id, attempts in hand.items() if kept.get(row_id) != attempts]
        for row_id in lost:
            if self.in_hand.get(row_id) == hand[row_id]:  # not claimed afresh meanwhile
                del self.in_hand[row_id]
        if lost:
            log.warning("%d leased rows were taken back from %s", len(lost), self.owner)
        return lost

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat(), name=f"lease {self.owner}")
            self._heartbeat.add_done_callback(_log_end)

    async def _beat(self) -> None:
        while self.in_hand:
            await asyncio.sleep(self.beat)  # monotonic: a wall-clock jump does not skip it
            try:
                await self.renew()
            except Exception:  # the next beat tries again; the lease may run out meanwhile
                log.exception("renewing the leases of %s failed", self.owner)

    async def stop(self) -> None:
        """Stop renewing (the worker stopped): what is in hand is left to its lease."""
        task, self._heartbeat = self._heartbeat, None
        if task is not None:
            task.cancel()
            # A beat caught in a slow write ends on its own; shutting down does not wait on it.
            await asyncio.wait([task], timeout=5)
        self.in_hand.clear()


def _log_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a lease heartbeat stopped", exc_info=task.exception())
