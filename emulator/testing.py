"""Start any discord.py bot against an emulator and stop it cleanly (for tests and tools)."""

from __future__ import annotations

import asyncio
import contextlib

import discord

from emulator.server import Emulator


async def start_bot(emu: Emulator, bot: discord.Client, timeout: float = 10.0
                    ) -> asyncio.Task[None]:
    """Patch discord.py to ``emu``, start ``bot`` with the emulator's token and wait for READY.

    Returns the task running the bot; pass it to :func:`stop_bot`.
    """
    emu.patch_discord()
    task = asyncio.create_task(bot.start(emu.token), name="bot")
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=timeout,
                                 return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()  # raises what stopped the bot
        await stop_bot(bot, task)
        raise TimeoutError(f"bot not ready after {timeout}s")
    return task


async def stop_bot(bot: discord.Client, task: asyncio.Task[None]) -> None:
    if not bot.is_closed():
        await bot.close()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
