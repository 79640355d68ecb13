"""/broadcast: managers send a message to an audience (family channels, opted-in DMs);
anyone opts in or out of broadcast DMs. Sending is the one Discord sender's
(:mod:`bot.delivery.sender`), started here until the composition root owns it."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot.app import FamiliaBot
from bot.checks import manager_only
from bot.delivery.sender import DeliverySender
from bot.interactions import (
    FamiliaModal,
    PersistentItem,
    familia,
    locale_for,
    log_command,
    reply,
    start_timer,
)
from bot.services.broadcasts import TEXT_LIMIT, Broadcast, Recipients

LABELS = "discord/broadcasts/labels.j2"
JOB_ID = "broadcasts-sweep"
ROUTE_CHOICES = [
    app_commands.Choice(name=_T("Family channels"), value="channel"),
    app_commands.Choice(name=_T("DMs to members who opted in"), value="dm"),
    app_commands.Choice(name=_T("Email"), value="email"),
    app_commands.Choice(name=_T("Family channels and DMs"), value="channel,dm"),
    app_commands.Choice(name=_T("Family channels, DMs and email"), value="channel,dm,email"),
    app_commands.Choice(name=_T("DMs and email"), value="dm,email"),
]
AUDIENCE_CHOICES = [
    app_commands.Choice(name=_T("Everyone in a family"), value="all"),
    app_commands.Choice(name=_T("Some families"), value="families"),
    app_commands.Choice(name=_T("Some tiers"), value="tiers"),
    app_commands.Choice(name=_T("Family leaders only"), value="leaders"),
]


def label(bot: Any, locale: str, name: str, *args: Any) -> str:
    return bot.templates.macro(locale, LABELS, name, *args)


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


class TextModal(FamiliaModal):
    """The broadcast's text; submitting it stores a draft and shows the preview."""

    def __init__(self, bot: Any, locale: str, request: dict[str, Any]) -> None:
        super().__init__(title=label(bot, locale, "modal_title"), timeout=900)
        self.request = request
        self.text = discord.ui.TextInput(
            label=label(bot, locale, "modal_text"), custom_id="text",
            style=discord.TextStyle.paragraph, max_length=TEXT_LIMIT)
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        start_timer(interaction)
        broadcast, recipients = await familia(interaction).services.broadcasts.draft(
            interaction.guild_id, interaction.user.id, self.text.value,  # type: ignore[arg-type]
            **self.request)
        await preview(interaction, broadcast, recipients)
        log_command(interaction, "ok")


async def preview(interaction: discord.Interaction, broadcast: Broadcast,
                  recipients: Recipients) -> None:
    """The counts and the buttons, then each message exactly as it will be posted."""
    bot = familia(interaction)
    locale = await locale_for(interaction)
    tz = await bot.services.members.timezone_of(broadcast.guild_id, interaction.user.id)
    view = discord.ui.View(timeout=None)
    view.add_item(ConfirmButton(broadcast.id, label(bot, locale, "confirm")))
    view.add_item(CancelButton(broadcast.id, label(bot, locale, "cancel")))
    await reply(interaction, "discord/broadcasts/preview.md.j2", view=view,
                broadcast=broadcast, recipients=recipients, timezone=tz)
    for part in broadcast.parts:
        await interaction.followup.send(part, ephemeral=True,
                                        allowed_mentions=discord.AllowedMentions.none())


class _Persistent(PersistentItem):
    managers_only = True


class ConfirmButton(_Persistent, discord.ui.DynamicItem[discord.ui.Button],
                    template=r"familia:bc:confirm:(?P<id>\d+)"):
    def __init__(self, broadcast_id: int, text: str = "✓") -> None:
        self.broadcast_id = broadcast_id
        super().__init__(discord.ui.Button(label=text, style=discord.ButtonStyle.success,
                                           custom_id=f"familia:bc:confirm:{broadcast_id}"))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):  # type: ignore[override]
        return cls(int(match["id"]), item.label or "✓")

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        broadcast = await bot.services.broadcasts.confirm(
            interaction.guild_id, interaction.user.id, self.broadcast_id)  # type: ignore[arg-type]
        tz = await bot.services.members.timezone_of(broadcast.guild_id, interaction.user.id)
        await reply(interaction, "discord/broadcasts/confirmed.md.j2", broadcast=broadcast,
                    timezone=tz)


class CancelButton(_Persistent, discord.ui.DynamicItem[discord.ui.Button],
                   template=r"familia:bc:cancel:(?P<id>\d+)"):
    def __init__(self, broadcast_id: int, text: str = "✗") -> None:
        self.broadcast_id = broadcast_id
        super().__init__(discord.ui.Button(label=text, style=discord.ButtonStyle.secondary,
                                           custom_id=f"familia:bc:cancel:{broadcast_id}"))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):  # type: ignore[override]
        return cls(int(match["id"]), item.label or "✗")

    async def run(self, interaction: discord.Interaction) -> None:
        broadcast = await familia(interaction).services.broadcasts.cancel(
            interaction.guild_id, interaction.user.id, self.broadcast_id)  # type: ignore[arg-type]
        await reply(interaction, "discord/broadcasts/cancelled.md.j2", broadcast=broadcast)


