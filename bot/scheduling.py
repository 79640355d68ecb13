"""APScheduler as a clock: it only wakes idempotent sweeps; the database holds the truth."""

from __future__ import annotations

from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

# A sweep that wakes late still runs (grace), several missed wake-ups run once (coalesce),
# and a slow sweep never overlaps itself (max_instances). APScheduler's default grace is 1 s.
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1}


def create_scheduler() -> AsyncIOScheduler:
    return AsyncIOScheduler(timezone=UTC, job_defaults=dict(JOB_DEFAULTS))
