"""What families are made of: a family record, a membership, a request to join (or an invite
or a transfer), and what the service hands back after a decision or a departure."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from bot.clock import from_db
from bot.errors import UserError
from bot.services import bounds

# The program agreement's current version: its text is templates/discord/agreement/v<N>.md.j2.
# Raising it asks every member to accept the new text.
AGREEMENT_VERSION = 1

LEAVE_REASONS = (
    "moved_agency", "earnings", "support", "time", "platform_policy", "personal", "other",
)
NAME_MAX = bounds.FAMILY_NAME_MAX
NOTE_MAX = bounds.NOTE_MAX


@dataclass(frozen=True)
class Family:
    id: int
    guild_id: int
    name: str
    leader_user_id: int | None
    co_leader_user_id: int | None
    capacity: int | None
    channel_id: int | None
    role_id: int | None
    created_at: datetime
    archived_at: datetime | None
    members: int = 0

    @property
    def active(self) -> bool:
        return self.archived_at is None

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.members >= self.capacity

    def leads(self, user_id: int) -> bool:
        return user_id in (self.leader_user_id, self.co_leader_user_id)

    def role_of(self, user_id: int) -> str:
        if user_id == self.leader_user_id:
            return "leader"
        return "co_leader" if user_id == self.co_leader_user_id else "creator"


@dataclass(frozen=True)
class Membership:
    id: int
    family_id: int
    family_name: str
    user_id: int
    joined_at: datetime
    agreement_version: int | None
    left_at: datetime | None
    ended_by: str | None
    leave_reason: str | None
    leave_note: str | None


@dataclass(frozen=True)
class FamilyRequest:
    id: int
    guild_id: int
    family_id: int
    user_id: int
    kind: str
    status: str
    from_family_id: int | None
    requested_by: int
    channel_id: int | None
    message_id: int | None


@dataclass(frozen=True)
class Decision:
    request: FamilyRequest
    family: Family
    joined: Membership | None = None
    left_family: Family | None = None


@dataclass(frozen=True)
class Agreement:
    """The latest version of the program agreement a member accepted, and when."""

    version: int
    accepted_at: datetime


@dataclass(frozen=True)
class Departure:
    """A membership that ended (by leaving or a removal) and the family it was in."""

    membership: Membership
    family: Family


@dataclass(frozen=True)
class Appointed:
    """A member a manager made leader or co-leader who has not accepted the program agreement
    in force: a manager cannot accept it for them, so they are asked to."""

    family: Family
    user_id: int
    position: str  # leader | co_leader
    actor_id: int


@dataclass(frozen=True)
class Archived:
    """An archived family and the members whose family role must go."""

    family: Family
    ended_user_ids: list[int]


@dataclass(frozen=True)
class RosterEntry:
    """An active member as the roster shows them."""

    user_id: int
    role: str  # leader, co_leader or creator
    tier: str | None
    joined_at: datetime
    agreement_version: int | None
    handle: str | None = None  # on the streaming platform (creator_profiles)


@dataclass(frozen=True)
class ExpectedRoles:
    """Which managed roles each member should hold (family and tier roles), and every role
    Familia manages in the guild (so others' roles are never touched)."""

    by_member: dict[int, set[int]]
    managed: set[int]


def family_from_row(row: Any) -> Family:
    data = dict(row)
    data["created_at"] = from_db(data["created_at"])
    data["archived_at"] = from_db(data["archived_at"]) if data["archived_at"] else None
    return Family(**data)


def membership_from_row(row: Any) -> Membership:
    data = dict(row)
    data["joined_at"] = from_db(data["joined_at"])
    data["left_at"] = from_db(data["left_at"]) if data["left_at"] else None
    return Membership(**data)


def request_from_row(row: Any) -> FamilyRequest:
    data = dict(row)
    return FamilyRequest(**{f.name: data[f.name] for f in fields(FamilyRequest)})


def clean_name(name: str) -> str:
    """Spaces collapsed; 1 to NAME_MAX characters with a letter or a digit among them (the
    family's channel takes the name, and Discord drops punctuation from a text channel's name:
    "!!!" would leave it empty, which Discord refuses)."""
    cleaned = bounds.clean_name(name, NAME_MAX)
    if cleaned is None or not any(c.isalnum() for c in cleaned):
        raise UserError("families.bad_name", limit=NAME_MAX)
    return cleaned
