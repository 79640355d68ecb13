"""The monthly showcase (#22): the month's best LIVE moments, from submission to the post.

Life of an entry (``showcase_entries``), in the month of its LIVE date on the program's
calendar:

    submitted (by its creator) → nominated (by a leader of their family: at most the guild's
    ``nominations`` a family a month) → shortlisted / featured / rejected (a manager; a
    rejection carries a note)

Links are checked as text (``http``/``https`` with a host, no spaces, at most
:data:`URL_MAX` characters) and **never fetched**. When the month is over (the program's zone),
the month-end sweep claims the month's showcase in ``showcase_posts`` — its channel post and
its emails to managers queued in that same transaction — so a month is posted once, whatever
the restarts or overlapping sweeps. A claimed month is closed: no submission, nomination or
curation changes it any more. A featured creator is told by DM, queued with the decision
(``showcase-featured:<entry>``), once.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.clock import Clock, from_db, to_db
from bot.db import Database, Transaction
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotAllowed, NotFound, UserError
from bot.localtime import local_date, month
from bot.paging import Page, clamp
from bot.services import bounds
from bot.services.audit import AuditLog
from bot.services.families import FamilyService
from bot.sheets.writing import write_csv

CATEGORIES = ("gifting", "interaction", "collab", "event", "storytelling", "growth", "other")
ACTIONS = ("shortlist", "feature", "reject")
STATE_OF = {"shortlist": "shortlisted", "feature": "featured", "reject": "rejected"}
STATES = ("submitted", "shortlisted", "featured", "rejected")
URL_MAX = 200  # a LIVE's link with its query; three of them fit a review page
TITLE_MAX = 100
WORKED_MAX = 1000
NOTE_MAX = 500
PER_CREATOR = 10  # entries a creator may submit a month
NOMINATIONS = 3  # the default a family a month
NOMINATIONS_MAX = 25
REVIEW_PAGE = 3  # longest entries still fit a message; a row of buttons each

ENTRY = "SELECT * FROM showcase_entries WHERE guild_id = ? AND id = ?"
SETTINGS = "SELECT channel_id, nominations FROM showcase_settings WHERE guild_id = ?"
SET_SETTINGS = (
    "INSERT INTO showcase_settings (guild_id, channel_id, nominations, updated_at)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET channel_id ="
    " excluded.channel_id, nominations = excluded.nominations, updated_at = excluded.updated_at"
)
CLOSED = "SELECT 1 FROM showcase_posts WHERE guild_id = ? AND month = ?"
INSERT = (
    "INSERT INTO showcase_entries (guild_id, user_id, family_id, month, url, title,"
    " what_worked, category, live_date, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (guild_id, user_id, url) DO NOTHING RETURNING id"
)
OF_CREATOR = ("SELECT count(*) FROM showcase_entries WHERE guild_id = ? AND user_id = ?"
              " AND month = ?")
NOMINATED = (
    "SELECT count(*) FROM showcase_entries WHERE guild_id = ? AND family_id = ? AND month = ?"
    " AND nominated_at IS NOT NULL"
)
NOMINATE = (
    "UPDATE showcase_entries SET nominated_at = ?, nominated_by = ? WHERE id = ?"
    " AND nominated_at IS NULL"
)
CURATE = (
    "UPDATE showcase_entries SET state = ?, note = ?, curated_at = ?, curated_by = ?"
    " WHERE id = ?"
)
# A month's entries for review, the nominated and the shortlisted first.
REVIEW_WHERE = " WHERE guild_id = :guild AND month = :month AND (:state IS NULL OR state = :state)"
REVIEW = (
    "SELECT * FROM showcase_entries" + REVIEW_WHERE
    + " ORDER BY CASE state WHEN 'featured' THEN 0 WHEN 'shortlisted' THEN 1"
    " WHEN 'submitted' THEN 2 ELSE 3 END, nominated_at IS NULL, created_at, id"
    " LIMIT :size OFFSET :offset"
)
REVIEW_COUNT = "SELECT count(*) FROM showcase_entries" + REVIEW_WHERE
FEATURED = (
    "SELECT * FROM showcase_entries WHERE guild_id = ? AND month = ? AND state = 'featured'"
    " ORDER BY category, live_date, id"
)
MINE = ("SELECT * FROM showcase_entries WHERE guild_id = ? AND user_id = ? ORDER BY"
        " created_at DESC, id DESC LIMIT 8")
# Months with entries not yet claimed (whether each is over is read in the guild's zone).
OPEN_MONTHS = (
    "SELECT DISTINCT e.guild_id, e.month, g.timezone, s.channel_id FROM showcase_entries e"
    " JOIN guilds g ON g.guild_id = e.guild_id"
    " LEFT JOIN showcase_settings s ON s.guild_id = e.guild_id"
    " WHERE NOT EXISTS (SELECT 1 FROM showcase_posts p WHERE p.guild_id = e.guild_id"
    " AND p.month = e.month) ORDER BY e.guild_id, e.month"
)
CLAIM = (
    "INSERT INTO showcase_posts (guild_id, month, state, channel_id, entries, emails,"
    " claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id"
)


@dataclass(frozen=True)
class ShowcaseSettings:
    channel_id: int | None = None
    nominations: int = NOMINATIONS


@dataclass(frozen=True)
class Entry:
    id: int
    guild_id: int
    user_id: int
    family_id: int | None
    month: str
    url: str
    title: str
    what_worked: str
    category: str
    live_date: date
    state: str
    note: str | None
    nominated: bool
    nominated_by: int | None
    created_at: datetime

    @classmethod
    def of(cls, r: Any) -> Entry:
        return cls(r["id"], r["guild_id"], r["user_id"], r["family_id"], r["month"], r["url"],
                   r["title"], r["what_worked"], r["category"],
                   date.fromisoformat(r["live_date"]), r["state"], r["note"],
                   r["nominated_at"] is not None, r["nominated_by"], from_db(r["created_at"]))


@dataclass(frozen=True)
class DueMonth:
    guild_id: int
    month: str
    channel_id: int | None


def check_url(text: str | None) -> str:
    """A link as stored: an ``http``/``https`` URL with a host, no spaces or control
    characters, at most :data:`URL_MAX` characters. Never fetched."""
    value = (text or "").strip()
    if len(value) > URL_MAX:
        raise UserError("showcase.url_too_long", length=len(value), limit=URL_MAX)
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if (parts is None or not port_ok or parts.scheme.lower() not in ("http", "https")
            or not parts.hostname or "." not in parts.hostname.strip(".")
            or any(c.isspace() or ord(c) < 32 or c in "<>\"" for c in value)):
        raise UserError("showcase.bad_url", value=value)
    return value


def _text(value: str | None, limit: int) -> str | None:
    """Free text as stored (bidi controls gone, trimmed), None when empty, invisible or over
    ``limit`` (the caller refuses it with its own message)."""
    cleaned = bounds.strip_bidi(value or "").strip()
    if not cleaned or len(cleaned) > limit or not any(bounds.visible(c) for c in cleaned):
        return None
    return cleaned


def month_of(text: str | None) -> str | None:
    """'2026-03' as itself (a real month), else None."""
    value = (text or "").strip()
    try:
        return month(date.fromisoformat(f"{value}-01")) if len(value) == 7 else None
    except ValueError:
        return None


class ShowcaseService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, families: FamilyService,
                 deliveries: DeliveryQueue, *, email: Any = None, reviews: Any = None) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.families = families
        self.deliveries = deliveries
        self.email = email  # an EmailService: queues the month's emails
        self.reviews = reviews  # a ReviewService: the managers with a verified address

    # -- settings -----------------------------------------------------------------------------

    async def settings(self, guild_id: int) -> ShowcaseSettings:
        row = await self.db.fetchone(SETTINGS, (guild_id,))
        return ShowcaseSettings() if row is None else ShowcaseSettings(row[0], row[1])

    async def set_settings(self, guild_id: int, actor_id: int, *, channel_id: int | None = None,
                           nominations: int | None = None) -> ShowcaseSettings:
        if nominations is not None:
            bounds.check_number(nominations, "nominations", 1, NOMINATIONS_MAX)
        current = await self.settings(guild_id)
        new = ShowcaseSettings(channel_id or current.channel_id,
                               nominations or current.nominations)
        async with self.db.transaction() as tx:
            await tx.execute(SET_SETTINGS, (guild_id, new.channel_id, new.nominations,
                                            to_db(self.clock.now())))
            await self.audit.record(tx, guild_id, actor_id, "showcase.settings", None,
                                    channel=new.channel_id, nominations=new.nominations)
        return new

    # -- the month ----------------------------------------------------------------------------

    async def today(self, guild_id: int) -> date:
        return local_date(self.clock.now(), (await self.families.guilds.get(guild_id)).timezone)

    async def current_month(self, guild_id: int) -> str:
        return month(await self.today(guild_id))

    async def is_closed(self, guild_id: int, key: str) -> bool:
        """Whether the month's showcase is posted (claimed): nothing changes it any more."""
        return bool(await self.db.fetchval(CLOSED, (guild_id, key)))

    async def _open(self, conn: Database | Transaction, guild_id: int, key: str) -> None:
        if await conn.fetchval(CLOSED, (guild_id, key)):
            raise UserError("showcase.month_closed", month=key)

    # -- submitting ---------------------------------------------------------------------------

    async def submit(self, guild_id: int, user_id: int, url: str, title: str, what_worked: str,
                     category: str, live_date: date | None = None) -> Entry:
        """A creator's LIVE moment (``live_date``: today by default, in this month or the
        last, not in the future). Nothing is stored when anything is wrong."""
        link = check_url(url)
        name = _text(title, TITLE_MAX)
        if name is None:
            raise UserError("showcase.bad_title", limit=TITLE_MAX)
        worked = _text(what_worked, WORKED_MAX)
        if worked is None:
            raise UserError("showcase.bad_what_worked", limit=WORKED_MAX)
        if category not in CATEGORIES:
            raise UserError("showcase.bad_category", value=str(category), choices=CATEGORIES)
        membership = await self.families.membership_of(guild_id, user_id)
        if membership is None:
            raise NotAllowed("showcase.not_in_family")
        today = await self.today(guild_id)
        day = live_date or today
        first = date(today.year - (today.month == 1), 12 if today.month == 1 else today.month - 1,
                     1)
        if not first <= day <= today:
            raise UserError("showcase.bad_date", first=first, last=today)
        key = month(day)
        async with self.db.transaction() as tx:
            await self._open(tx, guild_id, key)
            if await tx.fetchval(OF_CREATOR, (guild_id, user_id, key)) >= PER_CREATOR:
                raise UserError("showcase.too_many", limit=PER_CREATOR)
            entry_id = await tx.fetchval(INSERT, (
                guild_id, user_id, membership.family_id, key, link, name, worked, category,
                day.isoformat(), to_db(self.clock.now())))
            if entry_id is None:
                raise UserError("showcase.duplicate")
            await self.audit.record(tx, guild_id, user_id, "showcase.submit",
                                    f"showcase:{entry_id}", month=key, category=category)
            return Entry.of(await tx.fetchone(ENTRY, (guild_id, entry_id)))

    async def entry(self, guild_id: int, entry_id: int,
                    conn: Database | Transaction | None = None) -> Entry:
        if not 1 <= entry_id <= bounds.ID_MAX:  # a raw API call's number past SQLite's
            raise NotFound("showcase.unknown_entry", value=str(entry_id))
        row = await (conn or self.db).fetchone(ENTRY, (guild_id, entry_id))
        if row is None:
            raise NotFound("showcase.unknown_entry", value=str(entry_id))
        return Entry.of(row)

    async def mine(self, guild_id: int, user_id: int) -> list[Entry]:
        return [Entry.of(r) for r in await self.db.fetchall(MINE, (guild_id, user_id))]

    # -- nominating ---------------------------------------------------------------------------

    async def nominate(self, guild_id: int, leader_id: int, entry_id: int, *,
                       manager: bool = False) -> Entry:
        """A leader of the entry's family (or a manager, for it) nominates it: at most the
        guild's ``nominations`` a family a month."""
        entry = await self.entry(guild_id, entry_id)
        family = (await self.families.get(guild_id, entry.family_id)
                  if entry.family_id is not None else None)
        if family is None or not (manager or family.leads(leader_id)):
            raise NotAllowed("families.not_your_family")
        limit = (await self.settings(guild_id)).nominations
        async with self.db.transaction() as tx:
            await self._open(tx, guild_id, entry.month)
            if entry.nominated:
                raise UserError("showcase.already_nominated")
            if await tx.fetchval(NOMINATED, (guild_id, family.id, entry.month)) >= limit:
                raise UserError("showcase.nominations_full", limit=limit, month=entry.month)
            await tx.execute(NOMINATE, (to_db(self.clock.now()), leader_id, entry.id))
            await self.audit.record(tx, guild_id, leader_id, "showcase.nominate",
                                    f"showcase:{entry.id}", family=family.id)
            return await self.entry(guild_id, entry.id, tx)

    # -- curating -----------------------------------------------------------------------------

    async def curate(self, guild_id: int, manager_id: int, entry_id: int, action: str,
                     note: str | None = None, *, tell: Callable[[Entry], Send] | None = None
                     ) -> Entry:
        """A manager shortlists, features or rejects (with a note) an entry; a featured
        creator is told (``tell``: their DM, queued with the decision, once)."""
        if action not in ACTIONS:
            raise UserError("showcase.bad_action", value=str(action))
        note = bounds.clean_text(note, NOTE_MAX, "note") or None
        if action == "reject" and not note:
            raise UserError("showcase.note_required")
        entry = await self.entry(guild_id, entry_id)
        async with self.db.transaction() as tx:
            await self._open(tx, guild_id, entry.month)
            await tx.execute(CURATE, (STATE_OF[action], note, to_db(self.clock.now()),
                                      manager_id, entry.id))
            await self.audit.record(tx, guild_id, manager_id, f"showcase.{action}",
                                    f"showcase:{entry.id}")
            done = await self.entry(guild_id, entry.id, tx)
            if action == "feature" and tell is not None:
                await self.deliveries.add(tx, guild_id, [tell(done)])
        if action == "feature" and tell is not None:
            self.deliveries.notify()
        return done

    async def review_page(self, guild_id: int, key: str, page: int, state: str | None = None,
                          size: int = REVIEW_PAGE) -> Page[Entry]:
        """A month's entries for managers (featured, shortlisted, then the rest; nominated
        first within each)."""
        if state is not None and state not in STATES:
            raise UserError("showcase.bad_state", value=str(state))
        where = {"guild": guild_id, "month": key, "state": state}
        total = await self.db.fetchval(REVIEW_COUNT, where)
        number = clamp(page, size, total)
        rows = await self.db.fetchall(REVIEW, {**where, "size": size, "offset": number * size})
        return Page([Entry.of(r) for r in rows], number, size, total)

    # -- the month-end showcase ---------------------------------------------------------------

    async def featured(self, guild_id: int, key: str) -> list[Entry]:
        return [Entry.of(r) for r in await self.db.fetchall(FEATURED, (guild_id, key))]

    async def due_months(self) -> list[DueMonth]:
        """Months with entries that are over (the guild's zone) and not claimed yet."""
        now = self.clock.now()
        return [DueMonth(r["guild_id"], r["month"], r["channel_id"])
                for r in await self.db.fetchall(OPEN_MONTHS)
                if r["month"] < month(local_date(now, r["timezone"]))]

    async def manager_recipients(self, guild_id: int) -> list[tuple[int, str, str]]:
        return await self.reviews.manager_recipients(guild_id) if self.reviews else []

    async def claim(self, due: DueMonth, entries: list[Entry], post: Send | None,
                    emails: list[Any]) -> bool:
        """Claim the month's showcase with its post and emails in one transaction (False: it
        was claimed before; nothing queued)."""
        state = "empty" if not entries else "queued" if post is not None else "no_channel"
        async with self.db.transaction() as tx:
            claimed = await tx.fetchval(CLAIM, (
                due.guild_id, due.month, state, due.channel_id, len(entries), len(emails),
                to_db(self.clock.now())))
            if claimed is None:
                return False
            if post is not None and entries:
                await self.deliveries.add(tx, due.guild_id, [post])
            if self.email is not None and entries:
                await self.email.queue_rendered(tx, emails)
            await self.audit.record(tx, due.guild_id, None, "showcase.posted", None,
                                    month=due.month, entries=len(entries), state=state)
        self.deliveries.notify()
        if self.email is not None:
            self.email.on_queued()
        return True

    # -- the playbook -------------------------------------------------------------------------

    @staticmethod
    def by_category(entries: list[Entry]) -> list[tuple[str, list[Entry]]]:
        groups: dict[str, list[Entry]] = {}
        for entry in sorted(entries, key=lambda e: (CATEGORIES.index(e.category)
                                                    if e.category in CATEGORIES else 99,
                                                    e.live_date, e.id)):
            groups.setdefault(entry.category, []).append(entry)
        return list(groups.items())

    @staticmethod
    def playbook_csv(entries: list[Entry], names: dict[int, str]) -> bytes:
        """The featured moments as CSV (UTF-8 with BOM; formula-looking cells neutralised),
        grouped by category."""
        out = io.BytesIO()
        rows = [(e.category, e.title, names.get(e.user_id, str(e.user_id)), str(e.user_id),
                 e.live_date.isoformat(), e.url, e.what_worked)
                for _, group in ShowcaseService.by_category(entries) for e in group]
        write_csv(out, ("category", "title", "creator", "creator_id", "live_date", "url",
                        "what_worked"), rows)
        return out.getvalue()
