"""Start any discord.py bot against an emulator and stop it cleanly (tests, benchmarks, demo).

    async with Emulator() as emu:
        guild = emu.create_guild("Test")
        async with running_bot(emu, MyBot()) as bot:
            it = await emu.run_command(guild, emu.owner, "ping")
            assert await it.reply_text() == "pong"

For pytest, ``from emulator.testing import emulator_fixture`` in a conftest gives an
``emulator`` fixture (a started :class:`~emulator.server.Emulator`, stopped afterwards).
Bots should pass a small ``guild_ready_timeout`` (e.g. 0.05) so READY is not held back 2 s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord

from emulator.models import Application
from emulator.server import Emulator

BotT = TypeVar("BotT", bound=discord.Client)


async def start_bot(emu: Emulator, bot: discord.Client, timeout: float = 10.0, *,
                    app: Application | None = None) -> asyncio.Task[None]:
    """Patch discord.py to ``emu``, start ``bot`` with the token of ``app`` (default
    application) and wait until it is ready (READY, guilds cached, chunked).

    Returns the task running the bot; pass it to :func:`stop_bot`. If the bot fails to start
    (bad token, disallowed intents…) its exception is raised here.
    """
    emu.patch_discord()
    token = (app or emu.app).token
    task = asyncio.create_task(bot.start(token), name="discord-bot")
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
    """``bot.close()`` then cancel and await its task (errors after close are ignored)."""
    if not bot.is_closed():
        await bot.close()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


@contextlib.asynccontextmanager
async def running_bot(emu: Emulator, bot: BotT, timeout: float = 10.0, *,
                      app: Application | None = None) -> AsyncIterator[BotT]:
    """``async with running_bot(emu, bot) as bot:`` — started and ready inside, closed after."""
    task = await start_bot(emu, bot, timeout, app=app)
    try:
        yield bot
    finally:
        await stop_bot(bot, task)


def default_intents() -> discord.Intents:
    """Guilds, members, guild and DM messages and message content: what most bots use."""
    intents = discord.Intents.none()
    intents.guilds = intents.members = True
    intents.guild_messages = intents.dm_messages = intents.message_content = True
    return intents


try:  # the fixture only exists when pytest is installed (not needed at runtime)
    import pytest
except ImportError:  # pragma: no cover
    pass
else:

    @pytest.fixture
    async def emulator_fixture() -> AsyncIterator[Emulator]:
        """A started emulator (default application, no guilds), stopped afterwards."""
        async with Emulator() as emu:
            yield emu


__all__ = ["default_intents", "emulator_fixture", "running_bot", "start_bot", "stop_bot"]