class BroadcastCog(commands.Cog, name="Broadcasts"):
    broadcast = app_commands.Group(
        name=_T("broadcast"), description=_T("Messages from the program managers"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot
        # The one Discord sender (all kinds); the composition root will own it.
        self.sender = DeliverySender(bot, bot.services.deliveries,
                                     rate=bot.settings.broadcast_rate)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ConfirmButton, CancelButton)
        self.bot.scheduler.add_job(self.sweep, "interval", seconds=30, id=JOB_ID,
                                   replace_existing=True)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.sender.start()  # once connected (a no-op while it runs)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ConfirmButton, CancelButton)
        if self.bot.scheduler.get_job(JOB_ID):
            self.bot.scheduler.remove_job(JOB_ID)
        self.sender.stop()

    async def sweep(self) -> None:
        """Queue scheduled broadcasts that are due, then wake the sender (idempotent)."""
        await self.bot.services.broadcasts.start_due()
        await self.bot.services.broadcasts.finish()

    @broadcast.command(name=_T("new"), description=_T("Write a broadcast, preview it, send it"))
    @app_commands.rename(audience=_T("audience"), routes=_T("routes"), families=_T("families"),
                         tiers=_T("tiers"), at=_T("at"), everyone=_T("everyone"))
    @app_commands.describe(
        audience=_T("Who receives it"),
        routes=_T("How it reaches them"),
        families=_T("Family names, separated by commas (audience: some families)"),
        tiers=_T("Tier names, separated by commas (audience: some tiers)"),
        at=_T("Send later, in your time zone: YYYY-MM-DD HH:MM; leave empty to send now"),
        everyone=_T("Let @everyone and @here in the text notify people (off by default)"),
    )
    @app_commands.choices(audience=AUDIENCE_CHOICES, routes=ROUTE_CHOICES)
    @manager_only()
    async def new(self, interaction: discord.Interaction, audience: str, routes: str,
                  families: str | None = None, tiers: str | None = None,
                  at: str | None = None, everyone: bool = False) -> None:
        services = self.bot.services
        guild_id = interaction.guild_id
        ids: list[int] = []
        if audience == "families":
            ids = [(await services.families.resolve(guild_id, n)).id  # type: ignore[arg-type]
                   for n in _names(families)]
        elif audience == "tiers":
            ids = [(await services.tiers.get(guild_id, n)).id  # type: ignore[arg-type]
                   for n in _names(tiers)]
        request = {"audience": audience, "audience_ids": ids,
                   "routes": tuple(routes.split(",")), "allow_everyone": everyone,
                   "send_at": await services.broadcasts.parse_when(
                       guild_id, interaction.user.id, at)}  # type: ignore[arg-type]
        await services.broadcasts.check(guild_id, audience, ids, request["routes"])  # type: ignore[arg-type]
        locale = await locale_for(interaction)
        await interaction.response.send_modal(TextModal(self.bot, locale, request))

    @broadcast.command(name=_T("report"), description=_T("What a broadcast reached, and why not"))
    @app_commands.rename(broadcast_id=_T("id"))
    @app_commands.describe(broadcast_id=_T("The broadcast number; leave empty for the latest"))
    @manager_only()
    async def report(self, interaction: discord.Interaction,
                     broadcast_id: int | None = None) -> None:
        service = self.bot.services.broadcasts
        if broadcast_id is None:
            latest = await service.recent(interaction.guild_id, 1)  # type: ignore[arg-type]
            broadcast_id = latest[0].id if latest else 0
        found = await service.report(interaction.guild_id, broadcast_id)  # type: ignore[arg-type]
        tz = await self.bot.services.members.timezone_of(
            interaction.guild_id, interaction.user.id)  # type: ignore[arg-type]
        await reply(interaction, "discord/broadcasts/report.md.j2", report=found, timezone=tz)

    @broadcast.command(name=_T("cancel"), description=_T("Cancel a scheduled broadcast"))
    @app_commands.rename(broadcast_id=_T("id"))
    @app_commands.describe(broadcast_id=_T("The broadcast number"))
    @manager_only()
    async def cancel(self, interaction: discord.Interaction, broadcast_id: int) -> None:
        found = await self.bot.services.broadcasts.cancel(
            interaction.guild_id, interaction.user.id, broadcast_id)  # type: ignore[arg-type]
        await reply(interaction, "discord/broadcasts/cancelled.md.j2", broadcast=found)

    @broadcast.command(name=_T("optin"),
                       description=_T("Get (or stop getting) broadcasts as direct messages"))
    @app_commands.rename(enabled=_T("enabled"))
    @app_commands.describe(enabled=_T("On to receive broadcasts by DM, off to stop"))
    async def optin(self, interaction: discord.Interaction, enabled: bool) -> None:
        channel_id = None
        if enabled:
            channel_id = (await interaction.user.create_dm()).id
        await self.bot.services.broadcasts.set_optin(
            interaction.guild_id, interaction.user.id, enabled, channel_id)  # type: ignore[arg-type]
        await reply(interaction, "discord/broadcasts/optin.md.j2", enabled=enabled)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(BroadcastCog(bot))
