"""/creator: creator profiles and the bulk roster import.

``/creator profile [member]`` shows a profile (one's own; a leader their family's members; a
manager anyone's, with the managers' notes); ``/creator set`` sets one's own handle, or any
field of anyone for a manager. ``/creator import file`` (managers) previews a roster file;
its **Apply** button (restart-proof, managers only, re-checked on each click) applies it;
``/creator template`` hands out a file to fill in. Everything is decided by
:class:`~bot.services.roster.RosterService` and
:class:`~bot.services.profiles.ProfileService`; this cog reads Discord's member list into a
:class:`~bot.services.roster.Directory` and renders.
"""

from __future__ import annotations

import io
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import is_manager, manager_only
from bot.cogkit.agreement import AgreeButton
from bot.cogkit.buttons import PersistentButton, labels
from bot.cogkit.progress import ProgressShown, finish
from bot.delivery.queue import Send
from bot.errors import FamiliaError, UserError
from bot.interactions import acknowledge, familia, locale_for, reply
from bot.services import bounds
from bot.services.families import AGREEMENT_VERSION, Family
from bot.services.profiles import CATEGORY_MAX, LANGUAGE_MAX, NOTES_MAX, REGION_MAX
from bot.services.roster import LIMITS, AskAgreement, Directory, Plan, agreement_key

LABELS = "discord/creators/labels.j2"
label = labels(LABELS)
FORMATS = [app_commands.Choice(name=_T("Excel (.xlsx)"), value="xlsx"),
           app_commands.Choice(name=_T("CSV"), value="csv")]
SHOWN = 15  # rows of each kind a preview lists (the rest are counted)
PROGRESS_EVERY = 2.0  # seconds between two edits of a long import's answer (bot/cogkit/progress.py)

HandleText = app_commands.Range[str, 1, 100]  # a handle, or a link to the profile
IdText = app_commands.Range[str, 1, 30]
RegionText = app_commands.Range[str, 1, REGION_MAX]
LanguageText = app_commands.Range[str, 1, LANGUAGE_MAX]
CategoryText = app_commands.Range[str, 1, CATEGORY_MAX]
DateText = app_commands.Range[str, 1, bounds.DATE_MAX]
NotesText = app_commands.Range[str, 1, NOTES_MAX]


async def directory(guild: discord.Guild) -> Directory:
    """The server's members as the import names them: id, display name, global name,
    username (bots left out). Read from Discord (``GET /guilds/{id}/members``, 1,000 a
    request), not the cache: an import names everyone, and the list is read once a file."""
    members = [m async for m in guild.fetch_members(limit=None)]
    return Directory.of((m.id, (m.display_name, m.global_name, m.name))
                        for m in members if not m.bot)


