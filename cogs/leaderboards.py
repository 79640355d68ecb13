"""/leaderboard creators | families | post, the Prev/Next buttons (``familia:lb:…``, the board's
parameters and page in the custom id, so they work after a restart), and the scheduled weekly
and monthly posts to the guild's leaderboard channel."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import discord
from babel.numbers import format_decimal
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import charts, cogkit
from bot.app import FamiliaBot
from bot.checks import creator_only, is_manager, manager_only
from bot.cogkit import pages as cogkit_pages
from bot.cogkit.buttons import labels
from bot.cogkit.options import RangeEndArg, RangeStartArg, ScopeFamilyArg, ScopeTierArg
from bot.cogkit.pages import nav
from bot.delivery.queue import Send, attachment
from bot.errors import NotAllowed, UserError
from bot.interactions import (
    FamiliaView,
    acknowledge,
    familia,
    locale_for,
    reply,
    send,
)
from bot.services.leaderboards import Board, Period

log = logging.getLogger("familia.leaderboards")
LABELS = "discord/leaderboards/labels.j2"
POST_WAIT = 30.0  # seconds a sweep (or /leaderboard post) waits for its board posts
JOB_ID = "leaderboards.posts"

METRIC_CHOICES = [
    app_commands.Choice(name=_T("Hours live"), value="hours"),
    app_commands.Choice(name=_T("Diamonds"), value="diamonds"),
    app_commands.Choice(name=_T("New followers"), value="followers"),
    app_commands.Choice(name=_T("Check-in days"), value="days"),
    app_commands.Choice(name=_T("Current streak"), value="streak"),
]
PERIOD_CHOICES = [
    app_commands.Choice(name=_T("Today"), value="today"),
    app_commands.Choice(name=_T("This week"), value="this_week"),
    app_commands.Choice(name=_T("Last week"), value="last_week"),
    app_commands.Choice(name=_T("This month"), value="this_month"),
    app_commands.Choice(name=_T("Last month"), value="last_month"),
    app_commands.Choice(name=_T("Custom range"), value="custom"),
    app_commands.Choice(name=_T("All time"), value="all"),
]
SCOPE_CHOICES = [
    app_commands.Choice(name=_T("Whole program"), value="program"),
    app_commands.Choice(name=_T("A family (yours if none named)"), value="family"),
    app_commands.Choice(name=_T("A tier"), value="tier"),
]
BY_CHOICES = [
    app_commands.Choice(name=_T("Average per member"), value="average"),
    app_commands.Choice(name=_T("Total"), value="total"),
]
POST_CHOICES = [c for c in PERIOD_CHOICES if c.value in ("last_week", "last_month")]


label = labels(LABELS)


def display_name(guild: discord.Guild | None, user_id: int) -> str:
    member = guild.get_member(user_id) if guild else None
    return member.display_name if member else str(user_id)


async def board_message(bot: Any, locale: str, guild: discord.Guild | None, board: Board, *,
                        final: bool = False) -> tuple[str, discord.File | None, BoardPages]:
    """The board's text, its bar chart (None when empty) and its page buttons."""
    text = bot.templates.render(locale, "discord/leaderboards/board.md.j2", board=board,
                                final=final, left=board.include_left)
    file = None
    if board.rows:
        names = [f"#{r.rank} {display_name(guild, r.user_id)}" for r in board.rows]
        mine = next((i for i, r in enumerate(board.rows) if r.user_id == board.viewer_id), None)
        png = await asyncio.to_thread(
            charts.bar_chart, names, [r.value for r in board.rows],
            title=label(bot, locale, "board_title", board.metric, board.period),
            value_label=label(bot, locale, "metric", board.metric),
            highlight=mine, number=lambda v: format_decimal(round(v, 1), locale=locale),
        )
        file = discord.File(io.BytesIO(png), filename="leaderboard.png")
    return text, file, BoardPages(bot, locale, board)


