"""/risk: the risk flags the daily sweep raises (leaders: their family; managers: all), acting
on them, and the insight settings (scorecard weights, risk thresholds)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import is_manager, leader_or_manager, led_family, manager_only
from bot.cogkit.options import FamilyArg, IdNumber, NoteText
from bot.cogkit.scorecard import fitted
from bot.errors import NotAllowed
from bot.interactions import locale_for, reply, send
from bot.services.risk import KINDS
from bot.services.risk_settings import SETTINGS, WEIGHTS

KIND_CHOICES = [
    app_commands.Choice(name=_T("Sudden drop"), value="sudden_drop"),
    app_commands.Choice(name=_T("Gone quiet"), value="gone_quiet"),
    app_commands.Choice(name=_T("Streak broken"), value="streak_broken"),
    app_commands.Choice(name=_T("Reported vs imported"), value="mismatch"),
    app_commands.Choice(name=_T("Unusual earnings (review)"), value="unusual_earnings"),
    app_commands.Choice(name=_T("Family at risk"), value="family_at_risk"),
]
assert [c.value for c in KIND_CHOICES] == list(KINDS)
SETTING_CHOICES = [app_commands.Choice(name=name, value=name) for name in SETTINGS]
SettingValue = app_commands.Range[float, 0, 10_000_000]


async def family_names(bot: FamiliaBot, guild_id: int) -> dict[int, str]:
    return {f.id: f.name for f in await bot.services.families.list_families(guild_id)}


class RiskCog(commands.Cog, name="Risk"):
    risk = app_commands.Group(
        name=_T("risk"), description=_T("Risk flags: creators and families that need a look"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    @risk.command(name=_T("list"), description=_T("Open risk flags (leaders: your family)"))
    @app_commands.describe(family=_T("The family (managers: empty for all)"),
                           kind=_T("Only flags of this kind"))
    @app_commands.choices(kind=KIND_CHOICES)
    @leader_or_manager()
    async def list_(self, interaction: discord.Interaction, family: FamilyArg | None = None,
                    kind: str | None = None) -> None:
        guild_id = cogkit.guild_id(interaction)
        if not await is_manager(interaction):
            led = await led_family(interaction)
            if led is None or (family is not None and family.id != led.id):
                raise NotAllowed("families.not_your_family")
            family = led
        flags, total = await self.bot.services.risk.open_flags(
            guild_id, family.id if family else None, kind)
        names = await family_names(self.bot, guild_id)
        locale = await locale_for(interaction)
        await send(interaction, fitted(lambda n: self.bot.templates.render(
            locale, "discord/insights/flags.md.j2", flags=flags[:n], total=total,
            family=family, kind=kind, families=names), len(flags)))

    async def _act(self, interaction: discord.Interaction, flag: int, action: str,
                   note: str | None) -> None:
        found = await self.bot.services.risk.act(
            cogkit.guild_id(interaction), interaction.user.id, flag, action, note,
            manager=await is_manager(interaction))
        await reply(interaction, "discord/insights/acted.md.j2", flag=found)

    @risk.command(name=_T("acknowledge"), description=_T("Say a flag is being looked at"))
    @app_commands.describe(flag=_T("The flag's number (#) from /risk list"))
    @leader_or_manager()
    async def acknowledge(self, interaction: discord.Interaction, flag: IdNumber) -> None:
        await self._act(interaction, flag, "acknowledge", None)

    @risk.command(name=_T("resolve"), description=_T("Close a flag, saying what was done"))
    @app_commands.describe(flag=_T("The flag's number (#) from /risk list"),
                           note=_T("What was done"))
    @leader_or_manager()
    async def resolve(self, interaction: discord.Interaction, flag: IdNumber,
                      note: NoteText) -> None:
        await self._act(interaction, flag, "resolve", note)

    @risk.command(name=_T("dismiss"),
                  description=_T("Dismiss a flag: it stays dismissed while the episode lasts"))
    @app_commands.describe(flag=_T("The flag's number (#) from /risk list"),
                           note=_T("Why (optional)"))
    @leader_or_manager()
    async def dismiss(self, interaction: discord.Interaction, flag: IdNumber,
                      note: NoteText | None = None) -> None:
        await self._act(interaction, flag, "dismiss", note)

    @risk.command(name=_T("settings"),
                  description=_T("Scorecard weights and risk thresholds: show or change one"))
    @app_commands.describe(name=_T("The setting to change"),
                           value=_T("Its new value (empty: back to the default)"))
    @app_commands.choices(name=SETTING_CHOICES)
    @manager_only()
    async def settings(self, interaction: discord.Interaction, name: str | None = None,
                       value: SettingValue | None = None) -> None:
        guild_id = cogkit.guild_id(interaction)
        insight = self.bot.services.insight_settings
        if name is None:
            values = await insight.all(guild_id)
        else:
            values = await insight.set(guild_id, interaction.user.id, name, value)
        await reply(interaction, "discord/insights/settings.md.j2", **settings_context(
            values), changed=name is not None)


def settings_context(values: dict[str, float]) -> dict[str, Any]:
    return {"values": values, "defaults": {n: s.default for n, s in SETTINGS.items()},
            "weights": {w.removeprefix("weight_"): values[w] for w in WEIGHTS}}


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(RiskCog(bot))
