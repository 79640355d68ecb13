"""What ``GET /healthz`` reports: the real state of the bot, not just "the process answers".

Healthy means all of:

* **gateway** — connected to Discord's gateway (READY seen, the websocket open);
* **database** — a write commits within :data:`DB_TIMEOUT_S` seconds (``app_meta`` row
  ``health_checked_at``): the file is writable and no one holds its lock for long;
* **senders** — the Discord delivery sender and the email sender tasks are running;
* **queues** — the oldest queued Discord delivery waited at most :data:`DELIVERY_MAX_AGE_S`
  seconds, the oldest queued email at most :data:`EMAIL_MAX_AGE_S` (a relay down for longer
  than its first retries shows here).

No Discord import: the bot hands in what only it knows (gateway, tasks) as callables.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database

DB_TIMEOUT_S = 5.0
# a check is reused this long: a flood of /healthz requests costs one write every 2 s
CACHE_S = 2.0
DELIVERY_MAX_AGE_S = 10 * 60
EMAIL_MAX_AGE_S = 60 * 60
# names of the sender tasks (bot/app.py and bot/delivery/sender.py name them so)
SENDER_TASKS = {"discord": "delivery-sender", "email": "email sender"}

OLDEST = {
    "discord": "SELECT min(created_at) FROM deliveries WHERE state IN ('queued', 'sending')",
    "email": "SELECT min(created_at) FROM email_outbox WHERE state IN ('queued', 'sending')",
}
LIMITS = {"discord": DELIVERY_MAX_AGE_S, "email": EMAIL_MAX_AGE_S}


@dataclass(frozen=True)
class Health:
    gateway: bool | None  # None: not checked (no Discord client: the web server alone)
    database: bool
    senders: dict[str, bool | None] = field(default_factory=dict)
    oldest_queued_s: dict[str, float | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "unhealthy", **asdict(self)}


def running_tasks() -> set[str]:
    """Names of the tasks alive in this event loop."""
    return {task.get_name() for task in asyncio.all_tasks() if not task.done()}


class HealthCheck:
    def __init__(self, db: Database, clock: Clock, *,
                 gateway: Callable[[], bool] | None = None,
                 tasks: Callable[[], set[str]] | None = None, cache_s: float = CACHE_S
                 ) -> None:
        self.db = db
        self.clock = clock
        self.gateway = gateway
        self.tasks = tasks
        self.cache_s = cache_s
        self._lock = asyncio.Lock()
        self._last: tuple[float, Health] | None = None

    async def _writable(self) -> bool:
        async def write() -> None:
            async with self.db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO app_meta (key, value) VALUES ('health_checked_at', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (to_db(self.clock.now()),))
        try:
            await asyncio.wait_for(write(), DB_TIMEOUT_S)
        except Exception:  # any failure to commit is the answer
            return False
        return True

    async def __call__(self) -> Health:
        """The state now (or as checked less than ``cache_s`` ago; concurrent requests wait
        for the one check under way)."""
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self.cache_s:
                return self._last[1]
            report = await self._check()
            self._last = (time.monotonic(), report)
            return report

    async def _check(self) -> Health:
        problems: list[str] = []
        gateway = self.gateway() if self.gateway is not None else None
        if gateway is False:
            problems.append("gateway not connected")
        database = await self._writable()
        if not database:
            problems.append("database not writable")
        senders: dict[str, bool | None] = {}
        if self.tasks is not None:
            alive = self.tasks()
            senders = {name: task in alive for name, task in SENDER_TASKS.items()}
            problems += [f"{name} sender not running" for name, up in senders.items()
                         if not up]
        ages: dict[str, float | None] = {}
        now = self.clock.now()
        for name, sql in OLDEST.items():
            try:
                oldest = await self.db.fetchval(sql)
            except Exception:  # an unreadable database is reported above
                oldest = None
            ages[name] = None if oldest is None else round(
                max(0.0, (now - from_db(oldest)).total_seconds()), 1)
            age = ages[name]
            if age is not None and age > LIMITS[name]:
                problems.append(f"oldest queued {name} item waited {age:.0f} s"
                                f" (limit {LIMITS[name]} s)")
        return Health(gateway, database, senders, ages, problems)


HealthSource = Callable[[], Awaitable[Health]]
