"""The onboarding checklist (#22): what a new member still has to do, read from the facts.

A checklist (``onboarding_checklists``) starts once per member of a guild: when they first
join a family (:class:`~bot.events.MemberJoinedFamily`) or when their application is accepted
(:class:`~bot.events.ApplicationAccepted`, which also records when they applied). Only the
start is stored. **Each step's state is read from what the other features already keep**,
never copied:

==============  ==========================================================================
agreement       an acceptance of the agreement in force (``agreement_acceptances``)
profile         a time zone and a language chosen with ``/me`` (``members``)
email           a verified address (``email_addresses``); a step only when the guild asks
policies        no document with an acknowledgement deadline left unread (the library)
checkin         a first check-in (``checkins``)
feedback        a first leader's feedback received (``checkin_feedback.delivered_at``)
campaign        a first campaign joined (``campaign_enrolments``)
==============  ==========================================================================

A checklist is done when every step is. A member whose checklist has not moved for the
guild's ``stuck_days`` (since it started or since the last step with a time, whichever is
later) is *stuck*: their leader's daily summary names them. Time to onboard is from the
application (else the start) to the first check-in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.events import ApplicationAccepted, MemberJoinedFamily
from bot.localtime import day_start
from bot.paging import Page, clamp
from bot.services.audit import AuditLog
from bot.services.families.models import AGREEMENT_VERSION

STEPS = ("agreement", "profile", "email", "policies", "checkin", "feedback", "campaign")
STUCK_DAYS = 7  # the default
STUCK_MAX = 90
FAMILY_PAGE = 10

START = (
    "INSERT INTO onboarding_checklists (guild_id, user_id, source, application_id,"
    " applied_at, started_at) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (guild_id, user_id) DO NOTHING"
)
# An accepted application: the checklist is the application's (a join in the same
# transaction may have started it a moment before) — unless the member had onboarded
# already (a creator who checked in, now accepted as a leader): theirs stays as it was.
START_APPLIED = (
    "INSERT INTO onboarding_checklists (guild_id, user_id, source, application_id,"
    " applied_at, started_at) VALUES (?, ?, 'application', ?, ?, ?)"
    " ON CONFLICT (guild_id, user_id) DO UPDATE SET source = 'application',"
    " application_id = excluded.application_id, applied_at = excluded.applied_at"
    " WHERE NOT EXISTS (SELECT 1 FROM checkins k WHERE k.guild_id = excluded.guild_id"
    " AND k.user_id = excluded.user_id)"
)
SETTINGS = "SELECT email_step, stuck_days FROM onboarding_settings WHERE guild_id = ?"
SET_SETTINGS = (
    "INSERT INTO onboarding_settings (guild_id, email_step, stuck_days, updated_at)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET email_step ="
    " excluded.email_step, stuck_days = excluded.stuck_days, updated_at = excluded.updated_at"
)
# The facts of each checklist (one row per member of :users, a JSON array).
FACTS = (
    "SELECT c.user_id, c.source, c.applied_at, c.started_at, m.timezone, m.locale,"
    " (SELECT min(a.accepted_at) FROM agreement_acceptances a WHERE a.guild_id = c.guild_id"
    "  AND a.user_id = c.user_id AND a.version >= :version) AS agreement_at,"
    " (SELECT e.verified_at FROM email_addresses e WHERE e.guild_id = c.guild_id"
    "  AND e.user_id = c.user_id) AS email_at,"
    " (SELECT min(k.created_at) FROM checkins k WHERE k.guild_id = c.guild_id"
    "  AND k.user_id = c.user_id) AS checkin_at,"
    " (SELECT min(f.delivered_at) FROM checkin_feedback f WHERE f.guild_id = c.guild_id"
    "  AND f.user_id = c.user_id) AS feedback_at,"
    " (SELECT min(n.enrolled_at) FROM campaign_enrolments n WHERE n.guild_id = c.guild_id"
    "  AND n.user_id = c.user_id) AS campaign_at"
    " FROM onboarding_checklists c LEFT JOIN members m ON m.guild_id = c.guild_id"
    " AND m.user_id = c.user_id"
    " WHERE c.guild_id = :guild AND c.user_id IN (SELECT value FROM json_each(:users))"
)
# The family's active members with a checklist (its leaders aside), newest first.
FAMILY_MEMBERS = (
    "SELECT c.user_id FROM onboarding_checklists c JOIN family_members fm"
    " ON fm.guild_id = c.guild_id AND fm.user_id = c.user_id AND fm.left_at IS NULL"
    " JOIN families f ON f.id = fm.family_id"
    " WHERE c.guild_id = ? AND fm.family_id = ?"
    " AND c.user_id IS NOT f.leader_user_id AND c.user_id IS NOT f.co_leader_user_id"
    " ORDER BY c.started_at DESC, c.user_id"
)
# Checklists whose first check-in fell in [start, end): the time-to-onboard KPI.
ONBOARDED = (
    "SELECT c.source, coalesce(c.applied_at, c.started_at) AS began, k.first_at FROM"
    " onboarding_checklists c JOIN (SELECT guild_id, user_id, min(created_at) AS first_at"
    " FROM checkins WHERE guild_id = :guild GROUP BY user_id) k"
    " ON k.guild_id = c.guild_id AND k.user_id = c.user_id"
    " WHERE c.guild_id = :guild AND k.first_at >= :start AND k.first_at < :end"
)


@dataclass(frozen=True)
class OnboardingSettings:
    email_step: bool = False
    stuck_days: int = STUCK_DAYS


@dataclass(frozen=True)
class Checklist:
    """A member's checklist: ``done`` maps each step that counts to when it was done (None
    when done with no time known) or is absent while it is left."""

    user_id: int
    source: str
    applied_at: datetime | None
    started_at: datetime
    steps: tuple[str, ...]
    done: dict[str, datetime | None] = field(default_factory=dict)

    @property
    def left(self) -> list[str]:
        return [s for s in self.steps if s not in self.done]

    @property
    def complete(self) -> bool:
        return not self.left

    @property
    def moved_at(self) -> datetime:
        """The last time the checklist moved: its start or the latest step with a time."""
        times = [t for t in self.done.values() if t is not None and t >= self.started_at]
        return max([self.started_at, *times])


@dataclass(frozen=True)
class Stuck:
    user_id: int
    days: int  # whole days since the checklist last moved
    left: list[str]


@dataclass(frozen=True)
class TimeToOnboard:
    """Members whose first check-in fell in a period, and the median days it took from
    their application (else from joining)."""

    onboarded: int
    median_days: float | None
    applied: int
    applied_median_days: float | None


def _at(value: str | None) -> datetime | None:
    return from_db(value) if value else None


class OnboardingService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, *,
                 policies: Any = None) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.policies = policies  # a PolicyService: documents with a deadline still to read

    # -- starting (event handlers, in the publisher's transaction) ------------------------

    async def on_member_joined(self, event: MemberJoinedFamily) -> None:
        """A member's first family starts their checklist (later ones, a transfer, do not)."""
        if event.first:
            await self.start(event.tx, event.guild_id, event.user_id)

    async def on_application_accepted(self, event: ApplicationAccepted) -> None:
        await event.tx.execute(START_APPLIED, (
            event.guild_id, event.user_id, event.application_id, event.applied_at,
            event.accepted_at))

    async def start(self, tx: Transaction, guild_id: int, user_id: int) -> None:
        await tx.execute(START, (guild_id, user_id, "join", None, None,
                                 to_db(self.clock.now())))

    # -- settings -----------------------------------------------------------------------------

    async def settings(self, guild_id: int) -> OnboardingSettings:
        row = await self.db.fetchone(SETTINGS, (guild_id,))
        if row is None:
            return OnboardingSettings()
        return OnboardingSettings(bool(row["email_step"]), row["stuck_days"])

    async def set_settings(self, guild_id: int, actor_id: int, *, email_step: bool | None = None,
                           stuck_days: int | None = None) -> OnboardingSettings:
        current = await self.settings(guild_id)
        if stuck_days is not None and not 1 <= stuck_days <= STUCK_MAX:
            raise UserError("onboarding.bad_stuck_days", limit=STUCK_MAX)
        new = OnboardingSettings(
            current.email_step if email_step is None else email_step,
            current.stuck_days if stuck_days is None else stuck_days)
        async with self.db.transaction() as tx:
            await tx.execute(SET_SETTINGS, (guild_id, int(new.email_step), new.stuck_days,
                                            to_db(self.clock.now())))
            await self.audit.record(tx, guild_id, actor_id, "onboarding.settings", None,
                                    email_step=new.email_step, stuck_days=new.stuck_days)
        return new

    # -- reading ------------------------------------------------------------------------------

    async def checklists(self, guild_id: int, users: list[int]) -> dict[int, Checklist]:
        """The checklists of ``users`` who have one, each step's state read from the facts."""
        if not users:
            return {}
        settings = await self.settings(guild_id)
        steps = tuple(s for s in STEPS if s != "email" or settings.email_step)
        rows = await self.db.fetchall(FACTS, {"guild": guild_id, "version": AGREEMENT_VERSION,
                                              "users": json.dumps(sorted(set(users)))})
        unread = (await self.policies.to_read(guild_id, [r["user_id"] for r in rows])
                  if self.policies is not None and rows else {})
        out = {}
        for r in rows:
            done: dict[str, datetime | None] = {}
            for step in ("agreement", "email", "checkin", "feedback", "campaign"):
                if r[f"{step}_at"]:
                    done[step] = from_db(r[f"{step}_at"])
            if r["timezone"] and r["locale"]:
                done["profile"] = None
            if not unread.get(r["user_id"]):
                done["policies"] = None
            out[r["user_id"]] = Checklist(
                r["user_id"], r["source"], _at(r["applied_at"]), from_db(r["started_at"]),
                steps, {s: t for s, t in done.items() if s in steps})
        return out

    async def checklist(self, guild_id: int, user_id: int) -> Checklist:
        found = (await self.checklists(guild_id, [user_id])).get(user_id)
        if found is None:
            raise UserError("onboarding.no_checklist")
        return found

    async def family_page(self, guild_id: int, family_id: int, page: int,
                          size: int = FAMILY_PAGE) -> Page[Checklist]:
        """A family's new members' checklists (its active members with one, its leaders
        aside: they see their own with /onboarding), newest first."""
        users = [r["user_id"] for r in await self.db.fetchall(FAMILY_MEMBERS,
                                                              (guild_id, family_id))]
        number = clamp(page, size, len(users))
        shown = users[number * size:(number + 1) * size]
        found = await self.checklists(guild_id, shown)
        return Page([found[u] for u in shown if u in found], number, size, len(users))

    async def stuck(self, guild_id: int, family_id: int) -> list[Stuck]:
        """The family's members whose unfinished checklist has not moved for the guild's
        ``stuck_days`` (the leader's daily summary), longest stuck first."""
        settings = await self.settings(guild_id)
        users = [r["user_id"] for r in await self.db.fetchall(FAMILY_MEMBERS,
                                                              (guild_id, family_id))]
        now = self.clock.now()
        out = []
        for checklist in (await self.checklists(guild_id, users)).values():
            days = (now - checklist.moved_at) // timedelta(days=1)
            if not checklist.complete and days >= settings.stuck_days:
                out.append(Stuck(checklist.user_id, days, checklist.left))
        return sorted(out, key=lambda s: (-s.days, s.user_id))

    async def time_to_onboard(self, guild_id: int, start: datetime, end: datetime
                              ) -> TimeToOnboard | None:
        """The time-to-onboard KPI of the members whose first check-in fell in
        [start, end) (None when nobody's did)."""
        rows = await self.db.fetchall(ONBOARDED, {"guild": guild_id, "start": to_db(start),
                                                  "end": to_db(end)})
        if not rows:
            return None

        def days(r: Any) -> float:
            return max(0.0, (from_db(r["first_at"]) - from_db(r["began"])) / timedelta(days=1))

        every = [days(r) for r in rows]
        applied = [days(r) for r in rows if r["source"] == "application"]
        return TimeToOnboard(len(every), median(every), len(applied),
                             median(applied) if applied else None)

    async def time_to_onboard_days(self, guild_id: int, first: date, last: date
                                   ) -> TimeToOnboard | None:
        """:meth:`time_to_onboard` of the days ``first``…``last`` on the program's calendar
        (the weekly review's week)."""
        zone = await self.db.fetchval("SELECT timezone FROM guilds WHERE guild_id = ?",
                                      (guild_id,)) or "UTC"
        return await self.time_to_onboard(guild_id, day_start(first, zone),
                                          day_start(last + timedelta(days=1), zone))
