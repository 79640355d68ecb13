"""Leases held while working (heartbeat) and fenced by owner: a slow SMTP relay never makes a
mail go twice, and a row taken back is never settled by the one who lost it."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from bot.clock import Clock
from bot.mail import outbox
from bot.mail.sender import Sender
from tests._email import SmtpSink, smtp_config


class SlowRelay(SmtpSink):
    """A relay that takes ``delay`` seconds to answer each DATA (a real, slow server)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


async def queue_many(services, n: int) -> None:
    async with services.db.transaction() as tx:
        for user in range(2, 2 + n):
            await services.members.ensure(tx, 1, user)
            await services.email.queue(tx, 1, user, f"m{user}@example.org", "exit_survey",
                                       f"slow:{user}", "en")


async def test_a_slow_relay_outlasting_the_lease_delivers_each_mail_once(services):
    # Real time here: the lease runs out while the batch is still being sent (0.3 s a mail,
    # 4 mails a batch on one connection, a 1-second lease): 12 queued, 12 delivered.
    relay = SlowRelay(0.3)
    relay.controller.start()
    try:
        await queue_many(services, 12)
        sender = Sender(services.db, smtp_config(relay), Clock(), connections=1, batch=4,
                        lease=timedelta(seconds=1))
        started = time.monotonic()
        await sender.drain()
        assert time.monotonic() - started > 2  # the batches did outlast the lease
        await sender.close()
    finally:
        relay.controller.stop()
    assert len(relay.messages) == 12
    assert sorted(m["To"] for m in relay.messages) == sorted(
        f"m{u}@example.org" for u in range(2, 14))
    states = await services.db.fetchall("SELECT state, attempts FROM email_outbox")
    assert [(r["state"], r["attempts"]) for r in states] == [("sent", 1)] * 12


async def test_the_owner_renews_its_leases_and_nobody_else_takes_the_rows(services, clock):
    from bot.leases import EMAIL_OUTBOX, Holder

    await queue_many(services, 3)
    mine = Holder(services.db, "mine", clock, timedelta(minutes=5))
    other = Holder(services.db, "other", clock, timedelta(minutes=5))
    try:
        assert len(await mine.claim(EMAIL_OUTBOX, 10)) == 3
        for _ in range(4):  # 16 minutes of work, renewed every 4
            clock.advance(minutes=4)
            assert await mine.renew() == []
            assert await other.claim(EMAIL_OUTBOX, 10) == []
        # The owner stops renewing (it died): the lease runs out and the rows are resumed.
        await mine.stop()
        clock.advance(minutes=6)
        taken = await other.claim(EMAIL_OUTBOX, 10)
        assert len(taken) == 3 and all(c.resumed for c in taken)
    finally:
        await other.stop()


async def test_a_row_taken_back_is_never_settled_or_sent_by_the_one_who_lost_it(
        services, clock, smtp):
    from bot.leases import EMAIL_OUTBOX, Holder

    await queue_many(services, 2)
    slow = Sender(services.db, smtp_config(smtp), clock, connections=1, owner="slow")
    rows = await outbox.claim(slow.leases, 10)
    # Its lease ran out without renewal (a stopped process, a frozen machine): taken back.
    clock.advance(minutes=6)
    other = Holder(services.db, "other", clock, timedelta(minutes=5))
    assert len(await other.claim(EMAIL_OUTBOX, 10)) == 2
    # The first owner wakes up: its renewal finds the rows gone, so it sends nothing ...
    assert sorted(await slow.leases.renew()) == sorted(r["id"] for r in rows)
    assert await slow._deliver(rows) == []
    assert smtp.messages == []
    # ... and an outcome it had already (a send that finished) is not written over the
    # new holder's row.
    settled = await outbox.record(services.db, [outbox.Outcome(rows[0]["id"], "x", 1)],
                                  clock.now(), 60, 3600, "slow")
    assert settled == []
    states = await services.db.fetchall("SELECT state, lease_owner, attempts FROM email_outbox")
    assert [tuple(r) for r in states] == [("sending", "other", 2)] * 2
    await other.stop()
    await slow.close()


async def test_a_delivery_taken_back_is_not_settled_by_the_old_owner(services, clock):
    from bot.delivery.queue import DeliveryQueue, Send
    from bot.leases import LeaseLost

    async with services.db.transaction() as tx:
        await services.deliveries.add(tx, 1, [
            Send("test", "k", "channel", 5, {"content": "x"}, channel_id=5)])
    old = DeliveryQueue(services.db, clock, owner="old")
    [first] = await old.claim()
    clock.advance(minutes=10)  # its lease ran out unrenewed
    new = DeliveryQueue(services.db, clock, owner="new")
    [again] = await new.claim()
    assert again.resumed
    for settle in (lambda: old.part_sent(first, 0, 99), lambda: old.failed(first, "x"),
                   lambda: old.retry(first, "x"), lambda: old.done(first)):
        with pytest.raises(LeaseLost):
            await settle()
    row = await services.deliveries.get(again.id)
    assert (row.parts_sent, row.message_ids) == (0, [])
    await new.part_sent(again, 0, 100)
    assert (await services.db.fetchval("SELECT state FROM deliveries")) == "sent"
    await old.stop()
    await new.stop()


@pytest.mark.slow
async def test_the_heartbeat_keeps_a_slow_delivery_from_anyone_else(services):
    # Real time: a 3-second lease (stored to the second), worked on for 5 seconds; the
    # holder's heartbeat (every second, on the monotonic clock) renews it, so another sender
    # finds nothing to take.
    from bot.delivery.queue import DeliveryQueue, Send

    async with services.db.transaction() as tx:
        await services.deliveries.add(tx, 1, [
            Send("test", "slow", "channel", 5, {"content": "x"}, channel_id=5)])
    real = Clock()
    slow = DeliveryQueue(services.db, real, lease=timedelta(seconds=3), owner="slow")
    other = DeliveryQueue(services.db, real, lease=timedelta(seconds=3), owner="other")
    [delivery] = await slow.claim()
    for _ in range(10):
        await asyncio.sleep(0.5)
        assert await other.claim() == []
    await slow.part_sent(delivery, 0, 42)  # settled by its holder: the heartbeat ends
    assert slow.leases.in_hand == {}
    row = await slow.get(delivery.id)
    assert (row.attempts, row.message_ids) == (1, [42])
    await slow.stop()
    await other.stop()
