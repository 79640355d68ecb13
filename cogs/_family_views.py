"""Buttons and selects of families (private helper module, not an extension).

Approve/Decline, Accept invite, Join and Accept agreement are ``DynamicItem`` buttons: their
custom_id carries what they act on, so they keep working after a restart, and the database
row decides (a second click answers "already decided").
"""

from __future__ import annotations

from typing import Any, cast

import discord

from bot import cogkit
from bot.checks import is_manager
from bot.cogkit import discord_ops as dd
from bot.cogkit.buttons import PersistentButton, labels
from bot.interactions import (
    FamiliaView,
    familia,
    locale_for,
    log_command,
    reply,
)
from bot.services.families import (
    AGREEMENT_VERSION,
    LEAVE_REASONS,
    Decision,
    Family,
    FamilyRequest,
)

LABELS = "discord/families/labels.j2"


label = labels(LABELS)


async def guild_locale(bot: Any, guild_id: int) -> str:
    return (await bot.services.guilds.get(guild_id)).locale


class DecideButton(PersistentButton,
                   custom_id="familia:req:{answer}:{guild_id}:{request_id}"):
    patterns = {"answer": "[yn]"}
    answer: str  # y approves, n declines
    guild_id: int
    request_id: int

    @property
    def approve(self) -> bool:
        return self.answer == "y"

    def button_style(self) -> discord.ButtonStyle:
        return discord.ButtonStyle.success if self.approve else discord.ButtonStyle.secondary

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        request = await bot.services.families.get_request(self.guild_id, self.request_id)
        guild = bot.get_guild(self.guild_id)
        if self.approve and guild is not None:
            dd.need(guild, dd.MANAGE_ROLES)  # refuse before deciding: roles follow at once
        as_manager = False
        if request.kind != "invite" and isinstance(interaction.user, discord.Member):
            as_manager = await is_manager(interaction)
        decision = await bot.services.families.decide(
            self.guild_id, interaction.user.id, self.request_id, self.approve,
            as_manager=as_manager, agreement_version=AGREEMENT_VERSION,
        )
        await after_decision(interaction, decision, self.approve)


class JoinButton(PersistentButton, custom_id="familia:join:{guild_id}:{family_id}:{version}"):
    style = discord.ButtonStyle.success
    guild_id: int
    family_id: int
    version: int

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        request = await bot.services.families.request_join(
            self.guild_id, interaction.user.id, self.family_id, self.version
        )
        family = await bot.services.families.get(self.guild_id, self.family_id)
        posted = await post_request(bot, request, family)
        await reply(interaction, "discord/families/request_sent.md.j2", family=family,
                    posted=posted is not None)


class AgreeButton(PersistentButton, custom_id="familia:agree:{guild_id}:{version}"):
    style = discord.ButtonStyle.success
    guild_id: int
    version: int

    async def run(self, interaction: discord.Interaction) -> None:
        services = familia(interaction).services
        await services.families.accept_agreement(self.guild_id, interaction.user.id, self.version)
        accepted = await services.families.agreement_of(self.guild_id, interaction.user.id)
        await reply(interaction, "discord/families/agreement.md.j2", accepted=accepted,
                    current=self.version, just_accepted=True)


PERSISTENT = (DecideButton, JoinButton, AgreeButton)


def decide_view(bot: Any, locale: str, request: FamilyRequest) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    names = ("accept", "decline") if request.kind == "invite" else ("approve", "decline")
    for answer, name in zip("yn", names, strict=True):
        view.add_item(DecideButton(label(bot, locale, name), answer=answer,
                                   guild_id=request.guild_id, request_id=request.id))
    return view


def single(item: discord.ui.Item) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(item)
    return view


async def post_request(bot: Any, request: FamilyRequest, family: Family) -> discord.Message | None:
    """Show a join or transfer request to the family's leaders, with Approve / Decline."""
    locale = await guild_locale(bot, family.guild_id)
    text = bot.templates.render(locale, "discord/families/request.md.j2", request=request,
                                family=family)
    message = await dd.post(bot, family.channel_id, text, view=decide_view(bot, locale, request))
    if message is not None:
        await bot.services.families.set_request_message(request.id, message.channel.id,
                                                        message.id)
    else:  # the channel is gone: tell the managers (/family sync reposts waiting requests)
        managers = (await bot.services.guilds.get(family.guild_id)).channels.get("managers")
        await dd.post(bot, managers, bot.templates.render(
            locale, "discord/families/channel_missing.md.j2", family=family))
    return message


async def after_decision(
    interaction: discord.Interaction, decision: Decision, approve: bool
) -> None:
    """The clicked message loses its buttons and says who decided (the roles follow through
    the delivery queue: the service queued them with the decision)."""
    bot = familia(interaction)
    request, family = decision.request, decision.family
    locale = (await locale_for(interaction)) if request.kind == "invite" else (
        await guild_locale(bot, request.guild_id))
    text = bot.templates.render(
        locale, "discord/families/decided.md.j2", request=request, family=family,
        approved=approve, actor_id=interaction.user.id,
    )
    await interaction.response.edit_message(content=text, view=None)
    if approve and request.kind == "invite":
        channel_locale = await guild_locale(bot, request.guild_id)
        await dd.post(bot, family.channel_id, bot.templates.render(
            channel_locale, "discord/families/welcome.md.j2", user_id=request.user_id))


class LeaveView(FamiliaView):
    """The reason a creator leaves, picked from a list; the optional note came with /leave."""

    def __init__(self, locale: str, bot: Any, note: str | None) -> None:
        super().__init__(timeout=600)
        self.note = note
        select = cast("discord.ui.Select[LeaveView]", self.reason)  # the decorated item
        select.options = [
            discord.SelectOption(label=label(bot, locale, "reason", code), value=code)
            for code in LEAVE_REASONS
        ]
        select.placeholder = label(bot, locale, "reason_placeholder")

    @discord.ui.select(custom_id="familia:leave:reason", min_values=1, max_values=1,
                       options=[discord.SelectOption(label="-", value="-")])
    async def reason(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        bot = familia(interaction)
        if interaction.guild is not None:
            dd.need(interaction.guild, dd.MANAGE_ROLES)
        family = (await bot.services.families.leave(  # the family role: queued to come off
            cogkit.guild_id(interaction), interaction.user.id, select.values[0], self.note
        )).family
        text = bot.templates.render(
            await locale_for(interaction), "discord/families/left.md.j2", family=family,
            reason=select.values[0],
        )
        await interaction.response.edit_message(content=text, view=None)
        self.stop()
        channel_locale = await guild_locale(bot, family.guild_id)
        await dd.post(bot, family.channel_id, bot.templates.render(
            channel_locale, "discord/families/left_notice.md.j2", user_id=interaction.user.id))
        log_command(interaction, "ok")
