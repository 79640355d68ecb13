"""Who is counted: the one definition of the measured population, used by every figure.

The rule (README, *Figures*):

- **Creators.** A creator of a family on a day is someone whose membership of that family was
  active that day and who is not its leader or co-leader. Every creator counts, on every day
  of their membership.
- **Leaders and co-leaders** count as the server's setting ``leaders_count`` says
  (``/settings figures``): ``streaming`` (the default) — on the days they stream, that is the
  days they have a check-in; ``always`` — like any creator; ``never`` — not at all (their
  check-ins are left out of family totals too). Who leads is who leads now.
- **Joins and leaves** count creators' memberships: a membership that began with an
  appointment as leader or co-leader (``family_members.started_as = 'leader'``) is neither a
  join nor a leave.
- **Final figures.** A creator may enter or change yesterday's check-in until the edit cutoff
  hour of the next morning, in their own zone (the check-in service's ``cutoff_hour``). So a
  figure over days ending with ``last`` is final only once that window has closed for every
  creator in scope: :func:`final_at`, the latest zone's cutoff.

Every function takes a connection (the database or an open transaction).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.localtime import at_local

MANY_ROWS = 2000  # rows worked through in a worker thread rather than on the loop

Connection = Database | Transaction
V = TypeVar("V")

LEADERS_RULES = ("streaming", "always", "never")
DEFAULT_RULE = "streaming"

RULE = "SELECT leaders_count FROM guilds WHERE guild_id = ?"
SET_RULE = "UPDATE guilds SET leaders_count = ?, updated_at = ? WHERE guild_id = ?"
# Leaders and co-leaders of the active families: (user, family).
LEADERS = (
    "SELECT leader_user_id AS user_id, id AS family_id FROM families WHERE guild_id = ?"
    " AND archived_at IS NULL AND leader_user_id IS NOT NULL"
    " UNION ALL SELECT co_leader_user_id, id FROM families WHERE guild_id = ?"
    " AND archived_at IS NULL AND co_leader_user_id IS NOT NULL"
)
# How many days some people streamed over local days first..last (people: one JSON array): a
# day with a check-in or with imported platform hours (bot/services/platform_stats.py).
STREAMED_DAYS = (
    "SELECT user_id, count(*) AS days FROM ("
    " SELECT user_id, local_date AS day FROM checkins WHERE guild_id = :g"
    " AND local_date BETWEEN :first AND :last AND user_id IN (SELECT value FROM json_each(:ids))"
    " UNION SELECT user_id, period FROM platform_stats WHERE guild_id = :g AND period_kind = 'day'"
    " AND period BETWEEN :first AND :last AND user_id IN (SELECT value FROM json_each(:ids))"
    " AND coalesce(hours, 0) > 0)"
    " GROUP BY user_id"
)
# The same people who streamed at least once (index probes each: the cheaper question).
STREAMED_AT_ALL = (
    "SELECT j.value AS user_id, 1 AS days FROM json_each(:ids) j WHERE EXISTS (SELECT 1"
    " FROM checkins c WHERE c.guild_id = :g AND c.user_id = j.value"
    " AND c.local_date BETWEEN :first AND :last) OR EXISTS (SELECT 1 FROM platform_stats p"
    " WHERE p.guild_id = :g AND p.user_id = j.value AND p.period_kind = 'day'"
    " AND p.period BETWEEN :first AND :last AND coalesce(p.hours, 0) > 0)"
)
# The zones of the creators in a guild's families now (each creator's own, else the guild's).
ZONES = (
    "SELECT DISTINCT coalesce(m.timezone, g.timezone) AS tz FROM family_members fm"
    " JOIN guilds g ON g.guild_id = fm.guild_id"
    " LEFT JOIN members m ON m.guild_id = fm.guild_id AND m.user_id = fm.user_id"
    " WHERE fm.guild_id = ? AND fm.left_at IS NULL"
)
GUILD_ZONE = "SELECT timezone FROM guilds WHERE guild_id = ?"


async def rule_of(conn: Connection, guild_id: int) -> str:
    """The guild's ``leaders_count`` setting (``streaming`` until a manager changes it)."""
    found = await conn.fetchval(RULE, (guild_id,))
    return found if found in LEADERS_RULES else DEFAULT_RULE


