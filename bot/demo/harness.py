"""Run the real bot against the emulator, act as people, and print what each would see."""

from __future__ import annotations

import contextlib
import io
import re
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TextIO

from bot.app import FamiliaBot
from bot.clock import OffsetClock
from bot.config import Settings, load_settings
from bot.mail.local import LocalSmtpServer, free_port
from bot.runner import familia_bot
from emulator import Channel, Emulator, Guild, Interaction, Message, User
from emulator.testing import start_bot, stop_bot


class Demo:
    """A guild with people in it, and a transcript of what they see."""

    def __init__(self, emu: Emulator, bot: FamiliaBot, guild: Guild, out: TextIO,
                 smtp: LocalSmtpServer, settings: Settings,
                 clock: OffsetClock | None = None) -> None:
        self.emu = emu
        self.clock = clock or OffsetClock()
        self.smtp = smtp
        self.settings = settings
        self._mail_seen: dict[str, int] = {}
        self.bot = bot
        self.guild = guild
        self.out = out
        self.people: dict[str, User] = {"maria": emu.owner}
        self._seen: dict[int, int] = {}

    # -- people ----------------------------------------------------------------------------

    def person(self, name: str, *, locale: str = "en-US") -> User:
        """Someone in the server (created on first mention)."""
        if name not in self.people:
            user = self.emu.create_user(name, locale=locale)
            self.emu.add_member(self.guild, user)
            self.people[name] = user
        return self.people[name]

    async def family_led_by(self, leader: User) -> tuple[str, Channel | None]:
        """The name and channel of the family ``leader`` leads (the seeded program's
        families have the builder's names; the scenes follow their leaders)."""
        for family in await self.bot.services.families.list_families(self.guild.id):
            if family.leader_user_id == leader.id:
                return family.name, self.guild.channels.get(family.channel_id or 0)
        raise LookupError(f"{leader.name} leads no family")

    async def family_channels(self) -> list[Channel]:
        """Every family's channel, in the order of the families' names."""
        families = await self.bot.services.families.list_families(self.guild.id)
        found = (self.guild.channels.get(f.channel_id or 0) for f in families)
        return [c for c in found if c is not None]

    # -- transcript ------------------------------------------------------------------------

    def scene(self, title: str) -> None:
        self.out.write(f"\n━━ {title} ━━\n")

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Act without printing (what a scene only needs done, not shown)."""
        out, self.out = self.out, io.StringIO()
        try:
            yield
        finally:
            self.out = out

    async def settled(self, timeout: float = 10.0) -> None:
        """Wait until the Discord delivery queue has sent (or given up on) everything."""
        db = self.bot.services.db

        async def idle() -> bool:
            return not await db.fetchval(
                "SELECT count(*) FROM deliveries WHERE state NOT IN ('sent', 'failed')")

        with contextlib.suppress(AssertionError):
            await self.emu.wait_for(idle, timeout, "the delivery queue to empty")

    def skip(self, channel: Channel) -> None:
        """Mark what is in ``channel`` so far as seen, without printing it."""
        self._seen[channel.id] = len(self.emu.messages(channel))

    def narrate(self, text: str) -> None:
        self.out.write(f"  ({text})\n")

    def _mentions(self, text: str) -> str:
        """Show mentions as a Discord client would: @name, #channel, @role."""
        def user(match: re.Match[str]) -> str:
            found = self.emu.users.get(int(match.group(1)))
            return f"@{found.name}" if found else match.group(0)

        def channel(match: re.Match[str]) -> str:
            found = self.guild.channels.get(int(match.group(1)))
            return f"#{found.name}" if found else match.group(0)

        def role(match: re.Match[str]) -> str:
            found = self.guild.roles.get(int(match.group(1)))
            return f"@{found.name}" if found else match.group(0)

        text = re.sub(r"<@&(\d+)>", role, text)
        text = re.sub(r"<@!?(\d+)>", user, text)
        return re.sub(r"<#(\d+)>", channel, text)

    def _show(self, who: str, text: str) -> None:
        lines = self._mentions(text).splitlines() or [""]
        self.out.write(f"  {who}: {lines[0]}\n")
        for line in lines[1:]:
            self.out.write(f"  {' ' * len(who)}  {line}\n")

    def _label(self, user: User) -> str:
        return user.name

    async def command(self, user: User, name: str, options: dict[str, Any] | None = None, *,
                      subcommand: str | list[str] | None = None, locale: str | None = None,
                      ) -> Interaction:
        """``user`` runs a slash command; prints it and the bot's reply."""
        path = [subcommand] if isinstance(subcommand, str) else list(subcommand or [])
        shown = " ".join([f"/{name}", *path, *(f"{k}:{_plain(v)}" for k, v in
                                                (options or {}).items())])
        self.out.write(f"\n  {self._label(user)} ▸ {shown}\n")
        interaction = await self.emu.run_command(self.guild, user, name, options,
                                                 subcommand=subcommand, locale=locale)
        await self._reply(user, interaction)
        return interaction

    async def _reply(self, user: User, interaction: Interaction) -> None:
        await interaction.wait_response(10)
        if interaction.modal is not None:
            self._show("Familia", f"[opens a form: {interaction.modal.get('title', '')}]")
            return
        source = getattr(interaction, "source_message", None)
        if interaction.response_type == 7 and source is not None:
            self._show("Familia (updates the message)", source.content)
            return
        with contextlib.suppress(AssertionError):
            await interaction.wait_message(10)
        for message in interaction.messages:
            self._message(message, private_to=user if message.ephemeral else None)

    def _message(self, message: Message, private_to: User | None = None) -> None:
        where = f"Familia → {private_to.name} (only they see this)" if private_to else "Familia"
        text = message.content
        for attachment in message.attachments:
            text += f"\n[file: {attachment.filename}, {len(attachment.data)} bytes]"
        buttons = [c for c in message.custom_ids]
        if buttons:
            text += "\n[" + " | ".join(_component_labels(message)) + "]"
        self._show(where, text)

    async def click(self, user: User, message: Message, custom_id: str, label: str = ""
                    ) -> Interaction:
        self.out.write(f"\n  {self._label(user)} ▸ [clicks {label or custom_id}]\n")
        interaction = await self.emu.click(user, message, custom_id)
        await self._reply(user, interaction)
        return interaction

    async def choose(self, user: User, message: Message, custom_id: str, values: list[str],
                     label: str = "") -> Interaction:
        self.out.write(f"\n  {self._label(user)} ▸ [chooses {label or ', '.join(values)}]\n")
        interaction = await self.emu.select(user, message, custom_id, values)
        await self._reply(user, interaction)
        return interaction

    async def fill(self, user: User, interaction: Interaction, values: dict[str, str]
                   ) -> Interaction:
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        self.out.write(f"\n  {self._label(user)} ▸ [fills in the form: {shown}]\n")
        submitted = await interaction.submit(values, user=user)
        await self._reply(user, submitted)
        return submitted

    def unseen(self, channel: Channel) -> int:
        """How many messages in ``channel`` were not shown (or skipped) yet."""
        return len(self.emu.messages(channel)) - self._seen.get(channel.id, 0)

    def posts(self, channel: Channel) -> list[Message]:
        """New messages in a channel since the last call; printed."""
        messages = self.emu.messages(channel)
        start = self._seen.get(channel.id, 0)
        self._seen[channel.id] = len(messages)
        fresh = messages[start:]
        for message in fresh:
            self.out.write(f"\n  #{channel.name}\n")
            self._message(message)
        return fresh

    async def wait_posts(self, channel: Channel, timeout: float = 5.0) -> list[Message]:
        """Wait for at least one new message in ``channel``, then print the new ones."""
        start = self._seen.get(channel.id, 0)
        with contextlib.suppress(AssertionError):
            await self.emu.wait_for(lambda: len(self.emu.messages(channel)) > start, timeout,
                                    f"a post in #{channel.name}")
        return self.posts(channel)

    def dms(self, user: User) -> list[Message]:
        """New direct messages to ``user`` since the last call; printed."""
        channel = self.emu.dm_channel(user)
        messages = self.emu.messages(channel)
        start = self._seen.get(channel.id, 0)
        self._seen[channel.id] = len(messages)
        for message in messages[start:]:
            self.out.write(f"\n  DM to {user.name}\n")
            self._message(message)
        return messages[start:]


    async def mail(self, address: str, count: int = 1, timeout: float = 10.0, *,
                   lines: int = 12) -> list[EmailMessage]:
        """Wait for ``count`` new emails to ``address`` at the local SMTP server; print each
        as a mail app would list it (subject, then the start of the plain text)."""
        def fresh() -> list[EmailMessage]:
            mine = [m for m in self.smtp.received() if m["To"] == address]
            return mine[self._mail_seen.get(address, 0):]

        with contextlib.suppress(AssertionError):
            await self.emu.wait_for(lambda: len(fresh()) >= count, timeout, f"mail to {address}")
        found = fresh()
        self._mail_seen[address] = self._mail_seen.get(address, 0) + len(found)
        for message in found:
            self.out.write(f"\n  ✉ email to {address}: “{message['Subject']}”\n")
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content().strip() if body is not None else ""
            shown = [line for line in text.splitlines() if line.strip()]
            for line in shown[:lines]:
                self.out.write(f"  │ {line}\n")
            if len(shown) > lines:
                self.out.write("  │ …\n")
        return found


