"""Reminders without spam: family roll-calls, opt-in personal DMs, leaders' daily summaries.

APScheduler only wakes :meth:`ReminderService.sweep`; the database decides. Each reminder is a
``reminders`` row keyed (guild, recipient, kind, local date), inserted as ``claimed`` in a
transaction before anything is rendered; its messages are then queued in the Discord delivery
queue (dedupe key ``reminder:<id>``) in the transaction that marks it ``sent`` (handed over),
and the one Discord sender delivers them exactly once. Overlapping sweeps and restarts cannot
send twice. A claim left behind by a crash is taken over once it is ``stale_minutes`` old, so
nothing is skipped. A reminder whose time passed while the bot was down is sent once, marked
late, if it is still within ``grace_hours``. A DM refused because the person's DMs are closed
has a fallback in the family channel, queued by the sender when Discord refuses
(``reminder:<id>:fallback``); what reached whom is read back from the queue (:meth:`why`).

Email: ``email_hook`` (:meth:`EmailService.reminder`, given when the services are built):
creators with a personal reminder time who also have a verified address with email
reminders on get one ``email`` reminder a day through it (same claim rules).

Policies: ``overdue_hook`` (:meth:`PolicyService.overdue`) gives a leader's summary the
documents whose acknowledgement deadline has passed, with their own family's people pending.
Onboarding: ``stuck_hook`` (:meth:`OnboardingService.stuck`) names the family's new members
whose checklist has not moved for the guild's ``stuck_days``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import UserError
from bot.localtime import at_local, local_date, parse_hhmm
from bot.services.members import MemberService
from bot.services.risk import flags_for_summary

log = logging.getLogger("familia.reminders")

LATE_AFTER = timedelta(minutes=5)
MISSED_DAYS_FLAG = 2


@dataclass
class Due:
    """One reminder to deliver. ``users``: who a roll-call names, or who checked in (a
    summary); ``missed``: (user, whole days without a check-in) for a summary."""

    id: int
    guild_id: int
    kind: str
    recipient_id: int
    local_date: date
    family_id: int | None
    channel_id: int | None
    due_at: datetime
    late: bool
    users: list[int] = field(default_factory=list)
    missed: list[tuple[int, int | None]] = field(default_factory=list)
    flags: list[Any] = field(default_factory=list)  # a summary: the family's new risk flags
    overdue: list[Any] = field(default_factory=list)  # a summary: policy statuses past deadline
    stuck: list[Any] = field(default_factory=list)  # a summary: members stuck onboarding


@dataclass(frozen=True)
class Outcome:
    state: str  # sent | failed
    route: str  # dm | channel | email | none
    detail: dict[str, Any] = field(default_factory=dict)


Deliver = Callable[[Due], Awaitable[Outcome]]
Render = Callable[[Due], Awaitable[list[Send]]]  # the Discord messages of a reminder
# (guild, family) -> the statuses of policy versions past their deadline, pending people
Overdue = Callable[[int, int], Awaitable[list[Any]]]
# (guild, family) -> the family's members whose onboarding checklist is stuck
StuckHook = Callable[[int, int], Awaitable[list[Any]]]

# A reminder's deliveries as /reminders why and the sweep report them.
_QUEUE_STATES = {"queued": "claimed", "sending": "claimed", "sent": "sent", "failed": "failed"}
_WITH_DELIVERIES = (
    "SELECT r.id, r.kind, r.local_date, r.state, r.route, r.due_at, r.finished_at, r.late,"
    " r.detail, d.target AS d_target, d.state AS d_state, d.error AS d_error,"
    " d.sent_at AS d_sent_at, f.state AS f_state, f.sent_at AS f_sent_at"
    " FROM reminders r"
    " LEFT JOIN deliveries d ON d.guild_id = r.guild_id AND d.dedupe_key = 'reminder:' || r.id"
    " LEFT JOIN deliveries f ON f.guild_id = r.guild_id"
    " AND f.dedupe_key = 'reminder:' || r.id || ':fallback'"
)


def delivered(row: Any) -> tuple[str, str, dict[str, Any], datetime | None]:
    """(state, route, detail, finished at) of a reminder, its deliveries included."""
    detail = json.loads(row["detail"] or "{}")
    finished = from_db(row["finished_at"]) if row["finished_at"] else None
    if row["d_state"] is None:  # nothing for Discord: skipped, emailed, or not handed over
        return row["state"], row["route"], detail, finished
    if row["f_state"] is not None:  # the DM was refused: the family channel instead
        detail["fallback"] = "dms_closed"
        return (_QUEUE_STATES[row["f_state"]], "channel", detail,
                from_db(row["f_sent_at"]) if row["f_sent_at"] else finished)
    if row["d_state"] == "failed":
        detail["error"] = row["d_error"]
    return (_QUEUE_STATES[row["d_state"]], row["d_target"], detail,
            from_db(row["d_sent_at"]) if row["d_sent_at"] else finished)


@dataclass(frozen=True)
class SentReminder:
    """A reminder that concerned the user lately, as /reminders why lists it."""

    kind: str
    local_date: date
    state: str
    route: str | None
    due_at: datetime
    finished_at: datetime | None
    late: int
    detail: dict[str, Any]


class ReminderService:
    def __init__(self, db: Database, clock: Clock, members: MemberService,
                 deliveries: DeliveryQueue, grace_hours: float = 6,
                 stale_minutes: float = 10, email_hook: Deliver | None = None,
                 overdue_hook: Overdue | None = None,
                 stuck_hook: StuckHook | None = None) -> None:
        self.db = db
        self.deliveries = deliveries
        self.clock = clock
        self.members = members
        self.grace = timedelta(hours=grace_hours)
        self.stale = timedelta(minutes=stale_minutes)
        self.email_hook = email_hook
        self.overdue_hook = overdue_hook
        self.stuck_hook = stuck_hook

    # -- preferences -----------------------------------------------------------------------

    async def set_dm(self, guild_id: int, user_id: int, when: str | None) -> str | None:
        """Turn the personal DM on at ``when`` ('HH:MM', the creator's zone) or off (None)."""
        value = None
        if when is not None:
            parsed = parse_hhmm(when)
            if parsed is None:
                raise UserError("checkins.bad_time", value=when)
            value = parsed.strftime("%H:%M")
        async with self.db.transaction() as tx:
            await self.members.ensure(tx, guild_id, user_id)
            await tx.execute(
                "INSERT INTO reminder_prefs (guild_id, user_id, dm_time, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
                " dm_time = excluded.dm_time, updated_at = excluded.updated_at",
                (guild_id, user_id, value, to_db(self.clock.now())),
            )
        return value

    async def dm_time(self, guild_id: int, user_id: int) -> str | None:
        return await self.db.fetchval(
            "SELECT dm_time FROM reminder_prefs WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )

    async def why(self, guild_id: int, user_id: int, days: int = 7) -> list[SentReminder]:
        """What was sent to the user lately: kind, day, state, route, when, late."""
        since = to_db(self.clock.now() - timedelta(days=days))
        rows = await self.db.fetchall(
            _WITH_DELIVERIES + " WHERE r.guild_id = ? AND r.claimed_at >= ? AND"
            " (r.recipient_id = ? OR (r.kind = 'rollcall' AND EXISTS (SELECT 1 FROM"
            " json_each(r.detail, '$.users') WHERE value = ?))) ORDER BY r.due_at DESC, r.kind",
            (guild_id, since, user_id, user_id),
        )
        found = []
        for r in rows:
            state, route, detail, finished = delivered(r)
            found.append(SentReminder(r["kind"], date.fromisoformat(r["local_date"]), state,
                                      route, from_db(r["due_at"]), finished, r["late"],
                                      detail))
        return found

    async def settled(self, done: list[tuple[Due, Outcome]], timeout: float = 30.0,
                      poll: float = 0.05) -> list[tuple[Due, Outcome]]:
        """``done`` once the sender has delivered (or given up on) what the sweep queued,
        each outcome as it turned out (a refused DM: the family channel); rows still in the
        queue after ``timeout`` are reported as being sent."""
        queued = [due for due, outcome in done if outcome.route in ("dm", "channel")]
        keys: dict[int, list[str]] = {}  # guild -> keys (a fallback appears in the
        for due in queued:               # transaction that fails its DM)
            keys.setdefault(due.guild_id, []).extend(
                [f"reminder:{due.id}", f"reminder:{due.id}:fallback"])
        deadline = time.monotonic() + timeout
        for guild_id, guild_keys in keys.items():
            await self.deliveries.wait_settled(
                guild_id, guild_keys, max(0.0, deadline - time.monotonic()), poll)
        rows = {r["id"]: r for r in await self.db.fetchall(
            _WITH_DELIVERIES + " WHERE r.id IN (SELECT value FROM json_each(?))",
            (json.dumps([due.id for due in queued]),))}
        found = []
        for due, outcome in done:
            if due.id in rows:
                state, route, detail, _ = delivered(rows[due.id])
                outcome = Outcome(state, route, detail)
            found.append((due, outcome))
        return found

    # -- the sweep -------------------------------------------------------------------------

    async def sweep(self, render: Render) -> list[tuple[Due, Outcome]]:
        """Claim every reminder that is due now and queue its messages (``render`` writes
        them) in the delivery queue; safe to run any time, twice, or concurrently."""
        now = self.clock.now()
        done = []
        queued = False
        for candidate in await self._candidates(now):
            due = await self._claim(candidate, now)
            if due is None:
                continue
            if due.late:
                log.warning("late reminder kind=%s guild=%s recipient=%s day=%s due=%s",
                            due.kind, due.guild_id, due.recipient_id, due.local_date,
                            to_db(due.due_at))
            try:
                await self._fill(due, now)
                if due.kind in ("rollcall", "dm", "email") and not due.users:
                    outcome = Outcome("sent", "none", {"skipped": "nobody_missing"})
                elif due.kind == "email" and self.email_hook is not None:
                    outcome = await self.email_hook(due)
                else:
                    sends = await render(due)
                    outcome = Outcome("sent", sends[0].target if sends else "none")
                    await self._finish(due, outcome, sends)
                    done.append((due, outcome))
                    queued = True
                    continue
            except Exception as exc:  # one bad recipient must not stop the sweep
                log.exception("reminder %s failed", due.id)
                outcome = Outcome("failed", "none", {"error": type(exc).__name__})
            await self._finish(due, outcome)
            done.append((due, outcome))
        if queued:
            self.deliveries.notify()
        return done

    def _window(self, tz: str, hhmm: str | None, now: datetime) -> list[tuple[date, datetime]]:
        """The (local day, due instant) pairs of ``hhmm`` whose window is open now."""
        if not hhmm:
            return []
        at = parse_hhmm(hhmm)
        if at is None:  # stored by a setting that refuses what does not parse: never here
            return []
        today = local_date(now, tz)
        found = []
        for day in (today - timedelta(days=1), today):
            due = at_local(day, at, tz)
            if due <= now < due + self.grace:
                found.append((day, due))
        return found

    async def _candidates(self, now: datetime) -> list[tuple]:
        """(guild, recipient, kind, day, due, family, channel) that may be due."""
        found: list[tuple] = []
        families = await self.db.fetchall(
            "SELECT f.id, f.guild_id, f.channel_id, f.leader_user_id, f.co_leader_user_id,"
            " g.timezone, s.rollcall_time, s.summary_time FROM families f JOIN guilds g ON"
            " g.guild_id = f.guild_id JOIN checkin_settings s ON s.guild_id = f.guild_id"
            " WHERE f.archived_at IS NULL",
        )
        for f in families:
            if f["channel_id"]:
                for day, due in self._window(f["timezone"], f["rollcall_time"], now):
                    found.append((f["guild_id"], f["channel_id"], "rollcall", day, due, f["id"],
                                  f["channel_id"]))
            for day, due in self._window(f["timezone"], f["summary_time"], now):
                for leader in filter(None, {f["leader_user_id"], f["co_leader_user_id"]}):
                    found.append((f["guild_id"], leader, "summary", day, due, f["id"],
                                  f["channel_id"]))
        prefs = await self.db.fetchall(
            "SELECT p.guild_id, p.user_id, p.dm_time, coalesce(m.timezone, g.timezone) AS tz,"
            " fm.family_id, f.channel_id, EXISTS (SELECT 1 FROM email_addresses e WHERE"
            " e.guild_id = p.guild_id AND e.user_id = p.user_id AND e.verified_at IS NOT NULL"
            " AND e.reminders = 1) AS email FROM reminder_prefs p JOIN guilds g ON g.guild_id ="
            " p.guild_id LEFT JOIN members m ON m.guild_id = p.guild_id AND m.user_id ="
            " p.user_id JOIN family_members fm ON fm.guild_id = p.guild_id AND fm.user_id ="
            " p.user_id AND fm.left_at IS NULL JOIN families f ON f.id = fm.family_id"
            " WHERE p.dm_time IS NOT NULL",
        )
        for p in prefs:
            kinds = ("dm", "email") if self.email_hook and p["email"] else ("dm",)
            for day, due in self._window(p["tz"], p["dm_time"], now):
                for kind in kinds:
                    found.append((p["guild_id"], p["user_id"], kind, day, due, p["family_id"],
                                  p["channel_id"]))
        return found

    async def _claim(self, candidate: tuple, now: datetime) -> Due | None:
        guild_id, recipient, kind, day, due_at, family_id, channel_id = candidate
        late = now - due_at > LATE_AFTER
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id, state, claimed_at FROM reminders WHERE guild_id = ? AND"
                " recipient_id = ? AND kind = ? AND local_date = ?",
                (guild_id, recipient, kind, day.isoformat()),
            )
            if row is None:
                reminder_id = await tx.execute(
                    "INSERT INTO reminders (guild_id, recipient_id, kind, local_date, family_id,"
                    " state, due_at, claimed_at, late) VALUES (?, ?, ?, ?, ?, 'claimed', ?, ?, ?)",
                    (guild_id, recipient, kind, day.isoformat(), family_id, to_db(due_at),
                     to_db(now), int(late)),
                )
            elif row["state"] == "claimed" and not (
                    now - self.stale < from_db(row["claimed_at"]) <= now):
                # Its sweep died mid-way (or claimed it before the wall clock went back, so
                # the claim looks to come from the future): take it over. A sweep still alive
                # queues under the same dedupe key, so Discord gets it once.
                reminder_id = row["id"]
                log.warning("taking over stale reminder claim %s", reminder_id)
                await tx.execute("UPDATE reminders SET claimed_at = ?, late = 1 WHERE id = ?",
                                 (to_db(now), reminder_id))
                late = True
            else:
                return None
        return Due(reminder_id, guild_id, kind, recipient, day, family_id, channel_id, due_at,
                   late)

    async def _finish(self, due: Due, outcome: Outcome, sends: list[Send] | None = None) -> None:
        """Record the outcome; the reminder's Discord messages are queued in the same
        transaction."""
        detail = dict(outcome.detail)
        if due.kind == "rollcall":
            detail["users"] = due.users
        async with self.db.transaction() as tx:
            if sends:
                await self.deliveries.add(tx, due.guild_id, sends)
            await tx.execute(
                "UPDATE reminders SET state = ?, route = ?, finished_at = ?, detail = ?"
                " WHERE id = ?",
                (outcome.state, outcome.route, to_db(self.clock.now()), json.dumps(detail),
                 due.id),
            )

    # -- content ---------------------------------------------------------------------------

    async def _fill(self, due: Due, now: datetime) -> None:
        """Who a roll-call names / a DM is for / a summary lists, as of the due instant."""
        if due.kind in ("dm", "email"):
            done = await self._checked_in(due.guild_id, due.recipient_id, due.due_at)
            due.users = [] if done else [due.recipient_id]
            return
        if due.kind == "summary" and due.family_id is not None:
            due.flags = await flags_for_summary(self.db, due.guild_id, due.family_id, due.id)
            if self.overdue_hook is not None:
                due.overdue = await self.overdue_hook(due.guild_id, due.family_id)
            if self.stuck_hook is not None:
                due.stuck = await self.stuck_hook(due.guild_id, due.family_id)
        members = await self.db.fetchall(
            "SELECT fm.user_id, fm.joined_at, coalesce(m.timezone, g.timezone) AS tz,"
            " (SELECT max(local_date) FROM checkins c WHERE c.guild_id = fm.guild_id AND"
            " c.user_id = fm.user_id) AS last_date FROM family_members fm JOIN guilds g ON"
            " g.guild_id = fm.guild_id LEFT JOIN members m ON m.guild_id = fm.guild_id AND"
            " m.user_id = fm.user_id WHERE fm.family_id = ? AND fm.left_at IS NULL"
            " ORDER BY fm.joined_at, fm.id", (due.family_id,),
        )
        for m in members:
            today = local_date(due.due_at, m["tz"])
            last = date.fromisoformat(m["last_date"]) if m["last_date"] else None
            checked_in = last is not None and last >= today
            if due.kind == "rollcall":
                if not checked_in:
                    due.users.append(m["user_id"])
                continue
            if checked_in:
                due.users.append(m["user_id"])
            since = last or local_date(from_db(m["joined_at"]), m["tz"])
            missed = (today - since).days - (1 if last else 0)
            if missed >= MISSED_DAYS_FLAG:
                due.missed.append((m["user_id"], missed if last else None))

    async def _checked_in(self, guild_id: int, user_id: int, at: datetime) -> bool:
        tz = await self.members.timezone_of(guild_id, user_id)
        return bool(await self.db.fetchval(
            "SELECT 1 FROM checkins WHERE guild_id = ? AND user_id = ? AND local_date = ?",
            (guild_id, user_id, local_date(at, tz).isoformat()),
        ))
