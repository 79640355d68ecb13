"""The composition root's pieces: the event hub, the scheduler helper, whole services."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest

from bot.events import Events, MemberLeftServer
from bot.scheduling import Jobs, create_scheduler


@dataclass(frozen=True)
class Announced:
    """An event with no transaction: a change already made."""

    user_id: int


async def test_events_reach_each_subscriber_in_order_and_a_failure_is_only_logged(caplog):
    events = Events()
    seen: list[str] = []

    async def first(event: Announced) -> None:
        seen.append(f"first {event.user_id}")

    async def broken(event: Announced) -> None:
        raise RuntimeError("boom")

    async def last(event: Announced) -> None:
        seen.append(f"last {event.user_id}")

    for handler in (first, broken, last):
        events.subscribe(Announced, handler)
    with caplog.at_level(logging.ERROR, logger="bot.events"):
        await events.publish(Announced(2))
    assert seen == ["first 2", "last 2"]
    assert "Announced" in caplog.text and "boom" in caplog.text
    await events.publish(object())  # nobody listens: nothing happens


async def test_a_failing_handler_rolls_back_the_unit_of_work_it_was_published_in(services):
    """Leaving the server and what listeners write in that transaction are one unit: a
    listener that fails leaves the membership as it was (as before the hub)."""
    from bot.services.families import AGREEMENT_VERSION

    family = await services.families.create(1, 99, "Lobos", 10)
    request = await services.families.request_join(1, 2, family.id, AGREEMENT_VERSION)
    await services.families.decide(1, 10, request.id, True)
    assert await services.families.membership_of(1, 2) is not None

    async def broken(event: MemberLeftServer) -> None:
        await event.tx.execute("UPDATE members SET locale = 'es' WHERE user_id = 2")
        raise RuntimeError("boom")

    services.events.subscribe(MemberLeftServer, broken)
    with pytest.raises(RuntimeError):
        await services.families.left_server(1, 2)
    assert await services.families.membership_of(1, 2) is not None  # nothing ended


def test_services_are_built_whole(services):
    """Every service is given what it uses when it is built: nothing left to set later."""
    assert services.email.renderer is not None
    assert services.reminders.email_hook == services.email.reminder
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
