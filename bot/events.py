"""Events between services: one small typed hub, wired in the composition root.

A service that something happened to publishes an event (a frozen dataclass); the services
that care subscribed to its type when the services were built. The publisher does not know
who listens, so neither has to be handed the other.

Handlers run one after another, in the order they subscribed, and are awaited by
``publish``. An event that carries a transaction (``tx``) is published inside it: what the
handlers write commits or rolls back with the publisher's change. A handler that raises is
logged and skipped: one listener's failure never undoes the change that was announced nor
stops the other listeners.
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
                log.exception("%s: handler %s failed", type(event).__name__,
                              getattr(handler, "__qualname__", handler))
