"""/policy: the policy and training library. Managers publish (a Markdown or text file, or a
form) and archive; members of the program search, read (paged), compare versions and
acknowledge the version in force; managers and leaders (their family) see who has."""

from __future__ import annotations

import io
from dataclasses import asdict
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import (
    creator_only,
    is_manager,
    leader_or_manager,
    led_family,
    manager_only,
    require_creator,
)
from bot.cogkit.buttons import PersistentButton, labels
from bot.cogkit.options import (
    FamilyListArg,
    IdNumber,
    MomentArg,
    Refused,
    TierListArg,
    _Bounded,
)
from bot.cogkit.pages import PageButton, nav
from bot.delivery.queue import Send
from bot.errors import FamiliaError, NotAllowed, UserError
from bot.interactions import (
    FamiliaModal,
    acknowledge,
    familia,
    locale_for,
    log_command,
    reply,
    send,
    start_timer,
)
from bot.limits import fit_choices
from bot.paging import page_of
from bot.services.policies import (
    BODY_MAX,
    CATEGORY_MAX,
    QUERY_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Ask,
    AskFor,
    Document,
    PolicyService,
    Shown,
)
from bot.text import split_text

LABELS = "discord/policies/labels.j2"
JOB_ID = "policy-reminders"
label = labels(LABELS)
FILE_MAX = 256 * 1024  # bytes of an uploaded document
FILE_KINDS = (".md", ".markdown", ".txt")
PART = 1700  # characters of a document's body per page (the page's header fits beside it)
MODAL_BODY = 4000  # Discord's longest text input

CATEGORY_CHOICES = [
    app_commands.Choice(name=_T("Monetisation"), value="monetisation"),
    app_commands.Choice(name=_T("Trust & Safety"), value="trust_safety"),
    app_commands.Choice(name=_T("Community"), value="community"),
    app_commands.Choice(name=_T("Campaigns"), value="campaigns"),
    app_commands.Choice(name=_T("Training"), value="training"),
    app_commands.Choice(name=_T("Agreements"), value="agreements"),
]
AUDIENCE_CHOICES = [
    app_commands.Choice(name=_T("Everyone in the program"), value="everyone"),
    app_commands.Choice(name=_T("Some families"), value="families"),
    app_commands.Choice(name=_T("Some tiers"), value="tiers"),
    app_commands.Choice(name=_T("Family leaders only"), value="leaders"),
]
LANGUAGE_CHOICES = [
    app_commands.Choice(name=_T("English"), value="en"),
    app_commands.Choice(name=_T("Spanish"), value="es"),
]


def service(interaction: discord.Interaction) -> PolicyService:
    return familia(interaction).services.policies


def language(locale: str) -> str:
    return "es" if locale.startswith("es") else "en"


class DocumentOption(_Bounded):
    """A document: its id from autocomplete (titles the reader may read), or its title typed."""

    async def transform(self, interaction: discord.Interaction, value: Any) -> Document:
        try:
            return await service(interaction).resolve(cogkit.guild_id(interaction), str(value))
        except FamiliaError as exc:
            raise Refused(exc) from exc

    async def autocomplete(  # type: ignore[override]  # discord.py's allows int/float choices
        self, interaction: discord.Interaction, value: str
    ) -> list[app_commands.Choice[str]]:
        found = await service(interaction).titles(
            cogkit.guild_id(interaction), interaction.user.id, value,
            manager=await is_manager(interaction))
        return fit_choices([app_commands.Choice(name=d.title, value=str(d.id)) for d in found])


DocumentArg = app_commands.Transform[Document, DocumentOption]
TitleText = app_commands.Range[str, 1, TITLE_MAX]
CategoryText = app_commands.Range[str, 1, CATEGORY_MAX]
SummaryText = app_commands.Range[str, 1, SUMMARY_MAX]
QueryText = app_commands.Range[str, 1, QUERY_MAX]
VersionNumber = app_commands.Range[int, 1, 100_000]


async def show_message(interaction: discord.Interaction, document_id: int, version: int | None,
                       page: int, *, guild_id: int | None = None
                       ) -> tuple[str, discord.ui.View | None]:
    """One page of a document as the reader sees it, with ◀️/▶️ and, when the version in
    force is not acknowledged by them yet, **I acknowledge** (``guild_id``: read from a DM,
    first page only)."""
    bot = familia(interaction)
    locale = await locale_for(interaction)
    in_dm = guild_id is not None
    shown = await service(interaction).show(
        guild_id if guild_id is not None else cogkit.guild_id(interaction), interaction.user.id,
        document_id, language(locale), version=version,
        manager=not in_dm and await is_manager(interaction))
    parts = split_text(shown.body, PART) or [shown.body]
    current = page_of(parts, page, 1)
    text = bot.templates.render(locale, "discord/policies/show.md.j2", shown=shown,
                                part=current.items[0], page=current)
    view = None if in_dm else nav(bot, locale, current, ShowPage, document_id=document_id,
                                  version=shown.version.version)
    if _asks_ack(shown) and not in_dm:
        view = view or discord.ui.View(timeout=None)
        view.add_item(AckButton(label(bot, locale, "acknowledge"), document_id=document_id,
                                version=shown.latest))
    return text, view