async def leaders_of(conn: Connection, guild_id: int) -> dict[int, int]:
    """Leader or co-leader → the family they lead (active families)."""
    rows = await conn.fetchall(LEADERS, (guild_id, guild_id))
    return {r["user_id"]: r["family_id"] for r in rows}


def _ids(users: Iterable[int]) -> str:
    return "[" + ",".join(str(int(u)) for u in users) + "]"


@dataclass(frozen=True)
class Population:
    """Who counts in a guild over the local days ``first..last`` (see the module's rule)."""

    rule: str
    leaders: dict[int, int]  # leader → family
    # how many days a leader checked in during the period (with ``days``; else 1: at all)
    streamed: dict[int, int]
    days: bool = True

    def counts(self, user_id: int) -> bool:
        """Does this person count in the period's figures (on at least one day)?"""
        if user_id not in self.leaders:
            return True
        if self.rule == "always":
            return True
        return self.rule == "streaming" and bool(self.streamed.get(user_id))

    def keep(self, people: Mapping[int, V]) -> dict[int, V]:
        """The people who count, of a mapping keyed by user id."""
        return {u: v for u, v in people.items() if self.counts(u)}

    def leader_days(self, user_id: int, days: int) -> int:
        """Of ``days`` possible days in a membership, how many a leader counts on (a creator:
        all of them)."""
        if user_id not in self.leaders or self.rule == "always":
            return days
        if self.rule == "never":
            return 0
        if not self.days:
            raise ValueError("a population read without days counts no leader's days")
        return self.streamed.get(user_id, 0)

    def uncounted(self) -> str:
        """The leaders who do not count in the period, as one JSON array parameter."""
        return _ids(u for u in self.leaders if not self.counts(u))

    def left_out_values(self) -> str:
        """Whose check-ins are left out of totals (leaders under ``never``), as one JSON
        array parameter."""
        return _ids(u for u in self.leaders if not self.counts_values(u))

    def counts_values(self, user_id: int) -> bool:
        """Are this person's check-ins part of totals? (Everyone's, but a leader's under
        ``never``; a leader who counts on the days they stream adds exactly those days.)"""
        return user_id not in self.leaders or self.rule != "never"


async def population(conn: Connection, guild_id: int, first: date, last: date, *,
                     days: bool = False) -> Population:
    """Who counts over the local days ``first..last``; with ``days``, also how many days
    each leader counts on (:meth:`Population.leader_days`, for check-in rates)."""
    rule = await rule_of(conn, guild_id)
    leaders = await leaders_of(conn, guild_id)
    streamed: dict[int, int] = {}
    if leaders and rule == "streaming":
        params = {"g": guild_id, "first": first.isoformat(), "last": last.isoformat(),
                  "ids": _ids(leaders)}
        rows = await conn.fetchall(STREAMED_DAYS if days else STREAMED_AT_ALL, params)
        streamed = {r["user_id"]: r["days"] for r in rows}
    return Population(rule, leaders, streamed, days)


# Memberships overlapping a period (guild, family or NULL for the program, the same, the
# instant after the period, its first instant).
SPANS = (
    "SELECT user_id, joined_at, left_at FROM family_members WHERE guild_id = ?"
    " AND (? IS NULL OR family_id = ?) AND joined_at < ? AND (left_at IS NULL OR left_at >= ?)"
)
SPANS_BY_FAMILY = (
    "SELECT family_id, user_id, joined_at, left_at FROM family_members WHERE guild_id = ?"
    " AND joined_at < ? AND (left_at IS NULL OR left_at >= ?)"
)


