"""APScheduler as a clock: it only wakes idempotent sweeps; the database holds the truth.

Every job is a named interval job registered through :class:`Jobs`: a cog registers its
sweeps in ``cog_load`` and removes them in ``cog_unload``; the composition root registers
the ones no cog owns (the email digests). The bot starts the scheduler at the end of
``setup_hook`` (every job registered by then) and stops it in ``close``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

# A sweep that wakes late still runs (grace), several missed wake-ups run once (coalesce),
# and a slow sweep never overlaps itself (max_instances). APScheduler's default grace is 1 s,
# which silently skips a job that runs a little late: never rely on it.
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1}

Sweep = Callable[[], Awaitable[Any]]


def create_scheduler() -> AsyncIOScheduler:
    return AsyncIOScheduler(timezone=UTC, job_defaults=dict(JOB_DEFAULTS))


class Jobs:
    """The bot's scheduled sweeps, by name, on one scheduler.

    ``ready`` is awaited before a catch-up run (the bot's ``wait_until_ready``: a catch-up
    that posts to Discord needs the guild cache)."""

    def __init__(self, scheduler: AsyncIOScheduler,
                 ready: Callable[[], Awaitable[object]] | None = None) -> None:
        self.scheduler = scheduler
        self.ready = ready

    def every(self, job_id: str, sweep: Sweep, *, seconds: float = 0, minutes: float = 0,
              catch_up: bool = False, coalesce: bool = True,
              misfire_grace_time: int = 3600) -> None:
        """Run ``sweep`` every ``minutes`` + ``seconds`` under the name ``job_id`` (replacing
        a job of that name). Missed wake-ups run once (``coalesce``) if no more than
        ``misfire_grace_time`` seconds late; a run never overlaps the previous one.

        ``catch_up``: also run it once as soon as the bot is ready (what fell due while it
        was down goes out at start, not one interval later)."""
        if seconds + minutes <= 0:
            raise ValueError(f"job {job_id!r} needs a positive interval")
        self.scheduler.add_job(
            sweep, "interval", seconds=seconds, minutes=minutes, id=job_id, name=job_id,
            replace_existing=True, coalesce=coalesce, misfire_grace_time=misfire_grace_time,
            max_instances=1)
        if catch_up:
            self.scheduler.add_job(
                self._catch_up, "date", args=(job_id, sweep), id=_catch_up_id(job_id),
                name=_catch_up_id(job_id), replace_existing=True, misfire_grace_time=None)

    async def _catch_up(self, job_id: str, sweep: Sweep) -> None:
        if self.ready is not None:
            await self.ready()
        log.debug("catch-up run of %s", job_id)
        await sweep()

    def remove(self, job_id: str) -> None:
        """Remove the job (and its catch-up run if still pending); no error if absent."""
        for name in (job_id, _catch_up_id(job_id)):
            if self.scheduler.get_job(name) is not None:
                self.scheduler.remove_job(name)

    async def run(self, job_id: str) -> Any:
        """Run a job's sweep now, once, outside the schedule (the demo; tests)."""
        job = self.scheduler.get_job(job_id)
        if job is None:
            raise LookupError(f"no job {job_id!r}")
        return await job.func()

    async def run_all(self) -> list[str]:
        """Run every job's sweep once now, in the order they were registered (after the
        offline demo's clock moved: what fell due happens at once, not at the next wake-up).
        A sweep that fails is logged and the others still run. Returns the jobs that ran."""
        ran = []
        for job in self.scheduler.get_jobs():
            if job.id.endswith(":catch-up"):
                continue
            try:
                await job.func()
            except Exception:
                log.exception("%s failed after the clock moved", job.id)
            ran.append(job.id)
        return ran

    def start(self) -> None:
        if not self.scheduler.running:
            self.scheduler.start()

    def stop(self) -> None:
        """Stop waking jobs; runs in progress are cancelled."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


def _catch_up_id(job_id: str) -> str:
    return f"{job_id}:catch-up"
