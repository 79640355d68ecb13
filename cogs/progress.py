"""/progress view | family | risk | nudge: a creator's last 30 days and tier pace, a family's
weekly trend, the leader's list of creators at risk of missing their tier this month, and the
opt-in weekly DM to creators at risk (a sweep every 30 minutes; one DM per ISO week)."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import timedelta

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import charts, cogkit
from bot.app import FamiliaBot
from bot.checks import creator_only, is_manager, leader_or_manager
from bot.cogkit.buttons import labels
from bot.cogkit.options import FamilyArg
from bot.cogkit.pages import PageButton, nav
from bot.delivery.queue import Send
from bot.interactions import acknowledge, familia, locale_for, reply, send
from bot.services.families import Family

log = logging.getLogger("familia.progress")
JOB_ID = "progress.nudges"
NO_PINGS = discord.AllowedMentions.none()
label = labels("discord/leaderboards/labels.j2")  # the charts share the boards' labels
NUDGE_CHOICES = [app_commands.Choice(name=_T("On"), value="on"),
                 app_commands.Choice(name=_T("Off"), value="off")]


async def risk_message(interaction: discord.Interaction, family: Family | None,
                       page: int) -> tuple[str, discord.ui.View | None]:
    """A page of /progress risk (the service checks whose family the clicker may see)."""
    bot = familia(interaction)
    guild_id = cogkit.guild_id(interaction)
    pace = bot.services.pace
    found = await pace.family_for(guild_id, interaction.user.id, family,
                                  await is_manager(interaction))
    risks = await pace.at_risk_page(guild_id, found.id, page)
    has_tiers = bool(await bot.services.tiers.list_tiers(guild_id))
    locale = await locale_for(interaction)
    text = bot.templates.render(locale, "discord/leaderboards/risk.md.j2", family=found,
                                page=risks, has_tiers=has_tiers)
    return text, nav(bot, locale, risks, RiskPage, family_id=found.id)


MOVES_SHOWN = 3  # tier changes /progress view shows (the latest)


class RiskPage(PageButton, custom_id="familia:pg:risk:{family_id}:{page}"):
    """◀️/▶️ of /progress risk: the family's leader or a manager, checked again."""

    family_id: int

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        family = await familia(interaction).services.families.get(
            cogkit.guild_id(interaction), self.family_id)
        return await risk_message(interaction, family, self.page)


class ProgressCog(commands.Cog, name="Progress"):
    progress = app_commands.Group(
        name=_T("progress"), description=_T("Progress over time and pace towards tiers"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RiskPage)
        self.bot.jobs.every(JOB_ID, self.nudge_sweep, minutes=30)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RiskPage)
        self.bot.jobs.remove(JOB_ID)

    @progress.command(name=_T("view"), description=_T("Your last 30 days and your tier pace"))
    @app_commands.describe(member=_T("Leaders and managers: a member of the family"))
    @creator_only()
    async def view(self, interaction: discord.Interaction,
                   member: discord.Member | None = None) -> None:
        await acknowledge(interaction)  # the chart is drawn first
        report = await self.bot.services.pace.report_for(
            cogkit.guild_id(interaction), interaction.user.id,
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
        moves = await self.bot.services.tiers.moves(  # promotions and demotions: 2 months
            cogkit.guild_id(interaction), self.bot.clock.now() - timedelta(days=62),
            user_id=report.user_id)
        await reply(interaction, "discord/leaderboards/progress.md.j2", report=report,
                    moves=moves[:MOVES_SHOWN], files=[file])

    @progress.command(name=_T("family"), description=_T("A family's hours and diamonds by week"))
    @app_commands.describe(family=_T("Managers: which family (leaders see their own)"))
    @leader_or_manager()
    async def family(self, interaction: discord.Interaction,
                     family: FamilyArg | None = None) -> None:
        await acknowledge(interaction)  # the chart is drawn first
        pace = self.bot.services.pace
        found = await pace.family_for(cogkit.guild_id(interaction), interaction.user.id, family,
                                      await is_manager(interaction))
        weeks = await pace.family_trend(cogkit.guild_id(interaction), found.id)
        locale = await locale_for(interaction)
        png = await asyncio.to_thread(
            charts.dual_chart, [w.week.split("-")[1] for w in weeks], [w.hours for w in weeks],
            [w.diamonds for w in weeks], title=label(self.bot, locale, "family_weeks", found.name),
            bar_label=label(self.bot, locale, "hours"),
            line_label=label(self.bot, locale, "diamonds"),
        )
        file = discord.File(io.BytesIO(png), filename="family.png")
        await reply(interaction, "discord/leaderboards/trend.md.j2", family=found, weeks=weeks,
                    files=[file])

    @progress.command(name=_T("risk"),
                      description=_T("Creators not on pace for their tier this month"))
    @app_commands.describe(family=_T("Managers: which family (leaders see their own)"))
    @leader_or_manager()
    async def risk(self, interaction: discord.Interaction,
                   family: FamilyArg | None = None) -> None:
        text, view = await risk_message(interaction, family, 0)
        await send(interaction, text, view=view)

    @progress.command(name=_T("nudge"),
                      description=_T("A weekly DM when your pace misses your tier"))
    @app_commands.describe(state=_T("On or off"))
    @app_commands.choices(state=NUDGE_CHOICES)
    @creator_only()
    async def nudge(self, interaction: discord.Interaction, state: str) -> None:
        enabled = await self.bot.services.pace.set_nudge(
            cogkit.guild_id(interaction), interaction.user.id, state == "on")
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
