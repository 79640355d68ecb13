"""The delivery sender's pacing and failure reasons (no Discord needed)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import discord

from bot.delivery.sender import Pacer, failure_reason


def _http_error(cls, status: int, code: int):
    response = SimpleNamespace(status=status, reason="x")
    return cls(response, {"code": code, "message": "x"})


async def test_pacer_spaces_requests_evenly_even_when_called_together():
    pacer = Pacer(rate=200)  # one start every 5 ms
    starts: list[float] = []

    async def one() -> None:
        await pacer.wait()
        starts.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(21)))
    assert starts[-1] - starts[0] >= 20 * 0.005 * 0.95
    # No burst: any 10 consecutive gaps span at least 10 intervals (a late wake-up is made
    # up by the next start, never by several at once).
    assert min(starts[i + 10] - starts[i] for i in range(11)) >= 10 * 0.005 * 0.8


def test_failure_reasons_for_the_report():
    assert failure_reason(_http_error(discord.Forbidden, 403, 50007)) == "dms_closed"
    assert failure_reason(_http_error(discord.Forbidden, 403, 50013)) == "missing_permissions"
    assert failure_reason(_http_error(discord.NotFound, 404, 10003)) == "channel_gone"
    assert failure_reason(_http_error(discord.HTTPException, 400, 50035)) == "rejected_400"
    assert failure_reason(_http_error(discord.DiscordServerError, 503, 0)) is None  # retried
    assert failure_reason(OSError("reset")) is None
