"""/ticket: the support desk (#21). A creator opens a ticket (``/ticket open`` or the "Get
help" panel: a category select, then a modal); Familia writes it, creates its private thread
in the support channel with the creator, the category's support role and (per category) the
leader, and queues the question in the thread and the creator's context in the staff-only
channel. Staff claim and close it with the thread's buttons (each click re-checked against
the database: the category's role, or a manager; the creator may close their own)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import is_manager, manager_only
from bot.cogkit.buttons import PersistentButton, PersistentSelect, known_member, labels
from bot.cogkit.discord_ops import missing
from bot.cogkit.messages import locale_of
from bot.cogkit.pages import PageButton, nav
from bot.errors import NotAllowed, UserError
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
from bot.services.tickets import (
    ASSIGN_OPTIONS,
    CATEGORY_KEYS,
    CLOSE_REASONS,
    DAYS_MAX,
    DESCRIPTION_MAX,
    LIST_SUBJECT,
    NOTE_MAX,
    SUBJECT_MAX,
    TICKET_NUMBER_MAX,
    Opened,
    Ticket,
    closed_key,
)

LABELS = "discord/tickets/labels.j2"
label = labels(LABELS)
PERIOD_CHOICES = [app_commands.Choice(name=_T("Last 7 days"), value="7d"),
                  app_commands.Choice(name=_T("Last 30 days"), value="30d"),
                  app_commands.Choice(name=_T("Last 90 days"), value="90d"),
                  app_commands.Choice(name=_T("All time"), value="all")]
STATE_CHOICES = [app_commands.Choice(name=_T("Open"), value="open"),
                 app_commands.Choice(name=_T("Waiting on the creator"), value="waiting"),
                 app_commands.Choice(name=_T("Closed"), value="closed")]
CATEGORY_CHOICES = [
    app_commands.Choice(name=_T("Trust & Safety"), value="safety"),
    app_commands.Choice(name=_T("Technical"), value="technical"),
    app_commands.Choice(name=_T("Monetisation"), value="money"),
    app_commands.Choice(name=_T("Operational"), value="operations"),
    app_commands.Choice(name=_T("Other"), value="other"),
]
assert tuple(c.value for c in CATEGORY_CHOICES) == CATEGORY_KEYS
SLA_JOB = "tickets-sla-sweep"
STALE_JOB = "tickets-stale-sweep"
STALE_ARCHIVE = timedelta(days=2)  # the stale sweep archives again what it closed this lately
RELAY_MAX = 1500  # a relayed message fits one Discord message with its heading
CLOSE_WAIT = 10.0  # seconds the thread waits for its closing notice before it is locked
SlaHours = app_commands.Range[float, 0.25, 720.0]
# What Familia needs in the support channel (threads) and the staff channel (context posts).
THREAD_PERMISSIONS = (("view_channel", "View Channel"),
                      ("create_private_threads", "Create Private Threads"),
                      ("send_messages_in_threads", "Send Messages in Threads"),
                      ("manage_threads", "Manage Threads"))
STAFF_PERMISSIONS = (("view_channel", "View Channel"), ("send_messages", "Send Messages"))


def _need(channel: discord.abc.GuildChannel, needed: tuple[tuple[str, str], ...]) -> None:
    have = channel.permissions_for(channel.guild.me)
    for attribute, name in needed:
        if not getattr(have, attribute):
            raise missing(name)


def _roles(interaction: discord.Interaction) -> set[int]:
    user = interaction.user
    return {r.id for r in user.roles} if isinstance(user, discord.Member) else set()


async def _staff(interaction: discord.Interaction, ticket: Ticket) -> bool:
    return await familia(interaction).services.tickets.is_staff(
        ticket, _roles(interaction), await is_manager(interaction))


async def category_picker(interaction: discord.Interaction, via: str) -> None:
    """The ephemeral category select (``/ticket open`` and the panel's button)."""
    bot = familia(interaction)
    guild_id = cogkit.guild_id(interaction)
    if await bot.services.tickets.settings(guild_id) is None:
        raise UserError("tickets.not_set_up")
    locale = await locale_for(interaction)
    options = [(label(bot, locale, "category", c.key), c.key)
               for c in await bot.services.tickets.categories(guild_id)]
    view = discord.ui.View(timeout=None)
    view.add_item(CategorySelect(options, placeholder=label(bot, locale, "pick_category"),
                                 panel=int(via == "panel")))
    await reply(interaction, "discord/tickets/pick.md.j2", view=view)


class OpenModal(FamiliaModal):
    """Subject and description; submitting opens the ticket."""

    def __init__(self, bot: Any, locale: str, key: str, via: str, guild_id: int) -> None:
        super().__init__(title=label(bot, locale, "modal_title",
                                     label(bot, locale, "category", key)), timeout=900)
        self.key, self.via, self.guild_id = key, via, guild_id
        self.subject: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "modal_subject"), custom_id="subject",
            max_length=SUBJECT_MAX)
        self.description: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "modal_description"), custom_id="description",
            style=discord.TextStyle.paragraph, max_length=DESCRIPTION_MAX)
        self.add_item(self.subject)
        self.add_item(self.description)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        start_timer(interaction)
        await acknowledge(interaction)  # the thread and its members take several calls
        bot = familia(interaction)
        guild = bot.get_guild(self.guild_id)
        if guild is None:
            raise UserError("common.guild_only")
        opened = await bot.services.tickets.open(
            self.guild_id, interaction.user.id, self.key, self.subject.value,
            self.description.value, via=self.via)
        thread = await make_thread(bot, guild, opened)
        await reply(interaction, "discord/tickets/opened.md.j2", ticket=opened.ticket,
                    thread_id=thread.id, by_dm=self.via == "dm")
        log_command(interaction, "ok")


