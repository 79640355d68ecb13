"""/review week | schedule | act | actions | done | drop | reopen: the weekly review per tier
(a report in parts, its chart and CSV), its schedule (a sweep posts it to the managers' channel
and emails it to managers, once per week), and the action items that follow it (the owner's
DM on the due day goes through the delivery queue). The figures are the service's
(``bot/services/reviews.py``)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import charts, cogkit
from bot.app import FamiliaBot
from bot.checks import is_manager, leader_or_manager, manager_only
from bot.cogkit.options import DayArg, FamilyArg, MonthText, NoteText, TierArg
from bot.cogkit.pages import PageButton, nav
from bot.delivery.queue import Send, attachment
from bot.interactions import acknowledge, familia, locale_for, reply, send
from bot.services import bounds
from bot.services.reviews import Action, Review
from bot.text import PART_LIMIT, split_text

log = logging.getLogger("familia.review")
JOB_ID = "review.sweep"
TEMPLATE = "discord/reviews/_review.j2"
DAY_CHOICES = [app_commands.Choice(name=_T(name), value=i) for i, name in enumerate(
    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))]
ActionId = app_commands.Range[int, 1, bounds.ID_MAX]


def review_parts(bot: Any, locale: str, review: Review, whole_program: bool = True
                 ) -> list[str]:
    """The review as messages: the header, each tier, the program, the actions, put
    together in as few messages as fit (a part longer than one is split at line breaks)."""
    def macro(name: str, *args: Any) -> str:
        return bot.templates.macro(locale, TEMPLATE, name, *args).strip()

    parts = [macro("header", review)]
    parts += [macro("section", s, review) for s in review.sections]
    if whole_program:
        parts.append(macro("section", review.total, review))
    parts.append(macro("actions", review))
    messages: list[str] = []
    for piece in (piece for part in parts for piece in split_text(part)):
        if messages and len(messages[-1]) + 2 + len(piece) <= PART_LIMIT:
            messages[-1] += "\n\n" + piece  # as few messages as it takes
        else:
            messages.append(piece)
    return messages


async def review_files(bot: Any, locale: str, review: Review) -> list[tuple[str, bytes]]:
    """The chart (Discord's dark theme) and the CSV of every creator."""
    png = await asyncio.to_thread(charts.review_chart, bot.templates, locale, review,
                                  charts.DISCORD)
    data = (await asyncio.to_thread(bot.services.reviews.csv, review)).encode()
    return [(f"review-{review.week}.png", png), (f"review-{review.week}.csv", data)]


async def actions_message(interaction: discord.Interaction, family_id: int | None,
                          page: int) -> tuple[str, discord.ui.View | None]:
    """A page of /review actions (who may see which is checked again by the service)."""
    bot = familia(interaction)
    guild_id = cogkit.guild_id(interaction)
    reviews = bot.services.reviews
    found = await reviews.open_actions(guild_id, interaction.user.id,
                                       await is_manager(interaction), family_id, page)
    locale = await locale_for(interaction)
    text = bot.templates.render(locale, "discord/reviews/actions.md.j2", page=found,
                                families=await reviews.family_names(guild_id),
                                today=await reviews.today(guild_id))
    return text, nav(bot, locale, found, ActionsPage, family_id=family_id or 0)


class ActionsPage(PageButton, custom_id="familia:pg:ractions:{family_id}:{page}"):
    """◀️/▶️ of /review actions: the list is read again for the clicker."""

    family_id: int

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        return await actions_message(interaction, self.family_id or None, self.page)


class ReviewCog(commands.Cog, name="Review"):
    review = app_commands.Group(
        name=_T("review"), description=_T("The weekly review per tier and its action items"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ActionsPage)
        self.bot.jobs.every(JOB_ID, self.sweep, minutes=15, catch_up=True)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ActionsPage)
        self.bot.jobs.remove(JOB_ID)

    @review.command(name=_T("week"), description=_T("A week's review per tier, with its CSV"))
    @app_commands.describe(tier=_T("Only this tier (all by default)"),
                           week=_T("The ISO week, YYYY-Www (the last one by default)"))
    @manager_only()
    async def week(self, interaction: discord.Interaction, tier: TierArg | None = None,
                   week: MonthText | None = None) -> None:
        await acknowledge(interaction)  # the chart is drawn first
        found = await self.bot.services.reviews.review(
            cogkit.guild_id(interaction), week, tier.id if tier else "all")
        locale = await locale_for(interaction)
        parts = await asyncio.to_thread(  # a big program's review: rendered off the loop
            review_parts, self.bot, locale, found, tier is None)
        files = [discord.File(io.BytesIO(data), filename=name)
                 for name, data in await review_files(self.bot, locale, found)]
        *first, last = parts
        for part in first:
            await send(interaction, part)
        await send(interaction, last, files=files)

    @review.command(name=_T("schedule"),
                    description=_T("When the weekly review is posted to the managers"))
    @app_commands.describe(day=_T("Day of the week (the server's time zone)"),
                           hour=_T("Hour of the day, 0-23"),
                           enabled=_T("Post it on this schedule (off: stop posting)"))
    @app_commands.choices(day=DAY_CHOICES)
    @manager_only()
    async def schedule(self, interaction: discord.Interaction, day: int, hour:
                       app_commands.Range[int, 0, 23] = 9, enabled: bool = True) -> None:
        guild_id = cogkit.guild_id(interaction)
        found = await self.bot.services.reviews.set_schedule(
            guild_id, interaction.user.id, day, hour, enabled)
        channel = (await self.bot.services.guilds.get(guild_id)).channels.get("managers")
        await reply(interaction, "discord/reviews/schedule_set.md.j2", schedule=found,
                    channel=channel)

    @review.command(name=_T("act"), description=_T("Record an action item from the review"))
    @app_commands.describe(
        note=_T("What is to be done"), owner=_T("Who does it (gets a DM on the due day)"),
        due=_T("Due day, YYYY-MM-DD (the server's time zone)"),
        creator=_T("About a creator"), family=_T("About a family"), tier=_T("About a tier"),
        week=_T("The review it comes from, YYYY-Www (the last one by default)"))
    @leader_or_manager()
    async def act(self, interaction: discord.Interaction, note: NoteText,
                  owner: discord.Member, due: DayArg, creator: discord.Member | None = None,
                  family: FamilyArg | None = None, tier: TierArg | None = None,
                  week: MonthText | None = None) -> None:
        guild_id = cogkit.guild_id(interaction)
        reviews = self.bot.services.reviews
        action = await reviews.add_action(
            guild_id, interaction.user.id, await is_manager(interaction), owner.id, due, note,
            about_user_id=creator.id if creator else None,
            family_id=family.id if family else None, tier_id=tier.id if tier else None,
            week=week)
        await reply(interaction, "discord/reviews/action_saved.md.j2", action=action,
                    families=await reviews.family_names(guild_id))

    @review.command(name=_T("actions"), description=_T("Open action items"))
    @app_commands.describe(family=_T("Only this family's (leaders see their own)"))
    @leader_or_manager()
    async def actions(self, interaction: discord.Interaction,
                      family: FamilyArg | None = None) -> None:
        text, view = await actions_message(interaction, family.id if family else None, 0)
        await send(interaction, text, view=view)

    async def _change(self, interaction: discord.Interaction, action_id: int,
                      state: str) -> None:
        guild_id = cogkit.guild_id(interaction)
        reviews = self.bot.services.reviews
        action = await reviews.set_state(guild_id, interaction.user.id,
                                         await is_manager(interaction), action_id, state)
        await reply(interaction, "discord/reviews/action_state.md.j2", action=action,
                    families=await reviews.family_names(guild_id),
                    history=await reviews.history(guild_id, action_id))

    @review.command(name=_T("done"), description=_T("Mark an action item done"))
    @app_commands.describe(id=_T("The action's number (#12)"))
    async def done(self, interaction: discord.Interaction, id: ActionId) -> None:
        await self._change(interaction, id, "done")

    @review.command(name=_T("drop"), description=_T("Drop an action item that no longer applies"))
    @app_commands.describe(id=_T("The action's number (#12)"))
    async def drop(self, interaction: discord.Interaction, id: ActionId) -> None:
        await self._change(interaction, id, "dropped")

    @review.command(name=_T("reopen"), description=_T("Open a done or dropped action again"))
    @app_commands.describe(id=_T("The action's number (#12)"))
    async def reopen(self, interaction: discord.Interaction, id: ActionId) -> None:
        await self._change(interaction, id, "open")

    # -- the sweep -----------------------------------------------------------------------

    async def sweep(self) -> None:
        """Queue the scheduled reviews that are due (post and emails claimed in one
        transaction: once per week) and the due-day DMs of actions (once each)."""
        reviews = self.bot.services.reviews
        for guild_id, due in await reviews.due_reviews():
            try:
                await self.post_review(guild_id, due)
            except Exception as exc:  # nothing claimed: the next sweep tries again
                log.warning("review %s of guild %s failed: %r", due.week, guild_id, exc)
        for action in await reviews.due_actions():
            try:
                await self.queue_due(action)
            except Exception as exc:  # not marked: the next sweep tries again
                log.warning("due DM of action %s failed: %r", action.id, exc)

    async def post_review(self, guild_id: int, due: Any) -> bool:
        reviews = self.bot.services.reviews
        found = await reviews.review(guild_id, due.week)
        locale = (await self.bot.services.guilds.get(guild_id)).locale
        post = None
        if due.channel_id:
            files = await review_files(self.bot, locale, found)
            key = f"review:{due.week}"
            post = Send("review", key, "channel", due.channel_id, {
                "parts": await asyncio.to_thread(review_parts, self.bot, locale, found),
                "files": [attachment(name, data) for name, data in files]},
                source=key, channel_id=due.channel_id)
        guild = self.bot.get_guild(guild_id)
        wanted = {p.user_id for p in found.people} | {
            a.owner_id for a in (*found.actions.overdue, *found.actions.done)}
        names = {}
        if guild is not None:
            for user_id in wanted:
                member = guild.get_member(user_id)
                if member is not None:
                    names[user_id] = member.display_name
        onboarded = await self.bot.services.onboarding.time_to_onboard_days(
            guild_id, found.first, found.last)  # #22's KPI: application → first check-in
        emails = await reviews.render_emails(guild_id, due.week, {
            "review": dataclasses.replace(found, people=[]), "names": names,
            "onboarded": onboarded})
        return await reviews.claim(guild_id, due, post, emails)

    async def queue_due(self, action: Action) -> bool:
        services = self.bot.services
        locale = await services.members.locale_of(action.guild_id, action.owner_id)
        guild = self.bot.get_guild(action.guild_id)
        text = self.bot.templates.render(
            locale, "discord/reviews/due_dm.md.j2", action=action,
            families=await services.reviews.family_names(action.guild_id),
            guild=guild.name if guild else "")
        return await services.reviews.queue_due(action, Send(
            "review_due", f"review-action-due:{action.id}", "dm", action.owner_id,
            {"content": text}, source=f"review-action:{action.id}"))


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(ReviewCog(bot))