class PageButton(cogkit_pages.PageButton, custom_id=(
        "familia:lb:{metric}:{kind}:{key}:{scope}:{scope_id}:{left}:{page}")):
    """Prev/Next: everything needed to draw the page is in the custom id, as data: the clicker
    must be in the program, as for the command, and only managers see people who left."""

    patterns = {"metric": r"\w+", "kind": r"\w+", "scope": r"\w+", "left": "[01]"}
    emoji = "▶️"
    who = "program"
    metric: str
    kind: str  # of the period
    key: str
    scope: str
    scope_id: int
    left: int  # 1: members who left are included
    page: int

    @classmethod
    def of(cls, board: Board, page: int, text: str, emoji: str) -> PageButton:
        return cls(text, emoji=emoji, metric=board.metric, kind=board.period.kind,
                   key=board.period.key, scope=board.scope, scope_id=board.scope_id,
                   left=int(board.include_left), page=page)

    async def authorize(self, interaction: discord.Interaction) -> None:
        if self.left and not await is_manager(interaction):
            raise NotAllowed("leaderboards.former_managers_only")

    async def render_files(self, interaction: discord.Interaction
                           ) -> tuple[str, discord.ui.View | None, list[discord.File]]:
        bot = familia(interaction)
        board = await bot.services.leaderboards.page(
            cogkit.guild_id(interaction), interaction.user.id, self.metric,
            Period(self.kind, self.key), self.scope, self.scope_id, self.page,
            include_left=self.left == 1,
        )
        locale = await locale_for(interaction)
        text, file, view = await board_message(bot, locale, interaction.guild, board)
        return text, view, [file] if file else []


class BoardPages(FamiliaView):
    def __init__(self, bot: Any, locale: str, board: Board) -> None:
        super().__init__(timeout=None)
        if board.has_prev:
            self.add_item(PageButton.of(board, board.page - 1, label(bot, locale, "previous"), "◀️"))
        if board.has_next:
            self.add_item(PageButton.of(board, board.page + 1, label(bot, locale, "next"), "▶️"))


async def families_message(interaction: discord.Interaction, metric: str, period: Period,
                           by: str, page: int) -> tuple[str, discord.ui.View | None]:
    """A page of /leaderboard families."""
    bot = familia(interaction)
    found = await bot.services.leaderboards.family_board_page(
        cogkit.guild_id(interaction), metric, period, by, page)
    locale = await locale_for(interaction)
    settings = await bot.services.guilds.get(cogkit.guild_id(interaction))
    text = bot.templates.render(locale, "discord/leaderboards/families.md.j2", page=found,
                                metric=metric, period=period, by=by,
                                counted=settings.leaders_count)
    return text, nav(bot, locale, found, FamiliesPage, metric=metric, kind=period.kind,
                     key=period.key, by=by)


class FamiliesPage(cogkit_pages.PageButton,
                   custom_id="familia:pg:lbfam:{metric}:{kind}:{key}:{by}:{page}"):
    """◀️/▶️ of /leaderboard families; the clicker must be in the program, as for the
    command (the metric and ``by`` are checked again by the service)."""

    patterns = {"metric": r"\w+", "kind": r"\w+", "by": r"\w+"}
    who = "program"
    metric: str
    kind: str
    key: str
    by: str

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        return await families_message(interaction, self.metric, Period(self.kind, self.key),
                                      self.by, self.page)