async def make_thread(bot: FamiliaBot, guild: discord.Guild, opened: Opened) -> discord.Thread:
    """The ticket's private thread with its members; records it (which queues the question
    in it and the context in the staff channel). A ticket opened by DM leaves the creator
    out: their DMs and staff's ``/ticket reply`` are relayed."""
    ticket, category = opened.ticket, opened.category
    channel = guild.get_channel(opened.settings.support_channel_id)
    if not isinstance(channel, discord.TextChannel):
        raise UserError("tickets.channel_gone")
    _need(channel, THREAD_PERMISSIONS)
    locale = await locale_of(bot, guild.id)
    name = label(bot, locale, "thread_name", ticket.number, ticket.subject)[:100]
    thread = await channel.create_thread(name=name, type=discord.ChannelType.private_thread,
                                         invitable=False)
    members = {ticket.user_id} if ticket.via != "dm" else set()
    if opened.leader_id:
        members.add(opened.leader_id)
    role = guild.get_role(category.role_id) if category.role_id else None
    if role is not None:
        members.update(m.id for m in role.members if not m.bot)
    for user_id in sorted(members):
        await thread.add_user(discord.Object(user_id))
    context = await bot.services.tickets.context(guild.id, ticket.user_id, exclude=ticket.id)
    question = bot.templates.render(locale, "discord/tickets/question.md.j2", ticket=ticket,
                                    category=category.key)
    staff = bot.templates.render(locale, "discord/tickets/context.md.j2", ticket=ticket,
                                 category=category.key, context=context, thread_id=thread.id,
                                 role_id=category.role_id)
    view = discord.ui.View(timeout=None)
    view.add_item(ClaimButton(label(bot, locale, "claim"), ticket_id=ticket.id))
    view.add_item(AssignButton(label(bot, locale, "assign"), ticket_id=ticket.id))
    view.add_item(WaitButton(label(bot, locale, "wait_button"), ticket_id=ticket.id))
    view.add_item(PriorityButton(label(bot, locale, "priority_button"), ticket_id=ticket.id))
    view.add_item(CloseButton(label(bot, locale, "close"), ticket_id=ticket.id))
    await bot.services.tickets.attach_thread(
        guild.id, ticket.id, thread.id, question, staff, opened.settings.staff_channel_id,
        components=view.to_components())
    return thread


class CategorySelect(PersistentSelect, custom_id="familia:tk:pick:{panel}"):
    panel: int  # 1: from the "Get help" panel, 0: from /ticket open

    @property
    def via(self) -> str:
        return "panel" if self.panel else "command"

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        key = next(iter(self.values), "")
        await bot.services.tickets.check_open(cogkit.guild_id(interaction),
                                              interaction.user.id, key)
        locale = await locale_for(interaction)
        await interaction.response.send_modal(
            OpenModal(bot, locale, key, self.via, cogkit.guild_id(interaction)))


