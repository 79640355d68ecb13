"""The family service-quality scorecard: every family side by side over a period, with a
composite score 0–100, ranks and the change against the period before.

Every figure comes from the services the other reports use, read for every family at once:
members, joins, leaves, attrition and median tenure (:meth:`KpiService.stats_by_family`, the
figures of ``/family stats``), feedback rate and median time to first feedback
(:meth:`KpiService.quality_by_family`), the check-in rate (check-in days of the people
counted ÷ :func:`population.possible_days_by_family`, as the digests), hours and diamonds per
member (:meth:`LeaderboardService.family_board`, the family board), campaign participation and
completion (``campaign_results`` of the campaigns that ended in the period, as
``/campaign results``) and the open risk flags.

**How the score is made** (README, *Insights*): each component is a share 0–1 —
check-in rate; feedback rate; feedback speed (1 for a median first feedback within an hour,
0 at a day or more, linear between); retention (1 − attrition, at least 0); growth (0.5 + the
change of members ÷ members at the start, within 0–1); campaigns (the mean of participation
and completion) — and the score is 100 × Σ weight × component ÷ Σ weight, over the components
the family has figures for (no check-in: no feedback components; no campaign ended: no
campaign component). The weights are guild settings (:mod:`bot.services.risk_settings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.clock import Clock, to_db
from bot.db import Database
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import UserError
from bot.localtime import day_start, iso_week, local_date, month
from bot.services import population
from bot.services.guilds import GuildService
from bot.services.kpis import FamilyStats, KpiService, Quality
from bot.services.leaderboards import LeaderboardService, Period
from bot.services.risk_settings import WEIGHTS, InsightSettings

PERIODS = ("last_month", "this_month", "last_week", "this_week")
COMPONENTS = ("checkin_rate", "feedback_rate", "feedback_speed", "retention", "growth",
              "campaigns")
FAST_MINUTES, SLOW_MINUTES = 60.0, 24 * 60.0

FAMILIES = "SELECT id, name FROM families WHERE guild_id = ? AND archived_at IS NULL"
CHECKIN_DAYS = (
    "SELECT family_id, user_id, count(*) AS days FROM checkins WHERE guild_id = ?"
    " AND family_id IS NOT NULL AND local_date BETWEEN ? AND ? GROUP BY family_id, user_id"
)
CAMPAIGNS = (
    "SELECT r.family_id, count(*) AS audience, sum(r.participant) AS participants,"
    " sum(r.participant AND r.reached) AS reached FROM campaign_results r"
    " JOIN campaigns c ON c.id = r.campaign_id WHERE c.guild_id = ?"
    " AND c.last_day BETWEEN ? AND ? AND r.family_id IS NOT NULL GROUP BY r.family_id"
)
OPEN_FLAGS = (
    "SELECT family_id, count(*) AS n FROM risk_flags WHERE guild_id = ?"
    " AND state IN ('open', 'acknowledged') AND cleared_at IS NULL AND family_id IS NOT NULL"
    " GROUP BY family_id"
)


@dataclass(frozen=True)
class Span:
    """A period: its name, key (``2026-05``, ``2026-W21``), local days and instants."""

    kind: str
    key: str
    first: date
    last: date
    start: datetime
    end: datetime


@dataclass
class Card:
    family_id: int
    name: str
    stats: FamilyStats
    quality: Quality
    checkin_rate: float | None
    hours_avg: float
    diamonds_avg: float
    participation: float | None
    completion: float | None
    open_flags: int
    components: dict[str, float] = field(default_factory=dict)
    score: int = 0
    rank: int = 0
    # the period before: its score, rank and averages (None: the family had no card then)
    prev_score: int | None = None
    prev_rank: int | None = None
    prev_hours_avg: float | None = None
    prev_diamonds_avg: float | None = None

    @property
    def growth(self) -> float | None:
        s = self.stats
        return (s.members - s.members_start) / s.members_start if s.members_start else None

    @property
    def score_change(self) -> int | None:
        return None if self.prev_score is None else self.score - self.prev_score

    @property
    def rank_change(self) -> int | None:
        return None if self.prev_rank is None else self.prev_rank - self.rank


@dataclass(frozen=True)
class Scorecard:
    span: Span
    previous: Span
    cards: list[Card]  # by rank
    weights: dict[str, float]  # component → weight
    counted: str  # who is counted (population rule)

    def card(self, family_id: int) -> Card | None:
        return next((c for c in self.cards if c.family_id == family_id), None)


def components(card: Card) -> dict[str, float]:
    """The card's components (shares 0–1) that have figures (see the module's docstring)."""
    found: dict[str, float] = {}
    if card.checkin_rate is not None:
        found["checkin_rate"] = card.checkin_rate
    if card.quality.checkins:
        found["feedback_rate"] = card.quality.feedback_rate
        minutes = card.quality.median_response_minutes
        found["feedback_speed"] = 0.0 if minutes is None else max(0.0, min(
            1.0, (SLOW_MINUTES - minutes) / (SLOW_MINUTES - FAST_MINUTES)))
    if card.stats.attrition is not None:
        found["retention"] = max(0.0, 1.0 - card.stats.attrition)
    if card.growth is not None:
        found["growth"] = max(0.0, min(1.0, 0.5 + card.growth))
    if card.participation is not None:
        found["campaigns"] = (card.participation + (card.completion or 0.0)) / 2
    return found


def score(found: dict[str, float], weights: dict[str, float]) -> int:
    total = sum(weights[c] for c in found)
    if not total:
        return 0
    return round(100 * sum(weights[c] * v for c, v in found.items()) / total)


def rank(cards: list[Card]) -> None:
    """Order by score (ties share a rank, then by name)."""
    cards.sort(key=lambda c: (-c.score, c.name.lower(), c.family_id))
    for i, card in enumerate(cards):
        same = i and cards[i - 1].score == card.score
        card.rank = cards[i - 1].rank if same else i + 1


class ScorecardService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService, kpis: KpiService,
                 leaderboards: LeaderboardService, settings: InsightSettings,
                 deliveries: DeliveryQueue) -> None:
        self.deliveries = deliveries
        self.db = db
        self.clock = clock
        self.guilds = guilds
        self.kpis = kpis
        self.leaderboards = leaderboards
        self.settings = settings

    async def span(self, guild_id: int, name: str = "last_month") -> tuple[Span, Span]:
        """The period ``name`` in the guild's zone and the one before it (of the same kind;
        a running period ends now)."""
        if name not in PERIODS:
            raise UserError("insights.unknown_period", value=name)
        tz = (await self.guilds.get(guild_id)).timezone
        today = local_date(self.clock.now(), tz)
        if name.endswith("month"):
            first = today.replace(day=1)
            if name == "last_month":
                first = (first - timedelta(days=1)).replace(day=1)
            before = (first - timedelta(days=1)).replace(day=1)
            spans = [self._span("month", first, _month_last(first), tz),
                     self._span("month", before, first - timedelta(days=1), tz)]
        else:
            first = today - timedelta(days=today.weekday() + 7 * (name == "last_week"))
            spans = [self._span("week", first, first + timedelta(days=6), tz),
                     self._span("week", first - timedelta(days=7), first - timedelta(days=1),
                                tz)]
        return spans[0], spans[1]

    def _span(self, kind: str, first: date, last: date, tz: str) -> Span:
        now = self.clock.now()
        end = min(day_start(last + timedelta(days=1), tz), now)
        key = month(first) if kind == "month" else iso_week(first)
        return Span(kind, key, first, min(last, local_date(now, tz)), day_start(first, tz), end)

    async def scorecard(self, guild_id: int, name: str = "last_month") -> Scorecard:
        """Every active family's card for the period ``name``, ranked, with the change
        against the period before."""
        span, previous = await self.span(guild_id, name)
        settings = await self.settings.all(guild_id)
        weights = {w.removeprefix("weight_"): settings[w] for w in WEIGHTS}
        cards = await self.cards(guild_id, span, weights)
        before = {c.family_id: c for c in await self.cards(guild_id, previous, weights)}
        for card in cards:
            old = before.get(card.family_id)
            if old is not None:
                card.prev_score, card.prev_rank = old.score, old.rank
                card.prev_hours_avg, card.prev_diamonds_avg = old.hours_avg, old.diamonds_avg
        counted = await population.rule_of(self.db, guild_id)
        return Scorecard(span, previous, cards, weights, counted)

    async def cards(self, guild_id: int, span: Span, weights: dict[str, float]) -> list[Card]:
        families = await self.db.fetchall(FAMILIES, (guild_id,))
        if not families:
            return []
        stats = await self.kpis.stats_by_family(guild_id, span.start, span.end)
        quality = await self.kpis.quality_by_family(guild_id, span.start, span.end)
        counted = await population.population(self.db, guild_id, span.first, span.last,
                                              days=True)
        possible = await population.possible_days_by_family(self.db, guild_id, span.first,
                                                            span.last, counted)
        done: dict[int, int] = {}
        for r in await self.db.fetchall(CHECKIN_DAYS, (guild_id, span.first.isoformat(),
                                                       span.last.isoformat())):
            if counted.counts_values(r["user_id"]):
                done[r["family_id"]] = done.get(r["family_id"], 0) + r["days"]
        period = Period(span.kind, span.key)
        hours = {r.family_id: r.average for r in
                 await self.leaderboards.family_board(guild_id, "hours", period)}
        diamonds = {r.family_id: r.average for r in
                    await self.leaderboards.family_board(guild_id, "diamonds", period)}
        campaigns = {r["family_id"]: r for r in await self.db.fetchall(
            CAMPAIGNS, (guild_id, span.first.isoformat(), span.last.isoformat()))}
        flags = {r["family_id"]: r["n"] for r in await self.db.fetchall(OPEN_FLAGS, (guild_id,))}
        cards = []
        for f in families:
            fid = f["id"]
            stat = stats.get(fid) or FamilyStats(span.start, span.end, 0, 0, 0, 0, None, None,
                                                 counted=counted.rule)
            c = campaigns.get(fid)
            participation = completion = None
            if c is not None and c["audience"]:
                participation = c["participants"] / c["audience"]
                completion = c["reached"] / c["participants"] if c["participants"] else 0.0
            card = Card(
                fid, f["name"], stat, quality.get(fid) or Quality(0, 0, None),
                min(1.0, done.get(fid, 0) / possible[fid]) if possible.get(fid) else None,
                hours.get(fid, 0.0), diamonds.get(fid, 0.0), participation, completion,
                flags.get(fid, 0))
            card.components = components(card)
            card.score = score(card.components, weights)
            cards.append(card)
        rank(cards)
        return cards

    async def week_cards(self, guild_id: int, first: date, last: date, start: datetime,
                         end: datetime) -> dict[int, Card]:
        """Every family's card over the local days ``first..last`` (instants ``start`` to
        ``end``): the manager digest's line per family."""
        settings = await self.settings.all(guild_id)
        weights = {w.removeprefix("weight_"): settings[w] for w in WEIGHTS}
        span = Span("week", iso_week(first), first, last, start, end)
        return {c.family_id: c for c in await self.cards(guild_id, span, weights)}

    async def managers_post_due(self, guild_id: int) -> str | None:
        """The month whose scorecard is due in the managers' channel (the last complete
        month, once per month), or None when it was posted."""
        tz = (await self.guilds.get(guild_id)).timezone
        today = local_date(self.clock.now(), tz)
        period = month(today.replace(day=1) - timedelta(days=1))
        posted = await self.db.fetchval(
            "SELECT 1 FROM scorecard_posts WHERE guild_id = ? AND period = ?",
            (guild_id, period))
        return None if posted else period

    async def claim_post(self, guild_id: int, period: str, post: Send) -> bool:
        """Record the month's post and queue it (``post``: a delivery ``Send``) in one
        transaction: never twice."""
        async with self.db.transaction() as tx:
            new = await tx.fetchval(
                "INSERT INTO scorecard_posts (guild_id, period, posted_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING 1", (guild_id, period, to_db(self.clock.now())))
            if not new:
                return False
            await self.deliveries.add(tx, guild_id, [post])
        self.deliveries.notify()
        return True


