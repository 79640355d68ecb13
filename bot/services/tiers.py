"""Tiers: levels a creator reaches by monthly thresholds, each with an optional role.

A tier is reached when every threshold it sets is met (a tier without thresholds is reached
by everyone). The sweep gives each active member with progress data the highest tier reached;
members without data for the month keep their tier. Progress is the month's
``progress_totals`` the check-ins keep; the plan asks the database for a whole program at once.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from bot.clock import Clock, from_db, to_db
from bot.db import Database, Transaction
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotFound, UserError
from bot.localtime import local_date
from bot.services import audience as audience_of
from bot.services import bounds, population
from bot.services.audit import AuditLog
from bot.services.guilds import GuildService

THRESHOLDS = ("min_hours", "min_diamonds", "min_valid_days", "min_followers")
# the /tier define option that sets each threshold (named in a refusal)
OPTION_OF = {"min_hours": "hours", "min_diamonds": "diamonds", "min_valid_days": "valid-days",
             "min_followers": "followers"}


@dataclass(frozen=True)
class Progress:
    """A creator's totals for one month."""

    hours: float = 0
    diamonds: int = 0
    valid_days: int = 0
    followers: int = 0


ROLE_REASON = "Familia"  # the audit-log reason of a tier's role change

# A sweep's plan: each active member with the month's progress (members without any keep
# their tier), the tier they hold and the highest one whose every threshold they meet, only
# where the two differ. Read from the month's progress rows first (the program's creators),
# each looked up by key, all from indexes alone (0013). ``{reached}`` is the tier reached, a
# CASE written by :func:`reached_case` from the guild's tiers (a per-row subquery over the
# tiers costs more than the joins).
PLAN = """
    SELECT user_id, family_id, old_id, new_id FROM (
        SELECT p.user_id, fm.family_id, mt.tier_id AS old_id, {reached} AS new_id
        FROM progress_totals p INDEXED BY progress_month_tiers
        CROSS JOIN family_members fm INDEXED BY family_members_active_family
             ON fm.guild_id = p.guild_id AND fm.user_id = p.user_id AND fm.left_at IS NULL
        LEFT JOIN member_tiers mt INDEXED BY member_tiers_held
             ON mt.guild_id = fm.guild_id AND mt.user_id = fm.user_id
        WHERE p.guild_id = :guild_id AND p.period_kind = 'month' AND p.period = :period
        ORDER BY p.user_id
        LIMIT -1)  -- kept whole (not flattened): new_id is worked out once a row
    WHERE new_id IS NOT old_id"""
# The plan's first :shown changes and how many there are in all (a preview shows a page: the
# rest is counted in the database, not turned into objects).
PLAN_PAGE = (
    "SELECT user_id, family_id, old_id, new_id, count(*) OVER () AS total FROM (" + PLAN + ")"
    " ORDER BY user_id LIMIT :shown"
)
# A threshold's column in progress_totals (``p``).
PROGRESS_COLUMN = {"min_hours": "hours", "min_diamonds": "diamonds",
                   "min_valid_days": "valid_days", "min_followers": "followers"}


def reached_case(tiers: list[Tier]) -> tuple[str, dict[str, Any]]:
    """:meth:`Tier.reached` in SQL over a progress row ``p``: one WHEN per tier, highest rank
    first, each testing the thresholds the tier sets (a threshold left empty is met), THEN
    the tier's id. The text is made of the column whitelist above and parameter names; every
    threshold and id is a bound parameter."""
    whens, params = [], {}
    for n, tier in enumerate(sorted(tiers, key=lambda t: t.rank, reverse=True)):
        met = []
        for threshold, column in PROGRESS_COLUMN.items():
            minimum = getattr(tier, threshold)
            if minimum is not None:
                met.append(f"p.{column} >= :t{n}_{column}")
                params[f"t{n}_{column}"] = minimum
        whens.append(f"WHEN {' AND '.join(met) or '1'} THEN :t{n}_id")
        params[f"t{n}_id"] = tier.id
    return (f"CASE {' '.join(whens)} END" if whens else "NULL"), params


@dataclass(frozen=True)
class Tier:
    id: int
    name: str
    rank: int
    role_id: int | None
    min_hours: float | None
    min_diamonds: int | None
    min_valid_days: int | None
    min_followers: int | None

    def reached(self, p: Progress) -> bool:
        pairs = ((self.min_hours, p.hours), (self.min_diamonds, p.diamonds),
                 (self.min_valid_days, p.valid_days), (self.min_followers, p.followers))
        return all(value >= minimum for minimum, value in pairs if minimum is not None)