def _plain(value: Any) -> str:
    if isinstance(value, tuple) and value and isinstance(value[-1], bytes | bytearray):
        return str(value[0])  # an uploaded file: (name, bytes)
    for attr in ("name",):
        if hasattr(value, attr):
            return str(getattr(value, attr))
    return str(value)


def _component_labels(message: Message) -> list[str]:
    labels: list[str] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == 2:
                labels.append(str(item.get("label") or item.get("emoji", {}).get("name") or "?"))
            elif item.get("type") == 3:
                labels.append("menu: " + ", ".join(o.get("label", "") for o in
                                                   item.get("options", [])))
            walk(item.get("components", []))

    walk(message.components)
    return labels


def offline_settings(base: Settings, folder: Path, *, smtp_port: int | None = None,
                     mail_dir: Path | None = None) -> Settings:
    """The user's settings, with the database kept in ``folder`` (never the real DB) and, with
    ``smtp_port``, email sent to the local SMTP server there and saved in ``mail_dir``."""
    overrides: dict[str, Any] = {"database_path": folder / "familia-offline.db", "http_port": 0,
                                 "outbox_dir": mail_dir or folder / "outbox"}
    if smtp_port is not None:
        http_port = free_port()
        overrides |= {"smtp_host": LocalSmtpServer.host, "smtp_port": smtp_port,
                      "smtp_security": "none", "http_host": "127.0.0.1", "http_port": http_port,
                      "public_base_url": f"http://127.0.0.1:{http_port}"}
    if base.secret_key is None:
        # The database lives and dies with this run, so a key for this run is all its links
        # need (and no warning about keeping one in the database).
        overrides["secret_key"] = secrets.token_urlsafe(32)
    data = base.model_dump() | overrides
    data = {k: v.get_secret_value() if hasattr(v, "get_secret_value") else v
            for k, v in data.items() if v is not None}
    gone = ("discord_token",) + (("smtp_user", "smtp_password") if smtp_port is not None
                                 else ())
    for key in gone:  # offline: no Discord login, no SMTP login at the local server
        data.pop(key, None)
    return load_settings(env_file=None, **data)


