"""Leases, backoff and grace across a wall-clock jump, forwards and backwards (the bot's
clock is moved as an NTP step or a VM resume would move the real one)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.delivery.queue import DeliveryQueue, Send
from bot.leases import EMAIL_OUTBOX, Holder
from bot.mail.sender import Sender
from tests._email import SmtpSink, smtp_config
from tests.test_checkins_reminders import Recorder, lobos, mexico  # noqa: F401 (a fixture)


class JumpingRelay(SmtpSink):
    """A relay during whose first DATA the wall clock jumps by ``jump``."""

    def __init__(self, clock, jump: timedelta) -> None:
        super().__init__()
        self.clock = clock
        self.jump = jump

    async def handle_DATA(self, server, session, envelope):
        if self.jump:
            self.clock.set(self.clock.now() + self.jump)
            self.jump = timedelta(0)
        return await super().handle_DATA(server, session, envelope)


async def queue_many(services, n: int, first: int = 2) -> None:
    async with services.db.transaction() as tx:
        for user in range(first, first + n):
            await services.members.ensure(tx, 1, user)
            await services.email.queue(tx, 1, user, f"m{user}@example.org", "exit_survey",
                                       f"jump:{user}", "en")


async def states(services) -> list[tuple]:
    return [tuple(r) for r in await services.db.fetchall(
        "SELECT state, attempts FROM email_outbox ORDER BY id")]


async def test_a_forward_jump_while_a_batch_is_sent_sends_each_mail_once(services, clock):
    # The clock jumps an hour ahead while the first batch is on the wire: every lease of
    # the next batch (already claimed) looks expired; still, nothing is taken twice.
    relay = JumpingRelay(clock, timedelta(hours=1))
    relay.controller.start()
    try:
        await queue_many(services, 12)
        sender = Sender(services.db, smtp_config(relay), clock, connections=1, batch=4)
        try:
            assert await sender.drain() == 12
        finally:
            await sender.close()
    finally:
        relay.controller.stop()
    assert len(relay.messages) == 12
    assert await states(services) == [("sent", 1)] * 12


async def test_a_lease_is_renewed_from_the_new_time_after_a_jump(services, clock):
    await queue_many(services, 2)
    mine = Holder(services.db, "mine", clock, timedelta(minutes=5))
    other = Holder(services.db, "other", clock, timedelta(minutes=5))
    try:
        assert len(await mine.claim(EMAIL_OUTBOX, 10)) == 2
        clock.advance(hours=3)  # forwards: the next beat renews from the new time
        assert await mine.renew() == []
        assert await other.claim(EMAIL_OUTBOX, 10) == []
        clock.advance(hours=-6)  # backwards: renewed from the new time too
        assert await mine.renew() == []
        until = await services.db.fetchval("SELECT max(lease_until) FROM email_outbox")
        assert until == (clock.now() + timedelta(minutes=5)).isoformat(timespec="seconds")
        # The owner dies with a lease stamped before the jump back; the next process takes
        # it over at start, so it is not held back by the hours the clock lost.
        await mine.stop()
        assert await other.take_over(EMAIL_OUTBOX) == 2
        assert len(await other.claim(EMAIL_OUTBOX, 10)) == 2
    finally:
        await other.stop()


async def test_a_backoff_survives_the_clock_going_back(services, clock, smtp):
    await queue_many(services, 1)
    sender = Sender(services.db, smtp_config(smtp), clock, connections=1)
    try:
        smtp.fail_next(1)
        await sender.drain()
        assert await states(services) == [("queued", 1)]
        assert await sender.drain() == 0  # the backoff holds (a minute)
        clock.advance(days=-2)
        # Waiting two days and a minute would be longer than any backoff (6 h at most):
        # stamped before the jump back, it is due now.
        assert await sender.drain() == 1
        assert await states(services) == [("sent", 2)]
        # Forwards, a backoff simply ends early.
        await queue_many(services, 2, first=10)
        smtp.fail_next(2)
        await sender.drain()
        clock.advance(hours=5)
        assert await sender.drain() == 2
    finally:
        await sender.close()
    assert len(smtp.messages) == 3


async def test_a_discord_retry_survives_the_clock_going_back(services, clock):
    async with services.db.transaction() as tx:
        await services.deliveries.add(tx, 1, [
            Send("test", "k", "channel", 5, {"content": "x"}, channel_id=5)])
    queue = DeliveryQueue(services.db, clock)
    [first] = await queue.claim()
    clock.advance(seconds=30)
    await queue.retry(first, "TimeoutError")  # due at the new now
    clock.advance(hours=-3)
    [again] = await queue.claim()
    assert again.id == first.id and again.attempts == 2
    # … and forwards, a lease in hand is not claimed twice by its own sender.
    clock.advance(hours=30)
    assert await queue.claim() == []
    await queue.stop()


# -- reminders: their grace and their claims ----------------------------------------------


@pytest.mark.usefixtures("lobos")
async def test_reminders_across_jumps_are_sent_once_and_within_grace(services, clock):
    deliver = Recorder()
    clock.set(mexico(2, 20, 0))
    assert [d.kind for d, _ in await services.reminders.sweep(deliver)] == ["rollcall"]
    clock.set(mexico(2, 19, 30))  # back half an hour, then past 20:00 again: not twice
    assert await services.reminders.sweep(deliver) == []
    clock.set(mexico(2, 20, 5))
    assert await services.reminders.sweep(deliver) == []
    clock.set(mexico(2, 23, 30))  # forwards past the summary's time: sent late, once
    done = await services.reminders.sweep(deliver)
    assert [(d.kind, d.late) for d, _ in done] == [("summary", True)]
    assert await services.reminders.sweep(deliver) == []
    assert [d.kind for d in deliver.sent] == ["rollcall", "summary"]


@pytest.mark.usefixtures("lobos")
async def test_a_reminder_claimed_before_the_clock_went_back_is_not_held_back(services, clock):
    async def crash(due):
        raise asyncio.CancelledError  # the process died while sending

    clock.set(mexico(2, 23, 0))  # a late catch-up of the 20:00 roll-call (and the summary)
    with pytest.raises(asyncio.CancelledError):
        await services.reminders.sweep(crash)
    clock.set(mexico(2, 21, 0))  # the wall clock steps back two hours; the bot restarts
    deliver = Recorder()
    done = await services.reminders.sweep(deliver)
    assert "rollcall" in [d.kind for d, _ in done]  # taken over now, not at 23:10
    assert await services.reminders.sweep(deliver) == []
