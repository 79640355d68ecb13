"""Events between services: one small typed hub, wired in the composition root.

A service that something happened to publishes an event (a frozen dataclass); the services
that care subscribed to its type when the services were built. The publisher does not know
who listens, so neither has to be handed the other.

Handlers run one after another, in the order they subscribed, and are awaited by
``publish``. An event that carries a transaction (``tx``) is published inside it and is part
of that unit of work: what the handlers write commits or rolls back with the publisher's
change, and a handler that raises rolls the whole unit back (the error reaches the publisher,
as a failed write in the unit itself would). An event without a transaction announces a
change already made: a handler that raises is logged and skipped, so one listener's failure
never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.db import Transaction

log = logging.getLogger(__name__)

E = TypeVar("E")


@dataclass(frozen=True)
class MemberLeftServer:
    """A member left the Discord server. Published by the families service inside ``tx``,
    the transaction that ends their membership (the email exit survey is queued in it)."""

    tx: Transaction
    guild_id: int
    user_id: int


@dataclass(frozen=True)
class ApplicationAccepted:
    """An application to the program was accepted and the applicant placed. Published by the
    applications service inside ``tx``; the onboarding checklist starts in it."""

    tx: Transaction
    guild_id: int
    user_id: int
    application_id: int
    kind: str  # "creator" or "leader"
    applied_at: str  # ISO-8601 UTC
    accepted_at: str  # ISO-8601 UTC
    family_id: int | None


class Events:
    """Subscribe handlers to an event type; publish events to them."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], Awaitable[object]]]] = {}

    def subscribe(self, kind: type[E], handler: Callable[[E], Awaitable[object]]) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def handlers(self, kind: type) -> list[Callable[[Any], Awaitable[object]]]:
        return list(self._handlers.get(kind, ()))

    async def publish(self, event: object) -> None:
        for handler in self.handlers(type(event)):
            try:
                await handler(event)
            except Exception:
                if getattr(event, "tx", None) is not None:
                    raise  # part of the publisher's unit of work: it rolls back whole
                log.exception("%s: handler %s failed", type(event).__name__,
                              getattr(handler, "__qualname__", handler))


@dataclass(frozen=True)
class MemberJoinedFamily:
    """A membership started (a join approved, an invitation accepted, an appointment, a
    roster import placing someone). Published by the families service inside ``tx``, the
    transaction that starts it; ``first``: the member's first membership in this guild."""

    tx: Transaction
    guild_id: int
    user_id: int
    family_id: int
    first: bool