class DmCategorySelect(PersistentSelect, custom_id="familia:tk:dm:{guild_id}"):
    """The category a creator who wrote to Familia by DM picks (Modmail-style intake)."""

    in_dm = True
    guild_id: int

    async def authorize(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None and not await known_member(interaction, self.guild_id):
            raise NotAllowed("common.not_allowed")

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        key = next(iter(self.values), "")
        await bot.services.tickets.check_open(self.guild_id, interaction.user.id, key)
        locale = await locale_for(interaction)
        await interaction.response.send_modal(OpenModal(bot, locale, key, "dm", self.guild_id))


class HelpButton(PersistentButton, custom_id="familia:tk:help"):
    """The panel's "Get help": anyone in the server may ask."""

    style = discord.ButtonStyle.primary
    default_label = "?"

    async def run(self, interaction: discord.Interaction) -> None:
        await category_picker(interaction, "panel")


class StaffButton(PersistentButton):
    """A button of a ticket's thread that only its staff may press (re-checked each click)."""

    ticket_id: int

    async def authorize(self, interaction: discord.Interaction) -> None:
        ticket = await familia(interaction).services.tickets.get(
            cogkit.guild_id(interaction), self.ticket_id)
        if not await _staff(interaction, ticket):
            raise NotAllowed("tickets.staff_only")


class ClaimButton(StaffButton, custom_id="familia:tk:claim:{ticket_id}"):
    """Staff take the ticket (it is assigned to them)."""

    async def run(self, interaction: discord.Interaction) -> None:
        ticket = await familia(interaction).services.tickets.claim(
            cogkit.guild_id(interaction), interaction.user.id, self.ticket_id)
        await reply(interaction, "discord/tickets/claimed.md.j2", ticket=ticket,
                    user_id=interaction.user.id, ephemeral=False)


class PriorityButton(StaffButton, custom_id="familia:tk:prio:{ticket_id}"):
    """Staff raise the priority (normal → high → urgent → normal)."""

    async def run(self, interaction: discord.Interaction) -> None:
        ticket = await familia(interaction).services.tickets.raise_priority(
            cogkit.guild_id(interaction), interaction.user.id, self.ticket_id)
        await reply(interaction, "discord/tickets/priority.md.j2", ticket=ticket,
                    user_id=interaction.user.id, ephemeral=False)


class AssignButton(StaffButton, custom_id="familia:tk:assign:{ticket_id}"):
    """Staff give the ticket to a member of its support role: a select of them."""

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        guild = cogkit.guild(interaction)
        ticket = await bot.services.tickets.get(guild.id, self.ticket_id)
        if not ticket.open:
            raise UserError("tickets.already_closed", number=ticket.number)
        category = await bot.services.tickets.category_of(ticket)
        role = guild.get_role(category.role_id) if category.role_id else None
        people = sorted((m for m in (role.members if role else []) if not m.bot),
                        key=lambda m: (m.display_name.casefold(), m.id))
        if not people:
            raise UserError("tickets.no_support_members")
        locale = await locale_for(interaction)
        view = discord.ui.View(timeout=None)
        view.add_item(AssignSelect([(m.display_name[:100], str(m.id))
                                    for m in people[:ASSIGN_OPTIONS]],
                                   placeholder=label(bot, locale, "pick_assignee"),
                                   ticket_id=ticket.id))
        await reply(interaction, "discord/tickets/assign_pick.md.j2", ticket=ticket,
                    more=len(people) > ASSIGN_OPTIONS, shown=ASSIGN_OPTIONS, view=view)


class AssignSelect(StaffButton, PersistentSelect, custom_id="familia:tk:assignto:{ticket_id}"):
    """The member picked: checked again to hold the category's support role now."""

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        guild = cogkit.guild(interaction)
        picked = next(iter(self.values), "")
        member = guild.get_member(int(picked)) if picked.isdigit() and len(picked) < 20 else None
        if member is None or member.bot:
            raise UserError("tickets.not_support_member")
        await acknowledge(interaction)  # the thread's member list takes a call or two
        locale = await locale_of(bot, guild.id)
        ticket = await bot.services.tickets.get(guild.id, self.ticket_id)
        notice = bot.templates.render(locale, "discord/tickets/assigned_notice.md.j2",
                                      ticket=ticket, assignee_id=member.id,
                                      user_id=interaction.user.id)
        assigned = await bot.services.tickets.assign(
            guild.id, interaction.user.id, ticket.id, member.id, {r.id for r in member.roles},
            interaction.id, notice)
        thread = await ticket_thread(guild, assigned)
        if thread is not None:
            if thread.archived:  # Discord archives a quiet thread; an open ticket's opens again
                await thread.edit(archived=False)
            await thread.add_user(member)
        await reply(interaction, "discord/tickets/assigned.md.j2", ticket=assigned)


class WaitButton(StaffButton, custom_id="familia:tk:wait:{ticket_id}"):
    """Staff wait on the creator (the clock stands still); pressed again, the wait ends."""

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        guild = cogkit.guild(interaction)
        tickets = bot.services.tickets
        ticket = await tickets.get(guild.id, self.ticket_id)
        if not ticket.open:
            raise UserError("tickets.already_closed", number=ticket.number)
        if ticket.waiting:
            resumed = await tickets.resume(guild.id, interaction.user.id, ticket.id)
            await reply(interaction, "discord/tickets/resumed.md.j2", ticket=resumed or ticket,
                        ephemeral=False)
            return
        settings = await tickets.settings(guild.id)
        days = settings.waiting_days if settings else 0
        render = bot.templates.render
        notice = render(await locale_of(bot, guild.id), "discord/tickets/waiting_notice.md.j2",
                        ticket=ticket, user_id=interaction.user.id, days=days)
        dm_notice = render(await locale_of(bot, guild.id, ticket.user_id),
                           "discord/tickets/waiting_dm.md.j2", ticket=ticket,
                           server=guild.name, days=days)
        waiting = await tickets.wait_on_creator(guild.id, interaction.user.id, ticket.id,
                                                interaction.id, notice, dm_notice)
        await reply(interaction, "discord/tickets/waiting.md.j2", ticket=waiting)


class CloseButton(PersistentButton, custom_id="familia:tk:close:{ticket_id}"):
    style = discord.ButtonStyle.danger
    ticket_id: int

    async def authorize(self, interaction: discord.Interaction) -> None:
        ticket = await familia(interaction).services.tickets.get(
            cogkit.guild_id(interaction), self.ticket_id)
        if interaction.user.id != ticket.user_id and not await _staff(interaction, ticket):
            raise NotAllowed("tickets.not_yours")

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        ticket = await bot.services.tickets.get(cogkit.guild_id(interaction), self.ticket_id)
        if not ticket.open:
            raise UserError("tickets.already_closed", number=ticket.number)
        locale = await locale_for(interaction)
        view = discord.ui.View(timeout=None)
        view.add_item(ReasonSelect([(label(bot, locale, "reason", r), r) for r in CLOSE_REASONS],
                                   placeholder=label(bot, locale, "pick_reason"),
                                   ticket_id=ticket.id))
        await reply(interaction, "discord/tickets/close_pick.md.j2", ticket=ticket, view=view)


class ReasonSelect(PersistentSelect, custom_id="familia:tk:reason:{ticket_id}"):
    ticket_id: int

    async def authorize(self, interaction: discord.Interaction) -> None:
        ticket = await familia(interaction).services.tickets.get(
            cogkit.guild_id(interaction), self.ticket_id)
        if interaction.user.id != ticket.user_id and not await _staff(interaction, ticket):
            raise NotAllowed("tickets.not_yours")

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        ticket = await bot.services.tickets.get(cogkit.guild_id(interaction), self.ticket_id)
        if not ticket.open:  # a double click: refused before the form
            raise UserError("tickets.already_closed", number=ticket.number)
        locale = await locale_for(interaction)
        await interaction.response.send_modal(
            CloseModal(bot, locale, ticket.id, next(iter(self.values), "")))


class CloseModal(FamiliaModal):
    """The close's optional note; submitting closes the ticket."""

    def __init__(self, bot: Any, locale: str, ticket_id: int, reason: str) -> None:
        super().__init__(title=label(bot, locale, "close_title"), timeout=900)
        self.ticket_id, self.reason = ticket_id, reason
        self.note: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "close_note"), custom_id="note", required=False,
            style=discord.TextStyle.paragraph, max_length=NOTE_MAX)
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        start_timer(interaction)
        await acknowledge(interaction)
        bot = familia(interaction)
        guild_id = cogkit.guild_id(interaction)
        ticket = await bot.services.tickets.get(guild_id, self.ticket_id)
        locale = await locale_of(bot, guild_id)
        notice = bot.templates.render(locale, "discord/tickets/closed_notice.md.j2",
                                      ticket=ticket, reason=self.reason,
                                      user_id=interaction.user.id, note=self.note.value)
        closed = await bot.services.tickets.close(
            guild_id, interaction.user.id, self.ticket_id, self.reason,
            staff=await _staff(interaction, ticket), notice=notice, note=self.note.value)
        await after_close(bot, cogkit.guild(interaction), closed)
        await reply(interaction, "discord/tickets/closed.md.j2", ticket=closed)
        log_command(interaction, "ok")


