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

The statements are written whole per queue (:data:`EMAIL_OUTBOX`, and the lanes of the
Discord queue: :data:`DELIVERY_MESSAGES`, :data:`DELIVERY_NEW_DMS`, :data:`DELIVERY_ROLES`); a
queue is one of those, never a table name from input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import to_db
from bot.db import Database


@dataclass(frozen=True)
class LeasedQueue:
    """The statements of one queue table."""

    name: str
    due: str  # SELECT id, state … of due rows, oldest first: (now, now, limit)
    take: str  # UPDATE … lease (owner, until, claimed at) … of ids (a JSON list) RETURNING …
    release: str  # UPDATE … back to waiting, the attempt not counted: (ids as a JSON list,)
    expire: str  # UPDATE … every lease not ours runs out now: (now, owner)


EMAIL_OUTBOX = LeasedQueue(
    name="email_outbox",
    due="SELECT id, state FROM email_outbox"
        " WHERE (state = 'queued' AND next_attempt_at <= ?)"
        " OR (state = 'sending' AND lease_until <= ?)"
        " ORDER BY next_attempt_at, id LIMIT ?",
    take="UPDATE email_outbox SET state = 'sending', lease_owner = ?, lease_until = ?,"
         " claimed_at = ?, attempts = attempts + 1"
         " WHERE id IN (SELECT value FROM json_each(?))"
         " RETURNING id, recipient, kind, dedupe_key, subject, body_text, body_html, headers,"
         " images, attempts",
    release="UPDATE email_outbox SET state = 'queued', lease_owner = NULL, lease_until = NULL,"
            " attempts = attempts - 1 WHERE id IN (SELECT value FROM json_each(?))"
            " AND state = 'sending'",
    expire="UPDATE email_outbox SET lease_until = ? WHERE state = 'sending'"
           " AND lease_owner IS NOT ?",
)

# A row taken back from a lease that ran out keeps the time of the claim whose send may have
# reached Discord: the sender reads the channel back from there, however late the restart.
_DELIVERIES_TAKE = ("UPDATE deliveries SET state = 'sending', lease_owner = ?1, lease_until = ?2,"
                    " claimed_at = CASE state WHEN 'sending' THEN coalesce(claimed_at, ?3)"
                    " ELSE ?3 END, attempts = attempts + 1"
                    " WHERE id IN (SELECT value FROM json_each(?4)) RETURNING *")
_DELIVERIES_RELEASE = ("UPDATE deliveries SET state = 'queued', lease_owner = NULL,"
                       " lease_until = NULL, attempts = attempts - 1"
                       " WHERE id IN (SELECT value FROM json_each(?)) AND state = 'sending'")
_DELIVERIES_EXPIRE = ("UPDATE deliveries SET lease_until = ? WHERE state = 'sending'"
                      " AND lease_owner IS NOT ?")

# The Discord queue has lanes, claimed apart so that what Discord limits more tightly never
# holds the slots of ordinary messages: opening a DM channel (about 10 a second) and changing
# a member's roles (about one a second per guild).
DELIVERY_MESSAGES = LeasedQueue(
    name="deliveries (messages)",
    due="SELECT id, state FROM deliveries"
        " WHERE (target IN ('channel', 'edit') OR (target = 'dm' AND channel_id IS NOT NULL))"
        " AND ((state = 'queued' AND next_attempt_at <= ?)"
        " OR (state = 'sending' AND lease_until <= ?))"
        " ORDER BY priority DESC, next_attempt_at, id LIMIT ?",
    take=_DELIVERIES_TAKE, release=_DELIVERIES_RELEASE, expire=_DELIVERIES_EXPIRE,
)
DELIVERY_NEW_DMS = LeasedQueue(
    name="deliveries (DMs to open)",
    due="SELECT id, state FROM deliveries WHERE target = 'dm' AND channel_id IS NULL"
        " AND ((state = 'queued' AND next_attempt_at <= ?)"
        " OR (state = 'sending' AND lease_until <= ?))"
        " ORDER BY priority DESC, next_attempt_at, id LIMIT ?",
    take=_DELIVERIES_TAKE, release=_DELIVERIES_RELEASE, expire=_DELIVERIES_EXPIRE,
)
DELIVERY_ROLES = LeasedQueue(
    name="deliveries (role changes)",
    due="SELECT id, state FROM deliveries WHERE target IN ('role_add', 'role_remove')"
        " AND ((state = 'queued' AND next_attempt_at <= ?)"
        " OR (state = 'sending' AND lease_until <= ?))"
        " ORDER BY priority DESC, next_attempt_at, id LIMIT ?",
    take=_DELIVERIES_TAKE, release=_DELIVERIES_RELEASE, expire=_DELIVERIES_EXPIRE,
)


@dataclass(frozen=True)
class Claimed:
    row: Any  # the row as RETURNING gave it
    resumed: bool  # taken back from an expired lease: the last attempt may have landed


async def claim(db: Database, queue: LeasedQueue, owner: str, now: datetime, limit: int,
                lease: timedelta) -> list[Claimed]:
    """Lease up to ``limit`` due rows of ``queue`` to ``owner`` until ``now + lease``."""
    stamp = to_db(now)
    until = to_db(now + lease)
    async with db.transaction() as tx:
        due = {r["id"]: r["state"] for r in await tx.fetchall(queue.due, (stamp, stamp, limit))}
        if not due:
            return []
        rows = await tx.fetchall(queue.take, (owner, until, stamp, json.dumps(list(due))))
    order = {row_id: i for i, row_id in enumerate(due)}
    rows.sort(key=lambda r: order[r["id"]])
    return [Claimed(r, resumed=due[r["id"]] == "sending") for r in rows]


async def release(db: Database, queue: LeasedQueue, ids: list[int]) -> None:
    """Give back rows claimed but not tried, as they were."""
    if ids:
        async with db.transaction() as tx:
            await tx.execute(queue.release, (json.dumps(ids),))


async def take_over(db: Database, queue: LeasedQueue, owner: str, now: datetime) -> int:
    """Let every lease held by another owner run out now (a worker starting after a crash,
    when one worker per database is the rule): its rows are due, and resumed, at once."""
    async with db.transaction() as tx:
        return await tx.execute(queue.expire, (to_db(now), owner))
