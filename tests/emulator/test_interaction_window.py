"""Discord's 3 s: an interaction not acknowledged in time is what the user sees as "This
interaction failed"; the emulator records it, answered late or not at all."""

from __future__ import annotations

import asyncio


async def test_an_answer_after_the_window_is_recorded_as_failed(world):
    emu, bot, guild, ana = world
    emu.interaction_timeout = 0.1
    it = await emu.run_command(guild, ana, "late")
    await emu.wait_for(lambda: "late 10062" in bot.events, what="10062 in the bot")
    assert it.late and it.failed and emu.failed_interactions() == [it]


async def test_no_answer_at_all_fails_once_the_window_is_over(world):
    emu, _, guild, ana = world
    emu.interaction_timeout = 0.2
    it = await emu.run_command(guild, ana, "counter")  # answered: not failed
    await it.wait_response()
    assert not it.failed and it.acked_after is not None and it.acked_after < 0.2
    # a modal no view waits for: discord.py never answers it
    silent = await emu.submit_modal(ana, "nobody-listens", {"x": "1"}, guild=guild)
    assert not silent.failed  # still inside the window
    await asyncio.sleep(0.3)
    assert silent.failed and not silent.late and emu.failed_interactions() == [silent]