def _month_last(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def csv_rows(card: Scorecard) -> list[list[Any]]:
    """The scorecard as CSV rows (a header first)."""
    rows: list[list[Any]] = [[
        "rank", "family", "score", "score_change", "rank_change", "members", "members_start",
        "joins", "leaves", "attrition", "median_tenure_days", "checkin_rate",
        "feedback_rate", "median_first_feedback_minutes", "campaign_participation",
        "campaign_completion", "hours_per_member", "hours_per_member_before",
        "diamonds_per_member", "diamonds_per_member_before", "open_risk_flags"]]

    def r(v: float | None, digits: int = 4) -> Any:
        return "" if v is None else round(v, digits)

    for c in card.cards:
        rows.append([
            c.rank, c.name, c.score, r(c.score_change), r(c.rank_change), c.stats.members,
            c.stats.members_start, c.stats.joins, c.stats.leaves, r(c.stats.attrition),
            r(c.stats.median_tenure_days, 1), r(c.checkin_rate),
            r(c.quality.feedback_rate) if c.quality.checkins else "",
            r(c.quality.median_response_minutes, 1), r(c.participation), r(c.completion),
            r(c.hours_avg, 2), r(c.prev_hours_avg, 2), r(c.diamonds_avg, 1),
            r(c.prev_diamonds_avg, 1), c.open_flags])
    return rows