class TierChange(NamedTuple):
    """A member's tier before and after (a sweep of a whole program makes thousands: a
    light record)."""

    user_id: int
    family_id: int
    old: Tier | None
    new: Tier | None

    @property
    def promotion(self) -> bool:
        return self.new is not None and (self.old is None or self.new.rank > self.old.rank)


Announce = Callable[[list[TierChange]], Awaitable[list[Send]]]  # a sweep's posts, rendered


class TierService:
    def __init__(
        self, db: Database, clock: Clock, audit: AuditLog, guilds: GuildService,
        deliveries: DeliveryQueue | None = None, cutoff_hour: int = 12,
    ) -> None:
        self.guilds = guilds
        self.cutoff_hour = cutoff_hour  # the check-ins' edit cutoff: when a month is final
        self.deliveries = deliveries
        self.db = db
        self.clock = clock
        self.audit = audit

    async def list_tiers(self, guild_id: int) -> list[Tier]:
        rows = await self.db.fetchall(
            "SELECT id, name, rank, role_id, min_hours, min_diamonds, min_valid_days,"
            " min_followers FROM tiers WHERE guild_id = ? ORDER BY rank", (guild_id,),
        )
        return [Tier(**dict(r)) for r in rows]

    async def get(self, guild_id: int, name: str) -> Tier:
        for tier in await self.list_tiers(guild_id):
            if tier.name.lower() == name.strip().lower():
                return tier
        raise NotFound("families.unknown_tier", value=name)

    async def define(
        self, guild_id: int, actor_id: int, name: str, rank: int, role_id: int | None = None,
        **thresholds: float | int | None,
    ) -> Tier:
        """Create a tier, or change the one with this name."""
        cleaned = bounds.clean_name(name, bounds.TIER_NAME_MAX)
        if cleaned is None:
            raise UserError("families.bad_tier_name", limit=bounds.TIER_NAME_MAX)
        name = cleaned
        if not 1 <= rank <= bounds.TIER_RANK_MAX:
            raise UserError("families.bad_rank", limit=bounds.TIER_RANK_MAX)
        if any(v is not None and v < 0 for v in thresholds.values()):
            raise UserError("families.bad_threshold")
        for key, value in thresholds.items():
            bounds.check_number(value, OPTION_OF[key], 0, bounds.TIER_MAXIMA[key])
        values = [thresholds.get(k) for k in THRESHOLDS]
        async with self.db.transaction() as tx:
            await self.guilds.ensure(tx, guild_id)
            existing = await tx.fetchval(
                "SELECT id FROM tiers WHERE guild_id = ? AND lower(name) = lower(?)",
                (guild_id, name),
            )
            clash = await tx.fetchval(
                "SELECT name FROM tiers WHERE guild_id = ? AND rank = ? AND id IS NOT ?",
                (guild_id, rank, existing),
            )
            if clash:
                raise UserError("families.rank_taken", rank=rank, name=clash)
            if existing:
                await tx.execute(
                    "UPDATE tiers SET name = ?, rank = ?, role_id = ?, min_hours = ?,"
                    " min_diamonds = ?, min_valid_days = ?, min_followers = ? WHERE id = ?",
                    (name, rank, role_id, *values, existing),
                )
            else:
                await tx.execute(
                    "INSERT INTO tiers (guild_id, name, rank, role_id, min_hours, min_diamonds,"
                    " min_valid_days, min_followers, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (guild_id, name, rank, role_id, *values, to_db(self.clock.now())),
                )
            await self.audit.record(
                tx, guild_id, actor_id, "tier.define", name, rank=rank, role=role_id,
                **thresholds,
            )
        return await self.get(guild_id, name)

    async def delete(self, guild_id: int, actor_id: int, tier: Tier) -> Tier:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM tiers WHERE id = ?", (tier.id,))
            await self.audit.record(tx, guild_id, actor_id, "tier.delete", tier.name)
        return tier

    async def tier_of(self, guild_id: int, user_id: int) -> Tier | None:
        tier_id = await self.db.fetchval(
            "SELECT tier_id FROM member_tiers WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return next((t for t in await self.list_tiers(guild_id) if t.id == tier_id), None)

    async def set_manual(
        self, guild_id: int, actor_id: int, user_id: int, new: Tier | None, period: str
    ) -> TierChange:
        """Give a creator ``new`` (None: no tier) by hand."""
        family_id = await self.db.fetchval(
            "SELECT family_id FROM family_members WHERE guild_id = ? AND user_id = ?"
            " AND left_at IS NULL", (guild_id, user_id),
        )
        if family_id is None:
            raise UserError("families.not_a_member")
        change = TierChange(user_id, family_id, await self.tier_of(guild_id, user_id), new)
        async with self.db.transaction() as tx:
            await self._write(tx, guild_id, change, period, "manual")
            await self.audit.record(tx, guild_id, actor_id, "tier.set", str(user_id),
                                    tier=new.name if new else None, period=period)
        self._queued()
        return change

    async def plan(self, guild_id: int, period: str) -> list[TierChange]:
        """What a sweep of ``period`` would change, by user id: every active member with
        progress data for the month whose highest tier reached (:meth:`Tier.reached`, asked
        of the database in PLAN for a whole program at once) is not the one they hold."""
        tiers = await self.list_tiers(guild_id)
        reached, params = reached_case(tiers)
        return self._changes(tiers, await self.db.fetchall(
            PLAN.format(reached=reached), {**params, "guild_id": guild_id, "period": period}))

    async def plan_page(self, guild_id: int, period: str, shown: int
                        ) -> tuple[list[TierChange], int]:
        """The first ``shown`` changes of :meth:`plan` and the number of all of them."""
        tiers = await self.list_tiers(guild_id)
        reached, params = reached_case(tiers)
        rows = await self.db.fetchall(PLAN_PAGE.format(reached=reached), {
            **params, "guild_id": guild_id, "period": period, "shown": shown})
        return self._changes(tiers, rows), rows[0]["total"] if rows else 0

    async def family_channels(self, guild_id: int) -> dict[int, int | None]:
        """Each active family's channel (None: it has none), where a sweep's promotions are
        posted."""
        rows = await audience_of.family_channels(self.db, guild_id, None)
        return {r["id"]: r["channel_id"] for r in rows}

    @staticmethod
    def _changes(tiers: list[Tier], rows: list[Any]) -> list[TierChange]:
        by_id = {t.id: t for t in tiers}.get
        return [TierChange(user_id, family_id, by_id(old_id), by_id(new_id))
                for user_id, family_id, old_id, new_id, *_ in rows]

    async def sweep(self, guild_id: int, actor_id: int | None, period: str,
                    announce: Announce | None = None) -> list[TierChange]:
        """Apply the plan; running it again changes nothing. Each member's role diff (and
        the posts ``announce`` writes for the changes, if given) is queued for the Discord
        sender in the same transaction: durable and paced. Only a final month is applied:
        once the last check-in window of its last day has closed for every creator
        (:func:`bot.services.population.final_at`); a preview (:meth:`plan`) any time."""
        final = await self.final_at(guild_id, period)
        if self.clock.now() < final:
            raise UserError("families.month_not_final", period=period, at=final)
        changes = await self.plan(guild_id, period)
        posts = await announce(changes) if announce is not None and changes else []
        async with self.db.transaction() as tx:
            for change in changes:
                await self._write(tx, guild_id, change, period, "sweep")
            if posts and self.deliveries is not None:
                await self.deliveries.add(tx, guild_id, posts)
            await self.audit.record(tx, guild_id, actor_id, "tier.sweep", period,
                                    changes=len(changes))
        self._queued()
        return changes

    async def final_at(self, guild_id: int, period: str) -> datetime:
        """When the month ``period`` (YYYY-MM) is final."""
        first = date.fromisoformat(period + "-01")
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return await population.final_at(self.db, guild_id, last, self.cutoff_hour,
                                         self.guilds.default_timezone)

    async def moves(self, guild_id: int, since: datetime, *, user_id: int | None = None,
                    family_id: int | None = None) -> list[TierMove]:
        """Promotions and demotions since ``since`` (:func:`recent_moves`)."""
        return await recent_moves(self.db, guild_id, since, user_id=user_id,
                                  family_id=family_id)

    def _queued(self) -> None:
        if self.deliveries is not None:
            self.deliveries.notify()

    async def _role_diff(self, tx: Transaction, guild_id: int, change_id: int,
                         change: TierChange) -> None:
        """The member's Discord roles follow: the old tier's role off, the new one's on."""
        if self.deliveries is None:
            return
        old = change.old.role_id if change.old else None
        new = change.new.role_id if change.new else None
        source = f"tier-change:{change_id}"
        sends = []
        if old and old != new:
            sends.append(Send("tier_role", f"{source}:remove", "role_remove", change.user_id,
                              {"reason": ROLE_REASON}, source=source, role_id=old))
        if new and new != old:
            sends.append(Send("tier_role", f"{source}:add", "role_add", change.user_id,
                              {"reason": ROLE_REASON}, source=source, role_id=new))
        if sends:
            await self.deliveries.add(tx, guild_id, sends)

    async def _write(
        self, tx: Transaction, guild_id: int, change: TierChange, period: str, source: str
    ) -> None:
        now = to_db(self.clock.now())
        new_id = change.new.id if change.new else None
        await tx.execute(
            "INSERT INTO member_tiers (guild_id, user_id, tier_id, since, source)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
            " tier_id = excluded.tier_id, since = excluded.since, source = excluded.source",
            (guild_id, change.user_id, new_id, now, source),
        )
        change_id = await tx.execute(
            "INSERT INTO tier_changes (guild_id, user_id, old_tier_id, new_tier_id, period,"
            " source, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (guild_id, change.user_id, change.old.id if change.old else None, new_id, period,
             source, now),
        )
        await self._role_diff(tx, guild_id, change_id, change)