class LeaderboardCog(commands.Cog, name="Leaderboards"):
    leaderboard = app_commands.Group(
        name=_T("leaderboard"), description=_T("Rankings of creators and families"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PageButton, FamiliesPage)
        self.bot.jobs.every(JOB_ID, self.sweep, minutes=15)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PageButton, FamiliesPage)
        self.bot.jobs.remove(JOB_ID)

    @leaderboard.command(name=_T("creators"), description=_T("Rank creators by a metric"))
    @app_commands.rename(start=_T("from"), end=_T("to"))
    @app_commands.describe(
        metric=_T("What to rank by"), period=_T("Which days count"),
        scope=_T("Who is ranked"), family=_T("The family, for the family scope"),
        tier=_T("The tier, for the tier scope"),
        start=_T("Custom range: first day, YYYY-MM-DD"),
        end=_T("Custom range: last day, YYYY-MM-DD"),
        former=_T("Managers: include people who left"),
    )
    @app_commands.choices(metric=METRIC_CHOICES, period=PERIOD_CHOICES, scope=SCOPE_CHOICES)
    @creator_only()
    async def creators(
        self, interaction: discord.Interaction, metric: str = "hours",
        period: str = "this_week", scope: str = "program",
        family: ScopeFamilyArg | None = None, tier: ScopeTierArg | None = None,
        start: RangeStartArg | None = None, end: RangeEndArg | None = None,
        former: bool = False,
    ) -> None:
        await acknowledge(interaction)  # the chart is drawn first
        board = await self.bot.services.leaderboards.open(
            cogkit.guild_id(interaction), interaction.user.id, metric, period, scope,
            start=start, end=end, family=family, tier=tier, include_left=former,
            manager=await is_manager(interaction),
        )
        locale = await locale_for(interaction)
        text, file, view = await board_message(self.bot, locale, interaction.guild, board)
        await send(interaction, text, view=view, files=[file] if file else [])

    @leaderboard.command(name=_T("families"), description=_T("Rank families: total and average"))
    @app_commands.describe(metric=_T("What to rank by"), period=_T("Which days count"),
                           by=_T("Average per member (default) or total"))
    @app_commands.choices(metric=METRIC_CHOICES[:4], period=PERIOD_CHOICES[:5] + PERIOD_CHOICES[6:],
                          by=BY_CHOICES)
    @creator_only()
    async def families(self, interaction: discord.Interaction, metric: str = "hours",
                       period: str = "this_week", by: str = "average") -> None:
        resolved = await self.bot.services.leaderboards.resolve_period(
            cogkit.guild_id(interaction), period)
        text, view = await families_message(interaction, metric, resolved, by, 0)
        await send(interaction, text, view=view)

    @leaderboard.command(name=_T("post"),
                         description=_T("Post a final board to the leaderboard channel again"))
    @app_commands.describe(period=_T("Which finished period"))
    @app_commands.choices(period=POST_CHOICES)
    @manager_only()
    async def post(self, interaction: discord.Interaction, period: str = "last_week") -> None:
        guild_id = cogkit.guild_id(interaction)
        channel_id = (await self.bot.services.guilds.get(guild_id)).channels.get(
            "leaderboard")
        if not channel_id:
            raise UserError("leaderboards.no_channel")
        await interaction.response.defer(ephemeral=True, thinking=True)
        lb = self.bot.services.leaderboards
        resolved = await lb.resolve_period(guild_id, period)
        key = f"board-repost:{resolved.key}:{interaction.id}"  # each re-post its own
        await lb.repost(guild_id, await self.board_post(guild_id, channel_id, resolved, key))
        # The sender takes it; the answer waits for Discord's (a refusal is the error reply).
        deliveries = self.bot.services.deliveries
        if (await deliveries.wait_settled(guild_id, [key], POST_WAIT)).get(key) == "failed":
            [(_, reason, _)] = await deliveries.failures(key)  # the board post's source
            if reason == "missing_permissions":
                raise NotAllowed("common.bot_missing_permissions", permissions=[])
            raise RuntimeError(f"the board could not be posted: {reason}")
        await reply(interaction, "discord/leaderboards/posted.md.j2", channel=channel_id)

    async def sweep(self) -> None:
        """Queue every finished week and month not posted yet (claimed with the post in one
        transaction: never twice), then wait for the sender to deliver them."""
        lb = self.bot.services.leaderboards
        for guild_id, channel_id in await lb.guilds_with_channel():
            queued = []
            for kind, period, late in await lb.due_posts(guild_id):
                try:
                    board = await lb.board(guild_id, "hours", period)
                    if not board.rows:
                        post_id = await lb.claim_post(guild_id, kind, period.key, late)
                        if post_id is not None:
                            await lb.finish_post(post_id, "empty", channel_id)
                        continue
                    key = f"board:{kind}:{period.key}"
                    post = await self.board_post(guild_id, channel_id, period, key)
                    if await lb.claim_post(guild_id, kind, period.key, late, post) is not None:
                        queued.append(key)
                except Exception as exc:  # nothing claimed: the next sweep tries again
                    log.warning("board post %s %s of guild %s failed: %r", kind, period.key,
                                guild_id, exc)
            if queued:
                await self.bot.services.deliveries.wait_settled(guild_id, queued, POST_WAIT)

    async def board_post(self, guild_id: int, channel_id: int, period: Period,
                         key: str) -> Send:
        """A period's final hours board (top 10) as a queued post, without pings."""
        board = await self.bot.services.leaderboards.page(
            guild_id, None, "hours", period, "program", 0, 0)
        locale = (await self.bot.services.guilds.get(guild_id)).locale
        text, file, view = await board_message(self.bot, locale, self.bot.get_guild(guild_id),
                                               board, final=True)
        payload: dict[str, Any] = {"content": text, "components": view.to_components()}
        if file is not None:
            payload["files"] = [attachment(file.filename, file.fp.read())]
        return Send("board", key, "channel", channel_id, payload, source=key,
                    channel_id=channel_id)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(LeaderboardCog(bot))
