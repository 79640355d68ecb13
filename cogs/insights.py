"""The insights' scheduled work and the tier sweep's preview buttons.

One sweep every 15 minutes (and once at start), per server, each step idempotent:

- the daily risk sweep (once per local day, :class:`bot.services.risk.RiskService`), then
  the new flags to the managers' channel once;
- on the 1st of a month, the last month's scorecard to the managers' channel once;
- on the 1st of a month, once the month is final, the tier sweep's preview to the managers'
  channel with **Approve** / **Change** / **Hold** (restart-proof, managers only, each click
  re-checked from the database).

Everything posted goes through the delivery queue, claimed in the transaction that records
it, so a restart or a second sweep never posts twice.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import is_manager
from bot.cogkit import discord_ops as dd
from bot.cogkit.buttons import PersistentButton, labels
from bot.cogkit.scorecard import fitted, scorecard_files, scorecard_text
from bot.cogkit.tier_posts import promotions
from bot.delivery.queue import Send, attachment
from bot.errors import NotAllowed, UserError
from bot.interactions import FamiliaModal, acknowledge, familia, locale_for, reply
from bot.services.risk import Flag
from bot.services.tiers import ScheduledSweep, TierChange

log = logging.getLogger("familia.insights")

JOB_ID = "insights"
SHOWN_FLAGS = 15  # flags a managers' post lists (then "…and N more: see /risk list")
SWEEP_SHOWN = 25  # changes a sweep preview lists
label = labels("discord/insights/labels.j2")


def sweep_view(bot: Any, locale: str, sweep: ScheduledSweep) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(SweepApprove(label(bot, locale, "approve"), sweep_id=sweep.id))
    view.add_item(SweepChange(label(bot, locale, "change"), sweep_id=sweep.id))
    view.add_item(SweepHold(label(bot, locale, "hold"), sweep_id=sweep.id))
    return view


class SweepButton(PersistentButton):
    who = "managers"
    sweep_id: int


class SweepApprove(SweepButton, custom_id="familia:ts:ok:{sweep_id}"):
    style = discord.ButtonStyle.success
    emoji = "✅"

    async def run(self, interaction: discord.Interaction) -> None:
        await acknowledge(interaction)
        bot = familia(interaction)
        guild = cogkit.guild(interaction)
        dd.can_give(guild, [t.role_id for t in await bot.services.tiers.list_tiers(guild.id)])
        sweep, _ = await bot.services.sweeps.approve(  # roles and posts: queued, paced
            guild.id, self.sweep_id, interaction.user.id,
            announce=lambda found: promotions(bot, guild.id, found))
        await reply(interaction, "discord/insights/sweep_done.md.j2", sweep=sweep)


class SweepHold(SweepButton, custom_id="familia:ts:hold:{sweep_id}"):
    emoji = "⏸️"

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        sweep = await bot.services.sweeps.hold(cogkit.guild_id(interaction), self.sweep_id,
                                               interaction.user.id)
        await reply(interaction, "discord/insights/sweep_done.md.j2", sweep=sweep)


class SweepChange(SweepButton, custom_id="familia:ts:chg:{sweep_id}"):
    emoji = "✏️"

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        sweep = await bot.services.sweeps.get(cogkit.guild_id(interaction), self.sweep_id)
        if sweep.state == "applied":
            raise UserError("insights.sweep_decided", period=sweep.period)
        locale = await locale_for(interaction)
        await interaction.response.send_modal(ChangeModal(bot, locale, sweep.id))


class ChangeModal(FamiliaModal):
    def __init__(self, bot: Any, locale: str, sweep_id: int) -> None:
        super().__init__(title=label(bot, locale, "change_title"), timeout=900)
        self.sweep_id = sweep_id
        self.creator: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "creator"), custom_id="creator", max_length=100)
        self.tier: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "tier"), custom_id="tier", max_length=100, required=False)
        self.add_item(self.creator)
        self.add_item(self.tier)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        guild = cogkit.guild(interaction)
        if not await is_manager(interaction):  # re-checked: the form may outlive a role
            raise NotAllowed("common.managers_only")
        text = self.creator.value.strip().lstrip("<@!").rstrip(">")
        if text.isdigit() and len(text) < 21:
            user_id = int(text)  # the service checks it is a member of the program
        else:
            member = guild.get_member_named(text)
            if member is None:
                raise UserError("insights.unknown_member", value=self.creator.value)
            user_id = member.id
        tier = await bot.services.tiers.get(guild.id, self.tier.value) if (
            self.tier.value or "").strip() else None
        sweep = await bot.services.sweeps.override(guild.id, self.sweep_id, interaction.user.id,
                                                   user_id, tier)
        await reply(interaction, "discord/insights/sweep_changed.md.j2", sweep=sweep,
                    user_id=user_id, tier=tier)


ITEMS = (SweepApprove, SweepHold, SweepChange)


class InsightsCog(commands.Cog, name="Insights"):
    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*ITEMS)
        self.bot.jobs.every(JOB_ID, self.sweep, minutes=15, catch_up=True)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*ITEMS)
        self.bot.jobs.remove(JOB_ID)

    async def sweep(self) -> None:
        services = self.bot.services
        for guild_id, channel_id in await services.risk.guilds_to_sweep():
            for step in (self.risk_step, self.scorecard_step, self.tier_step):
                try:
                    await step(guild_id, channel_id)
                except Exception:  # the next sweep tries again; the others still run
                    log.exception("insights %s of guild %s failed", step.__name__, guild_id)

    async def _locale(self, guild_id: int) -> str:
        return (await self.bot.services.guilds.get(guild_id)).locale

    async def risk_step(self, guild_id: int, channel_id: int | None) -> None:
        risk = self.bot.services.risk
        if await risk.due(guild_id):
            await risk.sweep(guild_id)
        untold = await risk.untold(guild_id)
        if not untold:
            return
        post = None
        if channel_id is not None:
            post = await self.flags_post(guild_id, channel_id, untold)
        await risk.tell_managers(guild_id, untold, post)

    async def flags_post(self, guild_id: int, channel_id: int, flags: list[Flag]) -> Send:
        locale = await self._locale(guild_id)
        families = {f.id: f.name for f in
                    await self.bot.services.families.list_families(guild_id)}
        text = fitted(lambda n: self.bot.templates.render(
            locale, "discord/insights/new_flags.md.j2", flags=flags[:n], total=len(flags),
            families=families), SHOWN_FLAGS)
        key = f"risk-flags:{flags[0].id}-{flags[-1].id}"
        return Send("risk_flags", key, "channel", channel_id, {"content": text}, source=key,
                    channel_id=channel_id)

    async def scorecard_step(self, guild_id: int, channel_id: int | None) -> None:
        if channel_id is None:
            return
        scorecard = self.bot.services.scorecard
        period = await scorecard.managers_post_due(guild_id)
        if period is None:
            return
        card = await scorecard.scorecard(guild_id, "last_month")
        if not card.cards:
            return
        locale = await self._locale(guild_id)
        payload = {"content": scorecard_text(self.bot, locale, card),
                   "files": [attachment(n, d) for n, d in scorecard_files(self.bot, locale, card)]}
        key = f"scorecard:{period}"
        await scorecard.claim_post(guild_id, period, Send(
            "scorecard", key, "channel", channel_id, payload, source=key, channel_id=channel_id))

    async def tier_step(self, guild_id: int, channel_id: int | None) -> None:
        if channel_id is None:
            return
        sweeps = self.bot.services.sweeps
        period = await sweeps.due(guild_id)
        if period is None:
            return
        locale = await self._locale(guild_id)

        async def preview(sweep: ScheduledSweep, changes: list[TierChange], total: int) -> Send:
            text = self.bot.templates.render(
                locale, "discord/insights/sweep_preview.md.j2", sweep=sweep,
                changes=changes, more=total - len(changes))
            key = f"tier-sweep:{sweep.id}"
            return Send("tier_sweep", key, "channel", channel_id, {
                "content": text,
                "components": sweep_view(self.bot, locale, sweep).to_components()},
                source=key, channel_id=channel_id)

        await sweeps.open(guild_id, period, preview, SWEEP_SHOWN)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(InsightsCog(bot))
