"""The support desk (#21): categories, tickets, and what staff see about the creator.

A ticket is opened by a creator (``/ticket open``, the "Get help" panel); the row is written
first, then the cog creates its private thread in the support channel and records it
(:meth:`TicketService.attach_thread`), which queues, in the same transaction, the creator's
question in the thread and the staff-only context in the staff channel (the durable delivery
queue: exactly once, even across a crash). A ticket whose thread was never recorded is
listed by :meth:`TicketService.without_thread` so a sweep can make it.

Nothing here imports discord.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database, Transaction
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotAllowed, NotFound, UserError
from bot.paging import Page, clamp
from bot.services.audit import AuditLog
from bot.services.families import FamilyService
from bot.services.profiles import ProfileService
from bot.services.tiers import TierService

SOURCE = "tickets"
# The pause going on ends: its time joins the finished ones (``?``: now).
END_WAIT = ("paused_seconds = paused_seconds"
            " + coalesce(round((julianday(?) - julianday(waiting_since)) * 86400.0), 0),"
            " waiting_since = NULL")
# Was this person sent the DM intake's category select lately?
RECENT_INTAKE = (
    "SELECT 1 FROM deliveries WHERE source = 'tickets' AND guild_id = ?"
    " AND kind = 'ticket_intake' AND target = 'dm' AND target_id = ? AND created_at > ? LIMIT 1"
)
SUBJECT_MAX = 100  # a thread's name is at most 100 characters; the subject fits in it
DESCRIPTION_MAX = 1500  # the question's post fits one Discord message with its heading
NOTE_MAX = 500
VIA = ("command", "panel", "dm")
CLOSE_REASONS = ("resolved", "duplicate", "no_reply", "other")
PRIORITIES = ("normal", "high", "urgent")
RECENT_CHECKINS = 5
SLA_SOON = 0.75  # share of an SLA's time gone when the role is warned
LIST_PAGE = 8  # tickets on a page of /ticket list (the longest rows fit one message)
LIST_STATES = ("open", "waiting", "closed")  # waiting: the open ones waiting on the creator
LIST_SUBJECT = 32  # characters of a subject shown in /ticket list
WAITING_DAYS = 7  # a ticket waiting on its creator this long closes itself (per server)
REOPEN_DAYS = 7  # a closed ticket may be reopened this long (per server)
DAYS_MAX = 90
TICKET_NUMBER_MAX = 10_000_000  # /ticket reopen's bound (tickets of one server)
ASSIGN_OPTIONS = 25  # members offered by Assign's select (Discord's most options)
# A DM without an open ticket is answered with the category select at most once in this
# time per person: a creator who answers a reminder or writes three lines in a row is not
# asked three times.
INTAKE_EVERY = timedelta(minutes=30)


@dataclass(frozen=True)
class CategoryDefault:
    key: str
    first_response_hours: float
    resolution_hours: float
    add_leader: bool


# Trust & Safety never adds the leader by default (a creator may be reporting them).
DEFAULT_CATEGORIES = (
    CategoryDefault("safety", 4, 48, False),
    CategoryDefault("technical", 8, 72, True),
    CategoryDefault("money", 24, 120, True),
    CategoryDefault("operations", 24, 120, True),
    CategoryDefault("other", 24, 168, False),
)
CATEGORY_KEYS = tuple(c.key for c in DEFAULT_CATEGORIES)


@dataclass(frozen=True)
class Category:
    id: int
    guild_id: int
    key: str
    role_id: int | None
    first_response_hours: float
    resolution_hours: float
    add_leader: bool
    allow_multiple: bool


@dataclass(frozen=True)
class DeskSettings:
    support_channel_id: int
    staff_channel_id: int
    waiting_days: int = WAITING_DAYS
    reopen_days: int = REOPEN_DAYS


@dataclass(frozen=True)
class Ticket:
    id: int
    guild_id: int
    number: int
    user_id: int
    category_id: int
    subject: str
    description: str
    via: str
    state: str
    thread_id: int | None
    assignee_id: int | None
    priority: str
    opened_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None
    closed_by: int | None
    close_reason: str | None
    close_note: str | None = None
    waiting_since: datetime | None = None  # staff wait on the creator (an open ticket)
    paused_seconds: float = 0.0  # finished pauses of the resolution clock
    reopens: int = 0
    reopened_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.state == "open"

    @property
    def waiting(self) -> bool:
        return self.open and self.waiting_since is not None

    def paused(self, now: datetime) -> timedelta:
        """How long the resolution clock stood still by ``now``: finished pauses (waits on
        the creator, the days it stood closed before a reopen) and the wait going on."""
        running = now - self.waiting_since if self.waiting_since is not None else timedelta()
        return timedelta(seconds=self.paused_seconds) + max(running, timedelta())

    def worked(self, now: datetime) -> timedelta:
        """The resolution clock: from opening to its close (or ``now``), less its pauses."""
        end = self.closed_at if self.closed_at is not None else now
        return end - self.opened_at - self.paused(end)


@dataclass(frozen=True)
class SlaAlert:
    """A first response or resolution about to be late (``soon``: 75 % of its time gone)
    or late (``breached``); queued once (its dedupe key)."""

    ticket: Ticket
    category: Category
    kind: str  # first_response | resolution
    stage: str  # soon | breached
    due: datetime

    @property
    def key(self) -> str:
        return f"ticket:{self.ticket.id}:sla:{self.kind}:{self.stage}"


STATS_PERIODS = {"7d": 7, "30d": 30, "90d": 90, "all": None}  # days back (None: all time)
STATS_ASSIGNEES = 5  # assignees shown by /ticket stats


@dataclass(frozen=True)
class StatsLine:
    """The figures of a set of tickets (all, one category, or one assignee's).

    ``volume`` counts the tickets opened in the period; ``open_now`` those open now whatever
    the period; medians are in hours (None when nothing to measure). ``sla_met`` is the share
    of decided SLA clocks (first response, resolution) that were met: a clock is decided when
    it was met or when its time is up; None when none is decided."""

    key: str | None
    volume: int
    open_now: int
    first_response_hours: float | None
    resolution_hours: float | None
    sla_met: float | None


@dataclass(frozen=True)
class Stats:
    total: StatsLine
    categories: list[StatsLine]
    assignees: list[tuple[int, int]]  # (assignee, tickets of the period assigned), most first
    reopen_rate: float = 0.0  # of the period's tickets closed at least once, those reopened


@dataclass(frozen=True)
class CheckinLine:
    local_date: str
    hours: float
    diamonds: int


@dataclass(frozen=True)
class Context:
    """What staff see about the creator (never the creator)."""

    family: str | None = None
    leader_id: int | None = None
    tier: str | None = None
    handle: str | None = None
    checkins: list[CheckinLine] = field(default_factory=list)
    other_open: list[int] = field(default_factory=list)  # numbers of their other open tickets


@dataclass(frozen=True)
class Opened:
    """A new ticket and who its private thread adds (the creator, the role's members are
    added by the role mention in the cog; the leader when the category says so)."""

    ticket: Ticket
    category: Category
    settings: DeskSettings
    leader_id: int | None


def _category(row: Any) -> Category:
    return Category(row["id"], row["guild_id"], row["key"], row["role_id"],
                    row["first_response_hours"], row["resolution_hours"],
                    bool(row["add_leader"]), bool(row["allow_multiple"]))


def _ticket(row: Any) -> Ticket:
    return Ticket(
        row["id"], row["guild_id"], row["number"], row["user_id"], row["category_id"],
        row["subject"], row["description"], row["via"], row["state"], row["thread_id"],
        row["assignee_id"], row["priority"], from_db(row["opened_at"]),
        from_db(row["first_response_at"]) if row["first_response_at"] else None,
        from_db(row["closed_at"]) if row["closed_at"] else None, row["closed_by"],
        row["close_reason"], row["close_note"],
        from_db(row["waiting_since"]) if row["waiting_since"] else None,
        row["paused_seconds"], row["reopens"],
        from_db(row["reopened_at"]) if row["reopened_at"] else None)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def closed_key(ticket: Ticket) -> str:
    """The dedupe key of a ticket's closing notice (one per close: a reopened ticket's next
    close has its own)."""
    again = f":{ticket.reopens}" if ticket.reopens else ""
    return f"ticket:{ticket.id}:closed:{ticket.number}{again}"


class TicketService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, families: FamilyService,
                 tiers: TierService, profiles: ProfileService,
                 deliveries: DeliveryQueue) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.families = families
        self.tiers = tiers
        self.profiles = profiles
        self.deliveries = deliveries

    # -- settings and categories ----------------------------------------------------------

    async def settings(self, guild_id: int) -> DeskSettings | None:
        row = await self.db.fetchone(
            "SELECT support_channel_id, staff_channel_id, waiting_days, reopen_days"
            " FROM ticket_settings WHERE guild_id = ?", (guild_id,))
        return None if row is None else DeskSettings(row[0], row[1], row[2], row[3])

    async def set_days(self, guild_id: int, actor_id: int, *, waiting_days: int | None = None,
                       reopen_days: int | None = None) -> DeskSettings:
        """The desk's two windows: days a ticket waits on its creator before it closes
        itself, and days a closed ticket may be reopened (only what is given)."""
        for days in (waiting_days, reopen_days):
            if days is not None and not 1 <= days <= DAYS_MAX:
                raise UserError("tickets.bad_days", limit=DAYS_MAX)
        found = await self.settings(guild_id)
        if found is None:
            raise UserError("tickets.not_set_up")
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE ticket_settings SET waiting_days = ?, reopen_days = ?, updated_at = ?"
                " WHERE guild_id = ?",
                (waiting_days or found.waiting_days, reopen_days or found.reopen_days,
                 to_db(self.clock.now()), guild_id))
            await self.audit.record(tx, guild_id, actor_id, "tickets.days", str(guild_id),
                                    waiting_days=waiting_days, reopen_days=reopen_days)
        return await self.settings(guild_id) or found

    async def configure(self, guild_id: int, actor_id: int, support_channel_id: int,
                        staff_channel_id: int) -> DeskSettings:
        if support_channel_id == staff_channel_id:
            raise UserError("tickets.same_channels")
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO ticket_settings (guild_id, support_channel_id, staff_channel_id,"
                " updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                " support_channel_id = excluded.support_channel_id,"
                " staff_channel_id = excluded.staff_channel_id,"
                " updated_at = excluded.updated_at",
                (guild_id, support_channel_id, staff_channel_id, to_db(self.clock.now())))
            await self.audit.record(tx, guild_id, actor_id, "tickets.setup",
                                    str(support_channel_id),
                                    staff_channel_id=staff_channel_id)
            await self._ensure_categories(tx, guild_id)
        return DeskSettings(support_channel_id, staff_channel_id)

    async def _ensure_categories(self, tx: Transaction, guild_id: int) -> None:
        for position, c in enumerate(DEFAULT_CATEGORIES):
            await tx.execute(
                "INSERT OR IGNORE INTO ticket_categories (guild_id, key, position,"
                " first_response_hours, resolution_hours, add_leader) VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, c.key, position, c.first_response_hours, c.resolution_hours,
                 int(c.add_leader)))

    async def categories(self, guild_id: int) -> list[Category]:
        """The guild's categories (the defaults until a manager changes them)."""
        rows = await self.db.fetchall(
            "SELECT * FROM ticket_categories WHERE guild_id = ? ORDER BY position", (guild_id,))
        if not rows:
            async with self.db.transaction() as tx:
                await self._ensure_categories(tx, guild_id)
            rows = await self.db.fetchall(
                "SELECT * FROM ticket_categories WHERE guild_id = ? ORDER BY position",
                (guild_id,))
        return [_category(r) for r in rows]

    async def category(self, guild_id: int, key: str) -> Category:
        found = next((c for c in await self.categories(guild_id) if c.key == key), None)
        if found is None:
            raise NotFound("tickets.unknown_category", value=key)
        return found

    async def set_category(self, guild_id: int, actor_id: int, key: str, *,
                           role_id: int | None = None, first_response_hours: float | None = None,
                           resolution_hours: float | None = None, add_leader: bool | None = None,
                           allow_multiple: bool | None = None) -> Category:
        """Change a category (only what is given)."""
        found = await self.category(guild_id, key)
        for hours in (first_response_hours, resolution_hours):
            if hours is not None and not 0.25 <= hours <= 24 * 30:
                raise UserError("tickets.bad_hours")
        first = first_response_hours or found.first_response_hours
        resolution = resolution_hours or found.resolution_hours
        if first > resolution:
            raise UserError("tickets.first_after_resolution")
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE ticket_categories SET role_id = ?, first_response_hours = ?,"
                " resolution_hours = ?, add_leader = ?, allow_multiple = ?"
                " WHERE guild_id = ? AND id = ?",
                (role_id if role_id is not None else found.role_id, first, resolution,
                 int(found.add_leader if add_leader is None else add_leader),
                 int(found.allow_multiple if allow_multiple is None else allow_multiple),
                 guild_id, found.id))
            await self.audit.record(
                tx, guild_id, actor_id, "tickets.category", key, role_id=role_id,
                first_response_hours=first_response_hours, resolution_hours=resolution_hours,
                add_leader=add_leader, allow_multiple=allow_multiple)
        return await self.category(guild_id, key)

    # -- tickets ------------------------------------------------------------------------

    async def get(self, guild_id: int, ticket_id: int, *,
                  tx: Transaction | None = None) -> Ticket:
        row = await (tx or self.db).fetchone(
            "SELECT * FROM tickets WHERE guild_id = ? AND id = ?", (guild_id, ticket_id))
        if row is None:
            raise NotFound("tickets.unknown_ticket", value=str(ticket_id))
        return _ticket(row)

    async def category_of(self, ticket: Ticket) -> Category:
        row = await self.db.fetchone(
            "SELECT * FROM ticket_categories WHERE guild_id = ? AND id = ?",
            (ticket.guild_id, ticket.category_id))
        return _category(row)

    async def check_open(self, guild_id: int, user_id: int, key: str) -> Category:
        """Refuse before the modal what cannot be opened: no desk set up, an unknown category,
        an open ticket of the same category (pointed to)."""
        if await self.settings(guild_id) is None:
            raise UserError("tickets.not_set_up")
        category = await self.category(guild_id, key)
        await self._refuse_duplicate(self.db, guild_id, user_id, category)
        return category

    async def _refuse_duplicate(self, db: Database | Transaction, guild_id: int, user_id: int,
                                category: Category) -> int | None:
        """Refuse a second open ticket of the category; return the id of an open one that
        has no thread (Discord refused it, a crash, or it was deleted by hand), which the new
        request takes over (its thread is made then)."""
        rows = await db.fetchall(
            "SELECT id, number, thread_id FROM tickets WHERE guild_id = ? AND user_id = ?"
            " AND category_id = ? AND state = 'open' ORDER BY id",
            (guild_id, user_id, category.id))
        orphan = next((r["id"] for r in rows if r["thread_id"] is None), None)
        if orphan is not None:
            return int(orphan)
        if rows and not category.allow_multiple:
            raise UserError("tickets.duplicate", number=rows[0]["number"],
                            thread_id=rows[0]["thread_id"])
        return None

    async def open(self, guild_id: int, user_id: int, key: str, subject: str,
                   description: str, *, via: str = "command") -> Opened:
        """Write a new ticket (its thread comes next: :meth:`attach_thread`)."""
        if via not in VIA:
            raise ValueError(via)
        subject = _one_line(subject)
        if not subject or len(subject) > SUBJECT_MAX:
            raise UserError("tickets.bad_subject", limit=SUBJECT_MAX)
        description = (description or "").strip()
        if not description or len(description) > DESCRIPTION_MAX:
            raise UserError("tickets.bad_description", limit=DESCRIPTION_MAX)
        settings = await self.settings(guild_id)
        if settings is None:
            raise UserError("tickets.not_set_up")
        category = await self.category(guild_id, key)
        leader_id = await self._leader(guild_id, user_id, category)
        async with self.db.transaction() as tx:
            orphan = await self._refuse_duplicate(tx, guild_id, user_id, category)
            if orphan is not None:  # its thread is made now, with the new words
                await tx.execute(
                    "UPDATE tickets SET subject = ?, description = ?, via = ?"
                    " WHERE guild_id = ? AND id = ?",
                    (subject, description, via, guild_id, orphan))
                return Opened(await self.get(guild_id, orphan, tx=tx), category, settings,
                              leader_id)
            number = await tx.fetchval(
                "SELECT coalesce(max(number), 0) + 1 FROM tickets WHERE guild_id = ?",
                (guild_id,))
            ticket_id = await tx.execute(
                "INSERT INTO tickets (guild_id, number, user_id, category_id, subject,"
                " description, via, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (guild_id, number, user_id, category.id, subject, description, via,
                 to_db(self.clock.now())))
            await self.audit.record(tx, guild_id, user_id, "tickets.open", str(number),
                                    category=key, via=via)
        return Opened(await self.get(guild_id, ticket_id), category, settings, leader_id)

    async def attach_thread(self, guild_id: int, ticket_id: int, thread_id: int,
                            question: str, staff_context: str, staff_channel_id: int,
                            components: list[dict[str, Any]] | None = None) -> Ticket:
        """Record the ticket's thread and queue, in the same transaction, the creator's
        question in it and the context post in the staff channel (each once)."""
        ticket = await self.get(guild_id, ticket_id)
        sends = [
            Send("ticket_question", f"ticket:{ticket_id}:question:{thread_id}", "channel",
                 thread_id, {"content": question, "components": components or []},
                 source=SOURCE, channel_id=thread_id, priority=1),
            Send("ticket_context", f"ticket:{ticket_id}:context", "channel", staff_channel_id,
                 {"content": staff_context}, source=SOURCE, channel_id=staff_channel_id,
                 priority=1),
        ]
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE tickets SET thread_id = ? WHERE guild_id = ? AND id = ?",
                             (thread_id, guild_id, ticket.id))
            await self.deliveries.add(tx, guild_id, sends)
        self.deliveries.notify()
        return await self.get(guild_id, ticket_id)

    async def without_thread(self, guild_id: int) -> list[Ticket]:
        """Open tickets whose thread was never recorded (a crash between the two steps)."""
        rows = await self.db.fetchall(
            "SELECT * FROM tickets WHERE guild_id = ? AND state = 'open' AND thread_id IS NULL"
            " ORDER BY id", (guild_id,))
        return [_ticket(r) for r in rows]

    async def thread_gone(self, guild_id: int, thread_id: int) -> Ticket | None:
        """A ticket's thread was deleted (by hand): the ticket is kept, without a thread; an
        open one gets a new thread when the creator asks again."""
        ticket = await self.by_thread(guild_id, thread_id)
        if ticket is None:
            return None
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE tickets SET thread_id = NULL WHERE guild_id = ? AND id = ?",
                             (guild_id, ticket.id))
            await self.audit.record(tx, guild_id, None, "tickets.thread_gone",
                                    str(ticket.number), thread_id=thread_id)
        return await self.get(guild_id, ticket.id)

    async def by_thread(self, guild_id: int, thread_id: int) -> Ticket | None:
        row = await self.db.fetchone(
            "SELECT * FROM tickets WHERE guild_id = ? AND thread_id = ?", (guild_id, thread_id))
        return None if row is None else _ticket(row)

    async def context(self, guild_id: int, user_id: int, *, exclude: int | None = None
                      ) -> Context:
        """The creator's family, leader, tier, handle, recent check-ins and open tickets."""
        membership = await self.families.membership_of(guild_id, user_id)
        family_name = leader_id = None
        if membership is not None:
            family = await self.families.get(guild_id, membership.family_id)
            family_name, leader_id = family.name, family.leader_user_id
        tier = await self.tiers.tier_of(guild_id, user_id)
        profile = await self.profiles.get(guild_id, user_id)
        rows = await self.db.fetchall(
            "SELECT local_date, hours, diamonds FROM checkins WHERE guild_id = ? AND user_id = ?"
            " ORDER BY local_date DESC LIMIT ?", (guild_id, user_id, RECENT_CHECKINS))
        others = await self.db.fetchall(
            "SELECT number FROM tickets WHERE guild_id = ? AND user_id = ? AND state = 'open'"
            " AND id != ? ORDER BY number", (guild_id, user_id, exclude or 0))
        return Context(
            family=family_name, leader_id=leader_id, tier=tier.name if tier else None,
            handle=profile.handle if profile else None,
            checkins=[CheckinLine(r[0], r[1], r[2]) for r in rows],
            other_open=[r[0] for r in others])

    async def is_staff(self, ticket: Ticket, role_ids: set[int], manager: bool) -> bool:
        if manager:
            return True
        category = await self.category_of(ticket)
        return category.role_id is not None and category.role_id in role_ids

    async def claim(self, guild_id: int, actor_id: int, ticket_id: int) -> Ticket:
        ticket = await self.get(guild_id, ticket_id)
        if not ticket.open:
            raise UserError("tickets.already_closed", number=ticket.number)
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE tickets SET assignee_id = ? WHERE guild_id = ? AND id = ?",
                             (actor_id, guild_id, ticket_id))
            await self._responded(tx, guild_id, ticket_id)
            await self.audit.record(tx, guild_id, actor_id, "tickets.claim", str(ticket.number))
        return await self.get(guild_id, ticket_id)

    async def raise_priority(self, guild_id: int, actor_id: int, ticket_id: int) -> Ticket:
        """The next priority (normal → high → urgent → normal)."""
        ticket = await self.get(guild_id, ticket_id)
        if not ticket.open:
            raise UserError("tickets.already_closed", number=ticket.number)
        after = PRIORITIES[(PRIORITIES.index(ticket.priority) + 1) % len(PRIORITIES)]
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE tickets SET priority = ? WHERE guild_id = ? AND id = ?",
                             (after, guild_id, ticket_id))
            await self.audit.record(tx, guild_id, actor_id, "tickets.priority",
                                    str(ticket.number), priority=after)
        return await self.get(guild_id, ticket_id)

    # -- the workflow: assign, wait on the creator, close the stale, reopen -------------------

    async def assign(self, guild_id: int, actor_id: int, ticket_id: int, assignee_id: int,
                     assignee_roles: set[int], request_id: int, notice: str) -> Ticket:
        """Assign an open ticket to a member of its category's support role (``assignee_roles``:
        the roles Discord shows them with now) and queue ``notice`` in the thread, pinging
        the assignee only (once per request)."""
        ticket = await self.get(guild_id, ticket_id)
        if not ticket.open:
            raise UserError("tickets.already_closed", number=ticket.number)
        category = await self.category_of(ticket)
        if category.role_id is None or category.role_id not in assignee_roles:
            raise UserError("tickets.not_support_member")
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE tickets SET assignee_id = ? WHERE guild_id = ? AND id = ?"
                " AND state = 'open'", (assignee_id, guild_id, ticket_id))
            if not changed:
                raise UserError("tickets.already_closed", number=ticket.number)
            await self.audit.record(tx, guild_id, actor_id, "tickets.assign",
                                    str(ticket.number), assignee_id=assignee_id)
            if ticket.thread_id is not None:
                await self.deliveries.add(tx, guild_id, [Send(
                    "ticket_assigned", f"ticket:{ticket.id}:assigned:{request_id}", "channel",
                    ticket.thread_id, {"content": notice, "mentions": {"users": [assignee_id]}},
                    source=SOURCE, channel_id=ticket.thread_id, priority=1)])
        self.deliveries.notify()
        return await self.get(guild_id, ticket_id)

    async def wait_on_creator(self, guild_id: int, actor_id: int, ticket_id: int,
                              request_id: int, notice: str, dm_notice: str | None = None
                              ) -> Ticket:
        """Staff wait on the creator: the resolution clock stands still until the creator
        writes (or staff resume); it counts as staff's first answer (they asked the creator
        something). ``notice`` is queued in the thread, ``dm_notice`` to the creator of a
        ticket opened by DM (each once per request). Waiting twice is refused."""
        ticket = await self.get(guild_id, ticket_id)
        if not ticket.open:
            raise UserError("tickets.already_closed", number=ticket.number)
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE tickets SET waiting_since = ? WHERE guild_id = ? AND id = ?"
                " AND state = 'open' AND waiting_since IS NULL", (now, guild_id, ticket_id))
            if not changed:
                raise UserError("tickets.already_waiting", number=ticket.number)
            await self._responded(tx, guild_id, ticket_id)
            await self.audit.record(tx, guild_id, actor_id, "tickets.wait", str(ticket.number))
            await self._tell(tx, ticket, f"waiting:{request_id}", notice, dm_notice)
        self.deliveries.notify()
        return await self.get(guild_id, ticket_id)

    async def resume(self, guild_id: int, actor_id: int | None, ticket_id: int) -> Ticket | None:
        """The wait ends (the creator wrote, or staff resume): the clock runs again. None when
        the ticket was not waiting (nothing changes)."""
        async with self.db.transaction() as tx:
            changed = await self._end_wait(tx, guild_id, ticket_id)
            if not changed:
                return None
            ticket = await self.get(guild_id, ticket_id, tx=tx)
            await self.audit.record(tx, guild_id, actor_id, "tickets.resume",
                                    str(ticket.number))
        return await self.get(guild_id, ticket_id)

    async def _end_wait(self, tx: Transaction, guild_id: int, ticket_id: int) -> bool:
        now = to_db(self.clock.now())
        return bool(await tx.execute(
            "UPDATE tickets SET " + END_WAIT + " WHERE guild_id = ? AND id = ?"
            " AND state = 'open' AND waiting_since IS NOT NULL", (now, guild_id, ticket_id)))

    async def creator_wrote(self, guild_id: int, thread_id: int, user_id: int
                            ) -> Ticket | None:
        """A message in a ticket's thread: by its creator, a wait on them ends."""
        ticket = await self.by_thread(guild_id, thread_id)
        if ticket is None or ticket.user_id != user_id or not ticket.waiting:
            return None
        return await self.resume(guild_id, None, ticket.id)

    async def _tell(self, tx: Transaction, ticket: Ticket, what: str, notice: str,
                    dm_notice: str | None) -> None:
        """Queue ``notice`` in the ticket's thread and ``dm_notice`` to a DM ticket's creator."""
        sends = []
        if ticket.thread_id is not None:
            sends.append(Send(f"ticket_{what.split(':')[0]}", f"ticket:{ticket.id}:{what}",
                              "channel", ticket.thread_id, {"content": notice}, source=SOURCE,
                              channel_id=ticket.thread_id, priority=1))
        if dm_notice is not None and ticket.via == "dm":
            sends.append(Send(f"ticket_{what.split(':')[0]}_dm",
                              f"ticket:{ticket.id}:{what}:dm", "dm", ticket.user_id,
                              {"content": dm_notice}, source=SOURCE, priority=1))
        if sends:
            await self.deliveries.add(tx, ticket.guild_id, sends)

    async def stale(self, guild_id: int) -> list[Ticket]:
        """Open tickets that have waited on their creator the server's ``waiting_days``."""
        settings = await self.settings(guild_id)
        if settings is None:
            return []
        cutoff = self.clock.now() - timedelta(days=settings.waiting_days)
        rows = await self.db.fetchall(
            "SELECT * FROM tickets WHERE guild_id = ? AND state = 'open'"
            " AND waiting_since IS NOT NULL AND waiting_since <= ? ORDER BY id",
            (guild_id, to_db(cutoff)))
        return [_ticket(r) for r in rows]

    async def close_stale(self, ticket: Ticket, notice: str, dm_notice: str | None
                          ) -> Ticket | None:
        """Close a ticket that waited on its creator too long (reason ``no_reply``, closed by
        nobody) with ``notice`` in its thread (key :func:`closed_key`) and ``dm_notice`` to a
        DM ticket's creator, in one transaction: only if it still waits since the same time
        (the creator may have written meanwhile); None when it did not close. A second sweep,
        or one after a restart, finds it closed and queues nothing."""
        if ticket.waiting_since is None:
            return None
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE tickets SET state = 'closed', closed_at = ?, closed_by = NULL,"
                " close_reason = 'no_reply', close_note = NULL, " + END_WAIT +
                " WHERE guild_id = ? AND id = ? AND state = 'open' AND waiting_since = ?",
                (now, now, ticket.guild_id, ticket.id, to_db(ticket.waiting_since)))
            if not changed:
                return None
            await self.audit.record(tx, ticket.guild_id, None, "tickets.close",
                                    str(ticket.number), reason="no_reply", stale=True)
            key = closed_key(ticket)
            sends = []
            if ticket.thread_id is not None:
                sends.append(Send("ticket_closed", key, "channel", ticket.thread_id,
                                  {"content": notice}, source=SOURCE,
                                  channel_id=ticket.thread_id, priority=1))
            if dm_notice is not None and ticket.via == "dm":
                sends.append(Send("ticket_closed_dm", key + ":dm", "dm", ticket.user_id,
                                  {"content": dm_notice}, source=SOURCE, priority=1))
            if sends:
                await self.deliveries.add(tx, ticket.guild_id, sends)
        self.deliveries.notify()
        return await self.get(ticket.guild_id, ticket.id)

    async def closed_unarchived(self, guild_id: int, since: timedelta) -> list[Ticket]:
        """Tickets closed by the stale sweep within ``since`` (their threads are archived
        after the notice; a restart in between leaves one to archive again)."""
        rows = await self.db.fetchall(
            "SELECT * FROM tickets WHERE guild_id = ? AND state = 'closed'"
            " AND close_reason = 'no_reply' AND closed_by IS NULL AND thread_id IS NOT NULL"
            " AND closed_at >= ? ORDER BY id",
            (guild_id, to_db(self.clock.now() - since)))
        return [_ticket(r) for r in rows]

    async def find(self, guild_id: int, number: int) -> Ticket:
        """A ticket by its number in the server (#12); any number (a raw API call sends one
        past the option's bounds) finds nothing rather than overflowing SQLite."""
        if not 1 <= number <= TICKET_NUMBER_MAX:
            raise NotFound("tickets.unknown_ticket", value=str(number))
        row = await self.db.fetchone(
            "SELECT * FROM tickets WHERE guild_id = ? AND number = ?", (guild_id, number))
        if row is None:
            raise NotFound("tickets.unknown_ticket", value=str(number))
        return _ticket(row)

    async def reopen(self, guild_id: int, actor_id: int, ticket_id: int, *, staff: bool,
                     request_id: int, notice: str, dm_notice: str | None = None) -> Ticket:
        """Reopen a closed ticket within the server's ``reopen_days`` of its close: its
        creator, its category's staff or a manager. The days it stood closed do not count on
        its resolution clock (they join its pauses); its first answer stays. A creator with
        another open ticket of the category (one allowed) is pointed to it. ``notice`` goes
        to the thread (if it still has one), ``dm_notice`` to a DM ticket's creator."""
        ticket = await self.get(guild_id, ticket_id)
        if not staff and actor_id != ticket.user_id:
            raise NotAllowed("tickets.reopen_not_yours")
        if ticket.open or ticket.closed_at is None:
            raise UserError("tickets.not_closed", number=ticket.number)
        settings = await self.settings(guild_id)
        days = settings.reopen_days if settings else REOPEN_DAYS
        now = self.clock.now()
        if now - ticket.closed_at > timedelta(days=days):
            raise UserError("tickets.reopen_too_late", number=ticket.number, days=days)
        category = await self.category_of(ticket)
        async with self.db.transaction() as tx:
            other = await tx.fetchone(
                "SELECT number, thread_id FROM tickets WHERE guild_id = ? AND user_id = ?"
                " AND category_id = ? AND state = 'open' AND id != ? ORDER BY id LIMIT 1",
                (guild_id, ticket.user_id, category.id, ticket.id))
            if other is not None and not category.allow_multiple:
                raise UserError("tickets.duplicate", number=other["number"],
                                thread_id=other["thread_id"])
            changed = await tx.execute(
                "UPDATE tickets SET state = 'open', paused_seconds = paused_seconds"
                " + round((julianday(?) - julianday(closed_at)) * 86400.0), closed_at = NULL,"
                " closed_by = NULL, close_reason = NULL, close_note = NULL,"
                " reopens = reopens + 1, reopened_at = ? WHERE guild_id = ? AND id = ?"
                " AND state = 'closed'", (to_db(now), to_db(now), guild_id, ticket_id))
            if not changed:  # a double click: the first reopened it
                raise UserError("tickets.not_closed", number=ticket.number)
            await self.audit.record(tx, guild_id, actor_id, "tickets.reopen",
                                    str(ticket.number))
            await self._tell(tx, ticket, f"reopened:{request_id}", notice, dm_notice)
        self.deliveries.notify()
        return await self.get(guild_id, ticket_id)

    async def reopened(self, guild_id: int, ticket: Ticket) -> Opened:
        """What :func:`make_thread` needs to give a reopened ticket whose thread was deleted a
        new one (the leader as when it was opened)."""
        settings = await self.settings(guild_id)
        if settings is None:
            raise UserError("tickets.not_set_up")
        category = await self.category_of(ticket)
        return Opened(ticket, category, settings,
                      await self._leader(guild_id, ticket.user_id, category))

    async def _leader(self, guild_id: int, user_id: int, category: Category) -> int | None:
        """The creator's family leader when the category adds them (never themselves)."""
        membership = await self.families.membership_of(guild_id, user_id)
        if not category.add_leader or membership is None:
            return None
        family = await self.families.get(guild_id, membership.family_id)
        return family.leader_user_id if family.leader_user_id != user_id else None

    async def _responded(self, tx: Transaction, guild_id: int, ticket_id: int) -> None:
        """Staff's first response (a Claim or a /ticket reply) stops the first-response SLA."""
        await tx.execute(
            "UPDATE tickets SET first_response_at = ? WHERE guild_id = ? AND id = ?"
            " AND first_response_at IS NULL", (to_db(self.clock.now()), guild_id, ticket_id))

    async def close(self, guild_id: int, actor_id: int, ticket_id: int, reason: str, *,
                    staff: bool, notice: str | None = None, note: str | None = None
                    ) -> Ticket:
        """Close once: a second close (a double click) is refused, nothing changes. The
        creator may close their own ticket; otherwise staff only. ``notice`` is queued in
        the thread with the change (key :func:`closed_key`)."""
        if reason not in CLOSE_REASONS:
            raise UserError("tickets.bad_reason", value=reason)
        note = (note or "").strip() or None
        if note is not None and len(note) > NOTE_MAX:
            raise UserError("tickets.bad_note", limit=NOTE_MAX)
        ticket = await self.get(guild_id, ticket_id)
        if not staff and actor_id != ticket.user_id:
            raise NotAllowed("tickets.not_yours")
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE tickets SET state = 'closed', closed_at = ?, closed_by = ?,"
                " close_reason = ?, close_note = ?, " + END_WAIT + " WHERE guild_id = ?"
                " AND id = ? AND state = 'open'",
                (now, actor_id, reason, note, now, guild_id, ticket_id))
            if not changed:
                raise UserError("tickets.already_closed", number=ticket.number)
            await self.audit.record(tx, guild_id, actor_id, "tickets.close", str(ticket.number),
                                    reason=reason)
            if notice is not None and ticket.thread_id is not None:
                await self.deliveries.add(tx, guild_id, [Send(
                    "ticket_closed", closed_key(ticket), "channel", ticket.thread_id,
                    {"content": notice}, source=SOURCE, channel_id=ticket.thread_id,
                    priority=1)])
        self.deliveries.notify()
        return await self.get(guild_id, ticket_id)

    async def post_panel(self, guild_id: int, actor_id: int, channel_id: int, request_id: int,
                         content: str, components: list[dict[str, Any]]) -> None:
        """Queue the "Get help" panel in ``channel_id`` (once per request)."""
        async with self.db.transaction() as tx:
            await self.deliveries.add(tx, guild_id, [Send(
                "ticket_panel", f"ticket_panel:{request_id}", "channel", channel_id,
                {"content": content, "components": components}, source=SOURCE,
                channel_id=channel_id, priority=1)])
            await self.audit.record(tx, guild_id, actor_id, "tickets.panel", str(channel_id))
        self.deliveries.notify()

    # -- DM intake: relayed messages ------------------------------------------------------

    async def dm_ticket(self, guild_id: int, user_id: int) -> Ticket | None:
        """The creator's open ticket opened by DM (their DMs are relayed to its thread)."""
        row = await self.db.fetchone(
            "SELECT * FROM tickets WHERE guild_id = ? AND user_id = ? AND via = 'dm'"
            " AND state = 'open' AND thread_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            (guild_id, user_id))
        return None if row is None else _ticket(row)

    async def prompt_intake(self, guild_id: int, user_id: int, message_id: int, content: str,
                            components: list[dict[str, Any]]) -> None:
        """Answer a creator's DM with the category select (once per DM, and at most once
        in :data:`INTAKE_EVERY` per person)."""
        since = to_db(self.clock.now() - INTAKE_EVERY)
        async with self.db.transaction() as tx:
            if await tx.fetchval(RECENT_INTAKE, (guild_id, user_id, since)):
                return
            await self.deliveries.add(tx, guild_id, [Send(
                "ticket_intake", f"ticket_intake:{message_id}", "dm", user_id,
                {"content": content, "components": components}, source=SOURCE, priority=1)])
        self.deliveries.notify()

    async def relay_in(self, ticket: Ticket, message_id: int, content: str) -> None:
        """A DM of the creator, posted in the ticket's thread (once per DM); a wait on the
        creator ends."""
        if ticket.thread_id is None:
            return
        async with self.db.transaction() as tx:
            await self._end_wait(tx, ticket.guild_id, ticket.id)
            await self.deliveries.add(tx, ticket.guild_id, [Send(
                "ticket_relay_in", f"ticket:{ticket.id}:in:{message_id}", "channel",
                ticket.thread_id, {"content": content}, source=SOURCE,
                channel_id=ticket.thread_id, priority=1)])
        self.deliveries.notify()

    async def relay_out(self, guild_id: int, actor_id: int, ticket: Ticket, request_id: int,
                        content: str) -> None:
        """Staff's answer, sent to the creator by DM (once per request)."""
        ticket = await self.get(guild_id, ticket.id)  # as it is now (closed meanwhile?)
        if not ticket.open:
            raise UserError("tickets.already_closed", number=ticket.number)
        async with self.db.transaction() as tx:
            await self.deliveries.add(tx, guild_id, [Send(
                "ticket_relay_out", f"ticket:{ticket.id}:out:{request_id}", "dm",
                ticket.user_id, {"content": content}, source=SOURCE, priority=1)])
            await self.audit.record(tx, guild_id, actor_id, "tickets.reply", str(ticket.number))
            await self._responded(tx, guild_id, ticket.id)
        self.deliveries.notify()

    # -- staff: internal notes and the list ----------------------------------------------

    async def add_note(self, guild_id: int, actor_id: int, ticket: Ticket, body: str,
                       staff_channel_id: int, post: str) -> int:
        """Keep an internal note and queue ``post`` (the note as staff see it) in the staff
        channel; never in the thread."""
        body = (body or "").strip()
        if not body or len(body) > NOTE_MAX:
            raise UserError("tickets.bad_note", limit=NOTE_MAX)
        async with self.db.transaction() as tx:
            note_id = await tx.execute(
                "INSERT INTO ticket_notes (guild_id, ticket_id, author_id, body, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (guild_id, ticket.id, actor_id, body, to_db(self.clock.now())))
            await self.deliveries.add(tx, guild_id, [Send(
                "ticket_note", f"ticket:{ticket.id}:note:{note_id}", "channel",
                staff_channel_id, {"content": post}, source=SOURCE,
                channel_id=staff_channel_id, priority=1)])
        self.deliveries.notify()
        return note_id

    async def notes(self, guild_id: int, ticket_id: int) -> list[tuple[int, str]]:
        rows = await self.db.fetchall(
            "SELECT author_id, body FROM ticket_notes WHERE guild_id = ? AND ticket_id = ?"
            " ORDER BY id", (guild_id, ticket_id))
        return [(r[0], r[1]) for r in rows]

    async def listing(self, guild_id: int, *, state: str = "open", key: str | None = None,
                      category_ids: set[int] | None = None, assignee_id: int | None = None,
                      page: int = 0, size: int = LIST_PAGE) -> Page[Ticket]:
        """One page of tickets, newest first: ``state`` open (waiting ones too), waiting (on
        the creator) or closed; one category (``key``), only the categories a staff member
        works (``category_ids``), one assignee."""
        if state not in LIST_STATES:
            raise UserError("tickets.bad_state", value=state)
        where = ["guild_id = ?", "state = ?"]
        params: list[Any] = [guild_id, "closed" if state == "closed" else "open"]
        if state == "waiting":
            where.append("waiting_since IS NOT NULL")
        if key:
            where.append("category_id = ?")
            params.append((await self.category(guild_id, key)).id)
        if category_ids is not None:
            where.append("category_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(sorted(category_ids)))
        if assignee_id is not None:
            where.append("assignee_id = ?")
            params.append(assignee_id)
        clause = " WHERE " + " AND ".join(where)
        total = await self.db.fetchval("SELECT count(*) FROM tickets" + clause, params)
        number = clamp(page, size, total)
        rows = await self.db.fetchall(
            "SELECT * FROM tickets" + clause + " ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, size, number * size])
        return Page([_ticket(r) for r in rows], number, size, total)

    # -- numbers -------------------------------------------------------------------------

    async def stats(self, guild_id: int, period: str = "30d", key: str | None = None) -> Stats:
        """``/ticket stats``: the tickets opened in the last ``period`` (7d, 30d, 90d, all),
        of one category or all, measured (see :class:`StatsLine`)."""
        if period not in STATS_PERIODS:
            raise UserError("tickets.bad_period", value=period)
        categories = {c.id: c for c in await self.categories(guild_id)}
        wanted = await self.category(guild_id, key) if key else None
        now = self.clock.now()
        days = STATS_PERIODS[period]
        since = to_db(now - timedelta(days=days)) if days is not None else ""
        rows = await self.db.fetchall(
            "SELECT * FROM tickets WHERE guild_id = ? AND (opened_at >= ? OR state = 'open')",
            (guild_id, since))
        found = [_ticket(r) for r in rows
                 if wanted is None or r["category_id"] == wanted.id]

        def line(tag: str | None, tickets: list[Ticket]) -> StatsLine:
            opened = [t for t in tickets if to_db(t.opened_at) >= since]
            first = [(t.first_response_at - t.opened_at).total_seconds() / 3600
                     for t in opened if t.first_response_at is not None]
            resolved = [t.worked(now).total_seconds() / 3600
                        for t in opened if t.closed_at is not None]
            met = decided = 0
            for t in opened:
                category = categories[t.category_id]
                first_due = t.opened_at + timedelta(hours=category.first_response_hours)
                if t.first_response_at is not None or now >= first_due:
                    decided += 1
                    met += t.first_response_at is not None and t.first_response_at <= first_due
                # the resolution clock stands still while waiting on the creator and while
                # closed before a reopen
                span = timedelta(hours=category.resolution_hours)
                if t.closed_at is not None or t.worked(now) >= span:
                    decided += 1
                    met += t.closed_at is not None and t.worked(now) <= span
            return StatsLine(tag, len(opened), sum(t.open for t in tickets),
                             statistics.median(first) if first else None,
                             statistics.median(resolved) if resolved else None,
                             met / decided if decided else None)

        by_category = [line(c.key, [t for t in found if t.category_id == c.id])
                       for c in categories.values() if wanted is None or c.id == wanted.id]
        counts: dict[int, int] = {}
        for t in found:
            if t.assignee_id is not None and to_db(t.opened_at) >= since:
                counts[t.assignee_id] = counts.get(t.assignee_id, 0) + 1
        assignees = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:STATS_ASSIGNEES]
        period_tickets = [t for t in found if to_db(t.opened_at) >= since]
        ever_closed = [t for t in period_tickets if t.closed_at is not None or t.reopens]
        reopened = sum(1 for t in ever_closed if t.reopens)
        return Stats(line(None, found), [c for c in by_category if c.volume or c.open_now],
                     assignees, reopened / len(ever_closed) if ever_closed else 0.0)

    # -- SLAs ------------------------------------------------------------------------------

    async def sla_alerts(self, guild_id: int) -> list[SlaAlert]:
        """Alerts due now and not queued yet (open tickets with a thread)."""
        now = self.clock.now()
        categories = {c.id: c for c in await self.categories(guild_id)}
        # only the tickets 75 % into a clock are read (times are stored in UTC, ISO 8601)
        clauses: list[str] = []
        params: list[Any] = [guild_id]
        for c in categories.values():
            clauses.append("(category_id = ? AND (opened_at <= ?"
                           " OR (first_response_at IS NULL AND opened_at <= ?)))")
            params += [c.id, to_db(now - timedelta(hours=c.resolution_hours) * SLA_SOON),
                       to_db(now - timedelta(hours=c.first_response_hours) * SLA_SOON)]
        rows = await self.db.fetchall(
            "SELECT * FROM tickets WHERE guild_id = ? AND state = 'open'"
            " AND thread_id IS NOT NULL AND (" + " OR ".join(clauses) + ")", params)
        found: list[SlaAlert] = []
        for row in rows:
            ticket = _ticket(row)
            category = categories[ticket.category_id]
            clocks = [("resolution", category.resolution_hours)]
            if ticket.first_response_at is None:
                clocks.insert(0, ("first_response", category.first_response_hours))
            for kind, hours in clocks:
                span = timedelta(hours=hours)
                # the first answer's clock never pauses (a wait on the creator is an answer);
                # the resolution's stands still while waiting and while closed
                gone = (now - ticket.opened_at if kind == "first_response"
                        else ticket.worked(now))
                due = now + span - gone
                if gone >= span:
                    found.append(SlaAlert(ticket, category, kind, "breached", due))
                elif gone >= span * SLA_SOON:
                    found.append(SlaAlert(ticket, category, kind, "soon", due))
        if not found:
            return []
        queued = {r[0] for r in await self.db.fetchall(
            "SELECT dedupe_key FROM deliveries WHERE guild_id = ? AND dedupe_key IN"
            " (SELECT value FROM json_each(?))",
            (guild_id, json.dumps([a.key for a in found])))}
        return [a for a in found if a.key not in queued]

    async def queue_alerts(self, guild_id: int, alerts: list[tuple[SlaAlert, str]],
                           escalation_channel_id: int | None,
                           escalations: dict[str, str]) -> int:
        """Queue each alert in its ticket's thread, pinging the category's role; a breach is
        also posted in ``escalation_channel_id`` (the managers' channel), pinging nobody."""
        sends = []
        for alert, content in alerts:
            role = alert.category.role_id
            sends.append(Send(
                "ticket_sla", alert.key, "channel", alert.ticket.thread_id or 0,
                {"content": content, "mentions": {"roles": [role] if role else []}},
                source=SOURCE, channel_id=alert.ticket.thread_id, priority=1))
            if alert.stage == "breached" and escalation_channel_id and alert.key in escalations:
                sends.append(Send(
                    "ticket_sla_escalation", alert.key + ":managers", "channel",
                    escalation_channel_id, {"content": escalations[alert.key]}, source=SOURCE,
                    channel_id=escalation_channel_id, priority=1))
        if not sends:
            return 0
        async with self.db.transaction() as tx:
            added = await self.deliveries.add(tx, guild_id, sends)
        self.deliveries.notify()
        return added