# -- the scheduled monthly sweep -------------------------------------------------------------
# On the 1st of each month (the program's zone), once the month that ended is final, its sweep
# is previewed in the managers' channel (a ``tier_sweeps`` row, claimed with the post in one
# transaction); managers change single creators (``tier_sweep_overrides``), hold it, or
# approve it: the approval applies it in the transaction that moves the row to ``applied``
# (never twice), queueing the role changes and announcements in the durable, paced delivery
# queue, and records each creator's old and new tier with the month's figures
# (``tier_sweep_results``).

SWEEP_STATES = ("preview", "held", "applied")
MONTH_FIGURES = (
    "SELECT user_id, hours, diamonds, valid_days, followers FROM progress_totals"
    " WHERE guild_id = ? AND period_kind = 'month' AND period = ?"
)


@dataclass(frozen=True)
class ScheduledSweep:
    id: int
    guild_id: int
    period: str
    state: str
    decided_by: int | None
    overrides: dict[int, int | None]  # creator → tier id (None: no tier)


Preview = Callable[[ScheduledSweep, list[TierChange], int], Awaitable[Send | None]]


class SweepDecided(UserError):
    """The sweep was approved already (a second click, another manager)."""


async def _scheduled(conn: Any, guild_id: int, sweep_id: int) -> ScheduledSweep:
    row = await conn.fetchone(
        "SELECT id, guild_id, period, state, decided_by FROM tier_sweeps"
        " WHERE guild_id = ? AND id = ?", (guild_id, sweep_id))
    if row is None:
        raise NotFound("insights.unknown_sweep", value=sweep_id)
    overrides = {r["user_id"]: r["tier_id"] for r in await conn.fetchall(
        "SELECT user_id, tier_id FROM tier_sweep_overrides WHERE sweep_id = ?", (sweep_id,))}
    return ScheduledSweep(row["id"], row["guild_id"], row["period"], row["state"],
                          row["decided_by"], overrides)