def _asks_ack(shown: Shown) -> bool:
    return (not shown.document.archived and shown.version.version == shown.latest
            and (shown.acknowledged or 0) < shown.latest)


class ShowPage(PageButton, custom_id="familia:pg:policy:{document_id}:{version}:{page}"):
    """◀️/▶️ of /policy show: the audience is checked again."""

    who = "program"
    document_id: int
    version: int

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        return await show_message(interaction, self.document_id, self.version, self.page)


class AckButton(PersistentButton, custom_id="familia:pol:ack:{document_id}:{version}"):
    """**I acknowledge**: the clicker acknowledges that version (the version in force only)."""

    who = "program"
    style = discord.ButtonStyle.success
    document_id: int
    version: int

    async def run(self, interaction: discord.Interaction) -> None:
        await _acknowledge(interaction, self.document_id, self.version)


class DmReadButton(PersistentButton, custom_id="familia:pol:read:{guild_id}:{document_id}"):
    """**Read** in the DM asking to acknowledge: the document's first page (its audience is
    checked again; the clicker must be a member of that server)."""

    in_dm = True
    guild_id: int
    document_id: int

    async def authorize(self, interaction: discord.Interaction) -> None:
        await _in_program(interaction, self.guild_id)

    async def run(self, interaction: discord.Interaction) -> None:
        text, _ = await show_message(interaction, self.document_id, None, 0,
                                     guild_id=self.guild_id)
        await send(interaction, text)


class DmAckButton(PersistentButton,
                  custom_id="familia:pol:dmack:{guild_id}:{document_id}:{version}"):
    """**I acknowledge** in the DM (or the family channel's mention) asking for it."""

    in_dm = True
    style = discord.ButtonStyle.success
    guild_id: int
    document_id: int
    version: int

    async def authorize(self, interaction: discord.Interaction) -> None:
        await _in_program(interaction, self.guild_id)

    async def run(self, interaction: discord.Interaction) -> None:
        await _acknowledge(interaction, self.document_id, self.version, guild_id=self.guild_id)


async def _in_program(interaction: discord.Interaction, guild_id: int) -> None:
    """The clicker is a member of the program of ``guild_id`` (or, in that server, a
    manager): only they are asked to acknowledge."""
    if interaction.guild_id is not None:
        await require_creator(interaction)
        return
    member = await familia(interaction).services.members.get(guild_id, interaction.user.id)
    if member is None or not member.in_program:
        raise NotAllowed("common.program_only")


async def _acknowledge(interaction: discord.Interaction, document_id: int,
                       version: int | None, *, guild_id: int | None = None) -> None:
    in_dm = guild_id is not None
    guild_id = guild_id if guild_id is not None else cogkit.guild_id(interaction)
    policies = service(interaction)
    locale = await locale_for(interaction)
    shown = await policies.show(guild_id, interaction.user.id, document_id, language(locale),
                                manager=not in_dm and await is_manager(interaction))
    done = await policies.acknowledge(guild_id, interaction.user.id, document_id,
                                      version if version is not None else shown.latest)
    await reply(interaction, "discord/policies/acknowledged.md.j2", document=shown.document,
                version=done)


class BodyModal(FamiliaModal):
    """The bodies (English, Spanish) and the change summary of a publish without a file."""

    def __init__(self, bot: Any, locale: str, request: dict[str, Any]) -> None:
        super().__init__(title=label(bot, locale, "modal_title"), timeout=1800)
        self.request = request
        self.body_en: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "body_en"), custom_id="body_en", required=False,
            style=discord.TextStyle.paragraph, max_length=MODAL_BODY)
        self.body_es: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "body_es"), custom_id="body_es", required=False,
            style=discord.TextStyle.paragraph, max_length=MODAL_BODY)
        self.add_item(self.body_en)
        self.add_item(self.body_es)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        start_timer(interaction)
        await _publish(interaction, {"en": self.body_en.value, "es": self.body_es.value},
                       self.request)
        log_command(interaction, "ok")


