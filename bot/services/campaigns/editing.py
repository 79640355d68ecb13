"""Editing campaigns: checking what a manager asks for (:class:`Spec`) and storing it, the
edit form's preparation, scheduling, cancelling, and creators enrolling."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import date, timedelta
from typing import Any

from bot.clock import to_db
from bot.db import Transaction
from bot.errors import NotAllowed, UserError
from bot.localtime import local_date
from bot.services import audience as audience_of
from bot.services import bounds, day_figures
from bot.services.campaigns.models import (
    REMINDERS,
    Campaign,
    CampaignColumns,
    Edit,
    Enrolment,
    Spec,
)
from bot.services.campaigns.store import ENROL, CampaignStore

METRICS = ("hours", "diamonds", "followers", "days", "streak")
AUDIENCES = ("all", "families", "tiers")
NAME_MAX = bounds.CAMPAIGN_NAME_MAX
DESCRIPTION_MAX = 1500
REWARD_MAX = 300
LONGEST = timedelta(days=bounds.CAMPAIGN_DAYS_MAX)
PAST_SLACK = timedelta(minutes=5)
# Edit options that empty a field (the option's name, for the error naming a clash).
CLEARABLE = {"target_creator": "target", "target_family": "family_target",
             "reward_role_id": "reward_role"}

NAME_TAKEN = "SELECT id FROM campaigns WHERE guild_id = ? AND lower(name) = lower(?) AND id != ?"
INSERT_CAMPAIGN = (
    "INSERT INTO campaigns (name, description, starts_at, ends_at, first_day, last_day,"
    " timezone, audience, audience_ids, metric, target_creator, target_family, reward_text,"
    " reward_role_id, enrolment, reminders, guild_id, created_by, created_at, updated_at)"
    " VALUES (:name, :description, :starts_at, :ends_at, :first_day, :last_day, :timezone,"
    " :audience, :audience_ids, :metric, :target_creator, :target_family, :reward_text,"
    " :reward_role_id, :enrolment, :reminders, :guild_id, :created_by, :created_at,"
    " :updated_at)"
)
# Only while the campaign is still in the state it was read in.
UPDATE_CAMPAIGN = (
    "UPDATE campaigns SET name = :name, description = :description, starts_at = :starts_at,"
    " ends_at = :ends_at, first_day = :first_day, last_day = :last_day, timezone = :timezone,"
    " audience = :audience, audience_ids = :audience_ids, metric = :metric,"
    " target_creator = :target_creator, target_family = :target_family,"
    " reward_text = :reward_text, reward_role_id = :reward_role_id, enrolment = :enrolment,"
    " reminders = :reminders, updated_at = :updated_at WHERE id = :id AND state = :state"
)
STORED = "SELECT * FROM campaigns WHERE id = ?"


async def _follow_sources(tx: Transaction, guild_id: int, columns: CampaignColumns) -> None:
    """The campaign's totals as the guild's sources say (its triggers summed the check-ins):
    recomputed when the guild has imported figures (bot/services/day_figures.py)."""
    if not await tx.fetchval("SELECT EXISTS (SELECT 1 FROM platform_stats WHERE guild_id = ?)",
                             (guild_id,)):
        return
    first, last = (date.fromisoformat(str(d)) for d in (columns.first_day, columns.last_day))
    for sql, params in day_figures.campaign_statements(guild_id, first, last, "", {}):
        await tx.execute(sql, params)


def _number(value: float | None, field_name: str) -> float | None:
    if value is None:
        return None
    if value <= 0:
        raise UserError("campaigns.bad_target", field=field_name, value=value)
    return float(value)


class CampaignEditing(CampaignStore):
    # -- checking and storing what a manager asked for -----------------------------------------

    async def check(self, guild_id: int, spec: Spec, existing: Campaign | None = None
                    ) -> CampaignColumns:
        """The columns to store for ``spec``, or a UserError naming what is wrong."""
        name = bounds.clean_name(spec.name, NAME_MAX)
        if name is None:
            raise UserError("campaigns.bad_name", limit=NAME_MAX)
        taken = await self.db.fetchval(NAME_TAKEN,
                                       (guild_id, name, existing.id if existing else 0))
        if taken:
            raise UserError("campaigns.name_taken", name=name)
        if spec.metric not in METRICS:
            raise UserError("campaigns.unknown_metric", value=spec.metric)
        target_creator = _number(spec.target_creator, "target")
        target_family = _number(spec.target_family, "family_target")
        if target_creator is None and target_family is None:
            raise UserError("campaigns.target_needed")
        bounds.check_number(target_creator, "target", 0,
                            bounds.CREATOR_TARGET_MAX[spec.metric])
        bounds.check_number(target_family, "family_target", 0,
                            bounds.FAMILY_TARGET_MAX[spec.metric])
        tz = existing.timezone if existing else (await self.guilds.get(guild_id)).timezone
        starts_at, start_timed = spec.start.start(tz), spec.start.time is not None
        ends_at = spec.end.end(tz)
        if ends_at <= starts_at:
            raise UserError("campaigns.end_before_start", start=str(spec.start),
                            end=str(spec.end))
        if ends_at - starts_at > LONGEST:
            raise UserError("campaigns.too_long", days=LONGEST.days)
        now = self.clock.now()
        running = existing is not None and existing.state == "running"
        if running:
            if ends_at <= now:
                raise UserError("campaigns.end_in_past", value=str(spec.end), timezone=tz)
        elif (starts_at < now - PAST_SLACK if start_timed
              else local_date(starts_at, tz) < local_date(now, tz)):
            raise UserError("campaigns.start_in_past", value=str(spec.start), timezone=tz)
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
        return CampaignColumns(
            name=name, description=description, starts_at=to_db(starts_at),
            ends_at=to_db(ends_at), first_day=first_day.isoformat(),
            last_day=last_day.isoformat(), timezone=tz, audience=spec.audience,
            audience_ids=json.dumps(sorted(set(spec.audience_ids))), metric=spec.metric,
            target_creator=target_creator, target_family=target_family,
            reward_text=reward_text, reward_role_id=spec.reward_role_id,
            enrolment=spec.enrolment,
            reminders=",".join(r for r in REMINDERS if r in spec.reminders),
        )

    async def create(self, guild_id: int, actor_id: int, spec: Spec) -> Campaign:
        columns = await self.check(guild_id, spec)
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            new_id = await tx.execute(INSERT_CAMPAIGN, {
                **asdict(columns), "guild_id": guild_id, "created_by": actor_id,
                "created_at": now, "updated_at": now})
            await _follow_sources(tx, guild_id, columns)
            await self.audit.record(tx, guild_id, actor_id, "campaign.created", str(new_id),
                                    name=columns.name)
        return await self.get(guild_id, new_id)

    # Fields a running campaign may still change (its rules are fixed once people compete).
    RUNNING_EDITABLE = ("description", "reward_text", "ends_at", "last_day", "reward_role_id")

    async def prepare_edit(self, found: Campaign, changes: dict[str, Any],
                           clear: tuple[str, ...] = ()) -> Edit:
        """The campaign and what it becomes with ``changes`` (Spec fields; None
        leaves a field as it is) and the ``clear`` fields emptied — checked as :meth:`update`
        will check it, so a refusal comes before the form opens.

        ``audience`` and ``audience_ids`` go together: a new audience without ids keeps the
        current ids only if it is the same kind (every family needs none)."""
        self._editable(found)
        changes = dict(changes)
        for name in clear:
            if name not in CLEARABLE:  # a raw API call can send any text for the choice
                raise UserError("common.bad_option", value=name)
            if changes.get(name) is not None:
                raise UserError("campaigns.set_and_clear", field=CLEARABLE[name])
        audience = changes.pop("audience", None) or found.audience
        ids = changes.pop("audience_ids", None)
        if ids is None:
            ids = found.audience_ids if audience == found.audience else []
        spec = replace(found.spec(), **{k: v for k, v in changes.items() if v is not None},
                       audience=audience, audience_ids=[] if audience == "all" else ids)
        cleared: dict[str, Any] = {name: None for name in clear}
        spec = replace(spec, **cleared)
        await self._refuse_locked(found, await self.check(found.guild_id, spec, existing=found))
        return Edit(found, spec)

    @staticmethod
    def _editable(found: Campaign) -> None:
        if found.state in ("finished", "cancelled"):
            raise UserError("campaigns.not_editable", state=found.state)

    async def _refuse_locked(self, found: Campaign, columns: CampaignColumns) -> None:
        """A running campaign keeps its rules: refuse any change outside RUNNING_EDITABLE."""
        if found.state != "running":
            return
        row = await self.db.fetchone(STORED, (found.id,))
        before = dict(row) if row else {}
        changed = {k for k, v in asdict(columns).items() if before.get(k) != v}
        locked = sorted(changed - set(self.RUNNING_EDITABLE))
        if locked:
            raise UserError("campaigns.locked_while_running", fields=locked)

    async def update(self, guild_id: int, actor_id: int, campaign_id: int, spec: Spec
                     ) -> Campaign:
        found = await self.get(guild_id, campaign_id)
        self._editable(found)
        columns = await self.check(guild_id, spec, existing=found)
        await self._refuse_locked(found, columns)
        async with self.db.transaction() as tx:
            changed_rows = await tx.execute(UPDATE_CAMPAIGN, {
                **asdict(columns), "updated_at": to_db(self.clock.now()), "id": found.id,
                "state": found.state})
            if not changed_rows:
                raise UserError("campaigns.changed_meanwhile")
            await _follow_sources(tx, guild_id, columns)
            await self.audit.record(tx, guild_id, actor_id, "campaign.edited", str(found.id))
        return await self.get(guild_id, campaign_id)

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
                    ) -> Enrolment:
        """The campaign, and whether the creator is newly enrolled (False: already in it)."""
        found = await self.get(guild_id, campaign_id)
        if found.state not in ("scheduled", "running"):
            raise UserError("campaigns.not_open", state=found.state)
        if found.ends_at <= self.clock.now():  # over, its results waiting to be final
            raise UserError("campaigns.ended")
        if not found.opt_in:
            raise UserError("campaigns.automatic")
        async with self.db.transaction() as tx:
            audience = await audience_of.creators(tx, guild_id, found.audience,
                                                  found.audience_ids)
            family_id = audience.get(user_id)
            if family_id is None:
                raise NotAllowed("campaigns.not_in_audience", name=found.name)
            await tx.execute(ENROL, (found.id, guild_id, user_id, family_id, via,
                                     to_db(self.clock.now())))
            added = await tx.fetchval("SELECT changes()")
        return Enrolment(found, bool(added))
