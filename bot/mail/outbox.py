"""The outbox: one row per email, queued inside the transaction of the event that causes it.

States: queued → sending (claimed with a lease) → sent | queued again (temporary failure,
exponential backoff) | failed (permanent failure or too many tries) | suppressed (the address
keeps bouncing). A row whose lease ran out (the process died mid-send) is claimed again; a row
marked sent never is. The dedupe key is UNIQUE, so queueing the same email twice is a no-op.

The rendered content (subject, bodies, headers, images) is kept apart, in ``email_bodies``
(one row per outbox row, written in the same transaction, deleted with it): claiming, renewing
and settling rewrite only the small outbox row, and the sender reads the bodies of a batch in
one query when it builds the messages (:func:`claim`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import leases
from bot.clock import to_db
from bot.db import Database, SyncTransaction, Transaction

BOUNCES_TO_SUPPRESS = 3
MAX_ATTEMPTS = 10


def address_hash(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email (an export too big for Discord)."""

    filename: str
    content_type: str
    data: bytes


# The kinds of email that carry files (email_attachments): the sender reads a row's files only
# for these, so every other email is built and sent exactly as before.
ATTACHING = frozenset({"export"})


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
    # files sent with it (only kinds in ATTACHING: the sender reads them for those only)
    attachments: tuple[Attachment, ...] = ()

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
    inserted = await tx.fetchval(_INSERT_ROW + " RETURNING id", _row(email, to_db(now)))
    if inserted is None:
        return False
    await tx.execute(_INSERT_BODY, (inserted, *_body(email)))
    if email.attachments:
        if email.kind not in ATTACHING:
            raise ValueError(f"{email.kind} emails carry no files (see ATTACHING)")
        await tx.executemany(_INSERT_ATTACHMENT, [
            (inserted, i, a.filename, a.content_type, base64.b64encode(a.data).decode())
            for i, a in enumerate(email.attachments)])
    return True


_INSERT_ATTACHMENT = (
    "INSERT INTO email_attachments (outbox_id, position, filename, content_type, data)"
    " VALUES (?, ?, ?, ?, ?)"
)


async def attachments(db: Database, outbox_id: int) -> list[dict[str, Any]]:
    """The files of an outbox row (``filename``, ``content_type``, ``data`` in base64), in
    order: read by the sender for a row of a kind in :data:`ATTACHING`."""
    return [dict(r) for r in await db.fetchall(
        "SELECT filename, content_type, data FROM email_attachments WHERE outbox_id = ?"
        " ORDER BY position", (outbox_id,))]


async def enqueue_many(tx: Transaction, emails: list[Email], now: datetime) -> int:
    """Queue many emails in ``tx`` (a statement for the rows, one for their bodies); returns
    how many were new."""
    suppressed = {r[0] for r in await tx.fetchall(
        "SELECT address_hash FROM email_suppressions WHERE suppressed_at IS NOT NULL")}
    if any(e.attachments for e in emails):
        raise ValueError("emails with files are queued one by one (enqueue)")
    stamp = to_db(now)
    emails = [e for e in emails if not suppressed or address_hash(e.recipient) not in suppressed]
    before = await tx.fetchval("SELECT total_changes()")
    await tx.executemany(_INSERT_ROW, [_row(e, stamp) for e in emails])
    new = await tx.fetchval("SELECT total_changes()") - before
    if new:
        # Each body goes to the row of its dedupe key; a key that was queued already keeps
        # the body it has.
        await tx.executemany(_INSERT_BODY_BY_KEY, [(*_body(e), e.dedupe_key) for e in emails])
    return new


_INSERT_ROW = (
    "INSERT INTO email_outbox (guild_id, user_id, recipient, kind, dedupe_key, next_attempt_at,"
    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING"
)
_INSERT_BODY = (
    "INSERT INTO email_bodies (outbox_id, subject, body_text, body_html, headers, images)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_BODY_BY_KEY = (
    "INSERT INTO email_bodies (outbox_id, subject, body_text, body_html, headers, images)"
    " SELECT id, ?, ?, ?, ?, ? FROM email_outbox WHERE dedupe_key = ?"
    " ON CONFLICT (outbox_id) DO NOTHING"
)


def _row(email: Email, stamp: str) -> tuple:
    return (email.guild_id, email.user_id, email.recipient, email.kind, email.dedupe_key,
            stamp, stamp)


def _body(email: Email) -> tuple:
    return (email.subject, email.text, email.html, json.dumps(email.headers),
            email.images_json)


async def claim(holder: leases.Holder, limit: int,
                queue: leases.LeasedQueue = leases.EMAIL_OUTBOX) -> list[dict[str, Any]]:
    """Take up to ``limit`` due rows (queued, or sending with an expired lease: resent, as
    SMTP has no way to ask whether it arrived) into ``holder``'s hand, each with its body
    (``subject``, ``body_text``, ``body_html``, ``headers``, ``images``: read in one query,
    after the claim). A row whose body is gone (deleted meanwhile, with its row: /me delete)
    is let go, not sent. ``queue``: every row, or only the test mails
    (:data:`bot.leases.EMAIL_TESTS`)."""
    claimed = {c.row["id"]: c.row for c in await holder.claim(queue, limit)}
    if not claimed:
        return []
    bodies = {r[0]: r for r in await holder.db.fetchall(_BODIES, (json.dumps(list(claimed)),))}
    gone = [row_id for row_id in claimed if row_id not in bodies]
    if gone:
        holder.let_go(gone)
    return [{**dict(row), **dict(bodies[row_id])}
            for row_id, row in claimed.items() if row_id in bodies]


_BODIES = (
    "SELECT outbox_id, subject, body_text, body_html, headers, images FROM email_bodies"
    " WHERE outbox_id IN (SELECT value FROM json_each(?))"
)


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
