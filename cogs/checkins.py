"""/checkin (a modal for today's stats) and /checkins history and settings; the family-channel
post with its persistent "Give feedback" button (``familia:fb:<checkin_id>``)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import creator_only, is_manager, manager_only
from bot.clock import to_db
from bot.cogkit.buttons import PersistentButton, labels
from bot.cogkit.messages import NO_PINGS, channel_of, locale_of
from bot.cogkit.options import HistoryDays, RestDays, TimeText
from bot.cogkit.pages import PageButton, nav
from bot.delivery.queue import Send
from bot.errors import FamiliaError, UserError
from bot.interactions import (
    AckFirst,
    FamiliaModal,
    acknowledge,
    familia,
    known_locale,
    locale_for,
    log_command,
    reply,
    send,
    start_timer,
)
from bot.paging import pack
from bot.services.checkins import FEEDBACK_MAX, NOTES_MAX, Feedback, Submitted

LABELS = "discord/checkins/labels.j2"
DONE = "discord/checkins/done.md.j2"
FEEDBACK = "discord/checkins/feedback_dm.md.j2"
log = logging.getLogger(__name__)
WORK_SLOTS = 16
FEEDBACK_WAIT = 1.5  # seconds the form's answer waits to say whether the DM got through
POST_WAIT = 10.0  # seconds a replaced check-in waits for its first post before editing it


label = labels(LABELS)



class CheckinModal(FamiliaModal):
    def __init__(self, bot: Any, locale: str, user_id: int, mood: int | None, yesterday: bool,
                 current: Any = None) -> None:
        super().__init__(title=label(bot, locale, "yesterday_title" if yesterday else "title"),
                         timeout=900)
        self.user_id, self.mood, self.yesterday = user_id, mood, yesterday

        def field(name: str, value: Any, **kw: Any) -> discord.ui.TextInput[Any]:
            item: discord.ui.TextInput[Any] = discord.ui.TextInput(
                label=label(bot, locale, name), custom_id=name,
                default=None if value is None else str(value), **kw,
            )
            self.add_item(item)
            return item

        def old(name: str) -> Any:
            return getattr(current, name) if current is not None else None

        field("hours", old("hours"), max_length=5, placeholder="2.5")
        for name in ("diamonds", "followers", "peak_viewers"):
            field(name, old(name), max_length=12, required=False, placeholder="0")
        field("notes", old("notes"), style=discord.TextStyle.paragraph, required=False,
              max_length=NOTES_MAX)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        start_timer(interaction)
        bot = familia(interaction)
        cog = bot.get_cog("Checkins")
        gate = cog.gate if isinstance(cog, CheckinsCog) else AckFirst(WORK_SLOTS)
        # Acknowledge at once: under load the write may queue behind others for longer than
        # Discord's 3 s; the answer (or the error) follows up.
        await gate.defer(interaction, ephemeral=True, thinking=True)
        if interaction.user.id != self.user_id:
            raise UserError("checkins.not_yours")
        values = {c.custom_id: c.value for c in self.children
                  if isinstance(c, discord.ui.TextInput)}
        async with gate.slots:
            await gate.step()
            done = await bot.services.checkins.submit(
                cogkit.guild_id(interaction), self.user_id, values, mood=self.mood,
                yesterday=self.yesterday,
            )
            languages = done.languages  # read with the check-in: the answer needs no reads
            known_locale(interaction, member=languages.member, chosen=languages.chosen,
                         remembered=languages.discord, guild_default=languages.guild)
            await gate.step()
            # The family post is queued before the answer: once the creator reads the answer,
            # the post is in the delivery queue (durable). A process killed before it leaves
            # the creator unanswered, and their next try posts it (found by bench/chaos.py).
            try:
                await post_checkin(bot, done)
            except Exception:  # the check-in is stored: its answer still comes
                log.exception("check-in %s: its family post was not queued", done.checkin.id)
            await gate.step()
            not_shown: FamiliaError | None = None
            try:  # stored and posted: whatever happens to the answer
                await answer_checkin(interaction, done)
            except FamiliaError as exc:
                not_shown = exc
            except Exception:
                not_shown = stored_not_shown(done, exc_info=True)
            else:
                log_command(interaction, "ok")
        if not_shown is not None:
            raise not_shown


async def answer_checkin(interaction: discord.Interaction, done: Submitted) -> None:
    """The stored check-in's answer with the feedback waiting for the creator: what fits
    under the answer, the rest in follow-ups. Each feedback is marked delivered once Discord
    took the message that shows it whole; what was not shown stays pending (it follows the
    next command). A failure says what was kept: the check-in is stored either way."""
    bot = familia(interaction)
    locale = await locale_for(interaction)

    def answer(feedback: list[Feedback]) -> str:
        return bot.templates.render(locale, DONE, done=done, feedback=feedback)

    def more(feedback: list[Feedback]) -> str:
        return bot.templates.render(locale, FEEDBACK, feedback=feedback, guild="")

    messages = pack(done.feedback, more, first=answer)
    shown = await show_feedback(interaction, messages, "checkin")
    if shown == 0:  # not even the answer: say that the check-in is stored
        raise stored_not_shown(done)
    if shown < len(messages):
        raise FamiliaError("checkins.feedback_not_shown")


def stored_not_shown(done: Submitted, *, exc_info: bool = False) -> FamiliaError:
    """The answer to a stored check-in whose answer failed: it is stored (never "nothing
    was changed"), with a support code that finds the log line."""
    code = secrets.token_hex(3).upper()
    log.warning("check-in %s stored, its answer not shown (code=%s)", done.checkin.id, code,
                exc_info=exc_info)
    return FamiliaError("checkins.stored_not_shown", day=done.checkin.local_date, code=code)


async def show_feedback(interaction: discord.Interaction,
                        messages: Sequence[tuple[str, Sequence[Feedback]]], via: str) -> int:
    """Send ``messages`` (from :func:`bot.paging.pack`) privately, in order, pinging nobody;
    after each one Discord took, mark the feedback it completed as delivered ``via``. Stops
    at the first refusal; returns how many messages were shown."""
    checkins = familia(interaction).services.checkins
    for number, (text, feedback) in enumerate(messages):
        try:
            await send(interaction, text, ephemeral=True, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("message %s of %s not shown (%s): its feedback stays pending",
                        number + 1, len(messages), exc)
            return number
        if feedback:
            await checkins.feedback_delivered([f.id for f in feedback], via)
    return len(messages)


class FeedbackButton(PersistentButton, custom_id="familia:fb:{checkin_id}"):
    default_label = "Feedback"
    emoji = "💬"
    checkin_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        checkin = await bot.services.checkins.check_feedback(
            cogkit.guild_id(interaction), interaction.user.id, self.checkin_id
        )
        locale = await locale_for(interaction)
        await interaction.response.send_modal(FeedbackModal(bot, locale, checkin.id))


class FeedbackModal(FamiliaModal):
    def __init__(self, bot: Any, locale: str, checkin_id: int) -> None:
        super().__init__(title=label(bot, locale, "feedback_title"), timeout=900)
        self.checkin_id = checkin_id
        self.text: discord.ui.TextInput[Any] = discord.ui.TextInput(
                                         label=label(bot, locale, "feedback"),
                                         custom_id="feedback", max_length=FEEDBACK_MAX,
                                         style=discord.TextStyle.paragraph)
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        start_timer(interaction)
        await acknowledge(interaction)  # the answer waits for the DM
        bot = familia(interaction)
        guild_id = cogkit.guild_id(interaction)
        checkins = bot.services.checkins
        creator = (await checkins.check_feedback(
            guild_id, interaction.user.id, self.checkin_id)).user_id
        locale = await locale_of(bot, guild_id, creator)
        guild_name = interaction.guild.name if interaction.guild else ""

        def dm(feedback: Feedback) -> Send:
            text = bot.templates.render(locale, "discord/checkins/feedback_dm.md.j2",
                                        feedback=[feedback], guild=guild_name)
            return Send("feedback", f"feedback:{feedback.id}", "dm", feedback.user_id,
                        {"content": text}, priority=1)

        feedback = await checkins.give_feedback(
            guild_id, interaction.user.id, self.checkin_id, self.text.value,
            dm=dm)
        # The sender takes it first; the answer says whether it reached them by DM (if not,
        # DMs closed: the creator sees it after their next command).
        key = f"feedback:{feedback.id}"
        state = (await bot.services.deliveries.wait_settled(
            guild_id, [key], FEEDBACK_WAIT)).get(key)
        delivered = state != "failed"
        if state == "sent":
            await checkins.feedback_delivered(feedback.id, "dm")
        await reply(interaction, "discord/checkins/feedback_sent.md.j2", feedback=feedback,
                    delivered=delivered)
        log_command(interaction, "ok")


async def post_checkin(bot: Any, done: Submitted) -> None:
    """The family-channel post and milestones, queued for the Discord sender; a replaced
    check-in's post is edited in place (an ``edit`` delivery of the message)."""
    if done.post_mode == "off":
        return
    channel = await channel_of(bot, done.channel_id)
    if channel is None:
        return
    checkin, checkins = done.checkin, bot.services.checkins
    locale = done.languages.guild  # locale_of without a member, read with the check-in
    text = bot.templates.render(locale, "discord/checkins/post.md.j2", done=done)
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton(label(bot, locale, "give_feedback"), checkin_id=checkin.id))
    source = f"checkin-post:{checkin.id}"
    version = to_db(checkin.updated_at)  # a replaced check-in's post: edited, or posted again
    if done.edited:
        # its first post may still be on its way: wait for it (a while) before editing
        await bot.services.deliveries.wait_settled(checkin.guild_id, [source], POST_WAIT)
        where = await checkins.post_of(checkin)
        if where is not None and where[0] == channel.id:
            await checkins.queue_post(checkin.guild_id, [Send(
                "checkin_edit", f"checkin-edit:{checkin.id}:{version}", "edit", channel.id,
                {"message_id": where[1], "content": text, "components": view.to_components()},
                source=f"checkin-edit:{checkin.id}", channel_id=channel.id)])
            return
    # a first post, or the post of a replaced check-in whose post is elsewhere or missing
    key = source if not done.edited else f"{source}:{version}"
    sends = [Send("checkin_post", key, "channel", channel.id,
                  {"content": text, "components": view.to_components()}, source=source,
                  channel_id=channel.id)]
    if done.milestone:
        sends.append(Send(
            "checkin_milestone", f"checkin-milestone:{checkin.id}", "channel", channel.id,
            {"content": bot.templates.render(locale, "discord/checkins/milestone.md.j2",
                                             done=done),
             "mentions": {"users": [checkin.user_id]}}, channel_id=channel.id))
    await checkins.queue_post(checkin.guild_id, sends)


POST_CHOICES = [
    app_commands.Choice(name=_T("Off"), value="off"),
    app_commands.Choice(name=_T("Summary"), value="summary"),
    app_commands.Choice(name=_T("Full"), value="full"),
]


async def history_message(interaction: discord.Interaction, user_id: int, days: int,
                          page: int) -> tuple[str, discord.ui.View | None]:
    """A page of /checkins history (the service checks who may see whose)."""
    bot = familia(interaction)
    found = await bot.services.checkins.history(
        cogkit.guild_id(interaction), interaction.user.id, user_id, days,
        as_manager=await is_manager(interaction), page=page)
    locale = await locale_for(interaction)
    text = bot.templates.render(locale, "discord/checkins/history.md.j2", user_id=found.user_id,
                                page=found.page, streak=found.streak, best=found.best,
                                days=days, own=found.user_id == interaction.user.id)
    return text, nav(bot, locale, found.page, CheckinsPage, user_id=found.user_id, days=days)


class CheckinsPage(PageButton, custom_id="familia:pg:checkins:{user_id}:{days}:{page}"):
    """◀️/▶️ of /checkins history: whose days and how many back are data; the clicker is
    checked again (in the program; the member's leader or a manager for someone else's)."""

    who = "program"
    user_id: int
    days: int

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        return await history_message(interaction, self.user_id, self.days, self.page)


class CheckinsCog(commands.Cog, name="Checkins"):
    checkins = app_commands.Group(
        name=_T("checkins"), description=_T("Daily check-ins: history and settings"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot
        self.gate = AckFirst(WORK_SLOTS)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(FeedbackButton, CheckinsPage)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(FeedbackButton, CheckinsPage)

    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: discord.Interaction,
                                        command: Any) -> None:
        """Feedback that could not reach a creator by DM follows their next command,
        privately (a command answered with a form gets it with the form's answer)."""
        if interaction.guild_id is None or not interaction.response.is_done() or (
                interaction.response.type == discord.InteractionResponseType.modal):
            return
        checkins = self.bot.services.checkins
        pending = await checkins.pending_feedback(interaction.guild_id, interaction.user.id)
        if not pending:
            return
        locale = await locale_for(interaction)
        await show_feedback(interaction, pack(pending, lambda feedback: self.bot.templates.render(
            locale, FEEDBACK, feedback=feedback, guild="")), "command")

    @app_commands.command(name=_T("checkin"), description=_T("Report today's stream stats"))
    @app_commands.guild_only()
    @app_commands.describe(mood=_T("How you feel today, 1 (bad) to 5 (great)"),
                           day=_T("Today, or yesterday until the cut-off hour"))
    @app_commands.choices(mood=[app_commands.Choice(name=f"{n} {e}", value=n)
                                for n, e in zip(range(1, 6), "😞😕😐🙂😄", strict=True)])
    @app_commands.choices(day=[app_commands.Choice(name=_T("Today"), value="today"),
                               app_commands.Choice(name=_T("Yesterday"), value="yesterday")])
    @creator_only()
    async def checkin(self, interaction: discord.Interaction, mood: int | None = None,
                      day: str = "today") -> None:
        services = self.bot.services
        yesterday = day == "yesterday"
        _, local_day, _ = await services.checkins.target_day(
            cogkit.guild_id(interaction), interaction.user.id, yesterday
        )
        current = await services.checkins.day_of(
            cogkit.guild_id(interaction), interaction.user.id, local_day
        )
        locale = await locale_for(interaction)
        await interaction.response.send_modal(
            CheckinModal(self.bot, locale, interaction.user.id, mood, yesterday, current)
        )

    @checkins.command(name=_T("history"), description=_T("Your last days, or a member's"))
    @app_commands.describe(member=_T("A member of your family (leaders); empty for yourself"),
                           days=_T("How many days back, 1 to 90"))
    @creator_only()
    async def history(self, interaction: discord.Interaction,
                      member: discord.Member | None = None, days: HistoryDays = 7) -> None:
        text, view = await history_message(
            interaction, member.id if member else interaction.user.id, days, 0)
        await send(interaction, text, view=view)

    @checkins.command(name=_T("settings"), description=_T("Check-in posts, roll-call, summary"))
    @app_commands.rename(rollcall=_T("roll-call"), rest_days=_T("rest-days"))
    @app_commands.describe(
        posts=_T("What the family channel shows of each check-in"),
        rollcall=_T("Daily roll-call time (server zone) such as 20:00, or off"),
        summary=_T("Leaders' daily summary time (server zone) such as 22:00, or off"),
        rest_days=_T("Missed days per week that do not break a streak, 0 to 6"),
    )
    @app_commands.choices(posts=POST_CHOICES)
    @manager_only()
    async def settings(self, interaction: discord.Interaction, posts: str | None = None,
                       rollcall: TimeText | None = None, summary: TimeText | None = None,
                       rest_days: RestDays | None = None) -> None:
        guild_id = cogkit.guild_id(interaction)
        if any(v is not None for v in (posts, rollcall, summary, rest_days)):
            await self.bot.services.checkins.update_settings(
                guild_id, interaction.user.id, post_mode=posts,
                rollcall_time=rollcall, summary_time=summary, rest_days=rest_days,
            )
        current = await self.bot.services.checkins.settings(guild_id)
        guild = await self.bot.services.guilds.get(guild_id)
        await reply(interaction, "discord/checkins/settings.md.j2", settings=current,
                    timezone=guild.timezone)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(CheckinsCog(bot))
