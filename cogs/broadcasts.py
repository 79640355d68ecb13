"""/broadcast: managers send a message to an audience (family channels, opted-in DMs);
anyone opts in or out of broadcast DMs. Sending is the one Discord sender's
(:mod:`bot.delivery.sender`), which the bot starts and stops."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import manager_only
from bot.cogkit.buttons import PersistentButton, labels
from bot.cogkit.options import FamilyListArg, IdNumber, SendAtArg, TierListArg
from bot.interactions import (
    FamiliaModal,
    acknowledge,
    familia,
    locale_for,
    log_command,
    reply,
    send,
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


label = labels(LABELS)


class TextModal(FamiliaModal):
    """The broadcast's text; submitting it stores a draft and shows the preview."""

    def __init__(self, bot: Any, locale: str, request: dict[str, Any]) -> None:
        super().__init__(title=label(bot, locale, "modal_title"), timeout=900)
        self.request = request
        self.text: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "modal_text"), custom_id="text",
            style=discord.TextStyle.paragraph, max_length=TEXT_LIMIT)
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        start_timer(interaction)
        draft = await familia(interaction).services.broadcasts.draft(
            cogkit.guild_id(interaction), interaction.user.id, self.text.value,
            **self.request)
        await preview(interaction, draft.broadcast, draft.recipients)
        log_command(interaction, "ok")


async def preview(interaction: discord.Interaction, broadcast: Broadcast,
                  recipients: Recipients) -> None:
    """The counts and the buttons, then each message exactly as it will be posted."""
    bot = familia(interaction)
    locale = await locale_for(interaction)
    tz = await bot.services.members.timezone_of(broadcast.guild_id, interaction.user.id)
    view = discord.ui.View(timeout=None)
    view.add_item(ConfirmButton(label(bot, locale, "confirm"), broadcast_id=broadcast.id))
    view.add_item(CancelButton(label(bot, locale, "cancel"), broadcast_id=broadcast.id))
    await reply(interaction, "discord/broadcasts/preview.md.j2", view=view,
                broadcast=broadcast, recipients=recipients, timezone=tz)
    for part in broadcast.parts:
        await send(interaction, part, allowed_mentions=discord.AllowedMentions.none())


class ConfirmButton(PersistentButton, custom_id="familia:bc:confirm:{broadcast_id}"):
    style = discord.ButtonStyle.success
    default_label = "✓"
    managers_only = True
    broadcast_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        await acknowledge(interaction)  # every recipient's copy is prepared first
        bot = familia(interaction)
        broadcast = await bot.services.broadcasts.confirm(
            cogkit.guild_id(interaction), interaction.user.id, self.broadcast_id)
        tz = await bot.services.members.timezone_of(broadcast.guild_id, interaction.user.id)
        await reply(interaction, "discord/broadcasts/confirmed.md.j2", broadcast=broadcast,
                    timezone=tz)


class CancelButton(PersistentButton, custom_id="familia:bc:cancel:{broadcast_id}"):
    default_label = "✗"
    managers_only = True
    broadcast_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        broadcast = await familia(interaction).services.broadcasts.cancel(
            cogkit.guild_id(interaction), interaction.user.id, self.broadcast_id)
        await reply(interaction, "discord/broadcasts/cancelled.md.j2", broadcast=broadcast)


class BroadcastCog(commands.Cog, name="Broadcasts"):
    broadcast = app_commands.Group(
        name=_T("broadcast"), description=_T("Messages from the program managers"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ConfirmButton, CancelButton)
        self.bot.jobs.every(JOB_ID, self.sweep, seconds=30)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ConfirmButton, CancelButton)
        self.bot.jobs.remove(JOB_ID)

    async def sweep(self) -> None:
        """Queue scheduled broadcasts that are due, then wake the sender (idempotent)."""
        await self.bot.services.broadcasts.start_due()
        await self.bot.services.broadcasts.finish()

    @broadcast.command(name=_T("new"), description=_T("Write a broadcast, preview it, send it"))
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
                  families: FamilyListArg | None = None, tiers: TierListArg | None = None,
                  at: SendAtArg | None = None, everyone: bool = False) -> None:
        services = self.bot.services
        guild_id = cogkit.guild_id(interaction)
        ids: list[int] = []
        if audience == "families":
            ids = [f.id for f in families or []]
        elif audience == "tiers":
            ids = [t.id for t in tiers or []]
        chosen = tuple(routes.split(","))
        request = {"audience": audience, "audience_ids": ids,
                   "routes": chosen, "allow_everyone": everyone,
                   "send_at": await services.broadcasts.check_send_at(
                       guild_id, interaction.user.id, at)}
        await services.broadcasts.check(guild_id, audience, ids, chosen)
        locale = await locale_for(interaction)
        await interaction.response.send_modal(TextModal(self.bot, locale, request))

    @broadcast.command(name=_T("report"), description=_T("What a broadcast reached, and why not"))
    @app_commands.rename(broadcast_id=_T("id"))
    @app_commands.describe(broadcast_id=_T("The broadcast number; leave empty for the latest"))
    @manager_only()
    async def report(self, interaction: discord.Interaction,
                     broadcast_id: IdNumber | None = None) -> None:
        service = self.bot.services.broadcasts
        if broadcast_id is None:
            latest = await service.recent(cogkit.guild_id(interaction), 1)
            broadcast_id = latest[0].id if latest else 0
        found = await service.report(cogkit.guild_id(interaction), broadcast_id)
        tz = await self.bot.services.members.timezone_of(
            cogkit.guild_id(interaction), interaction.user.id)
        await reply(interaction, "discord/broadcasts/report.md.j2", report=found, timezone=tz)

    @broadcast.command(name=_T("cancel"), description=_T("Cancel a scheduled broadcast"))
    @app_commands.rename(broadcast_id=_T("id"))
    @app_commands.describe(broadcast_id=_T("The broadcast number"))
    @manager_only()
    async def cancel(self, interaction: discord.Interaction, broadcast_id: IdNumber) -> None:
        found = await self.bot.services.broadcasts.cancel(
            cogkit.guild_id(interaction), interaction.user.id, broadcast_id)
        await reply(interaction, "discord/broadcasts/cancelled.md.j2", broadcast=found)

    @broadcast.command(name=_T("optin"),
                       description=_T("Get (or stop getting) broadcasts as direct messages"))
    @app_commands.describe(enabled=_T("On to receive broadcasts by DM, off to stop"))
    async def optin(self, interaction: discord.Interaction, enabled: bool) -> None:
        await acknowledge(interaction)  # the DM channel is opened first
        channel_id = None
        if enabled:
            channel_id = (await interaction.user.create_dm()).id
        await self.bot.services.broadcasts.set_optin(
            cogkit.guild_id(interaction), interaction.user.id, enabled, channel_id)
        await reply(interaction, "discord/broadcasts/optin.md.j2", enabled=enabled)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(BroadcastCog(bot))