class ScheduledSweeps:
    """The monthly sweep's preview → approve / change / hold (see above)."""

    def __init__(self, tiers: TierService) -> None:
        self.tiers = tiers
        self.db = tiers.db
        self.clock = tiers.clock

    async def due(self, guild_id: int) -> str | None:
        """The month (``YYYY-MM``) whose sweep is due for a preview: the last month in the
        guild's zone, once it is final, if the guild has tiers and the month was neither
        previewed nor swept by hand (``/tier sweep apply``) yet."""
        tz = (await self.tiers.guilds.get(guild_id)).timezone
        today = local_date(self.clock.now(), tz)
        period = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        if await self.db.fetchval("SELECT 1 FROM tier_sweeps WHERE guild_id = ? AND period = ?",
                                  (guild_id, period)):
            return None
        if await self.db.fetchval(  # applied by hand already (/tier sweep apply)
                "SELECT 1 FROM audit_log WHERE guild_id = ? AND action = 'tier.sweep'"
                " AND target = ?", (guild_id, period)):
            return None
        if not await self.tiers.list_tiers(guild_id):
            return None
        if self.clock.now() < await self.tiers.final_at(guild_id, period):
            return None
        return period

    async def open(self, guild_id: int, period: str, preview: Preview, shown: int
                   ) -> ScheduledSweep | None:
        """Record the sweep of ``period`` and queue its preview post (``preview`` renders
        it: None when there is nowhere to post) in one transaction; None if it exists."""
        changes, total = await self.tiers.plan_page(guild_id, period, shown)
        async with self.db.transaction() as tx:
            sweep_id = await tx.fetchval(
                "INSERT INTO tier_sweeps (guild_id, period, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id, period) DO NOTHING RETURNING id",
                (guild_id, period, to_db(self.clock.now())))
            if sweep_id is None:
                return None
            sweep = ScheduledSweep(sweep_id, guild_id, period, "preview", None, {})
            post = await preview(sweep, changes, total)
            if post is not None and self.tiers.deliveries is not None:
                await self.tiers.deliveries.add(tx, guild_id, [post])
            await self.tiers.audit.record(tx, guild_id, None, "tier.sweep_preview", period,
                                          changes=total)
        self.tiers._queued()
        return sweep

    async def get(self, guild_id: int, sweep_id: int) -> ScheduledSweep:
        return await _scheduled(self.db, guild_id, sweep_id)

    async def latest(self, guild_id: int) -> ScheduledSweep | None:
        sweep_id = await self.db.fetchval(
            "SELECT max(id) FROM tier_sweeps WHERE guild_id = ?", (guild_id,))
        return None if sweep_id is None else await self.get(guild_id, sweep_id)

    async def override(self, guild_id: int, sweep_id: int, actor_id: int, user_id: int,
                       tier: Tier | None) -> ScheduledSweep:
        """Give one creator ``tier`` (None: no tier) when the sweep is applied."""
        async with self.db.transaction() as tx:
            sweep = await _scheduled(tx, guild_id, sweep_id)
            if sweep.state == "applied":
                raise SweepDecided("insights.sweep_decided", period=sweep.period)
            member = await tx.fetchval(
                "SELECT 1 FROM family_members WHERE guild_id = ? AND user_id = ?"
                " AND left_at IS NULL", (guild_id, user_id))
            if not member:
                raise UserError("families.not_a_member")
            await tx.execute(
                "INSERT INTO tier_sweep_overrides (sweep_id, guild_id, user_id, tier_id, set_by,"
                " set_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sweep_id, user_id) DO UPDATE"
                " SET tier_id = excluded.tier_id, set_by = excluded.set_by,"
                " set_at = excluded.set_at",
                (sweep_id, guild_id, user_id, tier.id if tier else None, actor_id,
                 to_db(self.clock.now())))
            await self.tiers.audit.record(tx, guild_id, actor_id, "tier.sweep_override",
                                          str(user_id), period=sweep.period,
                                          tier=tier.name if tier else None)
        return await self.get(guild_id, sweep_id)

    async def hold(self, guild_id: int, sweep_id: int, actor_id: int) -> ScheduledSweep:
        async with self.db.transaction() as tx:
            sweep = await _scheduled(tx, guild_id, sweep_id)
            if sweep.state == "applied":
                raise SweepDecided("insights.sweep_decided", period=sweep.period)
            await tx.execute(
                "UPDATE tier_sweeps SET state = 'held', decided_by = ?, decided_at = ?"
                " WHERE id = ? AND state != 'applied'",
                (actor_id, to_db(self.clock.now()), sweep_id))
            await self.tiers.audit.record(tx, guild_id, actor_id, "tier.sweep_hold",
                                          sweep.period)
        return await self.get(guild_id, sweep_id)

    async def changes(self, guild_id: int, sweep: ScheduledSweep) -> list[TierChange]:
        """What approving the sweep would change: the plan, with the overrides."""
        tiers = await self.tiers.list_tiers(guild_id)
        by_id = {t.id: t for t in tiers}
        found = {c.user_id: c for c in await self.tiers.plan(guild_id, sweep.period)}
        if sweep.overrides:
            held = {r["user_id"]: (r["family_id"], r["tier_id"]) for r in await self.db.fetchall(
                "SELECT fm.user_id, fm.family_id, mt.tier_id FROM family_members fm"
                " LEFT JOIN member_tiers mt ON mt.guild_id = fm.guild_id"
                " AND mt.user_id = fm.user_id WHERE fm.guild_id = ? AND fm.left_at IS NULL"
                " AND fm.user_id IN (SELECT value FROM json_each(?))",
                (guild_id, json.dumps(sorted(sweep.overrides))))}
            for user_id, tier_id in sweep.overrides.items():
                if user_id not in held:
                    found.pop(user_id, None)  # left the program since
                    continue
                family_id, old_id = held[user_id]
                if tier_id == old_id:
                    found.pop(user_id, None)
                else:
                    found[user_id] = TierChange(user_id, family_id, by_id.get(old_id),
                                                by_id.get(tier_id) if tier_id else None)
        return [found[u] for u in sorted(found)]

    async def approve(self, guild_id: int, sweep_id: int, actor_id: int,
                      announce: Announce | None = None) -> tuple[ScheduledSweep, list[TierChange]]:
        """Apply the sweep once: the state moves to ``applied`` in the transaction that
        writes every change, its role diffs and posts, and each creator's result; a second
        approval is refused (:class:`SweepDecided`)."""
        sweep = await self.get(guild_id, sweep_id)
        if sweep.state == "applied":
            raise SweepDecided("insights.sweep_decided", period=sweep.period)
        changes = await self.changes(guild_id, sweep)
        posts = await announce(changes) if announce is not None and changes else []
        figures = {r["user_id"]: r for r in await self.db.fetchall(
            MONTH_FIGURES, (guild_id, sweep.period))}
        async with self.db.transaction() as tx:
            moved = await tx.execute(
                "UPDATE tier_sweeps SET state = 'applied', decided_by = ?, decided_at = ?"
                " WHERE id = ? AND guild_id = ? AND state != 'applied'",
                (actor_id, to_db(self.clock.now()), sweep_id, guild_id))
            if not moved:
                raise SweepDecided("insights.sweep_decided", period=sweep.period)
            for change in changes:
                await self.tiers._write(tx, guild_id, change, sweep.period, "sweep")
                f = figures.get(change.user_id)
                await tx.execute(
                    "INSERT INTO tier_sweep_results (sweep_id, guild_id, period, user_id,"
                    " family_id, old_tier_id, new_tier_id, overridden, hours, diamonds,"
                    " valid_days, followers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sweep_id, guild_id, sweep.period, change.user_id, change.family_id,
                     change.old.id if change.old else None,
                     change.new.id if change.new else None,
                     int(change.user_id in sweep.overrides),
                     f["hours"] if f else 0, f["diamonds"] if f else 0,
                     f["valid_days"] if f else 0, f["followers"] if f else 0))
            if posts and self.tiers.deliveries is not None:
                await self.tiers.deliveries.add(tx, guild_id, posts)
            await self.tiers.audit.record(tx, guild_id, actor_id, "tier.sweep", sweep.period,
                                          changes=len(changes), scheduled=sweep_id)
        self.tiers._queued()
        return await self.get(guild_id, sweep_id), changes


