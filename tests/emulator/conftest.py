"""The emulator's fixtures: an emulator, and a world with a plain discord.py bot in it."""

from __future__ import annotations

import pytest

from emulator import Emulator
from emulator.testing import start_bot, stop_bot
from tests.emulator._bot import TestBot


@pytest.fixture
async def emu():
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def world(emu):
    guild = emu.create_guild("Test")
    ana = emu.create_user("ana")
    emu.add_member(guild, ana, dispatch=False)
    bot = TestBot()
    task = await start_bot(emu, bot)
    yield emu, bot, guild, ana
    await stop_bot(bot, task)