async def _publish(interaction: discord.Interaction, bodies: dict[str, str | None],
                   request: dict[str, Any]) -> None:
    document, version = await service(interaction).publish(
        cogkit.guild_id(interaction), interaction.user.id, bodies=bodies,
        ask=asker(familia(interaction)), **request)
    await reply(interaction, "discord/policies/published.md.j2", document=document,
                version=version)


def asker(bot: Any) -> AskFor:
    """The message asking a reader to acknowledge a version (or reminding them), with **Read**
    and **I acknowledge**; when their DMs are closed, the same in their family's channel with
    a mention of them (and only them)."""

    def ask(it: Ask) -> Send:
        guild_id, document = it.document.guild_id, it.document
        view = discord.ui.View(timeout=None)
        view.add_item(DmReadButton(label(bot, it.locale, "read"), guild_id=guild_id,
                                   document_id=document.id))
        view.add_item(DmAckButton(label(bot, it.locale, "acknowledge"), guild_id=guild_id,
                                  document_id=document.id, version=it.version.version))

        def text(public: bool) -> str:
            return str(bot.templates.render(it.locale, "discord/policies/ask.md.j2", ask=it,
                                            public=public))

        key = f"policy-ack:{document.id}:{it.version.version}:{it.user_id}:{it.reminder}"
        fallback = None
        if it.channel_id is not None:
            fallback = asdict(Send(
                "policy_ack", f"{key}:channel", "channel", it.channel_id,
                {"content": text(True), "mentions": {"users": [it.user_id]},
                 "components": view.to_components()},
                source=f"policy:{document.id}", channel_id=it.channel_id))
        return Send("policy_ack", key, "dm", it.user_id, {
            "content": text(False), "mentions": {"users": []},
            "components": view.to_components(), "fallback": fallback},
            source=f"policy:{document.id}")

    return ask


def read_upload(filename: str, data: bytes) -> str:
    """An uploaded document's text: Markdown or plain text, UTF-8 (a BOM is dropped)."""
    if not filename.lower().endswith(FILE_KINDS):
        raise UserError("policies.bad_file", name=filename)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError("policies.bad_encoding", name=filename) from exc


