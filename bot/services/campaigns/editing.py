"""Campaigns: a manager's time-boxed goal on one metric of the progress model.

Life cycle: ``draft`` (created and edited, previewed) → ``scheduled`` (the manager confirmed)
→ ``running`` (its start came) → ``finished`` (its end came: the results snapshot is taken),
or ``cancelled`` from any of the first three. Every change of state is one guarded UPDATE
(``... WHERE state = ?``) in the transaction that does its work, so the sweep
(:meth:`CampaignService.sweep`, woken by the scheduler) can run twice, late or concurrently
and still start, remind and finish each campaign exactly once.

Announcements (start, reminders, results) are rows of ``campaign_posts``, one per family
channel of the audience, queued by the sweep and drained by ``cogs/_campaign_posts.py``;
when it finishes, one more for the managers' channel if one is set (family id ``MANAGERS``:
the analysis of ``/campaign results`` with the CSV).
A reminder that came due while the bot was down is sent late only if it is still the latest
one (older ones are marked skipped, so nobody gets "midway" after "last day").

Values: the goal metric summed over the campaign's local days from each creator's check-ins
(``days`` counts check-in days; ``streak`` is the longest streak inside the campaign). The
campaign's days are named in the guild's zone; each creator's check-ins are counted by their
own local day, as everywhere else.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from bot.clock import Clock, to_db
from bot.db import Database, Transaction
from bot.errors import NotAllowed, NotFound, UserError
from bot.localtime import local_date
from bot.services.audit import AuditLog
from bot.services.campaigns import arithmetic as cm
from bot.services.campaigns.models import (
    MANAGERS,
    REMINDERS,
    Campaign,
    CreatorProgress,
    FamilyProgress,
    Post,
    PostReport,
    Results,
    Spec,
    campaign_from_row,
    parse_moment,
    post_from_row,
)
from bot.services.email import EmailService
from bot.services.families import FamilyService
from bot.services.guilds import GuildService
from bot.services.leaderboards import Row

METRICS = ("hours", "diamonds", "followers", "days", "streak")
AUDIENCES = ("all", "families", "tiers")
STAGES = ("start", *REMINDERS, "results")
NAME_MAX = 60
DESCRIPTION_MAX = 1500
REWARD_MAX = 300
LONGEST = timedelta(days=92)
PAST_SLACK = timedelta(minutes=5)
POST_ATTEMPTS = 3
# Edit options that empty a field (the option's name, for the error naming a clash).
CLEARABLE = {"target_creator": "target", "target_family": "family_target",
             "reward_role_id": "reward_role"}
__all__ = ["MANAGERS", "REMINDERS", "Campaign", "CampaignService", "Post", "Spec"]


def _number(value: float | None, field_name: str) -> float | None:
    if value is None:
        return None
    if value <= 0:
        raise UserError("campaigns.bad_target", field=field_name, value=value)
    return float(value)


class CampaignService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, guilds: GuildService,
                 families: FamilyService, email: EmailService | None = None) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.guilds = guilds
        self.families = families
        self.email = email

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, guild_id: int, campaign_id: int) -> Campaign:
        row = await self.db.fetchone(
            "SELECT * FROM campaigns WHERE guild_id = ? AND id = ?", (guild_id, campaign_id))
        if row is None:
            raise NotFound("campaigns.unknown", value=str(campaign_id))
        return campaign_from_row(row)

    async def resolve(self, guild_id: int, text: str) -> Campaign:
        """The campaign an option names: an id from autocomplete, or a name typed by hand."""
        text = (text or "").strip()
        row = await self.db.fetchone(
            "SELECT * FROM campaigns WHERE guild_id = ? AND lower(name) = lower(?)",
            (guild_id, text))
        if row is None and text.isdigit():
            row = await self.db.fetchone(
                "SELECT * FROM campaigns WHERE guild_id = ? AND id = ?", (guild_id, int(text)))
        if row is None:
            raise NotFound("campaigns.unknown", value=text)
        return campaign_from_row(row)

    async def list(self, guild_id: int, states: tuple[str, ...] = ("draft", "scheduled",
                   "running", "finished"), limit: int = 25) -> list[Campaign]:
        marks = ",".join("?" * len(states))
        rows = await self.db.fetchall(
            f"SELECT * FROM campaigns WHERE guild_id = ? AND state IN ({marks})"
            " ORDER BY CASE state WHEN 'running' THEN 0 WHEN 'scheduled' THEN 1"
            " WHEN 'draft' THEN 2 ELSE 3 END, starts_at DESC, id DESC LIMIT ?",
            (guild_id, *states, limit))
        return [campaign_from_row(r) for r in rows]

    async def search(self, guild_id: int, text: str, states: tuple[str, ...]) -> list[Campaign]:
        needle = (text or "").strip().lower()
        return [c for c in await self.list(guild_id, states) if needle in c.name.lower()]

    async def current_for(self, guild_id: int, user_id: int) -> Campaign:
        """The campaign a creator most likely means: running (theirs first), else scheduled,
        else the last finished."""
        row = await self.db.fetchone(
            "SELECT c.* FROM campaigns c LEFT JOIN campaign_enrolments e ON e.campaign_id ="
            " c.id AND e.user_id = ? WHERE c.guild_id = ? AND c.state IN ('running',"
            " 'finished', 'scheduled') ORDER BY CASE c.state WHEN 'running' THEN 0"
            " WHEN 'scheduled' THEN 1 ELSE 2 END, e.user_id IS NULL, c.ends_at DESC LIMIT 1",
            (user_id, guild_id))
        if row is None:
            raise UserError("campaigns.none_running")
        return campaign_from_row(row)

    # -- checking and storing what a manager asked for -----------------------------------------

    def _audience_sql(self, campaign_or_spec: Campaign | Spec, guild_id: int
                      ) -> tuple[str, list[Any]]:
        """FROM/WHERE over ``family_members fm`` for the creators of an audience."""
        sql = ("FROM family_members fm JOIN families f ON f.id = fm.family_id AND"
               " f.archived_at IS NULL WHERE fm.guild_id = ? AND fm.left_at IS NULL")
        params: list[Any] = [guild_id]
        ids = list(campaign_or_spec.audience_ids)
        marks = ",".join("?" * len(ids))
        if campaign_or_spec.audience == "families":
            sql += f" AND fm.family_id IN ({marks})"
            params += ids
        elif campaign_or_spec.audience == "tiers":
            sql += (" AND EXISTS (SELECT 1 FROM member_tiers mt WHERE mt.guild_id = fm.guild_id"
                    f" AND mt.user_id = fm.user_id AND mt.tier_id IN ({marks}))")
            params += ids
        return sql, params

    async def audience(self, guild_id: int, target: Campaign | Spec) -> dict[int, int]:
        """Creator → family for everyone the campaign is for, today."""
        sql, params = self._audience_sql(target, guild_id)
        rows = await self.db.fetchall(f"SELECT fm.user_id, fm.family_id {sql}", params)
        return {r["user_id"]: r["family_id"] for r in rows}

    async def check(self, guild_id: int, spec: Spec, existing: Campaign | None = None
                    ) -> dict[str, Any]:
        """The columns to store for ``spec``, or a UserError naming what is wrong."""
        name = " ".join((spec.name or "").split())
        if not 1 <= len(name) <= NAME_MAX:
            raise UserError("campaigns.bad_name", limit=NAME_MAX)
        taken = await self.db.fetchval(
            "SELECT id FROM campaigns WHERE guild_id = ? AND lower(name) = lower(?)"
            " AND id != ?", (guild_id, name, existing.id if existing else 0))
        if taken:
            raise UserError("campaigns.name_taken", name=name)
        if spec.metric not in METRICS:
            raise UserError("campaigns.unknown_metric", value=spec.metric)
        target_creator = _number(spec.target_creator, "target")
        target_family = _number(spec.target_family, "family_target")
        if target_creator is None and target_family is None:
            raise UserError("campaigns.target_needed")
        tz = existing.timezone if existing else (await self.guilds.get(guild_id)).timezone
        starts_at, start_timed = parse_moment(spec.start, tz, end=False)
        ends_at, _ = parse_moment(spec.end, tz, end=True)
        if ends_at <= starts_at:
            raise UserError("campaigns.end_before_start", start=spec.start, end=spec.end)
        if ends_at - starts_at > LONGEST:
            raise UserError("campaigns.too_long", days=LONGEST.days)
        now = self.clock.now()
        running = existing is not None and existing.state == "running"
        if running:
            if ends_at <= now:
                raise UserError("campaigns.end_in_past", value=spec.end, timezone=tz)
        elif (starts_at < now - PAST_SLACK if start_timed
              else local_date(starts_at, tz) < local_date(now, tz)):
            raise UserError("campaigns.start_in_past", value=spec.start, timezone=tz)
        first_day = local_date(starts_at, tz)
        last_day = local_date(ends_at - timedelta(microseconds=1), tz)
        days = (last_day - first_day).days + 1
        if spec.metric in ("days", "streak"):
            for target in (target_creator, target_family):
                if target is not None and target != int(target):
                    raise UserError("campaigns.whole_days", value=target)
            # One creator has only so many days; a family's value is its members' sum.
            if target_creator is not None and target_creator > days:
                raise UserError("campaigns.target_unreachable", value=int(target_creator),
                                days=days)
        if spec.audience not in AUDIENCES:
            raise UserError("campaigns.unknown_audience", value=spec.audience)
        if spec.audience in ("families", "tiers") and not spec.audience_ids:
            raise UserError("campaigns.ids_needed", audience=spec.audience)
        if not await self.audience(guild_id, spec):
            raise UserError("campaigns.empty_audience")
        if spec.enrolment not in ("optin", "auto"):
            raise UserError("campaigns.unknown_enrolment", value=spec.enrolment)
        if set(spec.reminders) - set(REMINDERS):
            raise UserError("campaigns.unknown_reminders")
        description = (spec.description or "").strip()
        reward_text = (spec.reward_text or "").strip()
        if len(description) > DESCRIPTION_MAX:
            raise UserError("campaigns.too_long_text", field="description",
                            length=len(description), limit=DESCRIPTION_MAX)
        if len(reward_text) > REWARD_MAX:
            raise UserError("campaigns.too_long_text", field="reward",
                            length=len(reward_text), limit=REWARD_MAX)
        return {
            "name": name, "description": description, "starts_at": to_db(starts_at),
            "ends_at": to_db(ends_at), "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(), "timezone": tz, "audience": spec.audience,
            "audience_ids": json.dumps(sorted(set(spec.audience_ids))), "metric": spec.metric,
            "target_creator": target_creator, "target_family": target_family,
            "reward_text": reward_text, "reward_role_id": spec.reward_role_id,
            "enrolment": spec.enrolment,
            "reminders": ",".join(r for r in REMINDERS if r in spec.reminders),
        }

    async def create(self, guild_id: int, actor_id: int, spec: Spec) -> Campaign:
        columns = await self.check(guild_id, spec)
        now = to_db(self.clock.now())
        columns |= {"guild_id": guild_id, "created_by": actor_id, "created_at": now,
                    "updated_at": now}
        names = ", ".join(columns)
        async with self.db.transaction() as tx:
            new_id = await tx.execute(
                f"INSERT INTO campaigns ({names}) VALUES ({','.join('?' * len(columns))})",
                tuple(columns.values()))
            await self.audit.record(tx, guild_id, actor_id, "campaign.created", str(new_id),
                                    name=columns["name"])
        return await self.get(guild_id, new_id)

    # Fields a running campaign may still change (its rules are fixed once people compete).
    RUNNING_EDITABLE = ("description", "reward_text", "ends_at", "last_day", "reward_role_id")

    async def prepare_edit(self, guild_id: int, text: str, changes: dict[str, Any],
                           clear: tuple[str, ...] = ()) -> tuple[Campaign, Spec]:
        """The campaign ``text`` names and what it becomes with ``changes`` (Spec fields; None
        leaves a field as it is) and the ``clear`` fields emptied — checked as :meth:`update`
        will check it, so a refusal comes before the form opens.

        ``audience`` and ``audience_ids`` go together: a new audience without ids keeps the
        current ids only if it is the same kind (every family needs none)."""
        found = await self.resolve(guild_id, text)
        self._editable(found)
        changes = dict(changes)
        for name in clear:
            if changes.get(name) is not None:
                raise UserError("campaigns.set_and_clear", field=CLEARABLE[name])
        audience = changes.pop("audience", None) or found.audience
        ids = changes.pop("audience_ids", None)
        if ids is None:
            ids = found.audience_ids if audience == found.audience else []
        spec = replace(found.spec(), **{k: v for k, v in changes.items() if v is not None},
                       audience=audience, audience_ids=[] if audience == "all" else ids)
        spec = replace(spec, **{name: None for name in clear})
        await self._refuse_locked(found, await self.check(guild_id, spec, existing=found))
        return found, spec

    @staticmethod
    def _editable(found: Campaign) -> None:
        if found.state in ("finished", "cancelled"):
            raise UserError("campaigns.not_editable", state=found.state)

    async def _refuse_locked(self, found: Campaign, columns: dict[str, Any]) -> None:
        """A running campaign keeps its rules: refuse any change outside RUNNING_EDITABLE."""
        if found.state != "running":
            return
        before = await self.check_columns_of(found)
        changed = {k for k, v in columns.items() if before.get(k) != v}
        locked = sorted(changed - set(self.RUNNING_EDITABLE))
        if locked:
            raise UserError("campaigns.locked_while_running", fields=", ".join(locked))

    async def update(self, guild_id: int, actor_id: int, campaign_id: int, spec: Spec
                     ) -> Campaign:
        found = await self.get(guild_id, campaign_id)
        self._editable(found)
        columns = await self.check(guild_id, spec, existing=found)
        await self._refuse_locked(found, columns)
        columns["updated_at"] = to_db(self.clock.now())
        sets = ", ".join(f"{k} = ?" for k in columns)
        async with self.db.transaction() as tx:
            changed_rows = await tx.execute(
                f"UPDATE campaigns SET {sets} WHERE id = ? AND state = ?",
                (*columns.values(), found.id, found.state))
            if not changed_rows:
                raise UserError("campaigns.changed_meanwhile")
            await self.audit.record(tx, guild_id, actor_id, "campaign.edited", str(found.id))
        return await self.get(guild_id, campaign_id)

    async def check_columns_of(self, found: Campaign) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT * FROM campaigns WHERE id = ?", (found.id,))
        return dict(row) if row else {}

    async def schedule(self, guild_id: int, actor_id: int, campaign_id: int) -> Campaign:
        """draft → scheduled (it starts with the next sweep once its start comes)."""
        found = await self.get(guild_id, campaign_id)
        if found.state != "draft":
            raise UserError("campaigns.not_draft", state=found.state)
        await self.check(guild_id, found.spec(), existing=found)  # still valid (not past)?
        async with self.db.transaction() as tx:
            if not await tx.execute(
                    "UPDATE campaigns SET state = 'scheduled', scheduled_at = ? WHERE id = ?"
                    " AND state = 'draft'", (to_db(self.clock.now()), found.id)):
                raise UserError("campaigns.changed_meanwhile")
            await self.audit.record(tx, guild_id, actor_id, "campaign.scheduled", str(found.id))
        return await self.get(guild_id, campaign_id)

    async def cancel(self, guild_id: int, actor_id: int, campaign_id: int) -> Campaign:
        found = await self.get(guild_id, campaign_id)
        if found.state not in ("draft", "scheduled", "running"):
            raise UserError("campaigns.not_cancellable", state=found.state)
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            if not await tx.execute(
                    "UPDATE campaigns SET state = 'cancelled', finished_at = ? WHERE id = ?"
                    " AND state = ?", (now, found.id, found.state)):
                raise UserError("campaigns.changed_meanwhile")
            await tx.execute("UPDATE campaign_posts SET state = 'skipped', error = 'cancelled'"
                             " WHERE campaign_id = ? AND state = 'pending'", (found.id,))
            await self.audit.record(tx, guild_id, actor_id, "campaign.cancelled", str(found.id))
        return await self.get(guild_id, campaign_id)

    # -- enrolment -----------------------------------------------------------------------------

    async def enrol(self, guild_id: int, user_id: int, campaign_id: int, via: str
                    ) -> tuple[Campaign, bool]:
        """(campaign, True) when newly enrolled, (campaign, False) when already in it."""
        found = await self.get(guild_id, campaign_id)
        if found.state not in ("scheduled", "running"):
            raise UserError("campaigns.not_open", state=found.state)
        if not found.opt_in:
            raise UserError("campaigns.automatic")
        sql, params = self._audience_sql(found, guild_id)
        async with self.db.transaction() as tx:
            family_id = await tx.fetchval(
                f"SELECT fm.family_id {sql} AND fm.user_id = ?", (*params, user_id))
            if family_id is None:
                raise NotAllowed("campaigns.not_in_audience", name=found.name)
            await tx.execute(
                "INSERT OR IGNORE INTO campaign_enrolments (campaign_id, guild_id, user_id,"
                " family_id, via, enrolled_at) VALUES (?, ?, ?, ?, ?, ?)",
                (found.id, guild_id, user_id, family_id, via, to_db(self.clock.now())))
            added = await tx.fetchval("SELECT changes()")
        return found, bool(added)

    async def _enrol_audience(self, tx: Transaction, found: Campaign) -> None:
        sql, params = self._audience_sql(found, found.guild_id)
        await tx.execute(
            "INSERT OR IGNORE INTO campaign_enrolments (campaign_id, guild_id, user_id,"
            f" family_id, via, enrolled_at) SELECT ?, fm.guild_id, fm.user_id, fm.family_id,"
            f" 'auto', ? {sql}", (found.id, to_db(self.clock.now()), *params))

    async def participants(self, found: Campaign) -> dict[int, int | None]:
        """Participant → their family now (else the family they enrolled from)."""
        if not found.opt_in and found.state in ("draft", "scheduled"):
            return dict(await self.audience(found.guild_id, found))
        rows = await self.db.fetchall(
            "SELECT e.user_id, coalesce(fm.family_id, e.family_id) AS family_id"
            " FROM campaign_enrolments e LEFT JOIN family_members fm ON fm.guild_id ="
            " e.guild_id AND fm.user_id = e.user_id AND fm.left_at IS NULL"
            " WHERE e.campaign_id = ?", (found.id,))
        found_rows = {r["user_id"]: r["family_id"] for r in rows}
        if not found.opt_in and found.state == "running":  # newcomers to the audience count
            found_rows = {**await self.audience(found.guild_id, found), **found_rows}
        return found_rows

    # -- values and progress -------------------------------------------------------------------

    async def values(self, guild_id: int, metric: str, first: date, last: date
                     ) -> dict[int, float]:
        """Everyone's value of ``metric`` over their local days ``first..last``."""
        if metric == "streak":
            rest = await self.db.fetchval(
                "SELECT rest_days FROM checkin_settings WHERE guild_id = ?", (guild_id,))
            rows = await self.db.fetchall(
                "SELECT user_id, local_date FROM checkins WHERE guild_id = ?"
                " AND local_date BETWEEN ? AND ?", (guild_id, first.isoformat(),
                                                     last.isoformat()))
            days: dict[int, set[date]] = defaultdict(set)
            for r in rows:
                days[r["user_id"]].add(date.fromisoformat(r["local_date"]))
            return {u: float(cm.best_streak(d, first, last, 1 if rest is None else rest))
                    for u, d in days.items()}
        column = {"hours": "sum(hours)", "diamonds": "sum(diamonds)",
                  "followers": "sum(followers)", "days": "count(*)"}[metric]
        rows = await self.db.fetchall(
            f"SELECT user_id, {column} AS v FROM checkins WHERE guild_id = ?"
            " AND local_date BETWEEN ? AND ? GROUP BY user_id",
            (guild_id, first.isoformat(), last.isoformat()))
        return {r["user_id"]: float(round(r["v"], 2)) for r in rows}

    async def standings(self, found: Campaign) -> tuple[dict[int, int | None], dict[int, float]]:
        """(participants → family, participants → value)."""
        people = await self.participants(found)
        everyone = await self.values(found.guild_id, found.metric, found.first_day,
                                     found.last_day)
        return people, {u: everyone.get(u, 0.0) for u in people}

    async def board(self, found: Campaign) -> list[tuple[int, int, float]]:
        """(rank, user, value) of the participants, ties shared, zeros left out."""
        _, values = await self.standings(found)
        return cm.ranked(values)

    async def board_rows(self, found: Campaign) -> list[Row]:
        """The campaign board as leaderboard rows (rendered with the leaderboards' lines)."""
        return [Row(rank, user_id, value) for rank, user_id, value in await self.board(found)]

    async def progress_of(self, guild_id: int, user_id: int, campaign: str | None
                          ) -> CreatorProgress:
        found = (await self.resolve(guild_id, campaign) if campaign
                 else await self.current_for(guild_id, user_id))
        people, values = await self.standings(found)
        in_audience = user_id in people or user_id in await self.audience(guild_id, found)
        rank = next((r for r, u, _ in cm.ranked(values) if u == user_id), None)
        family_id = people.get(user_id)
        family = (await self.family_standing(found, family_id, people, values)
                  if family_id else None)
        return CreatorProgress(found, user_id, user_id in people, in_audience,
                               values.get(user_id, 0.0), rank, family)

    async def family_progress(self, guild_id: int, campaign: str | None, family_id: int,
                              viewer_id: int) -> FamilyProgress:
        found = (await self.resolve(guild_id, campaign) if campaign
                 else await self.current_for(guild_id, viewer_id))
        return await self.progress_of_family(found, family_id)

    async def progress_of_family(self, found: Campaign, family_id: int) -> FamilyProgress:
        people, values = await self.standings(found)
        return await self.family_standing(found, family_id, people, values)

    async def family_standing(self, found: Campaign, family_id: int,
                              people: dict[int, int | None], values: dict[int, float]
                              ) -> FamilyProgress:
        """A family's progress from :meth:`standings` already read (the weekly digests read
        them once for every family)."""
        family = await self.families.get(found.guild_id, family_id)
        target = found.target_creator
        members = sorted(((u, values.get(u, 0.0), bool(target and values.get(u, 0.0) >= target))
                          for u, f in people.items() if f == family_id),
                         key=lambda m: (-m[1], m[0]))
        return FamilyProgress(found, family_id, family.name, members,
                              round(sum(m[1] for m in members), 2))

    # -- the sweep: starting, reminding, finishing --------------------------------------------

    async def sweep(self) -> dict[str, list[int]]:
        """Do what is due now, each step once (safe to run late, twice or concurrently)."""
        now = self.clock.now()
        done: dict[str, list[int]] = {"started": [], "reminded": [], "finished": []}
        rows = await self.db.fetchall(
            "SELECT * FROM campaigns WHERE (state = 'scheduled' AND starts_at <= ?)"
            " OR state = 'running'", (to_db(now),))
        for found in map(campaign_from_row, rows):
            if found.state == "scheduled":
                if await self._start(found, now):
                    done["started"].append(found.id)
                    found = replace(found, state="running")
                else:
                    continue
            if found.ends_at <= now:
                if await self._finish(found, now):
                    done["finished"].append(found.id)
            elif await self._remind(found, now):
                done["reminded"].append(found.id)
        if self.email is not None and any(done.values()):
            self.email.on_queued()  # the email copies were queued with the posts
        return done

    async def _start(self, found: Campaign, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            if not await tx.execute(
                    "UPDATE campaigns SET state = 'running', started_at = ? WHERE id = ?"
                    " AND state = 'scheduled'", (to_db(now), found.id)):
                return False
            if not found.opt_in:
                await self._enrol_audience(tx, found)
            if found.ends_at > now:  # a campaign missed entirely gets only its results
                since = max(found.starts_at, found.scheduled_at or found.starts_at)
                await self._queue(tx, found, "start", late=now - since > timedelta(hours=1))
                await self._news(tx, found, "start")
        return True

    async def _remind(self, found: Campaign, now: datetime) -> bool:
        due = [s for s in REMINDERS if (when := found.due(s)) is not None and when <= now]
        if not due:
            return False
        latest = due[-1]
        async with self.db.transaction() as tx:
            if await tx.fetchval("SELECT 1 FROM campaign_posts WHERE campaign_id = ? AND"
                                 " stage = ? LIMIT 1", (found.id, latest)):
                return False
            for stage in due[:-1]:  # missed while down and already superseded
                await self._queue(tx, found, stage, skip="superseded")
            late = now - found.due(latest) > timedelta(hours=1)  # type: ignore[operator]
            posted = await self._queue(tx, found, latest, late=late)
            people, values = await self.standings(found)
            await self._news(tx, found, latest, {u: (True, values[u], False) for u in people})
            return posted > 0

    async def _queue(self, tx: Transaction, found: Campaign, stage: str, *, late: bool = False,
                     skip: str | None = None) -> int:
        """One post per family of the audience (families without a channel: skipped)."""
        sql, params = self._audience_sql(found, found.guild_id)
        if found.audience == "tiers":
            families = await tx.fetchall(
                f"SELECT DISTINCT f.id, f.channel_id {sql}", params)
        else:
            ids = found.audience_ids if found.audience == "families" else None
            marks = ",".join("?" * len(ids or []))
            families = await tx.fetchall(
                "SELECT id, channel_id FROM families WHERE guild_id = ? AND archived_at IS NULL"
                + (f" AND id IN ({marks})" if ids else ""), (found.guild_id, *(ids or [])))
        now = to_db(self.clock.now())
        rows = [(found.id, found.guild_id, stage, f["id"], f["channel_id"],
                 "skipped" if skip or not f["channel_id"] else "pending", int(late),
                 skip or (None if f["channel_id"] else "no_channel"), now) for f in families]
        await tx.executemany(
            "INSERT OR IGNORE INTO campaign_posts (campaign_id, guild_id, stage, family_id,"
            " channel_id, state, late, error, queued_at) VALUES (?,?,?,?,?,?,?,?,?)", rows)
        return sum(1 for r in rows if r[5] == "pending")

    async def _news(self, tx: Transaction, found: Campaign, stage: str,
                    standing: dict[int, tuple[bool, float, bool]] | None = None) -> int:
        """The email copy of a stage's announcement, in the same transaction: to everyone in
        the audience (and any participant) with a verified address and campaign news on,
        each with their own standing — ``standing[user] = (participant, value, reached)``.
        Dedupe key ``campaign:<id>:<stage>:<user>``."""
        if self.email is None:
            return 0
        standing = standing or {}
        people = set(await self.audience(found.guild_id, found)) | set(standing)
        recipients = await self.email.recipients(found.guild_id, people, "campaigns")
        if not recipients:
            return 0
        summary = found.summary or {}

        def context(r: Any) -> dict[str, Any]:
            participant, value, reached = standing.get(r.user_id, (False, 0.0, False))
            return {"stage": stage, "campaign": found, "summary": summary,
                    "me": {"participant": participant, "value": value, "reached": reached}}

        emails = await self.email.prepare(found.guild_id, recipients, "campaign",
                                          f"campaign:{found.id}:{stage}", context, tx)
        return await self.email.queue_rendered(tx, emails)

    async def _finish(self, found: Campaign, now: datetime) -> bool:
        managers = (await self.guilds.get(found.guild_id)).channels.get("managers")
        audience = await self.audience(found.guild_id, found)
        people = await self.participants(found)
        during = await self.values(found.guild_id, found.metric, found.first_day,
                                   found.last_day)
        first, last = cm.before_window(found.first_day, found.last_day)
        before = await self.values(found.guild_id, found.metric, first, last)
        everyone = {**audience, **people}
        family_totals: dict[int, float] = defaultdict(float)
        for user_id, family_id in people.items():
            if family_id is not None:
                family_totals[family_id] += during.get(user_id, 0.0)
        family_met = {f for f, total in family_totals.items()
                      if found.target_family and total >= found.target_family}
        rows = []
        for user_id, family_id in sorted(everyone.items()):
            value = during.get(user_id, 0.0)
            participant = user_id in people
            if found.target_creator:
                reached = participant and value >= found.target_creator
            else:
                reached = participant and family_id in family_met
            reward = "pending" if reached and found.reward_role_id else "none"
            rows.append((found.id, found.guild_id, user_id, family_id, int(participant), value,
                         before.get(user_id, 0.0), int(reached), reward))
        async with self.db.transaction() as tx:
            if not await tx.execute(
                    "UPDATE campaigns SET state = 'finished', finished_at = ? WHERE id = ?"
                    " AND state = 'running'", (to_db(now), found.id)):
                return False
            await tx.executemany(
                "INSERT OR REPLACE INTO campaign_results (campaign_id, guild_id, user_id,"
                " family_id, participant, value, before, reached, reward_state)"
                " VALUES (?,?,?,?,?,?,?,?,?)", rows)
            summary = await self._summary(tx, found, rows, family_totals, family_met)
            await tx.execute("UPDATE campaigns SET summary = ? WHERE id = ?",
                             (json.dumps(summary), found.id))
            await tx.execute("UPDATE campaign_posts SET state = 'skipped', error = 'ended'"
                             " WHERE campaign_id = ? AND state = 'pending' AND stage != 'start'",
                             (found.id,))
            await self._queue(tx, found, "results")
            if managers:  # the analysis and the CSV, after the family posts (a higher id)
                await tx.execute(
                    "INSERT OR IGNORE INTO campaign_posts (campaign_id, guild_id, stage,"
                    " family_id, channel_id, state, queued_at) VALUES (?, ?, 'results', ?, ?,"
                    " 'pending', ?)", (found.id, found.guild_id, MANAGERS, managers,
                                       to_db(self.clock.now())))
            finished = replace(found, state="finished", summary=summary)
            await self._news(tx, finished, "results",
                             {r[2]: (bool(r[4]), r[5], bool(r[7])) for r in rows})
        return True

    async def _summary(self, tx: Transaction, found: Campaign, rows: list[tuple],
                       totals: dict[int, float], met: set[int]) -> dict[str, Any]:
        participants = [r for r in rows if r[4]]
        others = [r for r in rows if not r[4]]
        names = {r["id"]: r["name"] for r in await tx.fetchall(
            "SELECT id, name FROM families WHERE guild_id = ?", (found.guild_id,))}
        families = []
        for family_id in sorted(totals, key=lambda f: (-totals[f], names.get(f, ""))):
            mine = [r for r in participants if r[3] == family_id]
            families.append({"id": family_id, "name": names.get(family_id, "?"),
                             "participants": len(mine), "reached": sum(r[7] for r in mine),
                             "total": round(totals[family_id], 2), "goal_met": family_id in met})
        return {
            "audience": len(rows), "participants": len(participants),
            "reached": sum(r[7] for r in participants), "families": families,
            "uplift": {"participants": [len(participants), *_means(participants)],
                       "others": [len(others), *_means(others)]},
        }

    # -- results ------------------------------------------------------------------------------

    async def results(self, guild_id: int, campaign_id: int) -> Results:
        found = await self.get(guild_id, campaign_id)
        if found.state != "finished" or not found.summary:
            raise UserError("campaigns.no_results_yet", state=found.state)
        s = found.summary
        rewards = {r["reward_state"]: r["n"] for r in await self.db.fetchall(
            "SELECT reward_state, count(*) AS n FROM campaign_results WHERE campaign_id = ?"
            " GROUP BY reward_state", (campaign_id,))}
        uplift = cm.Uplift(cm.Group(*s["uplift"]["participants"]),
                           cm.Group(*s["uplift"]["others"]))
        reached: dict[int, list[int]] = defaultdict(list)
        if found.target_creator:  # with only a family goal, nobody reaches one of their own
            for r in await self.db.fetchall(
                    "SELECT family_id, user_id FROM campaign_results WHERE campaign_id = ? AND"
                    " participant = 1 AND reached = 1 AND family_id IS NOT NULL"
                    " ORDER BY value DESC, user_id", (campaign_id,)):
                reached[r["family_id"]].append(r["user_id"])
        return Results(found, s["audience"], s["participants"], s["reached"], s["families"],
                       uplift, rewards, dict(reached), await self.post_report(campaign_id))

    async def results_csv(self, guild_id: int, campaign_id: int) -> str:
        found = await self.get(guild_id, campaign_id)
        if found.state != "finished":
            raise UserError("campaigns.no_results_yet", state=found.state)
        rows = await self.db.fetchall(
            "SELECT r.*, f.name AS family FROM campaign_results r LEFT JOIN families f"
            " ON f.id = r.family_id WHERE r.campaign_id = ? ORDER BY r.participant DESC,"
            " r.value DESC, r.user_id", (campaign_id,))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["user_id", "family_id", "family", "participant", f"{found.metric}",
                         f"{found.metric}_before", "reached", "reward"])
        for r in rows:
            writer.writerow([r["user_id"], r["family_id"] or "", r["family"] or "",
                             r["participant"], _plain(r["value"]), _plain(r["before"]),
                             r["reached"], r["reward_state"]])
        return out.getvalue()

    # -- reward roles --------------------------------------------------------------------------

    async def pending_rewards(self, limit: int = 50) -> list[tuple[int, int, int, int]]:
        """(campaign, guild, user, role) still to be given, oldest campaign first."""
        rows = await self.db.fetchall(
            "SELECT r.campaign_id, r.guild_id, r.user_id, c.reward_role_id FROM"
            " campaign_results r JOIN campaigns c ON c.id = r.campaign_id WHERE"
            " r.reward_state = 'pending' ORDER BY r.campaign_id, r.user_id LIMIT ?", (limit,))
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def reward_done(self, campaign_id: int, user_id: int, state: str,
                          error: str | None = None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE campaign_results SET reward_state = ?, reward_error = ? WHERE"
                " campaign_id = ? AND user_id = ? AND reward_state = 'pending'",
                (state, error, campaign_id, user_id))

    # -- the announcement queue ----------------------------------------------------------------

    async def claim_posts(self, limit: int = 10) -> list[Post]:
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM campaign_posts WHERE state = 'pending' ORDER BY id LIMIT ?",
                (limit,))
            if rows:
                marks = ",".join("?" * len(rows))
                await tx.execute(
                    f"UPDATE campaign_posts SET state = 'claimed', claimed_at = ?, attempts ="
                    f" attempts + 1 WHERE id IN ({marks})",
                    (to_db(self.clock.now()), *[r["id"] for r in rows]))
        return [replace(post_from_row(r), claimed_at=self.clock.now(),
                        attempts=r["attempts"] + 1)
                for r in rows]

    async def ambiguous_posts(self) -> list[Post]:
        """Rows a dead process claimed: sent or not, only the channel can tell."""
        rows = await self.db.fetchall(
            "SELECT * FROM campaign_posts WHERE state = 'claimed' ORDER BY id")
        return [post_from_row(r) for r in rows]

    async def finish_post(self, post: Post, *, message_id: int | None = None,
                          error: str | None = None, retry: bool = False) -> None:
        if message_id is not None:
            state = "sent"
        elif retry and post.attempts < POST_ATTEMPTS:
            state = "pending"
        else:
            state = "failed"
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE campaign_posts SET state = ?, message_id = ?, error = ?, sent_at = ?"
                " WHERE id = ?", (state, message_id, error,
                                  to_db(self.clock.now()) if message_id else None, post.id))

    async def post_report(self, campaign_id: int) -> PostReport:
        """How the family-channel announcements went (every stage; not the managers' copy)."""
        states: dict[str, int] = defaultdict(int)
        reasons: dict[str, int] = defaultdict(int)
        for r in await self.db.fetchall(
                "SELECT state, error, count(*) AS n FROM campaign_posts WHERE campaign_id = ?"
                " AND family_id != ? GROUP BY state, error", (campaign_id, MANAGERS)):
            states[r["state"]] += r["n"]
            if r["state"] == "failed":
                reasons[r["error"] or "unexpected"] += r["n"]
        return PostReport(dict(states), dict(reasons))


def _means(rows: list[tuple]) -> tuple[float, float]:
    """(mean before, mean during) of result rows."""
    if not rows:
        return 0.0, 0.0
    return (round(sum(r[6] for r in rows) / len(rows), 4),
            round(sum(r[5] for r in rows) / len(rows), 4))


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}"

