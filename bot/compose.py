"""The composition root: every long-lived part of Familia, built once, in dependency order.

    settings, clock, database (opened by the runner)
    → templates → email renderer → email sender (SMTP)
    → event hub → services (each given what it uses; see ``Services.build``)
    → web server (unsubscribe and exit pages, health) → scheduler
    → the bot, which owns their life: ``setup_hook`` migrates the database, starts the
      email sender and the web server, loads the cogs and starts the scheduler; ``close``
      stops them in reverse.

Nothing is patched onto a part after it is built. Cogs only register commands, views,
listeners and their own sweeps; the one job no cog owns (the email digests) is registered
here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import FamiliaBot
from bot.checks import member_is_manager
from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.events import Events
from bot.mail.rendering import Renderer
from bot.mail.sender import Sender
from bot.mail.smtp import SmtpConfig
from bot.scheduling import create_scheduler
from bot.services import Services
from bot.templating import Templates
from bot.web import WebServer

DIGESTS_JOB = "email-digests"


@dataclass(frozen=True)
class Root:
    """What the bot is built from (and what it starts and stops)."""

    settings: Settings
    clock: Clock
    db: Database
    templates: Templates
    renderer: Renderer
    sender: Sender
    events: Events
    services: Services
    web: WebServer
    scheduler: AsyncIOScheduler


def compose(settings: Settings, db: Database, *, clock: Clock | None = None) -> Root:
    """Build every part (nothing starts here: no task, no socket, no process)."""
    clock = clock or Clock()
    templates = Templates()
    renderer = Renderer(templates, processes=settings.email_render_processes)
    sender = Sender(db, SmtpConfig.from_settings(settings), clock,
                    connections=settings.email_connections, outbox_dir=settings.outbox_dir)
    events = Events()
    services = Services.build(db, settings, clock, events=events, renderer=renderer,
                              on_queued=sender.wake)
    web = WebServer(services.email, templates, settings.default_locale)
    return Root(settings, clock, db, templates, renderer, sender, events, services, web,
                create_scheduler())


def build_bot(settings: Settings, db: Database, *, clock: Clock | None = None,
              **options: Any) -> FamiliaBot:
    """The bot over a freshly composed :class:`Root`, with the email digests' sweep job.

    ``options`` go to discord.py's client (e.g. ``guild_ready_timeout`` for the emulator)."""
    root = compose(settings, db, clock=clock)
    bot = FamiliaBot(root, **options)
    bot.jobs.every(DIGESTS_JOB, digest_sweep(bot, root.services), minutes=5)
    return bot


def digest_sweep(client: discord.Client, services: Services) -> Callable[[], Awaitable[int]]:
    """The email digests' sweep. People are named by their server display name, and whether
    someone is a program manager now is read from ``client``'s member cache (None when the
    member is not cached: their address keeps what it remembers)."""

    def member(guild_id: int, user_id: int) -> discord.Member | None:
        guild = client.get_guild(guild_id)
        return guild.get_member(user_id) if guild is not None else None

    def display_name(guild_id: int, user_id: int) -> str | None:
        found = member(guild_id, user_id)
        return found.display_name if found is not None else None

    async def sweep() -> int:
        settings = {g.id: await services.guilds.get(g.id) for g in client.guilds}

        def is_manager(guild_id: int, user_id: int) -> bool | None:
            found = member(guild_id, user_id)
            if found is None or guild_id not in settings:
                return None
            return member_is_manager(found, settings[guild_id])

        return await services.digests.sweep(is_manager=is_manager, names=display_name)

    return sweep