class PolicyCog(commands.Cog, name="Policies"):
    policy = app_commands.Group(
        name=_T("policy"), description=_T("The program's policies and guides"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*ITEMS)
        self.bot.jobs.every(JOB_ID, self.remind, minutes=30, catch_up=True)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*ITEMS)
        self.bot.jobs.remove(JOB_ID)

    async def remind(self) -> int:
        """The acknowledgement reminders that are due (at most two per version)."""
        return await self.bot.services.policies.remind(asker(self.bot))

    @policy.command(name=_T("publish"),
                    description=_T("Publish a document or a new version of one"))
    @app_commands.describe(
        title=_T("The document's title (an existing title: a new version)"),
        category=_T("Its category (a new document)"),
        own_category=_T("Or a category of your own"),
        audience=_T("Who reads it (default: everyone in the program)"),
        families=_T("Families, separated by commas (audience: some families)"),
        tiers=_T("Tiers, separated by commas (audience: some tiers)"),
        file=_T("A Markdown or text file (empty: a form opens)"),
        language=_T("The language of the file (default: English)"),
        summary=_T("What changed (a new version)"),
        major=_T("A major change: readers are asked to acknowledge it"),
        deadline=_T("Acknowledge by (YYYY-MM-DD HH:MM, your time)"))
    @app_commands.choices(category=CATEGORY_CHOICES, audience=AUDIENCE_CHOICES,
                          language=LANGUAGE_CHOICES)
    @manager_only()
    async def publish(
        self, interaction: discord.Interaction, title: TitleText,
        category: str | None = None, own_category: CategoryText | None = None,
        audience: str | None = None, families: FamilyListArg | None = None,
        tiers: TierListArg | None = None, file: discord.Attachment | None = None,
        language: str | None = None, summary: SummaryText | None = None,
        major: bool = False, deadline: MomentArg | None = None,
    ) -> None:
        ids = [f.id for f in families or []] + [t.id for t in tiers or []]
        request: dict[str, Any] = {
            "title": title, "category": own_category or category, "audience": audience,
            "audience_ids": ids, "summary": summary or "", "major": major,
            "ack_deadline": deadline}
        if file is None:
            locale = await locale_for(interaction)
            await interaction.response.send_modal(BodyModal(self.bot, locale, request))
            return
        if file.size > FILE_MAX:
            raise UserError("policies.file_too_big", limit=FILE_MAX // 1024)
        await acknowledge(interaction)
        text = read_upload(file.filename, await file.read())
        if len(text) > BODY_MAX:
            raise UserError("policies.body_too_long", length=len(text), limit=BODY_MAX)
        await _publish(interaction, {language or "en": text}, request)

    @policy.command(name=_T("show"), description=_T("Read a document"))
    @app_commands.describe(document=_T("The document"),
                           version=_T("An older version (default: the one in force)"))
    @creator_only()
    async def show(self, interaction: discord.Interaction, document: DocumentArg,
                   version: VersionNumber | None = None) -> None:
        text, view = await show_message(interaction, document.id, version, 0)
        await send(interaction, text, view=view)

    @policy.command(name=_T("search"), description=_T("Search the policies and guides"))
    @app_commands.describe(query=_T("Words to look for, e.g. gifts on LIVE"))
    @creator_only()
    async def search(self, interaction: discord.Interaction, query: QueryText) -> None:
        locale = await locale_for(interaction)
        hits = await service(interaction).search(
            cogkit.guild_id(interaction), interaction.user.id, query, language(locale),
            manager=await is_manager(interaction))
        await reply(interaction, "discord/policies/search.md.j2", hits=hits, query=query)

    @policy.command(name=_T("versions"), description=_T("A document's versions"))
    @app_commands.describe(document=_T("The document"))
    @creator_only()
    async def versions(self, interaction: discord.Interaction, document: DocumentArg) -> None:
        locale = await locale_for(interaction)
        await service(interaction).show(  # the reader's audience
            cogkit.guild_id(interaction), interaction.user.id, document.id, language(locale),
            manager=await is_manager(interaction))
        found, versions = await service(interaction).versions(cogkit.guild_id(interaction),
                                                              document.id)
        tz = await self.bot.services.members.timezone_of(cogkit.guild_id(interaction),
                                                         interaction.user.id)
        await reply(interaction, "discord/policies/versions.md.j2", document=found,
                    versions=versions[:20], more=max(0, len(versions) - 20), timezone=tz)

    @policy.command(name=_T("changes"), description=_T("What changed between two versions"))
    @app_commands.describe(document=_T("The document"),
                           old=_T("The older version (default: the one before)"),
                           new=_T("The newer version (default: the one in force)"))
    @creator_only()
    async def changes(self, interaction: discord.Interaction, document: DocumentArg,
                      old: VersionNumber | None = None,
                      new: VersionNumber | None = None) -> None:
        locale = await locale_for(interaction)
        change = await service(interaction).diff(
            cogkit.guild_id(interaction), interaction.user.id, document.id, language(locale),
            old=old, new=new, manager=await is_manager(interaction))
        await reply(interaction, "discord/policies/changes.md.j2", change=change)

    @policy.command(name=_T("acknowledge"),
                    description=_T("Say you have read the version in force of a document"))
    @app_commands.describe(document=_T("The document"))
    @creator_only()
    async def acknowledge_(self, interaction: discord.Interaction,
                           document: DocumentArg) -> None:
        await _acknowledge(interaction, document.id, None)

    @policy.command(name=_T("archive"), description=_T("Archive a document"))
    @app_commands.describe(document=_T("The document"))
    @manager_only()
    async def archive(self, interaction: discord.Interaction, document: DocumentArg) -> None:
        found = await service(interaction).archive(cogkit.guild_id(interaction),
                                                   interaction.user.id, document.id)
        await reply(interaction, "discord/policies/archived.md.j2", document=found)

    @policy.command(name=_T("status"),
                    description=_T("Who has acknowledged a document (leaders: your family)"))
    @app_commands.describe(document=_T("The document"), page=_T("The page of the list"),
                           csv=_T("Also attach the whole list as a CSV file"))
    @leader_or_manager()
    async def status(self, interaction: discord.Interaction, document: DocumentArg,
                     page: IdNumber = 1, csv: bool = False) -> None:
        guild_id = cogkit.guild_id(interaction)
        family_id = None
        if not await is_manager(interaction):
            led = await led_family(interaction)
            if led is None:
                raise NotAllowed("families.leaders_only")
            family_id = led.id
        policies = service(interaction)
        found = await policies.status(guild_id, document.id, family_id=family_id)
        shown = policies.status_page(found, page - 1)
        files = []
        if csv:
            files.append(discord.File(io.BytesIO(policies.status_csv(found).encode()),
                                      filename=f"policy-{document.id}-status.csv"))
        await reply(interaction, "discord/policies/status.md.j2", status=found, page=shown,
                    files=files)


ITEMS = (ShowPage, AckButton, DmReadButton, DmAckButton)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(PolicyCog(bot))
