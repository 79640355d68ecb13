"""/onboarding: a new member's checklist (what is left, a button per step); /onboardings: a
leader's view of their new members' progress, and the program's onboarding settings."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import creator_only, is_manager, leader_or_manager, led_family, manager_only
from bot.cogkit.agreement import AgreeButton
from bot.cogkit.buttons import PersistentButton, labels
from bot.cogkit.options import FamilyArg
from bot.cogkit.pages import PageButton, nav
from bot.errors import NotAllowed, UserError
from bot.interactions import FamiliaView, familia, locale_for, reply, send
from bot.services.families import AGREEMENT_VERSION
from bot.services.onboarding import STEPS, STUCK_MAX, Checklist

label = labels("discord/onboarding/labels.j2")
StuckDays = app_commands.Range[int, 1, STUCK_MAX]


def checklist_view(bot: Any, locale: str, checklist: Checklist) -> discord.ui.View | None:
    """A button for each step left (at most 7: two rows)."""
    if checklist.complete:
        return None
    view = FamiliaView(timeout=None)
    for name in checklist.left:
        view.add_item(StepButton(label(bot, locale, "button", name), step=name))
    return view


class StepButton(PersistentButton, custom_id="familia:ob:step:{step}"):
    """How to do one step, leading to the command (or, for the agreement, its Accept)."""

    who = "program"
    style = discord.ButtonStyle.primary
    patterns = {"step": "|".join(STEPS)}
    step: str

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        guild_id = cogkit.guild_id(interaction)
        checklist = await bot.services.onboarding.checklist(guild_id, interaction.user.id)
        if self.step not in checklist.steps:
            raise UserError("onboarding.bad_step", value=self.step)
        view = None
        done = self.step in checklist.done
        if self.step == "agreement" and not done:
            locale = await locale_for(interaction)
            view = FamiliaView(timeout=None)
            view.add_item(AgreeButton(bot.templates.macro(
                locale, "discord/families/labels.j2", "accept"), guild_id=guild_id,
                version=AGREEMENT_VERSION))
        await reply(interaction, "discord/onboarding/step.md.j2", step=self.step, done=done,
                    view=view)


async def _family_page(interaction: discord.Interaction, family_id: int, page: int
                       ) -> tuple[str, discord.ui.View | None]:
    """A family's new members' progress: its leaders and managers only (checked each time)."""
    bot = familia(interaction)
    guild_id = cogkit.guild_id(interaction)
    family = await bot.services.families.get(guild_id, family_id)
    if not (family.leads(interaction.user.id) or await is_manager(interaction)):
        raise NotAllowed("families.not_your_family")
    found = await bot.services.onboarding.family_page(guild_id, family.id, page)
    locale = await locale_for(interaction)
    text = bot.templates.render(locale, "discord/onboarding/family.md.j2", family=family,
                                page=found)
    return text, nav(bot, locale, found, FamilyOnboardingPage, family_id=family.id)


class FamilyOnboardingPage(PageButton, custom_id="familia:pg:onboarding:{family_id}:{page}"):
    family_id: int

    async def render(self, interaction: discord.Interaction
                     ) -> tuple[str, discord.ui.View | None]:
        return await _family_page(interaction, self.family_id, self.page)


class OnboardingCog(commands.Cog, name="Onboarding"):
    onboardings = app_commands.Group(
        name=_T("onboardings"), description=_T("New members' onboarding: progress and settings"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(StepButton, FamilyOnboardingPage)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(StepButton, FamilyOnboardingPage)

    @app_commands.command(name=_T("onboarding"),
                          description=_T("Your getting-started checklist: what is left"))
    @app_commands.guild_only()
    @creator_only()
    async def onboarding(self, interaction: discord.Interaction) -> None:
        checklist = await self.bot.services.onboarding.checklist(
            cogkit.guild_id(interaction), interaction.user.id)
        locale = await locale_for(interaction)
        await reply(interaction, "discord/onboarding/checklist.md.j2", checklist=checklist,
                    view=checklist_view(self.bot, locale, checklist))

    @onboardings.command(name=_T("family"),
                         description=_T("Your new members' onboarding progress"))
    @app_commands.describe(family=_T("The family (managers; leaders: their own)"))
    @leader_or_manager()
    async def family(self, interaction: discord.Interaction,
                     family: FamilyArg | None = None) -> None:
        if family is None:
            family = await led_family(interaction)
        if family is None:
            raise UserError("onboarding.pick_family")
        text, view = await _family_page(interaction, family.id, 0)
        await send(interaction, text, view=view)

    @onboardings.command(name=_T("settings"),
                         description=_T("The email step and when a new member is stuck"))
    @app_commands.describe(email_step=_T("Whether adding and verifying an email is a step"),
                           stuck_days=_T("Days without progress before the leader is told"))
    @app_commands.rename(email_step=_T("email-step"), stuck_days=_T("stuck-days"))
    @manager_only()
    async def settings(self, interaction: discord.Interaction, email_step: bool | None = None,
                       stuck_days: StuckDays | None = None) -> None:
        onboarding = self.bot.services.onboarding
        guild_id = cogkit.guild_id(interaction)
        changed = email_step is not None or stuck_days is not None
        if changed:
            found = await onboarding.set_settings(guild_id, interaction.user.id,
                                                  email_step=email_step, stuck_days=stuck_days)
        else:
            found = await onboarding.settings(guild_id)
        await reply(interaction, "discord/onboarding/settings.md.j2", settings=found,
                    changed=changed)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(OnboardingCog(bot))
