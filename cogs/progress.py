"""/progress view | family | risk | nudge: a creator's last 30 days and tier pace, a family's
weekly trend, the leader's list of creators at risk of missing their tier this month, and the
opt-in weekly DM to creators at risk (a sweep every 30 minutes; one DM per ISO week)."""

from __future__ import annotations

import asyncio
import io
import logging

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import charts
from bot.app import FamiliaBot
from bot.checks import creator_only, is_manager, leader_or_manager
from bot.delivery.queue import Send
from bot.interactions import locale_for, reply
from cogs.families import family_autocomplete
from cogs.leaderboards import label

log = logging.getLogger("familia.progress")
JOB_ID = "progress.nudges"
NUDGE_CHOICES = [app_commands.Choice(name=_T("On"), value="on"),
                 app_commands.Choice(name=_T("Off"), value="off")]


class ProgressCog(commands.Cog, name="Progress"):
    progress = app_commands.Group(
        name=_T("progress"), description=_T("Progress over time and pace towards tiers"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.scheduler.add_job(self.nudge_sweep, "interval", minutes=30, id=JOB_ID,
                                   replace_existing=True)

    async def cog_unload(self) -> None:
        if self.bot.scheduler.get_job(JOB_ID):
            self.bot.scheduler.remove_job(JOB_ID)

    @progress.command(name=_T("view"), description=_T("Your last 30 days and your tier pace"))
    @app_commands.rename(member=_T("member"))
    @app_commands.describe(member=_T("Leaders and managers: a member of the family"))
    @creator_only()
    async def view(self, interaction: discord.Interaction,
                   member: discord.Member | None = None) -> None:
        report = await self.bot.services.pace.report_for(
            interaction.guild_id, interaction.user.id,  # type: ignore[arg-type]
            member.id if member else None, await is_manager(interaction),
        )
        locale = await locale_for(interaction)
        png = await asyncio.to_thread(
            charts.dual_chart, [d.strftime("%d/%m") for d, _, _ in report.days],
            [h for _, h, _ in report.days], [dm for _, _, dm in report.days],
            title=label(self.bot, locale, "last_days"),
            bar_label=label(self.bot, locale, "hours"),
            line_label=label(self.bot, locale, "diamonds"), every=5,
        )
        file = discord.File(io.BytesIO(png), filename="progress.png")
        await reply(interaction, "discord/leaderboards/progress.md.j2", report=report,
                    files=[file])

    @progress.command(name=_T("family"), description=_T("A family's hours and diamonds by week"))
    @app_commands.rename(family=_T("family"))
    @app_commands.describe(family=_T("Managers: which family (leaders see their own)"))
    @app_commands.autocomplete(family=family_autocomplete)
    @leader_or_manager()
    async def family(self, interaction: discord.Interaction, family: str | None = None) -> None:
        pace = self.bot.services.pace
        found = await pace.family_for(interaction.guild_id, interaction.user.id, family,  # type: ignore[arg-type]
                                      await is_manager(interaction))
        weeks = await pace.family_trend(interaction.guild_id, found.id)  # type: ignore[arg-type]
        locale = await locale_for(interaction)
        png = await asyncio.to_thread(
            charts.dual_chart, [w[0].split("-")[1] for w in weeks], [w[1] for w in weeks],
            [w[2] for w in weeks], title=label(self.bot, locale, "family_weeks", found.name),
            bar_label=label(self.bot, locale, "hours"),
            line_label=label(self.bot, locale, "diamonds"),
        )
        file = discord.File(io.BytesIO(png), filename="family.png")
        await reply(interaction, "discord/leaderboards/trend.md.j2", family=found, weeks=weeks,
                    files=[file])

    @progress.command(name=_T("risk"),
                      description=_T("Creators not on pace for their tier this month"))
    @app_commands.rename(family=_T("family"))
    @app_commands.describe(family=_T("Managers: which family (leaders see their own)"))
    @app_commands.autocomplete(family=family_autocomplete)
    @leader_or_manager()
    async def risk(self, interaction: discord.Interaction, family: str | None = None) -> None:
        pace = self.bot.services.pace
        found = await pace.family_for(interaction.guild_id, interaction.user.id, family,  # type: ignore[arg-type]
                                      await is_manager(interaction))
        risks = await pace.at_risk(interaction.guild_id, found.id)  # type: ignore[arg-type]
        has_tiers = bool(await self.bot.services.tiers.list(interaction.guild_id))  # type: ignore[arg-type]
        await reply(interaction, "discord/leaderboards/risk.md.j2", family=found, risks=risks,
                    has_tiers=has_tiers)

    @progress.command(name=_T("nudge"),
                      description=_T("A weekly DM when your pace misses your tier"))
    @app_commands.rename(state=_T("state"))
    @app_commands.describe(state=_T("On or off"))
    @app_commands.choices(state=NUDGE_CHOICES)
    @creator_only()
    async def nudge(self, interaction: discord.Interaction, state: str) -> None:
        enabled = await self.bot.services.pace.set_nudge(
            interaction.guild_id, interaction.user.id, state == "on")  # type: ignore[arg-type]
        await reply(interaction, "discord/leaderboards/nudge_set.md.j2", enabled=enabled)

    async def nudge_sweep(self) -> None:
        """Queue a DM for each opted-in creator at risk, once per ISO week (the claim and
        the message in one transaction; the delivery sender sends it)."""
        pace, services = self.bot.services.pace, self.bot.services
        for guild_id in await pace.nudge_guilds():
            week, risks = await pace.nudges_due(guild_id)
            guild = self.bot.get_guild(guild_id)
            for risk in risks:
                locale = await services.members.locale_of(guild_id, risk.user_id)
                text = self.bot.templates.render(
                    locale, "discord/leaderboards/nudge_dm.md.j2", risk=risk,
                    guild=guild.name if guild else "")
                await pace.claim_nudge(guild_id, risk.user_id, week, Send(
                    "nudge", f"nudge:{risk.user_id}:{week}", "dm", risk.user_id,
                    {"content": text}))


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(ProgressCog(bot))
