"""Broadcasts: a manager's message to an audience, over family channels, opted-in DMs and
email (verified addresses with the broadcasts preference on).

A broadcast is a draft until its author confirms it; then (at once, or when its time comes,
via :meth:`BroadcastService.start_due`) every delivery is written in ONE transaction into
the Discord delivery queue (``deliveries``, kind ``broadcast``, source ``broadcast:<id>``;
emails: into the email outbox, same transaction). The one Discord sender
(:mod:`bot.delivery.sender`) sends them exactly once; the report counts the rows back.

Long texts are split on paragraph, then line, then word boundaries into messages of at most
2,000 characters; texts over 4,000 characters (the modal's own limit) are refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotFound, UserError
from bot.localtime import zone
from bot.mail.outbox import Email
from bot.services import audience as audience_of
from bot.services.audit import AuditLog
from bot.services.bounds import ID_MAX
from bot.services.email import EmailService, Recipient
from bot.services.members import MemberService
from bot.text import split_text

ROUTES = ("channel", "dm", "email")
AUDIENCES = ("all", "families", "tiers", "leaders")
TEXT_LIMIT = 4000  # the modal's limit; longer texts are refused
# Queue and outbox states as the report counts them.
_STATES = {"queued": "pending", "sending": "claimed", "sent": "sent", "failed": "failed",
           "suppressed": "failed"}
_MENTION = re.compile(r"<(@[!&]?|#)\d+>")
_MARKS = re.compile(r"\*\*|__|~~|\|\||`|(?<!\w)[*_]|[*_](?!\w)")


def email_context(text: str) -> dict[str, Any]:
    """What the broadcast email shows: the text (mentions, which mean nothing outside
    Discord, become @… / #…) and a subject from its first line without Markdown marks."""
    plain = _MENTION.sub(lambda m: "#…" if m.group(1) == "#" else "@…", text.strip())
    first = next((line for line in plain.splitlines() if line.strip()), "")
    title = " ".join(_MARKS.sub("", first).lstrip("#>-* ").split())
    if len(title) > 70:
        title = title[:69].rstrip() + "…"
    return {"title": title, "text": plain}


@dataclass(frozen=True)
class Broadcast:
    id: int
    guild_id: int
    author_id: int
    text: str
    audience: str
    audience_ids: list[int]
    routes: tuple[str, ...]
    allow_everyone: bool
    state: str
    send_at: datetime | None
    created_at: datetime

    @property
    def parts(self) -> list[str]:
        return split_text(self.text)


@dataclass(frozen=True)
class Recipients:
    """Who a broadcast reaches, per route, and who it cannot reach and why."""

    channels: list[tuple[int, int]] = field(default_factory=list)  # (family id, channel id)
    dms: list[tuple[int, int | None]] = field(default_factory=list)  # (user id, DM channel)
    people: int = 0  # everyone in the audience
    no_channel: int = 0  # families without a channel
    not_opted_in: int = 0  # people in the audience who did not opt in to DMs
    emails: list[Recipient] = field(default_factory=list)  # verified, broadcasts email on
    no_email: int = 0  # people in the audience without that

    @property
    def total(self) -> int:
        return len(self.channels) + len(self.dms) + len(self.emails)


@dataclass(frozen=True)
class Draft:
    """A stored draft and whom it would reach now."""

    broadcast: Broadcast
    recipients: Recipients


@dataclass(frozen=True)
class Report:
    broadcast: Broadcast
    counts: dict[str, dict[str, int]]  # route -> state -> n
    failures: list[tuple[str, str, int]]  # (route, reason, n)

    def count(self, state: str) -> int:
        return sum(by_state.get(state, 0) for by_state in self.counts.values())


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(
        row["id"], row["guild_id"], row["author_id"], row["text"], row["audience"],
        json.loads(row["audience_ids"]), tuple(row["routes"].split(",")),
        bool(row["allow_everyone"]), row["state"],
        from_db(row["send_at"]) if row["send_at"] else None, from_db(row["created_at"]),
    )


class BroadcastService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, members: MemberService,
                 deliveries: DeliveryQueue, email: EmailService | None = None):
        self.db = db
        self.deliveries = deliveries
        self.clock = clock
        self.audit = audit
        self.members = members
        self.email = email

    # -- checking what a manager asked for ----------------------------------------------------

    async def check_send_at(self, guild_id: int, user_id: int, when: datetime | None
                            ) -> datetime | None:
        """The moment the author picked (None: now), refused unless it is still to come
        (named on the author's clock)."""
        if when is None or when > self.clock.now():
            return when
        tz = await self.members.timezone_of(guild_id, user_id)
        typed = when.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")
        raise UserError("broadcasts.in_past", value=typed, now=self.clock.now(), timezone=tz)

    async def check(self, guild_id: int, audience: str, audience_ids: list[int],
                    routes: tuple[str, ...]) -> Recipients:
        """The recipients, or a UserError naming what is wrong (nothing is stored)."""
        if audience not in AUDIENCES or not routes or set(routes) - set(ROUTES):
            raise UserError("broadcasts.bad_routes")
        if audience in ("families", "tiers") and not audience_ids:
            raise UserError("broadcasts.ids_needed", audience=audience)
        if "channel" in routes and audience in ("tiers", "leaders"):
            raise UserError("broadcasts.channels_need_families")
        found = await self.recipients(guild_id, audience, audience_ids, routes)
        if found.total == 0:
            raise UserError("broadcasts.empty_audience", people=found.people,
                            no_channel=found.no_channel, not_opted_in=found.not_opted_in,
                            no_email=found.no_email)
        return found

    async def recipients(self, guild_id: int, audience: str, ids: list[int],
                         routes: tuple[str, ...]) -> Recipients:
        families = await audience_of.family_channels(
            self.db, guild_id, ids if audience == "families" else None)
        people = await self._people(guild_id, audience, ids, [f["id"] for f in families])
        channels = [(f["id"], f["channel_id"]) for f in families if f["channel_id"]]
        optins = {r["user_id"]: r["dm_channel_id"] for r in await self.db.fetchall(
            "SELECT user_id, dm_channel_id FROM broadcast_optins WHERE guild_id = ? AND dm = 1",
            (guild_id,))}
        dms = [(u, optins[u]) for u in people if u in optins]
        emails = []
        if "email" in routes and self.email is not None:
            emails = await self.email.recipients(guild_id, people, "broadcasts")
        return Recipients(
            channels=channels if "channel" in routes else [],
            dms=dms if "dm" in routes else [],
            people=len(people),
            no_channel=(len(families) - len(channels)) if "channel" in routes else 0,
            not_opted_in=(len(people) - len(dms)) if "dm" in routes else 0,
            emails=emails,
            no_email=(len(people) - len(emails)) if "email" in routes else 0,
        )

    async def _people(self, guild_id: int, audience: str, ids: list[int],
                      family_ids: list[int]) -> list[int]:
        if audience == "tiers":
            return await audience_of.tier_holders(self.db, guild_id, ids)
        if not family_ids:
            return []
        found = await audience_of.family_leaders(self.db, family_ids)
        if audience != "leaders":
            found |= await audience_of.family_members(self.db, family_ids)
        return sorted(found)

    # -- drafting, confirming, cancelling ----------------------------------------------------

    async def draft(self, guild_id: int, author_id: int, text: str, audience: str,
                    audience_ids: list[int], routes: tuple[str, ...], allow_everyone: bool,
                    send_at: datetime | None) -> Draft:
        text = (text or "").strip()
        if not text:
            raise UserError("broadcasts.empty_text")
        if len(text) > TEXT_LIMIT:
            raise UserError("broadcasts.too_long", length=len(text), limit=TEXT_LIMIT)
        if send_at is not None and send_at <= self.clock.now():
            raise UserError("broadcasts.in_past", value=to_db(send_at), now=self.clock.now(),
                            timezone="UTC")
        found = await self.check(guild_id, audience, audience_ids, routes)
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            new_id = await tx.execute(
                "INSERT INTO broadcasts (guild_id, author_id, text, audience, audience_ids,"
                " routes, allow_everyone, send_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (guild_id, author_id, text, audience, json.dumps(audience_ids),
                 ",".join(routes), int(allow_everyone),
                 to_db(send_at) if send_at else None, now))
        return Draft(await self.get(guild_id, new_id), found)

    async def get(self, guild_id: int, broadcast_id: int) -> Broadcast:
        if not 1 <= broadcast_id <= ID_MAX:  # a raw API call's number past SQLite's integers
            raise NotFound("broadcasts.unknown", value=broadcast_id)
        row = await self.db.fetchone(
            "SELECT * FROM broadcasts WHERE guild_id = ? AND id = ?", (guild_id, broadcast_id))
        if row is None:
            raise NotFound("broadcasts.unknown", value=broadcast_id)
        return _broadcast(row)

    async def confirm(self, guild_id: int, actor_id: int, broadcast_id: int) -> Broadcast:
        """Send now (the deliveries are queued in this transaction) or at ``send_at``."""
        found = await self.get(guild_id, broadcast_id)
        if found.state != "draft":
            raise UserError("broadcasts.not_draft", state=found.state)
        now = self.clock.now()
        if found.send_at is not None and found.send_at <= now:
            raise UserError("broadcasts.in_past", value=to_db(found.send_at), now=now,
                            timezone="UTC")
        recipients = await self.check(guild_id, found.audience, found.audience_ids,
                                      found.routes)
        emails = await self._emails(found, recipients) if found.send_at is None else []
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET state = ?, confirmed_at = ? WHERE id = ?"
                " AND state = 'draft'",
                ("scheduled" if found.send_at else "sending", to_db(now), broadcast_id))
            if not changed:
                raise UserError("broadcasts.not_draft", state="sending")
            if found.send_at is None:
                await self._queue(tx, found, recipients, emails)
            await self.audit.record(tx, guild_id, actor_id, "broadcast.confirmed",
                                    str(broadcast_id), deliveries=recipients.total,
                                    send_at=to_db(found.send_at) if found.send_at else None)
        if emails and self.email is not None:
            self.email.on_queued()
        self.deliveries.notify()
        return await self.get(guild_id, broadcast_id)

    async def cancel(self, guild_id: int, actor_id: int, broadcast_id: int) -> Broadcast:
        found = await self.get(guild_id, broadcast_id)
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET state = 'cancelled', finished_at = ? WHERE id = ?"
                " AND state IN ('draft', 'scheduled')", (to_db(self.clock.now()), found.id))
            if not changed:
                raise UserError("broadcasts.not_cancellable", state=found.state)
            await self.audit.record(tx, guild_id, actor_id, "broadcast.cancelled", str(found.id))
        return await self.get(guild_id, broadcast_id)

    async def _emails(self, found: Broadcast, recipients: Recipients) -> list[Email]:
        """The email copies, rendered before the transaction that queues them."""
        if not recipients.emails or self.email is None:
            return []
        context = email_context(found.text)
        return await self.email.prepare(found.guild_id, recipients.emails, "broadcast",
                                        f"broadcast:{found.id}", lambda r: context)

    async def _queue(self, tx: Any, found: Broadcast, recipients: Recipients,
                     emails: list[Email]) -> None:
        """Every delivery in one transaction: Discord ones into the send queue, emails into
        the outbox (dedupe key ``broadcast:<id>:<user>``)."""
        if emails and self.email is not None:
            await self.email.queue_rendered(tx, emails)
        now = to_db(self.clock.now())
        source = f"broadcast:{found.id}"
        payload = {"content": found.text, "mentions": {"everyone": found.allow_everyone}}
        await self.deliveries.add(tx, found.guild_id, [
            Send("broadcast", f"{source}:channel:{family_id}", "channel", channel_id, payload,
                 source=source, channel_id=channel_id)
            for family_id, channel_id in recipients.channels
        ] + [
            Send("broadcast", f"{source}:dm:{user_id}", "dm", user_id, payload, source=source,
                 channel_id=channel_id)
            for user_id, channel_id in recipients.dms
        ])
        await tx.execute("UPDATE broadcasts SET started_at = ? WHERE id = ?", (now, found.id))

    async def start_due(self) -> list[int]:
        """Queue every scheduled broadcast whose time has come (idempotent; the sweep)."""
        rows = await self.db.fetchall(
            "SELECT * FROM broadcasts WHERE state = 'scheduled' AND send_at <= ?",
            (to_db(self.clock.now()),))
        started = []
        for row in rows:
            found = _broadcast(row)
            recipients = await self.recipients(found.guild_id, found.audience,
                                               found.audience_ids, found.routes)
            emails = await self._emails(found, recipients)
            async with self.db.transaction() as tx:
                if await tx.execute("UPDATE broadcasts SET state = 'sending' WHERE id = ?"
                                    " AND state = 'scheduled'", (found.id,)):
                    await self._queue(tx, found, recipients, emails)
                    started.append(found.id)
            if emails and self.email is not None:
                self.email.on_queued()
        if started:
            self.deliveries.notify()
        return started

    # -- DM opt-in ---------------------------------------------------------------------------

    async def set_optin(self, guild_id: int, user_id: int, on: bool,
                        dm_channel_id: int | None = None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO broadcast_optins (guild_id, user_id, dm, dm_channel_id, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
                " dm = excluded.dm, dm_channel_id = coalesce(excluded.dm_channel_id,"
                " dm_channel_id), updated_at = excluded.updated_at",
                (guild_id, user_id, int(on), dm_channel_id, to_db(self.clock.now())))

    async def opted_in(self, guild_id: int, user_id: int) -> bool:
        return bool(await self.db.fetchval(
            "SELECT dm FROM broadcast_optins WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id)))

    async def finish(self) -> list[int]:
        """Mark broadcasts with nothing left to send as done."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id FROM broadcasts b WHERE state = 'sending' AND NOT EXISTS (SELECT 1"
                " FROM deliveries d WHERE d.source = 'broadcast:' || b.id AND d.state IN"
                " ('queued', 'sending'))")
            for row in rows:
                await tx.execute("UPDATE broadcasts SET state = 'done', finished_at = ?"
                                 " WHERE id = ?", (to_db(self.clock.now()), row["id"]))
        return [r["id"] for r in rows]

    # -- reports -----------------------------------------------------------------------------

    async def report(self, guild_id: int, broadcast_id: int) -> Report:
        found = await self.get(guild_id, broadcast_id)
        if found.state == "sending" and await self.finish():  # the last row just went out
            found = await self.get(guild_id, broadcast_id)
        source = f"broadcast:{broadcast_id}"
        counts: dict[str, dict[str, int]] = {}
        for route, by_state in (await self.deliveries.counts(source)).items():
            for state, n in by_state.items():
                counts.setdefault(route, {})[_STATES[state]] = n
        failures = await self.deliveries.failures(source)
        # Email copies live in the outbox; their keys are "broadcast:<id>:<user>".
        low, high = f"broadcast:{broadcast_id}:", f"broadcast:{broadcast_id};"
        for row in await self.db.fetchall(
                "SELECT state, count(*) AS n FROM email_outbox WHERE dedupe_key >= ? AND"
                " dedupe_key < ? GROUP BY state", (low, high)):
            state = _STATES[row["state"]]
            by_state = counts.setdefault("email", {})
            by_state[state] = by_state.get(state, 0) + row["n"]
            if state == "failed":
                reason = "email_suppressed" if row["state"] == "suppressed" else "email_refused"
                failures.append(("email", reason, row["n"]))
        return Report(found, counts, failures)

    async def recent(self, guild_id: int, limit: int = 10) -> list[Broadcast]:
        rows = await self.db.fetchall(
            "SELECT * FROM broadcasts WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
            (guild_id, limit))
        return [_broadcast(r) for r in rows]