async def after_close(bot: FamiliaBot, guild: discord.Guild, ticket: Ticket) -> None:
    """What follows every close (a close by hand, or the stale sweep's), the one place: once
    the closing notice is in the thread, archive and lock it (a thread deleted by hand is
    left as it is: the ticket is closed all the same)."""
    thread = guild.get_thread(ticket.thread_id or 0)
    if thread is None or thread.archived:
        return
    await bot.services.deliveries.wait_settled(guild.id, [closed_key(ticket)], CLOSE_WAIT)
    await thread.edit(archived=True, locked=True)


async def ticket_thread(guild: discord.Guild, ticket: Ticket) -> discord.Thread | None:
    """The ticket's thread, archived or not (Discord forgets archived ones from the cache);
    None when it was deleted."""
    if ticket.thread_id is None:
        return None
    thread = guild.get_thread(ticket.thread_id)
    if thread is not None:
        return thread
    try:
        found = await guild.fetch_channel(ticket.thread_id)
    except discord.NotFound:
        return None
    return found if isinstance(found, discord.Thread) else None


async def _thread_ticket_for_staff(interaction: discord.Interaction) -> Ticket:
    """The ticket of the thread the command was used in, for its staff only."""
    ticket = await familia(interaction).services.tickets.by_thread(
        cogkit.guild_id(interaction), interaction.channel_id or 0)
    if ticket is None:
        raise UserError("tickets.not_a_ticket")
    if not await _staff(interaction, ticket):
        raise NotAllowed("tickets.staff_only")
    return ticket


