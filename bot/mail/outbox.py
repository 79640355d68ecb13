"""The outbox: one row per email, queued inside the transaction of the event that causes it.

States: queued → sending (claimed with a lease) → sent | queued again (temporary failure,
exponential backoff) | failed (permanent failure or too many tries) | suppressed (the address
keeps bouncing). A row whose lease ran out (the process died mid-send) is claimed again; a row
marked sent never is. The dedupe key is UNIQUE, so queueing the same email twice is a no-op.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import leases
from bot.clock import to_db
from bot.db import Database, SyncTransaction, Transaction

BOUNCES_TO_SUPPRESS = 3
MAX_ATTEMPTS = 10


def address_hash(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class Email:
    recipient: str
    kind: str
    dedupe_key: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    guild_id: int | None = None
    user_id: int | None = None
    images: dict[str, bytes] | None = None  # content id → PNG, shown inline in the HTML

    @property
    def images_json(self) -> str | None:
        if not self.images:
            return None
        return json.dumps({cid: base64.b64encode(png).decode()
                           for cid, png in self.images.items()})


async def is_suppressed(tx: Transaction, address: str) -> bool:
    return bool(await tx.fetchval(
        "SELECT 1 FROM email_suppressions WHERE address_hash = ? AND suppressed_at IS NOT NULL",
        (address_hash(address),),
    ))


async def recent(tx: Transaction, kind: str, since: datetime, *,
                 member: tuple[int, int] | None = None, recipient: str | None = None) -> int:
    """How many ``kind`` emails were queued since ``since`` for a member (guild, user) or
    to an address."""
    if member is not None:
        return await tx.fetchval(_RECENT_FOR_MEMBER, (*member, kind, to_db(since)))
    return await tx.fetchval(_RECENT_TO_ADDRESS, (recipient, kind, to_db(since)))


_RECENT_FOR_MEMBER = (
    "SELECT count(*) FROM email_outbox WHERE guild_id = ? AND user_id = ? AND kind = ?"
    " AND created_at >= ?"
)
_RECENT_TO_ADDRESS = (
    "SELECT count(*) FROM email_outbox WHERE recipient = ? AND kind = ? AND created_at >= ?"
)


async def enqueue(tx: Transaction, email: Email, now: datetime) -> bool:
    """Queue ``email`` in ``tx``; False when its dedupe key exists or the address is
    suppressed."""
    if await is_suppressed(tx, email.recipient):
        return False
    inserted = await tx.fetchval(
        "INSERT INTO email_outbox (guild_id, user_id, recipient, kind, dedupe_key, subject,"
        " body_text, body_html, headers, images, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING"
        " RETURNING id",
        (email.guild_id, email.user_id, email.recipient, email.kind, email.dedupe_key,
         email.subject, email.text, email.html, json.dumps(email.headers), email.images_json,
         to_db(now), to_db(now)),
    )
    return inserted is not None


async def enqueue_many(tx: Transaction, emails: list[Email], now: datetime) -> int:
    """Queue many emails in ``tx`` (one statement); returns how many were new."""
    suppressed = {r[0] for r in await tx.fetchall(
        "SELECT address_hash FROM email_suppressions WHERE suppressed_at IS NOT NULL")}
    stamp = to_db(now)
    rows = [(e.guild_id, e.user_id, e.recipient, e.kind, e.dedupe_key, e.subject, e.text,
             e.html, json.dumps(e.headers), e.images_json, stamp, stamp)
            for e in emails if not suppressed or address_hash(e.recipient) not in suppressed]
    before = await tx.fetchval("SELECT total_changes()")
    await tx.executemany(
        "INSERT INTO email_outbox (guild_id, user_id, recipient, kind, dedupe_key, subject,"
        " body_text, body_html, headers, images, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        rows)
    return await tx.fetchval("SELECT total_changes()") - before


async def claim(holder: leases.Holder, limit: int) -> list:
    """Take up to ``limit`` due rows (queued, or sending with an expired lease: resent, as
    SMTP has no way to ask whether it arrived) into ``holder``'s hand."""
    return [c.row for c in await holder.claim(leases.EMAIL_OUTBOX, limit)]


