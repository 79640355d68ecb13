"""What campaigns are made of: a manager's request (:class:`Spec`), a stored
:class:`Campaign`, progress and results as the templates read them, and queued posts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.clock import from_db
from bot.localtime import LocalMoment, day_start, zone
from bot.services.campaigns import arithmetic as cm

REMINDERS = ("midway", "3days", "lastday")
MANAGERS = 0  # the family id of a post that goes to the managers' channel (the analysis)
REACHED_SHOWN = 20  # names listed in a family's results post, then "and N more"


@dataclass(frozen=True)
class Spec:
    """What a manager asks for (options and modal), before it is checked."""

    name: str
    metric: str
    start: LocalMoment  # on the campaign's clock (the server's zone when it was created)
    end: LocalMoment  # a bare day: the end of that day
    target_creator: float | None = None
    target_family: float | None = None
    audience: str = "all"
    audience_ids: list[int] = field(default_factory=list)
    enrolment: str = "optin"
    reminders: tuple[str, ...] = REMINDERS
    reward_role_id: int | None = None
    description: str = ""
    reward_text: str = ""


@dataclass(frozen=True)
class Campaign:
    id: int
    guild_id: int
    name: str
    description: str
    starts_at: datetime
    ends_at: datetime
    first_day: date
    last_day: date
    timezone: str
    audience: str
    audience_ids: list[int]
    metric: str
    target_creator: float | None
    target_family: float | None
    reward_text: str
    reward_role_id: int | None
    enrolment: str
    reminders: tuple[str, ...]
    state: str
    created_by: int
    summary: dict[str, Any] | None
    scheduled_at: datetime | None = None

    @property
    def opt_in(self) -> bool:
        return self.enrolment == "optin"

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def due(self, stage: str) -> datetime | None:
        """When a reminder stage is due; None when the campaign is too short for it."""
        # A campaign that ends with a whole day gets its day reminders at 10:00, not midnight.
        morning = timedelta(hours=10) if self.end_text() == self.last_day.isoformat() else \
            timedelta(0)
        when = {"midway": self.starts_at + (self.ends_at - self.starts_at) / 2,
                "3days": self.ends_at - timedelta(days=3) + morning,
                "lastday": self.ends_at - timedelta(days=1) + morning}[stage]
        return when if when > self.starts_at and stage in self.reminders else None

    @property
    def whole_days(self) -> bool:
        """Starts and ends on local midnights (dates alone describe it)."""
        return ":" not in self.start_text() + self.end_text()

    def start_local(self) -> LocalMoment:
        """The start as a manager writes it: the day alone when it is the start of a local
        day."""
        if self.starts_at == day_start(self.first_day, self.timezone):
            return LocalMoment(self.first_day)
        return _on_clock(self.starts_at, self.timezone)

    def end_local(self) -> LocalMoment:
        """The end as a manager writes it: the day alone (that whole day) when it ends a
        local day."""
        if self.ends_at == day_start(self.last_day + timedelta(days=1), self.timezone):
            return LocalMoment(self.last_day)
        return _on_clock(self.ends_at, self.timezone)

    def start_text(self) -> str:
        """The start as typed: 'YYYY-MM-DD' when it is the start of a local day."""
        return str(self.start_local())

    def end_text(self) -> str:
        """The end as typed: 'YYYY-MM-DD' (that whole day) when it ends a local day."""
        return str(self.end_local())

    def spec(self) -> Spec:
        """What would create this campaign again (the start point of an edit)."""
        return Spec(self.name, self.metric, self.start_local(), self.end_local(),
                    self.target_creator, self.target_family,
                    self.audience, list(self.audience_ids), self.enrolment, self.reminders,
                    self.reward_role_id, self.description, self.reward_text)


@dataclass(frozen=True)
class CampaignColumns:
    """A checked :class:`Spec` as the ``campaigns`` columns store it."""

    name: str
    description: str
    starts_at: str
    ends_at: str
    first_day: str
    last_day: str
    timezone: str
    audience: str
    audience_ids: str  # JSON
    metric: str
    target_creator: float | None
    target_family: float | None
    reward_text: str
    reward_role_id: int | None
    enrolment: str
    reminders: str  # comma-separated


@dataclass(frozen=True)
class Edit:
    """The campaign an edit names, and what it becomes (checked)."""

    campaign: Campaign
    spec: Spec


@dataclass(frozen=True)
class Enrolment:
    campaign: Campaign
    added: bool  # False: the creator was already in it


@dataclass(frozen=True)
class Standings:
    people: dict[int, int | None]  # participant → family
    values: dict[int, float]  # participant → value


@dataclass(frozen=True)
class CreatorProgress:
    campaign: Campaign
    user_id: int
    enrolled: bool
    in_audience: bool
    value: float
    rank: int | None
    family: FamilyProgress | None

    @property
    def fraction(self) -> float | None:
        target = self.campaign.target_creator
        return self.value / target if target else None

    @property
    def bar(self) -> str:
        return cm.bar(self.fraction or 0.0)


@dataclass(frozen=True)
class FamilyProgress:
    campaign: Campaign
    family_id: int
    family_name: str
    members: list[tuple[int, float, bool]]  # (user, value, reached own target), best first
    total: float

    @property
    def fraction(self) -> float | None:
        target = self.campaign.target_family
        return self.total / target if target else None

    @property
    def bar(self) -> str:
        return cm.bar(self.fraction or 0.0)

    @property
    def reached(self) -> int:
        return sum(1 for m in self.members if m[2])


@dataclass(frozen=True)
class PostReport:
    """How the announcements in the family channels went: rows by state (sent, failed,
    pending, claimed, skipped) and the failures by reason."""

    states: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return self.states.get("sent", 0)

    @property
    def failed(self) -> int:
        return self.states.get("failed", 0)

    @property
    def waiting(self) -> int:
        return self.states.get("pending", 0) + self.states.get("claimed", 0)


@dataclass(frozen=True)
class Results:
    campaign: Campaign
    audience: int
    participants: int
    reached: int
    families: list[dict[str, Any]]  # id, name, participants, reached, total, goal_met
    uplift: cm.Uplift
    rewards: dict[str, int]
    # family → participants who reached the goal for each creator, best first
    reached_by_family: dict[int, list[int]] = field(default_factory=dict)
    delivery: PostReport = field(default_factory=PostReport)
    # when the figures became final (None: results taken before this was recorded)
    final_at: datetime | None = None
    counted: str = "streaming"  # who was counted: bot/services/population.py
    # what the figures are final against (hours, diamonds, followers): the metric's source
    # when they were taken ("imported"/"checkins"; None: not recorded or not such a metric),
    # the daily imports then applied over its days, and those applied or rolled back since
    # (the board follows them; the results stay as taken)
    source: str | None = None
    imports: list[int] = field(default_factory=list)
    later_imports: list[int] = field(default_factory=list)

    def reached_in(self, family_id: int, limit: int = REACHED_SHOWN) -> tuple[list[int], int]:
        """(the first ``limit`` who reached the goal in a family, how many more)."""
        everyone = self.reached_by_family.get(family_id, [])
        return everyone[:limit], max(0, len(everyone) - limit)

    @property
    def participation(self) -> float | None:
        return cm.share(self.participants, self.audience)

    @property
    def completion(self) -> float | None:
        return cm.share(self.reached, self.participants)


@dataclass(frozen=True)
class Post:
    id: int
    campaign_id: int
    guild_id: int
    stage: str
    family_id: int
    channel_id: int
    attempts: int
    claimed_at: datetime | None
    late: bool

    @property
    def for_managers(self) -> bool:
        return self.family_id == MANAGERS


def _on_clock(when: datetime, tz: str) -> LocalMoment:
    local = when.astimezone(zone(tz))
    return LocalMoment(local.date(), local.time().replace(second=0, microsecond=0))


def campaign_from_row(row: Any) -> Campaign:
    return Campaign(
        row["id"], row["guild_id"], row["name"], row["description"], from_db(row["starts_at"]),
        from_db(row["ends_at"]), date.fromisoformat(row["first_day"]),
        date.fromisoformat(row["last_day"]), row["timezone"], row["audience"],
        json.loads(row["audience_ids"]), row["metric"], row["target_creator"],
        row["target_family"], row["reward_text"], row["reward_role_id"], row["enrolment"],
        tuple(r for r in row["reminders"].split(",") if r), row["state"], row["created_by"],
        json.loads(row["summary"]) if row["summary"] else None,
        from_db(row["scheduled_at"]) if row["scheduled_at"] else None,
    )


def post_from_row(row: Any) -> Post:
    return Post(row["id"], row["campaign_id"], row["guild_id"], row["stage"], row["family_id"],
                row["channel_id"], row["attempts"],
                from_db(row["claimed_at"]) if row["claimed_at"] else None, bool(row["late"]))
