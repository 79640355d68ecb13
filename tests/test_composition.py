"""The composition root's pieces: the event hub, the scheduler helper, whole services."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.events import Events, MemberLeftServer
from bot.scheduling import Jobs, create_scheduler


async def test_events_reach_each_subscriber_in_order_and_a_failure_is_only_logged(caplog):
    events = Events()
    seen: list[str] = []

    async def first(event: MemberLeftServer) -> None:
        seen.append(f"first {event.user_id}")

    async def broken(event: MemberLeftServer) -> None:
        raise RuntimeError("boom")

    async def last(event: MemberLeftServer) -> None:
        seen.append(f"last {event.user_id}")

    for handler in (first, broken, last):
        events.subscribe(MemberLeftServer, handler)
    with caplog.at_level(logging.ERROR, logger="bot.events"):
        await events.publish(MemberLeftServer(None, 1, 2))  # type: ignore[arg-type]
    assert seen == ["first 2", "last 2"]
    assert "MemberLeftServer" in caplog.text and "boom" in caplog.text
    await events.publish(object())  # nobody listens: nothing happens


def test_services_are_built_whole(services):
    """Every service is given what it uses when it is built: nothing left to set later."""
    assert services.email.renderer is not None
    assert services.reminders.email_hook == services.email.reminder
    assert services.tiers.progress == services.progress.month_progress
    assert services.events.handlers(MemberLeftServer) == [services.email.on_member_left]


async def test_jobs_are_named_interval_sweeps_set_on_purpose():
    jobs = Jobs(create_scheduler())
    runs: list[str] = []

    async def sweep() -> str:
        runs.append("sweep")
        return "done"

    jobs.every("x.sweep", sweep, minutes=5)
    job = jobs.scheduler.get_job("x.sweep")
    assert job.coalesce is True and job.misfire_grace_time == 3600 and job.max_instances == 1
    assert job.trigger.interval.total_seconds() == 300
    assert await jobs.run("x.sweep") == "done" and runs == ["sweep"]
    jobs.remove("x.sweep")
    jobs.remove("x.sweep")  # already gone: no error
    assert jobs.scheduler.get_job("x.sweep") is None
    with pytest.raises(ValueError):
        jobs.every("y", sweep)
    with pytest.raises(LookupError):
        await jobs.run("x.sweep")


async def test_a_catch_up_run_waits_for_ready_then_runs_once():
    ready = asyncio.Event()
    ran = asyncio.Event()
    count = 0

    async def sweep() -> None:
        nonlocal count
        count += 1
        ran.set()

    jobs = Jobs(create_scheduler(), ready=ready.wait)
    jobs.every("x.sweep", sweep, minutes=30, catch_up=True)
    jobs.start()
    try:
        await asyncio.sleep(0.05)
        assert count == 0  # not ready yet
        ready.set()
        await asyncio.wait_for(ran.wait(), 5)
        await asyncio.sleep(0.05)
        assert count == 1
        assert jobs.scheduler.get_job("x.sweep") is not None  # the interval job stays
        assert jobs.scheduler.get_job("x.sweep:catch-up") is None  # a one-off, done
    finally:
        jobs.stop()
