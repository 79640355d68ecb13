"""The Discord bot: a ``commands.Bot`` over the parts the composition root built
(``bot/compose.py``); it owns their life: started in ``setup_hook``, stopped in ``close``."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import pkgutil
from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

import cogs
from bot.delivery.sender import DeliverySender
from bot.health import HealthCheck, running_tasks
from bot.interactions import handle_error, log_command, start_timer
from bot.scheduling import Jobs
from bot.translator import FamiliaTranslator

if TYPE_CHECKING:
    from bot.compose import Root

log = logging.getLogger(__name__)


# What Familia's role needs; README's invite URL carries this number (a test checks it).
REQUIRED_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_private_threads=True,
    manage_threads=True,  # a ticket's private thread is locked when it closes
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    manage_roles=True,
    manage_channels=True,
)


def intents() -> discord.Intents:
    """Only what features need. ``members`` is privileged: enable it in the portal."""
    wanted = discord.Intents.none()
    wanted.guilds = True  # channels, roles, guild join/leave
    wanted.members = True  # member join/leave (ends memberships), role changes
    wanted.guild_messages = True  # a ticket's creator writing in its thread ends a wait on
    # them (who wrote where: the text needs the privileged message-content intent, unused)
    wanted.dm_messages = True  # DMs to Familia open support tickets (their text needs no
    # privileged intent: Discord sends a DM's content to the bot it was written to)
    return wanted


def discover_cogs() -> list[str]:
    """Every module in ``cogs/`` not starting with ``_`` is an extension."""
    return sorted(
        f"cogs.{info.name}" for info in pkgutil.iter_modules(cogs.__path__)
        if not info.name.startswith("_")
    )


class FamiliaTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        start_timer(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await handle_error(interaction, error)


class FamiliaBot(commands.Bot):
    def __init__(
        self, root: Root, *, extensions: Iterable[str] | None = None, **options: object
    ) -> None:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice here
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            tree_cls=FamiliaTree,
            help_command=None,
            # nothing pings unless a message names who (deliveries pass their own)
            allowed_mentions=discord.AllowedMentions.none(),
            **options,  # type: ignore[arg-type]  # discord.py's options, passed through
        )
        self.settings = root.settings
        self.clock = root.clock
        self.db = root.db
        self.templates = root.templates
        self.renderer = root.renderer
        self.email_sender = root.sender
        # The one Discord sender (every kind of delivery); it needs this client to send.
        self.delivery_sender = DeliverySender(self, root.services.deliveries,
                                              rate=root.settings.broadcast_rate)
        self.events = root.events
        self.services = root.services
        self.web = root.web
        # /healthz: the gateway and the two senders, which only the bot can see
        self.web.health_check = HealthCheck(root.db, root.clock,
                                            gateway=self.gateway_connected, tasks=running_tasks)
        self.scheduler = root.scheduler
        self.jobs = Jobs(root.scheduler, ready=self.wait_until_ready)
        self.extension_names = list(extensions) if extensions is not None else discover_cogs()
        self.background_tasks: set[asyncio.Task[object]] = set()

    def gateway_connected(self) -> bool:
        """READY seen and the gateway's websocket open (False while it reconnects)."""
        ws = self.ws
        return self.is_ready() and not self.is_closed() and ws is not None and ws.open

    async def setup_hook(self) -> None:
        # Order matters: the database is migrated before anything uses it; the cogs load
        # after it; the scheduler starts last, when every job is registered.
        await self.load_features()
        await self.start_email()
        self.delivery_sender.start()  # sends once connected (it waits until ready)
        await self.sync_commands()
        self.jobs.start()

    async def load_features(self) -> None:
        """Migrate, set the translator and load the cogs (no network; nothing started)."""
        applied = await self.db.migrate()
        if applied:
            log.info("database upgraded to version %s", applied[-1].version)
        await self.tree.set_translator(FamiliaTranslator(self.templates.catalogs))
        for name in self.extension_names:
            await self.load_extension(name)

    async def start_email(self) -> None:
        """The email sender task and the web server (unsubscribe and exit pages, health);
        stopped in :meth:`close`."""
        await self.services.email.secret()  # generated and stored once, before any link
        self.spawn(self.email_sender.run(), name="email sender")
        settings = self.settings
        try:
            await self.web.start(settings.http_host, settings.http_port)
        except OSError as exc:  # the bot still works; unsubscribe links will not until fixed
            log.error("web server could not listen on %s:%s: %s", settings.http_host,
                      settings.http_port, exc)

    async def sync_commands(self) -> bool:
        """Sync application commands only when the tree (or its translations) changed."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        translator = self.tree.translator
        assert translator is not None
        payload = [
            await command.get_translated_payload(self.tree, translator)
            for command in self.tree.get_commands(guild=guild)
        ]
        digest = hashlib.sha256(
            json.dumps(payload, sort_keys=True, default=str).encode()
        ).hexdigest()
        key = f"commands_digest:{self.application_id}:{guild.id if guild else 'global'}"
        if await self.services.meta.get(key) == digest:
            log.info("application commands unchanged; not syncing")
            return False
        await self.tree.sync(guild=guild)
        await self.services.meta.set(key, digest)
        log.info("synced %d application commands to %s", len(payload), guild.id if guild else "all")
        return True

    def spawn(self, coro, name: str) -> asyncio.Task[object]:
        """Start an owned background task: kept, logged if it dies, cancelled on close."""
        task = asyncio.create_task(coro, name=name)
        self.background_tasks.add(task)

        def done(t: asyncio.Task[object]) -> None:
            self.background_tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background task %s died", name, exc_info=t.exception())

        task.add_done_callback(done)
        return task

    async def on_connect(self) -> None:
        _yield_between_gateway_events(self.ws)

    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: app_commands.Command | object
    ) -> None:
        log_command(interaction, "ok")

    async def close(self) -> None:
        """Stop what ``setup_hook`` started, in reverse: the scheduler (no new sweeps), the
        background tasks (the email sender closes its SMTP connections), the web server,
        the render workers; then discord.py unloads the cogs and disconnects."""
        self.jobs.stop()
        await self.delivery_sender.close()
        for task in list(self.background_tasks):
            task.cancel()
        if self.background_tasks:
            await asyncio.gather(*self.background_tasks, return_exceptions=True)
        await self.web.stop()
        self.renderer.close()
        await super().close()


def _yield_between_gateway_events(ws: object) -> None:
    """Let other tasks run after each gateway event.

    discord.py's gateway loop reads frames without yielding while more are buffered, so a
    burst of events (a whole program checking in at 21:00) runs the parsers back to back and
    every interaction's acknowledgement waits for the burst to end — past Discord's 3 s. One
    ``sleep(0)`` per event puts those acknowledgements in between. Installed on each new
    gateway connection (``on_connect``), on the connection object only.

    The one place Familia touches discord.py internals: the gateway connection
    (``DiscordWebSocket``) is not public API, and discord.py 2.7 offers no public hook that is
    awaited per gateway event (``socket_event_type``/``socket_raw_receive`` are dispatched as
    tasks, after the parse). If ``poll_event`` disappears, this does nothing (checked) and
    Familia only loses the fairness; tests/test_services_foundation.py pins the behaviour."""
    poll = getattr(ws, "poll_event", None)
    if poll is None or getattr(poll, "familia_fair", False):
        return

    async def poll_event() -> None:
        await poll()
        await asyncio.sleep(0)

    poll_event.familia_fair = True  # type: ignore[attr-defined]  # a mark on the function
    ws.poll_event = poll_event  # type: ignore[attr-defined]  # the one replaced method