@dataclass(frozen=True)
class TierMove:
    """A creator's tier change: promotion or demotion, with the month it came from."""

    user_id: int
    old: str | None
    new: str | None
    period: str | None
    changed_at: datetime
    promotion: bool


async def recent_moves(db: Database, guild_id: int, since: datetime, *,
                       user_id: int | None = None, family_id: int | None = None
                       ) -> list[TierMove]:
    """Tier changes of a creator or of a family's current members since ``since`` (newest
    first): what ``/progress`` and the leader digest show."""
    rows = await db.fetchall(
        "SELECT c.user_id, o.name AS old, o.rank AS old_rank, n.name AS new,"
        " n.rank AS new_rank, c.period, c.changed_at FROM tier_changes c"
        " LEFT JOIN tiers o ON o.id = c.old_tier_id LEFT JOIN tiers n ON n.id = c.new_tier_id"
        " WHERE c.guild_id = ? AND c.changed_at >= ? AND (? IS NULL OR c.user_id = ?)"
        " AND (? IS NULL OR c.user_id IN (SELECT user_id FROM family_members"
        " WHERE family_id = ? AND left_at IS NULL)) ORDER BY c.changed_at DESC, c.id DESC",
        (guild_id, to_db(since), user_id, user_id, family_id, family_id))
    return [TierMove(r["user_id"], r["old"], r["new"], r["period"], from_db(r["changed_at"]),
                     r["new"] is not None and (r["old"] is None
                                               or (r["new_rank"] or 0) > (r["old_rank"] or 0)))
            for r in rows]
