"""/showcase: creators submit LIVE moments, leaders nominate, managers curate in a paged
review, and the month-end sweep posts, emails and files the month's playbook (once)."""

from __future__ import annotations

import io
import logging
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import creator_only, is_manager, leader_or_manager, manager_only
from bot.cogkit.buttons import PersistentButton, labels
from bot.cogkit.options import DayArg, IdNumber, MonthText, NoteText
from bot.cogkit.pages import PageButton, nav
from bot.delivery.queue import Send, attachment
from bot.errors import UserError
from bot.interactions import (
    FamiliaModal,
    FamiliaView,
    acknowledge,
    familia,
    locale_for,
    reply,
    send,
)
from bot.services import showcase as sc
from bot.services.showcase import DueMonth, Entry, month_of
from bot.text import split_text

log = logging.getLogger(__name__)
label = labels("discord/showcase/labels.j2")
JOB_ID = "showcase-month-end"

CATEGORY_CHOICES = [
    app_commands.Choice(name=_T("Gifting moments"), value="gifting"),
    app_commands.Choice(name=_T("Audience interaction"), value="interaction"),
    app_commands.Choice(name=_T("Collaborations"), value="collab"),
    app_commands.Choice(name=_T("Events and challenges"), value="event"),
    app_commands.Choice(name=_T("Storytelling"), value="storytelling"),
    app_commands.Choice(name=_T("Follower growth"), value="growth"),
    app_commands.Choice(name=_T("Other"), value="other"),
]
assert [c.value for c in CATEGORY_CHOICES] == list(sc.CATEGORIES)
ACTION_CHOICES = [
    app_commands.Choice(name=_T("Shortlist"), value="shortlist"),
    app_commands.Choice(name=_T("Feature"), value="feature"),
    app_commands.Choice(name=_T("Reject (with a note)"), value="reject"),
]
STATE_CHOICES = [
    app_commands.Choice(name=_T("Submitted"), value="submitted"),
    app_commands.Choice(name=_T("Shortlisted"), value="shortlisted"),
    app_commands.Choice(name=_T("Featured"), value="featured"),
    app_commands.Choice(name=_T("Rejected"), value="rejected"),
]
FORMAT_CHOICES = [app_commands.Choice(name="Markdown + CSV", value="both")]
UrlText = app_commands.Range[str, 1, sc.URL_MAX]
TitleText = app_commands.Range[str, 1, sc.TITLE_MAX]
WorkedText = app_commands.Range[str, 1, sc.WORKED_MAX]
Nominations = app_commands.Range[int, 1, sc.NOMINATIONS_MAX]
STATE_PATTERN = "all|" + "|".join(sc.STATES)


async def _month(interaction: discord.Interaction, text: str | None) -> str:
    services = familia(interaction).services
    if text is None:
        return await services.showcase.current_month(cogkit.guild_id(interaction))
    found = month_of(text)
    if found is None:
        raise UserError("showcase.bad_month", value=text)
    return found


def _teller(bot: Any, locale: str) -> Any:
    """The featured creator's DM (their language), queued with the decision."""

    def tell(entry: Entry) -> Send:
        text = bot.templates.render(locale, "discord/showcase/featured_dm.md.j2", entry=entry)
        return Send("showcase_featured", f"showcase-featured:{entry.id}", "dm", entry.user_id,
                    {"content": text}, source=f"showcase:{entry.id}")

    return tell


async def _curate(interaction: discord.Interaction, entry_id: int, action: str,
                  note: str | None) -> Entry:
    bot = familia(interaction)
    guild_id = cogkit.guild_id(interaction)
    found = await bot.services.showcase.entry(guild_id, entry_id)
    locale = await bot.services.members.locale_of(guild_id, found.user_id)
    return await bot.services.showcase.curate(guild_id, interaction.user.id, entry_id, action,
                                              note, tell=_teller(bot, locale))


async def _review(interaction: discord.Interaction, key: str, state: str, page: int
                  ) -> tuple[str, discord.ui.View | None]:
    """A page of a month's entries with a row of Shortlist / Feature / Reject per entry
    (managers only: every click checks again)."""
    bot = familia(interaction)
    guild_id = cogkit.guild_id(interaction)
    wanted = None if state == "all" else state
    found = await bot.services.showcase.review_page(guild_id, key, page, wanted)
    closed = await bot.services.showcase.is_closed(guild_id, key)
    locale = await locale_for(interaction)
    text = bot.templates.render(locale, "discord/showcase/review.md.j2", month=key,
                                state=wanted, page=found, closed=closed)
    view = nav(bot, locale, found, ReviewPage, month=key, state=state) or (
        FamiliaView(timeout=None))
    for item in view.children:  # ◀️/▶️ below the entries' rows
        item.row = sc.REVIEW_PAGE
    if not closed:
        for number, entry in enumerate(found.items):
            for action in sc.ACTIONS:
                button = CurateButton(f"{label(bot, locale, action)} #{entry.id}",
                                      action=action, entry_id=entry.id, state=state,
                                      page=found.number)
                button.row = number
                view.add_item(button)
    return text, view if view.children else None


