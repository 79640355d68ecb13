"""/tier: managers define tiers, set a creator's tier by hand, and run the monthly sweep."""

from __future__ import annotations

from datetime import timedelta

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import creator_only, manager_only
from bot.cogkit import discord_ops as dd
from bot.cogkit.options import (
    MonthText,
    TierArg,
    TierDiamonds,
    TierFollowers,
    TierHours,
    TierNameText,
    TierRank,
    TierValidDays,
)
from bot.cogkit.tier_posts import promotions
from bot.delivery.queue import Send
from bot.errors import UserError
from bot.interactions import acknowledge, reply
from bot.services.tiers import TierChange

# Tier changes a /tier sweep answer lists (then "…and N more"): about 4 of its 5 messages.
SWEEP_SHOWN = 150

class TiersCog(commands.Cog, name="Tiers"):
    tier = app_commands.Group(
        name=_T("tier"), description=_T("Creator tiers and their monthly thresholds"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot
        self.tiers = bot.services.tiers

    def _period(self, month: str | None) -> str:
        """'YYYY-MM'; by default the last complete month."""
        if month is None:
            first = self.bot.clock.now().replace(day=1)
            return (first - timedelta(days=1)).strftime("%Y-%m")
        parts = month.strip().split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or not (
            1 <= int(parts[1]) <= 12 and len(parts[0]) == 4
        ):
            raise UserError("families.bad_month", value=month)
        return f"{int(parts[0]):04d}-{int(parts[1]):02d}"

    async def _check_roles(self, guild: discord.Guild) -> None:
        """Before saving a tier change: Familia must be able to move every tier role."""
        dd.can_give(guild, [t.role_id for t in await self.tiers.list_tiers(guild.id)])

    async def _promotions(self, guild_id: int, changes: list[TierChange]) -> list[Send]:
        """Promotions are announced in each family's channel (in the server's language)."""
        return await promotions(self.bot, guild_id, changes)

    @tier.command(name=_T("define"), description=_T("Create or change a tier"))
    @app_commands.rename(days=_T("valid-days"))
    @app_commands.describe(
        name=_T("The tier's name"), rank=_T("Its level: 1 is the lowest"),
        role=_T("A role members of this tier get (optional)"),
        hours=_T("Minimum live hours in a month"), diamonds=_T("Minimum diamonds in a month"),
        days=_T("Minimum valid live days in a month"),
        followers=_T("Minimum new followers in a month"),
    )
    @manager_only()
    async def define(
        self, interaction: discord.Interaction, name: TierNameText, rank: TierRank,
        role: discord.Role | None = None, hours: TierHours | None = None,
        diamonds: TierDiamonds | None = None,
        days: TierValidDays | None = None,
        followers: TierFollowers | None = None,
    ) -> None:
        dd.can_give(cogkit.guild(interaction), [role.id if role else None])
        tier = await self.tiers.define(
            cogkit.guild_id(interaction), interaction.user.id, name, rank,
            role.id if role else None, min_hours=hours, min_diamonds=diamonds,
            min_valid_days=days, min_followers=followers,
        )
        await reply(interaction, "discord/families/tiers.md.j2", tiers=[tier], changed=True)

    @tier.command(name=_T("delete"), description=_T("Delete a tier"))
    @app_commands.describe(name=_T("The tier to delete"))
    @manager_only()
    async def delete(self, interaction: discord.Interaction, name: TierArg) -> None:
        await self.tiers.delete(cogkit.guild_id(interaction), interaction.user.id, name)
        tiers = await self.tiers.list_tiers(cogkit.guild_id(interaction))
        await reply(interaction, "discord/families/tiers.md.j2", tiers=tiers, changed=True,
                    split=True)

    @tier.command(name=_T("list"), description=_T("The tiers and their thresholds"))
    @creator_only()
    async def list_(self, interaction: discord.Interaction) -> None:
        tiers = await self.tiers.list_tiers(cogkit.guild_id(interaction))
        await reply(interaction, "discord/families/tiers.md.j2", tiers=tiers, changed=False,
                    split=True)

    @tier.command(name=_T("set"), description=_T("Set a creator's tier by hand"))
    @app_commands.describe(member=_T("The creator"), tier=_T("The tier (empty: no tier)"))
    @manager_only()
    async def set_(
        self, interaction: discord.Interaction, member: discord.Member, tier: TierArg | None = None
    ) -> None:
        await self._check_roles(member.guild)
        change = await self.tiers.set_manual(cogkit.guild_id(interaction), interaction.user.id,
                                             member.id, tier,
                                             self._period(None))
        await reply(interaction, "discord/families/sweep.md.j2", changes=[change], applied=True,
                    period=None)

    @tier.command(name=_T("sweep"), description=_T("Recompute tiers from a month's progress"))
    @app_commands.describe(month=_T("The month as YYYY-MM (default: last month)"),
                           apply=_T("Apply the changes (default: only show them)"))
    @manager_only()
    async def sweep(
        self, interaction: discord.Interaction, month: MonthText | None = None, apply: bool = False
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        period = self._period(month)
        await acknowledge(interaction)  # a whole program's progress is read first
        if apply:
            await self._check_roles(guild)
            changes = await self.tiers.sweep(  # roles and posts: queued, durable and paced
                guild.id, interaction.user.id, period,
                announce=lambda found: self._promotions(guild.id, found))
            shown, total = changes[:SWEEP_SHOWN], len(changes)
        else:
            shown, total = await self.tiers.plan_page(guild.id, period, SWEEP_SHOWN)
        # the first SWEEP_SHOWN changes and a count of the rest: a whole program's changes
        # would be rendered only to be cut (3,816 lines for 200 families at mid-month)
        await reply(interaction, "discord/families/sweep.md.j2", changes=shown,
                    more=total - len(shown), applied=apply, period=period, split=True)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(TiersCog(bot))
