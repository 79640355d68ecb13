"""Outcomes are written down as they come, a few at a time: a delivered mail is marked sent
within the sender's settling window of its ``250``, while the rest of its batch is still on
the wire (the window in which a crash repeats it), and a batch ending writes what is left at
once."""

from __future__ import annotations

import asyncio
import time

from bot.clock import Clock
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
                                       f"settle:{user}", "en")


async def test_a_delivered_mail_is_written_down_while_its_batch_goes_on(services):
    # Real time: 0.6 s a mail on one connection, one batch of 3. Each mail must be marked
    # sent before the next one reaches the relay (the window is 10 ms; 0.6 s leaves a busy
    # machine its room), not when the batch ends.
    relay = SlowRelay(0.6)
    relay.controller.start()
    seen: list[tuple[int, int]] = []  # (mails at the relay, rows sent) as they change
    try:
        await queue_many(services, 3)
        sender = Sender(services.db, smtp_config(relay), Clock(), connections=1, batch=3,
                        settle_after=0.01, settle_batch=20)
        draining = asyncio.ensure_future(sender.drain())
        while not draining.done():
            state = (len(relay.messages), await services.db.fetchval(
                "SELECT count(*) FROM email_outbox WHERE state = 'sent'"))
            if not seen or seen[-1] != state:
                seen.append(state)
            await asyncio.sleep(0.005)
        assert await draining == 3
        await sender.close()
    finally:
        relay.controller.stop()
    # Mail n is written down while the relay has n mails: before mail n + 1 arrives.
    for n in (1, 2):
        assert (n, n) in seen, seen
    assert await services.db.fetchval(
        "SELECT count(*) FROM email_outbox WHERE state = 'sent'") == 3


async def test_the_last_outcomes_of_a_drain_are_written_without_waiting(services, smtp):
    # A settling window far longer than the batch: draining still ends with every outcome
    # written, at once, not after the window.
    await queue_many(services, 5)
    sender = Sender(services.db, smtp_config(smtp), Clock(), connections=2, batch=10,
                    settle_after=30.0, settle_batch=1000)
    started = time.monotonic()
    assert await sender.drain() == 5
    assert time.monotonic() - started < 10
    await sender.close()
    assert await services.db.fetchval(
        "SELECT count(*) FROM email_outbox WHERE state = 'sent'") == 5
    assert len(smtp.messages) == 5