async def list_message(interaction: discord.Interaction, state: str, category: str | None,
                       assignee_id: int | None, page: int
                       ) -> tuple[str, discord.ui.View | None]:
    """A page of /ticket list: managers see every category, a support role's members the
    categories they work (checked again on every page)."""
    bot = familia(interaction)
    guild_id = cogkit.guild_id(interaction)
    tickets = bot.services.tickets
    categories = await tickets.categories(guild_id)
    allowed = None
    if not await is_manager(interaction):
        roles = _roles(interaction)
        allowed = {c.id for c in categories if c.role_id is not None and c.role_id in roles}
        if not allowed:
            raise NotAllowed("tickets.staff_only")
    found = await tickets.listing(guild_id, state=state, key=category, category_ids=allowed,
                                  assignee_id=assignee_id, page=page)
    locale = await locale_for(interaction)
    keys = {c.id: c.key for c in categories}
    text = bot.templates.render(locale, "discord/tickets/list.md.j2", page=found, keys=keys,
                                state=state, subject_max=LIST_SUBJECT)
    return text, nav(bot, locale, found, ListPage, state=state, category=category or "all",
                     assignee=assignee_id or 0)


class ListPage(PageButton, custom_id="familia:pg:tickets:{state}:{category}:{assignee}:{page}"):
    state: str
    category: str
    assignee: int

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        return await list_message(interaction, self.state,
                                  None if self.category == "all" else self.category,
                                  self.assignee or None, self.page)


ITEMS = (CategorySelect, DmCategorySelect, HelpButton, ClaimButton, AssignButton, AssignSelect,
         WaitButton, PriorityButton, CloseButton, ReasonSelect, ListPage)


