"""Every decision about a creator is told to them (issue #16): approved, declined (with the
reason, kindly worded), removed, transferred, their family archived — one DM in their
language, or, when their DMs are closed, a mention in the family channel if they can see it
(approved, transferred); if they cannot (declined, removed, archived: they are not in that
family), a note there for its leaders and the managers, pinging nobody, saying that they
could not be told, so that the decider can tell them another way.

The service queues the message in the transaction of the decision itself (the durable
delivery path, :mod:`bot.delivery.queue`), under a dedupe key of that decision, so a crash
neither loses it (it commits with the decision) nor repeats it (queueing twice is a no-op,
and the sender sends each row exactly once). What it says is rendered by a :data:`Tell`
handed in by the composition root (templates and their languages live there): nothing here
imports discord or renders text. Nobody is told about their own decision (an invite they
accepted, a move they made as a manager).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.delivery.queue import Send
from bot.services.families.models import Family

KINDS = ("approved", "declined", "removed", "transferred", "archived")
KIND = "family_told"  # the deliveries' kind (and source prefix)

# The creator's language for what they did not ask for (MemberService.locale_of, in the
# decision's transaction): their choice, else their Discord app's, else the server's.
LOCALE = (
    "SELECT coalesce((SELECT coalesce(locale, discord_locale) FROM members"
    " WHERE guild_id = :guild AND user_id = :user),"
    " (SELECT locale FROM guilds WHERE guild_id = :guild))"
)


@dataclass(frozen=True)
class Told:
    """A decision about ``user_id`` to tell them: ``family`` is the one they joined (approved,
    transferred), were not taken into (declined) or left (removed, archived); ``left`` the one a
    transfer took them from; ``reason`` what the decider wrote (a removal's, a decline's)."""

    kind: str
    guild_id: int
    user_id: int
    family: Family
    locale: str
    key: str
    reason: str | None = None
    left: Family | None = None
    channel_locale: str | None = None  # the server's language (a note for the deciders)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown decision {self.kind!r}")

    @property
    def sees_channel(self) -> bool:
        """Can the creator see the family channel of the decision? Only as its member (an
        approved request, a transfer into it): a declined, removed or archived one cannot."""
        return self.kind in ("approved", "transferred")

    @property
    def channel_id(self) -> int | None:
        """Where a refused DM falls back to: the family channel of the decision."""
        return self.family.channel_id


# The message (a DM with its fallback) that tells a decision; see bot/delivery/told.py.
Tell = Callable[[Told], Send]


def request_key(request_id: int) -> str:
    """The dedupe key of the message telling the decision on a join or transfer request."""
    return f"{KIND}:request:{request_id}"


def ended_key(kind: str, membership_id: int) -> str:
    """The dedupe key of the message telling a membership's end (removed, archived)."""
    return f"{KIND}:{kind}:{membership_id}"
