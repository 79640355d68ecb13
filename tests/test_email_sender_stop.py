"""The email sender stops when it is told to, whatever it is doing then."""

from __future__ import annotations

import asyncio

from tests._email import SmtpSink, make_sender


async def test_the_sender_stops_when_cancelled_just_as_it_is_woken(services, smtp: SmtpSink):
    """On Python 3.11, ``asyncio.wait_for`` swallows a cancellation that comes as the
    awaited event is set: the sender (woken by each email queued) would never stop."""
    sender = make_sender(services, smtp)
    task = asyncio.create_task(sender.run())
    await asyncio.sleep(0.2)  # idle, waiting for mail
    sender.wake()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert task in done and task.cancelled()
