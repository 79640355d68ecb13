"""Running the bot: open the database, build everything (``bot/compose.py``), run until
Ctrl-C, close everything."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from discord import app_commands

from bot.app import FamiliaBot
from bot.clock import Clock
from bot.compose import build_bot
from bot.config import Settings
from bot.db import Database

log = logging.getLogger(__name__)


@asynccontextmanager
async def familia_bot(
    settings: Settings, *, clock: Clock | None = None, **options: object
) -> AsyncIterator[FamiliaBot]:
    """The bot over everything the composition root builds; everything closed on exit.

    ``options`` go to discord.py's client (e.g. ``guild_ready_timeout`` for the emulator).
    One bot per database file: a second one on the same file raises
    :class:`~bot.db.DatabaseInUse` before touching it.
    """
    db = await Database.open(settings.database_path, exclusive=True)
    try:
        bot = build_bot(settings, db, clock=clock, **options)
        try:
            yield bot
        finally:
            if not bot.is_closed():
                await bot.close()
    finally:
        await db.close()


async def run_bot(settings: Settings, token: str) -> None:
    async with familia_bot(settings) as bot:
        log.info("starting Familia")
        await bot.start(token)


@asynccontextmanager
async def offline_tree() -> AsyncIterator[app_commands.CommandTree]:
    """The command tree with every cog loaded, without connecting (for checks and tests)."""
    import tempfile
    from pathlib import Path

    from bot.config import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env_file=None, database_path=Path(tmp) / "t.db")
        async with familia_bot(settings) as bot:
            await bot.load_features()
            yield bot.tree