def single(item: discord.ui.Item[Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(item)
    return view


def reasons(bot: FamiliaBot, locale: str, plan: Plan) -> dict[int, str]:
    """Each refused row's reason, in the reader's language, by line."""
    return {row.line: bot.templates.render_error(locale, FamiliaError(row.reason or
                                                                      "common.unexpected",
                                                                      **row.params))
            for row in plan.of("refused")}


class CreatorsCog(commands.Cog):
    creator = app_commands.Group(
        name=_T("creator"), description=_T("Creator profiles and the roster import"),
        guild_only=True)

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ApplyButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ApplyButton)

    @creator.command(name=_T("profile"), description=_T("Show a creator's profile"))
    @app_commands.describe(member=_T("Whose profile (default: yours)"))
    async def profile(self, interaction: discord.Interaction,
                      member: discord.Member | None = None) -> None:
        who = member.id if member is not None else interaction.user.id
        manager = await is_manager(interaction)
        found = await self.bot.services.profiles.view(
            cogkit.guild_id(interaction), interaction.user.id, who, as_manager=manager)
        await reply(interaction, "discord/creators/profile.md.j2", profile=found,
                    manager=manager, changed=False)

    @creator.command(name=_T("set"), description=_T("Set profile fields (creators: their handle)"))
    @app_commands.describe(
        member=_T("Whose profile (default: yours; others: managers)"),
        handle=_T("Handle on the platform, e.g. @name (\"-\" clears)"),
        platform_id=_T("User id on the platform (managers)"),
        region=_T("Country or region (managers)"),
        language=_T("Main language (managers)"),
        category=_T("Content category (managers)"),
        platform_joined=_T("Joined the platform, e.g. 2025-11-03 (managers)"),
        program_joined=_T("Joined the program, e.g. 2026-01-15 (managers)"),
        notes=_T("Managers' notes, seen by managers only"),
    )
    async def set_(self, interaction: discord.Interaction,
                   member: discord.Member | None = None, handle: HandleText | None = None,
                   platform_id: IdText | None = None, region: RegionText | None = None,
                   language: LanguageText | None = None,
                   category: CategoryText | None = None,
                   platform_joined: DateText | None = None,
                   program_joined: DateText | None = None,
                   notes: NotesText | None = None) -> None:
        who = member.id if member is not None else interaction.user.id
        manager = await is_manager(interaction)
        found = await self.bot.services.profiles.set(
            cogkit.guild_id(interaction), interaction.user.id, who, {
                "handle": handle, "platform_user_id": platform_id, "region": region,
                "language": language, "category": category,
                "platform_joined_on": platform_joined, "program_joined_on": program_joined,
                "manager_notes": notes,
            }, as_manager=manager)
        await reply(interaction, "discord/creators/profile.md.j2",
                    profile=found if manager else found.without_notes(), manager=manager,
                    changed=True)

    @creator.command(name=_T("import"),
                     description=_T("Preview a roster file (CSV or Excel), then apply it"))
    @app_commands.describe(file=_T("The roster: one row per creator (see /creator template)"))
    @manager_only()
    async def import_(self, interaction: discord.Interaction,
                      file: discord.Attachment) -> None:
        await acknowledge(interaction)  # the file is downloaded and read first
        if file.size > LIMITS.max_bytes:
            raise UserError("sheets.too_big", limit_mb=LIMITS.max_bytes // (1024 * 1024))
        data = await file.read()
        guild = cogkit.guild(interaction)
        locale = await locale_for(interaction)
        shown = ProgressShown(interaction, locale, PROGRESS_EVERY)
        plan = await self.bot.services.roster.preview(
            guild.id, interaction.user.id, file.filename, data, await directory(guild), locale,
            shown)
        counts = plan.counts
        view = None
        if counts["add"] or counts["change"]:
            view = single(ApplyButton(label(self.bot, locale, "apply"),
                                      upload_id=plan.upload_id))
        await finish(interaction, shown, "discord/creators/preview.md.j2", plan=plan,
                     counts=counts, reasons=reasons(self.bot, locale, plan), shown=SHOWN,
                     applied=False, view=view, split=True)

    @creator.command(name=_T("template"), description=_T("Get a roster file to fill in"))
    @app_commands.describe(format=_T("Excel (.xlsx) or CSV"))
    @app_commands.choices(format=FORMATS)
    @manager_only()
    async def template(self, interaction: discord.Interaction, format: str = "xlsx") -> None:
        if format not in ("xlsx", "csv"):  # a client that ignores the choices
            raise UserError("common.bad_option", value=format)
        locale = await locale_for(interaction)
        data = self.bot.services.roster.template(locale, format)
        name = label(self.bot, locale, "template_name") + f".{format}"
        await reply(interaction, "discord/creators/template.md.j2",
                    files=[discord.File(io.BytesIO(data), filename=name)])


def agreement_dm(bot: FamiliaBot, guild_id: int) -> AskAgreement:
    """The DM asking a creator the import placed to accept the program agreement (an Accept
    button), in their language; queued once per member and agreement version."""

    def ask(user_id: int, family: Family, locale: str) -> Send:
        text = bot.templates.render(locale, "discord/creators/placed.md.j2", family=family,
                                    version=AGREEMENT_VERSION)
        accept = AgreeButton(label(bot, locale, "accept"), guild_id=guild_id,
                             version=AGREEMENT_VERSION)
        return Send("roster_agreement", agreement_key(user_id), "dm", user_id, {
            "content": text, "mentions": {"users": []},
            "components": single(accept).to_components()})

    return ask


class ApplyButton(PersistentButton, custom_id="familia:roster:apply:{upload_id}"):
    """Applies a previewed roster upload of this server: managers only (checked on each
    click); the service plans the file again against the server as it is now."""

    style = discord.ButtonStyle.success
    who = "managers"
    upload_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        await acknowledge(interaction)
        bot = familia(interaction)
        guild = cogkit.guild(interaction)
        locale = await locale_for(interaction)
        shown = ProgressShown(interaction, locale, PROGRESS_EVERY)
        plan = await bot.services.roster.apply(
            guild.id, interaction.user.id, self.upload_id, await directory(guild),
            agreement_dm(bot, guild.id), locale, shown)
        await finish(interaction, shown, "discord/creators/preview.md.j2", plan=plan,
                     counts=plan.counts, reasons=reasons(bot, locale, plan), shown=SHOWN,
                     applied=True, split=True)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(CreatorsCog(bot))