class ReviewPage(PageButton, custom_id="familia:pg:showcase:{month}:{state}:{page}"):
    managers_only = True
    patterns = {"month": r"\d{4}-\d{2}", "state": STATE_PATTERN}
    month: str
    state: str

    async def render(self, interaction: discord.Interaction
                     ) -> tuple[str, discord.ui.View | None]:
        return await _review(interaction, self.month, self.state, self.page)


class RejectModal(FamiliaModal):
    def __init__(self, title: str, note_label: str, entry_id: int) -> None:
        super().__init__(title=title)
        self.entry_id = entry_id
        self.note: discord.ui.TextInput[RejectModal] = discord.ui.TextInput(
            label=note_label, custom_id="note", style=discord.TextStyle.paragraph,
            max_length=sc.NOTE_MAX)
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        done = await _curate(interaction, self.entry_id, "reject", self.note.value)
        await reply(interaction, "discord/showcase/curated.md.j2", entry=done)


class CurateButton(PersistentButton,
                   custom_id="familia:sc:{action}:{entry_id}:{state}:{page}"):
    """Shortlist, feature or reject (a form asks for the note) an entry; managers only."""

    managers_only = True
    patterns = {"action": "|".join(sc.ACTIONS), "state": STATE_PATTERN}
    action: str
    entry_id: int
    state: str
    page: int

    def button_style(self) -> discord.ButtonStyle:
        return {"feature": discord.ButtonStyle.success,
                "reject": discord.ButtonStyle.danger}.get(self.action,
                                                         discord.ButtonStyle.secondary)

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        guild_id = cogkit.guild_id(interaction)
        if self.action == "reject":
            await bot.services.showcase.entry(guild_id, self.entry_id)  # of this server
            locale = await locale_for(interaction)
            await interaction.response.send_modal(RejectModal(
                label(bot, locale, "reject_title"), label(bot, locale, "reject_note"),
                self.entry_id))
            return
        await acknowledge(interaction)  # a feature queues the creator's DM
        done = await _curate(interaction, self.entry_id, self.action, None)
        await reply(interaction, "discord/showcase/curated.md.j2", entry=done)