def mail_folder(settings: Settings) -> Path:
    """Where an offline run saves its emails: a new folder per run under OUTBOX_DIR, else
    under ./offline-outbox."""
    root = settings.outbox_dir or Path("offline-outbox")
    return root / datetime.now().strftime("%Y%m%d-%H%M%S")


@contextlib.asynccontextmanager
async def running_demo(settings: Settings | None = None, *, out: TextIO = sys.stdout,
                       folder: Path | None = None, mail_dir: Path | None = None,
                       ) -> AsyncIterator[Demo]:
    """Emulator + demo guild + a local SMTP server + the real bot, ready to act; everything
    stopped on exit. Email is saved as .eml files in ``mail_dir`` (default: in ``folder``)."""
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        smtp = stack.enter_context(LocalSmtpServer())
        base = settings or load_settings(env_file=None)
        offline = offline_settings(base, folder, smtp_port=smtp.port, mail_dir=mail_dir)
        clock = OffsetClock()  # real time, which the web console can move forward
        async with Emulator(now=clock.now) as emu:
            emu.owner.name = "maria"
            guild = emu.create_guild("Familia Demo", owner=emu.owner)
            async with familia_bot(offline, clock=clock, guild_ready_timeout=0.05) as bot:
                task = await start_bot(emu, bot)
                try:
                    yield Demo(emu, bot, guild, out, smtp, offline, clock)
                finally:
                    await stop_bot(bot, task)