class TicketCog(commands.Cog, name="Tickets"):
    ticket = app_commands.Group(name=_T("ticket"), description=_T("The support desk"),
                                guild_only=True)

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*ITEMS)
        self.bot.jobs.every(SLA_JOB, self.sla_sweep, seconds=60)
        self.bot.jobs.every(STALE_JOB, self.stale_sweep, seconds=300)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*ITEMS)
        self.bot.jobs.remove(SLA_JOB)
        self.bot.jobs.remove(STALE_JOB)

    async def sla_sweep(self) -> int:
        """Warn each ticket's support role in its thread when a first response or the
        resolution is about to be late and when it is, and tell the managers' channel of a
        breach; each alert once (its delivery's dedupe key), whatever the restarts."""
        queued = 0
        for guild in self.bot.guilds:
            tickets = self.bot.services.tickets
            if await tickets.settings(guild.id) is None:
                continue
            alerts = await tickets.sla_alerts(guild.id)
            if not alerts:
                continue
            locale = await locale_of(self.bot, guild.id)
            managers = (await self.bot.services.guilds.get(guild.id)).channels.get("managers")
            render = self.bot.templates.render
            texts = [(a, render(locale, "discord/tickets/sla.md.j2", alert=a)) for a in alerts]
            escalations = {a.key: render(locale, "discord/tickets/sla_escalation.md.j2",
                                         alert=a) for a in alerts if a.stage == "breached"}
            queued += await tickets.queue_alerts(guild.id, texts, managers, escalations)
        return queued

    async def stale_sweep(self) -> int:
        """Close the tickets that waited on their creator the server's days, each with its
        notice (the thread; a DM ticket's creator by DM), then archive and lock the thread.
        The database decides: a ticket closes once (a conditional update with its notice in
        one transaction), so a second sweep or one after a restart sends nothing again; it
        only archives a thread a restart left open. Returns the tickets closed."""
        closed = 0
        tickets = self.bot.services.tickets
        for guild in self.bot.guilds:
            settings = await tickets.settings(guild.id)
            if settings is None:
                continue
            done = []
            for ticket in await tickets.stale(guild.id):
                render = self.bot.templates.render
                days = {"days": settings.waiting_days, "reopen_days": settings.reopen_days}
                notice = render(await locale_of(self.bot, guild.id),
                                "discord/tickets/stale_notice.md.j2", ticket=ticket, **days)
                dm_notice = render(await locale_of(self.bot, guild.id, ticket.user_id),
                                   "discord/tickets/stale_dm.md.j2", ticket=ticket,
                                   server=guild.name, **days)
                if (ended := await tickets.close_stale(ticket, notice, dm_notice)) is not None:
                    done.append(ended)
            closed += len(done)
            for ticket in await tickets.closed_unarchived(guild.id, STALE_ARCHIVE):
                await after_close(self.bot, guild, ticket)
        return closed

    @commands.Cog.listener("on_message")
    async def creator_in_thread(self, message: discord.Message) -> None:
        """The creator writes in their ticket's thread: a wait on them ends (the clock runs
        again). Only the author and the place are read, never the text."""
        threads = (discord.ChannelType.private_thread, discord.ChannelType.public_thread)
        if (message.guild is None or message.author.bot
                or getattr(message.channel, "type", None) not in threads):
            return
        await self.bot.services.tickets.creator_wrote(message.guild.id, message.channel.id,
                                                      message.author.id)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        """A ticket's thread deleted by hand: the ticket is kept (a new thread when asked)."""
        await self.bot.services.tickets.thread_gone(payload.guild_id, payload.thread_id)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Modmail-style intake: a creator's DM goes to their open DM ticket's thread, or is
        answered with the category select (a member of a server with a support desk)."""
        if message.guild is not None or message.author.bot:
            return
        tickets, members = self.bot.services.tickets, self.bot.services.members
        author = message.author.id
        desks = [g for g in self.bot.guilds if await tickets.settings(g.id) is not None and (
            g.get_member(author) is not None or await members.get(g.id, author) is not None)]
        for guild in desks:
            ticket = await tickets.dm_ticket(guild.id, message.author.id)
            if ticket is not None:
                locale = await locale_of(self.bot, guild.id)
                text = self.bot.templates.render(
                    locale, "discord/tickets/relayed_in.md.j2", ticket=ticket,
                    content=message.content[:RELAY_MAX],
                    attachments=[a.filename for a in message.attachments])
                await tickets.relay_in(ticket, message.id, text)
                return
        if not desks:
            return
        guild = desks[0]  # the first server with a desk (one intake per DM)
        locale = await locale_of(self.bot, guild.id, message.author.id)
        options = [(label(self.bot, locale, "category", c.key), c.key)
                   for c in await tickets.categories(guild.id)]
        view = discord.ui.View(timeout=None)
        view.add_item(DmCategorySelect(options, placeholder=label(self.bot, locale,
                                                                  "pick_category"),
                                       guild_id=guild.id))
        content = self.bot.templates.render(locale, "discord/tickets/intake.md.j2",
                                            server=guild.name)
        await tickets.prompt_intake(guild.id, message.author.id, message.id, content,
                                    view.to_components())

    @ticket.command(name=_T("note"),
                    description=_T("In a ticket's thread: an internal note only staff see"))
    @app_commands.describe(text=_T("The note (kept for staff, never shown to the creator)"))
    async def note(self, interaction: discord.Interaction,
                   text: app_commands.Range[str, 1, NOTE_MAX]) -> None:
        guild_id = cogkit.guild_id(interaction)
        tickets = self.bot.services.tickets
        ticket = await _thread_ticket_for_staff(interaction)
        settings = await tickets.settings(guild_id)
        if settings is None:
            raise UserError("tickets.not_set_up")
        locale = await locale_of(self.bot, guild_id)
        post = self.bot.templates.render(locale, "discord/tickets/note_post.md.j2",
                                         ticket=ticket, user_id=interaction.user.id,
                                         text=text, thread_id=ticket.thread_id)
        await tickets.add_note(guild_id, interaction.user.id, ticket, text,
                               settings.staff_channel_id, post)
        await reply(interaction, "discord/tickets/noted.md.j2", ticket=ticket,
                    staff_channel_id=settings.staff_channel_id)

    @ticket.command(name=_T("list"), description=_T("Tickets of the categories you work"))
    @app_commands.describe(state=_T("Open (default), waiting on the creator, or closed"),
                           category=_T("One category"), assignee=_T("Assigned to this member"))
    @app_commands.choices(state=STATE_CHOICES, category=CATEGORY_CHOICES)
    async def list_cmd(self, interaction: discord.Interaction, state: str = "open",
                       category: str | None = None,
                       assignee: discord.Member | None = None) -> None:
        text, view = await list_message(interaction, state, category,
                                        assignee.id if assignee else None, 0)
        await send(interaction, text, view=view)

    @ticket.command(name=_T("reopen"),
                    description=_T("Reopen a closed ticket (within the desk's days)"))
    @app_commands.describe(number=_T("The ticket's number (#12: 12)"))
    async def reopen(self, interaction: discord.Interaction,
                     number: app_commands.Range[int, 1, TICKET_NUMBER_MAX]) -> None:
        guild = cogkit.guild(interaction)
        tickets = self.bot.services.tickets
        ticket = await tickets.find(guild.id, number)
        staff = await _staff(interaction, ticket)
        if not staff and interaction.user.id != ticket.user_id:
            raise NotAllowed("tickets.reopen_not_yours")
        if ticket.open:
            raise UserError("tickets.not_closed", number=ticket.number)
        await acknowledge(interaction)  # the thread: fetched, unarchived or made again
        thread = await ticket_thread(guild, ticket)
        if thread is None and ticket.thread_id is not None:  # deleted by hand meanwhile
            ticket = await tickets.thread_gone(guild.id, ticket.thread_id) or ticket
        render = self.bot.templates.render
        notice = render(await locale_of(self.bot, guild.id),
                        "discord/tickets/reopened_notice.md.j2", ticket=ticket,
                        user_id=interaction.user.id)
        dm_notice = render(await locale_of(self.bot, guild.id, ticket.user_id),
                           "discord/tickets/reopened_dm.md.j2", ticket=ticket,
                           server=guild.name)
        reopened = await tickets.reopen(guild.id, interaction.user.id, ticket.id, staff=staff,
                                        request_id=interaction.id, notice=notice,
                                        dm_notice=dm_notice)
        if thread is not None:
            await thread.edit(archived=False, locked=False)
        else:  # a new thread, with its members, the question and the buttons
            thread = await make_thread(self.bot, guild, await tickets.reopened(guild.id,
                                                                               reopened))
            reopened = await tickets.get(guild.id, reopened.id)
        await reply(interaction, "discord/tickets/reopened.md.j2", ticket=reopened)

    @ticket.command(name=_T("days"),
                    description=_T("Days before a ticket waiting on its creator closes, "
                                   "and days to reopen one"))
    @app_commands.describe(
        waiting_days=_T("Days a ticket waits on its creator before it closes itself"),
        reopen_days=_T("Days a closed ticket can be reopened"))
    @manager_only()
    async def days(self, interaction: discord.Interaction,
                   waiting_days: app_commands.Range[int, 1, DAYS_MAX] | None = None,
                   reopen_days: app_commands.Range[int, 1, DAYS_MAX] | None = None) -> None:
        found = await self.bot.services.tickets.set_days(
            cogkit.guild_id(interaction), interaction.user.id, waiting_days=waiting_days,
            reopen_days=reopen_days)
        await reply(interaction, "discord/tickets/days.md.j2", settings=found)

    @ticket.command(name=_T("stats"), description=_T("The support desk's numbers"))
    @app_commands.describe(period=_T("Which period (default: the last 30 days)"),
                           category=_T("One category"))
    @app_commands.choices(period=PERIOD_CHOICES, category=CATEGORY_CHOICES)
    @manager_only()
    async def stats_cmd(self, interaction: discord.Interaction, period: str = "30d",
                        category: str | None = None) -> None:
        found = await self.bot.services.tickets.stats(cogkit.guild_id(interaction), period,
                                                      category)
        await reply(interaction, "discord/tickets/stats.md.j2", stats=found, period=period,
                    category=category)

    @ticket.command(name=_T("reply"),
                    description=_T("In a ticket opened by DM: send the creator an answer"))
    @app_commands.describe(text=_T("The answer (the creator gets it by DM)"))
    async def reply_cmd(self, interaction: discord.Interaction,
                        text: app_commands.Range[str, 1, RELAY_MAX]) -> None:
        guild_id = cogkit.guild_id(interaction)
        tickets = self.bot.services.tickets
        ticket = await _thread_ticket_for_staff(interaction)
        if ticket.via != "dm":
            raise UserError("tickets.not_by_dm")
        locale = await locale_of(self.bot, guild_id, ticket.user_id)
        guild = cogkit.guild(interaction)
        content = self.bot.templates.render(locale, "discord/tickets/relayed_out.md.j2",
                                            ticket=ticket, server=guild.name, text=text)
        await tickets.relay_out(guild_id, interaction.user.id, ticket, interaction.id, content)
        await reply(interaction, "discord/tickets/replied.md.j2", ticket=ticket,
                    user_id=interaction.user.id, text=text, ephemeral=False)

    @ticket.command(name=_T("open"), description=_T("Ask the program's support team for help"))
    async def open(self, interaction: discord.Interaction) -> None:
        await category_picker(interaction, "command")

    @ticket.command(name=_T("setup"),
                    description=_T("Where tickets' private threads and staff context go"))
    @app_commands.describe(
        channel=_T("The support channel: each ticket gets a private thread here"),
        staff_channel=_T("A channel only staff can read: each ticket's context is posted here"))
    @manager_only()
    async def setup(self, interaction: discord.Interaction, channel: discord.TextChannel,
                    staff_channel: discord.TextChannel) -> None:
        _need(channel, THREAD_PERMISSIONS)
        _need(staff_channel, STAFF_PERMISSIONS)
        await self.bot.services.tickets.configure(
            cogkit.guild_id(interaction), interaction.user.id, channel.id, staff_channel.id)
        await reply(interaction, "discord/tickets/setup.md.j2", channel_id=channel.id,
                    staff_channel_id=staff_channel.id)

    @ticket.command(name=_T("category"), description=_T("Change a support category"))
    @app_commands.describe(
        category=_T("The category"),
        role=_T("The support role added to its tickets"),
        first_response_hours=_T("Hours to the first answer"),
        resolution_hours=_T("Hours to resolve it"),
        add_leader=_T("Add the creator's family leader to its tickets"),
        allow_multiple=_T("Let a creator have more than one open ticket of it"))
    @app_commands.choices(category=CATEGORY_CHOICES)
    @manager_only()
    async def category(self, interaction: discord.Interaction, category: str,
                       role: discord.Role | None = None,
                       first_response_hours: SlaHours | None = None,
                       resolution_hours: SlaHours | None = None,
                       add_leader: bool | None = None,
                       allow_multiple: bool | None = None) -> None:
        found = await self.bot.services.tickets.set_category(
            cogkit.guild_id(interaction), interaction.user.id, category,
            role_id=role.id if role else None, first_response_hours=first_response_hours,
            resolution_hours=resolution_hours, add_leader=add_leader,
            allow_multiple=allow_multiple)
        await reply(interaction, "discord/tickets/category.md.j2", category=found)

    @ticket.command(name=_T("panel"), description=_T("Post a “Get help” panel in a channel"))
    @app_commands.describe(channel=_T("Where the panel goes"))
    @manager_only()
    async def panel(self, interaction: discord.Interaction,
                    channel: discord.TextChannel) -> None:
        _need(channel, STAFF_PERMISSIONS)
        guild_id = cogkit.guild_id(interaction)
        if await self.bot.services.tickets.settings(guild_id) is None:
            raise UserError("tickets.not_set_up")
        locale = await locale_of(self.bot, guild_id)
        view = discord.ui.View(timeout=None)
        view.add_item(HelpButton(label(self.bot, locale, "get_help")))
        content = self.bot.templates.render(locale, "discord/tickets/panel.md.j2")
        await self.bot.services.tickets.post_panel(
            guild_id, interaction.user.id, channel.id, interaction.id, content,
            view.to_components())
        await reply(interaction, "discord/tickets/panel_posted.md.j2", channel_id=channel.id)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(TicketCog(bot))