async def release(holder: leases.Holder, ids: list[int]) -> None:
    """Give back rows claimed but not tried (the server turned unhappy meanwhile): queued
    again as they were, the claim's try not counted."""
    await holder.release(leases.EMAIL_OUTBOX, ids)


def backoff(attempts: int, base: float, cap: float) -> timedelta:
    """Delay before try ``attempts + 1``: base, 2·base, 4·base … at most ``cap`` seconds."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Outcome:
    row_id: int
    recipient: str
    attempts: int
    error: str | None = None
    permanent: bool = False
    bounce: bool = False  # the address itself was refused: counts towards suppressing it


async def record(db: Database, outcomes: list[Outcome], now: datetime, base: float,
                 cap: float, owner: str) -> list[int]:
    """Apply a batch of delivery outcomes in one transaction (one trip to the database
    thread), each only where the row's lease is still ``owner``'s and of the same claim
    (``attempts``): a row taken back by another sender is settled by that one. Returns the
    ids settled."""
    stamp = to_db(now)

    def apply(tx: SyncTransaction) -> list[int]:
        settled: list[int] = []
        for o in outcomes:
            fence = (o.row_id, owner, o.attempts)
            if o.error is None:
                changed = tx.execute(
                    "UPDATE email_outbox SET state = 'sent', sent_at = ?, lease_until = NULL,"
                    " last_error = NULL" + _FENCE, (stamp, *fence))
            elif o.permanent or o.attempts >= MAX_ATTEMPTS:
                changed = tx.execute(
                    "UPDATE email_outbox SET state = 'failed', lease_until = NULL,"
                    " last_error = ?" + _FENCE, (o.error, *fence))
                if changed and o.bounce:
                    _bounce(tx, o.recipient, o.error, stamp)
            else:
                retry = to_db(now + backoff(o.attempts, base, cap))
                changed = tx.execute(
                    "UPDATE email_outbox SET state = 'queued', lease_until = NULL,"
                    " next_attempt_at = ?, last_error = ?" + _FENCE, (retry, o.error, *fence))
            if changed:
                settled.append(o.row_id)
        return settled

    return await db.run(apply)


_FENCE = " WHERE id = ? AND state = 'sending' AND lease_owner = ? AND attempts = ?"


def _bounce(tx: SyncTransaction, recipient: str, error: str, stamp: str) -> None:
    key = address_hash(recipient)
    bounces = tx.fetchval(
        "INSERT INTO email_suppressions (address_hash, bounces, last_error) VALUES (?, 1, ?)"
        " ON CONFLICT (address_hash) DO UPDATE SET bounces = bounces + 1,"
        " last_error = excluded.last_error RETURNING bounces", (key, error))
    if bounces >= BOUNCES_TO_SUPPRESS:
        tx.execute(
            "UPDATE email_suppressions SET suppressed_at = coalesce(suppressed_at, ?)"
            " WHERE address_hash = ?", (stamp, key))
        tx.execute(
            "UPDATE email_outbox SET state = 'suppressed', lease_until = NULL"
            " WHERE recipient = ? AND state = 'queued'", (recipient,))


async def status(db: Database) -> dict:
    """Counts by state, the oldest queued row's age and the latest errors (no addresses)."""
    counts = {r["state"]: r["n"] for r in await db.fetchall(
        "SELECT state, count(*) AS n FROM email_outbox GROUP BY state")}
    oldest = await db.fetchval(
        "SELECT min(created_at) FROM email_outbox WHERE state IN ('queued', 'sending')")
    errors = [dict(r) for r in await db.fetchall(
        "SELECT kind, attempts, state, last_error FROM email_outbox"
        " WHERE last_error IS NOT NULL ORDER BY id DESC LIMIT 5")]
    suppressed = await db.fetchval(
        "SELECT count(*) FROM email_suppressions WHERE suppressed_at IS NOT NULL")
    return {"counts": counts, "oldest_queued": oldest, "errors": errors,
            "suppressed": suppressed}