class ShowcaseCog(commands.Cog, name="Showcase"):
    showcase = app_commands.Group(
        name=_T("showcase"), description=_T("The monthly showcase of the best LIVE moments"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ReviewPage, CurateButton)
        self.bot.jobs.every(JOB_ID, self.sweep, minutes=30, catch_up=True)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ReviewPage, CurateButton)
        self.bot.jobs.remove(JOB_ID)

    @showcase.command(name=_T("submit"), description=_T("Submit a LIVE moment to the showcase"))
    @app_commands.describe(
        link=_T("A link to the moment (https://…); Familia never opens it"),
        title=_T("A short title"), what_worked=_T("What worked, for the playbook"),
        category=_T("What kind of moment"), date=_T("The LIVE's date, YYYY-MM-DD (today)"))
    @app_commands.rename(what_worked=_T("what-worked"))
    @app_commands.choices(category=CATEGORY_CHOICES)
    @creator_only()
    async def submit(self, interaction: discord.Interaction, link: UrlText, title: TitleText,
                     what_worked: WorkedText, category: str, date: DayArg | None = None) -> None:
        entry = await self.bot.services.showcase.submit(
            cogkit.guild_id(interaction), interaction.user.id, link, title, what_worked,
            category, date)
        await reply(interaction, "discord/showcase/submitted.md.j2", entry=entry)

    @showcase.command(name=_T("mine"), description=_T("Your showcase entries and their state"))
    @creator_only()
    async def mine(self, interaction: discord.Interaction) -> None:
        entries = await self.bot.services.showcase.mine(cogkit.guild_id(interaction),
                                                        interaction.user.id)
        await reply(interaction, "discord/showcase/mine.md.j2", entries=entries)

    @showcase.command(name=_T("nominate"),
                      description=_T("Nominate a member's entry (leaders, a few a month)"))
    @app_commands.describe(entry=_T("The entry's number (#)"))
    @leader_or_manager()
    async def nominate(self, interaction: discord.Interaction, entry: IdNumber) -> None:
        done = await self.bot.services.showcase.nominate(
            cogkit.guild_id(interaction), interaction.user.id, entry,
            manager=await is_manager(interaction))
        await reply(interaction, "discord/showcase/nominated.md.j2", entry=done)

    @showcase.command(name=_T("review"),
                      description=_T("A month's entries, to shortlist, feature or reject"))
    @app_commands.describe(month=_T("The month, YYYY-MM (this month)"),
                           state=_T("Only entries in this state"))
    @app_commands.choices(state=STATE_CHOICES)
    @manager_only()
    async def review(self, interaction: discord.Interaction, month: MonthText | None = None,
                     state: str | None = None) -> None:
        if state is not None and state not in sc.STATES:
            raise UserError("showcase.bad_state", value=state)
        key = await _month(interaction, month)
        text, view = await _review(interaction, key, state or "all", 0)
        await send(interaction, text, view=view)

    @showcase.command(name=_T("curate"),
                      description=_T("Shortlist, feature or reject an entry"))
    @app_commands.describe(entry=_T("The entry's number (#)"), action=_T("What to do"),
                           note=_T("A note (needed to reject)"))
    @app_commands.choices(action=ACTION_CHOICES)
    @manager_only()
    async def curate(self, interaction: discord.Interaction, entry: IdNumber, action: str,
                     note: NoteText | None = None) -> None:
        await acknowledge(interaction)  # a feature queues the creator's DM
        done = await _curate(interaction, entry, action, note)
        await reply(interaction, "discord/showcase/curated.md.j2", entry=done)

    @showcase.command(name=_T("playbook"),
                      description=_T("A month's featured moments as Markdown and CSV"))
    @app_commands.describe(month=_T("The month, YYYY-MM (this month)"))
    @manager_only()
    async def playbook(self, interaction: discord.Interaction,
                       month: MonthText | None = None) -> None:
        guild_id = cogkit.guild_id(interaction)
        key = await _month(interaction, month)
        entries = await self.bot.services.showcase.featured(guild_id, key)
        locale = await locale_for(interaction)
        files = [discord.File(io.BytesIO(data), filename=name)
                 for name, data in self.playbook_files(guild_id, locale, key, entries)]
        await reply(interaction, "discord/showcase/playbook_sent.md.j2", month=key,
                    count=len(entries), files=files)

    @showcase.command(name=_T("settings"),
                      description=_T("The showcase's channel and nominations a family"))
    @app_commands.describe(channel=_T("Where the month-end showcase is posted"),
                           nominations=_T("Entries each family may nominate a month"))
    @manager_only()
    async def settings(self, interaction: discord.Interaction,
                       channel: discord.TextChannel | None = None,
                       nominations: Nominations | None = None) -> None:
        showcase = self.bot.services.showcase
        guild_id = cogkit.guild_id(interaction)
        changed = channel is not None or nominations is not None
        if changed:
            found = await showcase.set_settings(
                guild_id, interaction.user.id, channel_id=channel.id if channel else None,
                nominations=nominations)
        else:
            found = await showcase.settings(guild_id)
        await reply(interaction, "discord/showcase/settings.md.j2", settings=found,
                    changed=changed)

    # -- the month-end showcase ---------------------------------------------------------------

    def names(self, guild_id: int, entries: list[Entry]) -> dict[int, str]:
        guild = self.bot.get_guild(guild_id)
        found = {}
        for entry in entries:
            member = guild.get_member(entry.user_id) if guild is not None else None
            if member is not None:
                found[entry.user_id] = member.display_name
        return found

    def playbook_files(self, guild_id: int, locale: str, key: str, entries: list[Entry]
                       ) -> list[tuple[str, bytes]]:
        names = self.names(guild_id, entries)
        groups = sc.ShowcaseService.by_category(entries)
        text = self.bot.templates.render(locale, "discord/showcase/playbook.md.j2", month=key,
                                         groups=groups, names=names)
        return [(f"playbook-{key}.md", text.encode()),
                (f"playbook-{key}.csv", sc.ShowcaseService.playbook_csv(entries, names))]

    async def sweep(self) -> None:
        """Post the showcase of every month that is over (claimed with its post and emails
        in one transaction: once per month)."""
        for due in await self.bot.services.showcase.due_months():
            try:
                await self.post_month(due)
            except Exception as exc:  # nothing claimed: the next sweep tries again
                log.warning("showcase %s of guild %s failed: %r", due.month, due.guild_id, exc)

    async def post_month(self, due: DueMonth) -> bool:
        services = self.bot.services
        entries = await services.showcase.featured(due.guild_id, due.month)
        locale = (await services.guilds.get(due.guild_id)).locale
        groups = sc.ShowcaseService.by_category(entries)
        post = None
        if due.channel_id and entries:
            key = f"showcase:{due.month}"
            text = self.bot.templates.render(locale, "discord/showcase/post.md.j2",
                                             month=due.month, groups=groups)
            files = self.playbook_files(due.guild_id, locale, due.month, entries)
            post = Send("showcase", key, "channel", due.channel_id, {
                "parts": split_text(text),
                "files": [attachment(name, data) for name, data in files]},
                source=key, channel_id=due.channel_id)
        emails = []
        if entries:
            names = self.names(due.guild_id, entries)
            emails = await services.email.render_many([
                (due.guild_id, user, address, "showcase",
                 f"showcase:{due.guild_id}:{due.month}:{user}", user_locale,
                 {"month": due.month, "groups": groups, "names": names})
                for user, address, user_locale
                in await services.showcase.manager_recipients(due.guild_id)])
        return await services.showcase.claim(due, entries, post, emails)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(ShowcaseCog(bot))