async def membership_days(conn: Connection, guild_id: int, family_id: int | None,
                          first: date, last: date) -> dict[int, int]:
    """Each person's days of membership in a family (None: any family of the program) over
    ``first..last`` (a day in two families, a transfer's, is one day)."""
    after = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)
    begins = datetime.combine(first, time(0), tzinfo=UTC)
    rows = await conn.fetchall(SPANS, (guild_id, family_id, family_id, to_db(after),
                                       to_db(begins)))
    if len(rows) > MANY_ROWS:  # a whole program's memberships: off the event loop
        return await asyncio.to_thread(_days_by_person, rows, first, last)
    return _days_by_person(rows, first, last)


def _days_by_person(rows: Iterable[Mapping], first: date, last: date) -> dict[int, int]:
    spans: dict[int, list[tuple[date, date]]] = {}
    for r in rows:
        start = max(first, from_db(r["joined_at"]).date())
        end = last if r["left_at"] is None else min(
            last, (from_db(r["left_at"]) - timedelta(microseconds=1)).date())
        mine = spans.setdefault(r["user_id"], [])
        if end >= start:
            mine.append((start, end))
    found = {}
    for user, mine in spans.items():
        if len(mine) <= 1:  # most people: one membership, its days counted without a set
            found[user] = (mine[0][1] - mine[0][0]).days + 1 if mine else 0
        else:  # a transfer, or left and came back: a day in two memberships is one day
            found[user] = len({start + timedelta(days=i) for start, end in mine
                               for i in range((end - start).days + 1)})
    return found


def possible_of(days: Mapping[int, int], counted: Population) -> int:
    """The check-in days possible for people with ``days`` of membership each: a creator's
    days, a leader's as the rule says (:meth:`Population.leader_days`)."""
    return sum(counted.leader_days(u, n) if u in counted.leaders else n
               for u, n in days.items())


async def possible_days(conn: Connection, guild_id: int, family_id: int | None, first: date,
                        last: date, counted: Population) -> int:
    """The check-in days possible in a family (None: the program) over ``first..last``:
    each creator's days of membership in the period, and each leader's days as the rule
    says (by default the days they streamed) — the denominator of every check-in rate."""
    return possible_of(await membership_days(conn, guild_id, family_id, first, last), counted)


async def possible_days_by_family(conn: Connection, guild_id: int, first: date, last: date,
                                  counted: Population) -> dict[int, int]:
    """:func:`possible_days` of every family at once (the scorecard)."""
    after = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)
    begins = datetime.combine(first, time(0), tzinfo=UTC)
    rows = await conn.fetchall(SPANS_BY_FAMILY, (guild_id, to_db(after), to_db(begins)))

    def by_family() -> dict[int, int]:  # a whole program's days: off the event loop
        spans: dict[int, list[Mapping]] = {}
        for r in rows:
            spans.setdefault(r["family_id"], []).append(r)
        return {family: possible_of(_days_by_person(found, first, last), counted)
                for family, found in spans.items()}

    return await asyncio.to_thread(by_family)


def days_of(start: datetime, end: datetime) -> tuple[date, date]:
    """The (UTC) calendar days an instant period ``start <= t < end`` covers."""
    return start.date(), (end - timedelta(microseconds=1)).date()


# -- final figures -------------------------------------------------------------------------

def window_closes(day: date, zone: str, cutoff_hour: int) -> datetime:
    """When a creator in ``zone`` can no longer enter or change ``day``'s check-in: the
    cutoff hour of the next local morning (UTC)."""
    return at_local(day + timedelta(days=1), time(cutoff_hour), zone)


async def final_at(conn: Connection, guild_id: int, last: date, cutoff_hour: int,
                   default_zone: str = "UTC") -> datetime:
    """When every figure over days ending with ``last`` becomes final: the latest edit window
    of the creators in the guild's families (and of the guild's own zone) has closed."""
    zones = {r["tz"] for r in await conn.fetchall(ZONES, (guild_id,)) if r["tz"]}
    guild_zone = await conn.fetchval(GUILD_ZONE, (guild_id,))
    zones.add(guild_zone or default_zone)
    return max(window_closes(last, z, cutoff_hour) for z in zones)
