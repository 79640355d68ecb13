"""/family: families, joining and leaving, rosters, stats and role sync.

Managers create, rename, archive, appoint and sync; leaders act on their own family (the
service checks which); creators on themselves. Discord objects are made before the record is
stored (and removed again if storing fails), so a refused call leaves nothing half-done.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

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
)
from bot.cogkit import discord_ops as dd
from bot.cogkit.founding import agreement_dm, found_family
from bot.cogkit.options import Capacity, FamilyArg, FamilyNameText, NoteText, StatsDays
from bot.cogkit.pages import PageButton, nav
from bot.cogkit.scorecard import scorecard_files, scorecard_text
from bot.delivery.queue import Send
from bot.errors import NotAllowed, UserError
from bot.interactions import acknowledge, familia, locale_for, reply, send
from bot.services.families import (
    AGREEMENT_VERSION,
    Decision,
    Family,
    FamilyRequest,
)
from cogs._family_views import (
    PERSISTENT,
    POST_WAIT,
    AgreeButton,
    JoinButton,
    LeaveNotes,
    LeaveSelect,
    RequestPost,
    decide_view,
    label,
    single,
)

POSITIONS = [
    app_commands.Choice(name=_T("Leader"), value="leader"),
    app_commands.Choice(name=_T("Co-leader"), value="co_leader"),
]
SCORECARD_PERIODS = [
    app_commands.Choice(name=_T("Last month"), value="last_month"),
    app_commands.Choice(name=_T("This month"), value="this_month"),
    app_commands.Choice(name=_T("Last week"), value="last_week"),
    app_commands.Choice(name=_T("This week"), value="this_week"),
]
# Seconds /family sync apply waits for its role changes before answering (the rest are
# reported as still on their way).
SYNC_WAIT = 10.0



async def target_family(
    interaction: discord.Interaction, named: Family | None, *, own: bool = True
) -> tuple[Family | None, bool]:
    """The family an option names (default: the one the user leads or belongs to) and
    whether the user is a manager; a leader may only name their own family."""
    manager = await is_manager(interaction)
    guild_id = cogkit.guild_id(interaction)
    families = familia(interaction).services.families
    family = named
    if family is None:
        family = await led_family(interaction)
        membership = await families.membership_of(guild_id, interaction.user.id)
        if family is None and membership is not None:
            family = await families.get(guild_id, membership.family_id)
    if own and not manager and (family is None or not family.leads(interaction.user.id)):
        raise NotAllowed("families.not_your_family")
    if own and family is None:
        raise UserError("families.family_required")
    return family, manager


# -- paged lists: the command shows page 0, the buttons any other (everything re-checked) ---

async def roster_message(interaction: discord.Interaction, family: Family | None,
                         page: int) -> tuple[str, discord.ui.View | None]:
    target, _ = await target_family(interaction, family)
    if target is None:  # target_family refuses this already (own=True)
        raise UserError("families.family_required")
    bot = familia(interaction)
    found = await bot.services.families.roster_page(cogkit.guild_id(interaction), target.id,
                                                    page)
    locale = await locale_for(interaction)
    return (bot.templates.render(locale, "discord/families/roster.md.j2", family=target,
                                 page=found),
            nav(bot, locale, found, RosterPage, family_id=target.id))


async def list_message(interaction: discord.Interaction, archived: bool,
                       page: int) -> tuple[str, discord.ui.View | None]:
    if not await is_manager(interaction):
        raise NotAllowed("common.managers_only")
    bot = familia(interaction)
    found = await bot.services.families.families_page(cogkit.guild_id(interaction), page,
                                                      archived=archived)
    locale = await locale_for(interaction)
    return (bot.templates.render(locale, "discord/families/list.md.j2", page=found),
            nav(bot, locale, found, ListPage, archived=int(archived)))


async def history_message(interaction: discord.Interaction, who: int,
                          page: int) -> tuple[str, discord.ui.View | None]:
    bot = familia(interaction)
    guild_id = cogkit.guild_id(interaction)
    families = bot.services.families
    if who != interaction.user.id and not await is_manager(interaction):
        current = await families.membership_of(guild_id, who)
        led = await led_family(interaction)
        if led is None or current is None or current.family_id != led.id:
            raise NotAllowed("families.not_your_family")
    found = await families.history_page(guild_id, who, page)
    locale = await locale_for(interaction)
    return (bot.templates.render(locale, "discord/families/history.md.j2", user_id=who,
                                 page=found),
            nav(bot, locale, found, HistoryPage, user_id=who))


class RosterPage(PageButton, custom_id="familia:pg:roster:{family_id}:{page}"):
    family_id: int

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        family = await familia(interaction).services.families.get(
            cogkit.guild_id(interaction), self.family_id)
        return await roster_message(interaction, family, self.page)


class ListPage(PageButton, custom_id="familia:pg:families:{archived}:{page}"):
    who = "managers"
    archived: int

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        return await list_message(interaction, self.archived == 1, self.page)


class HistoryPage(PageButton, custom_id="familia:pg:fhistory:{user_id}:{page}"):
    who = "program"  # as /family history
    user_id: int

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        return await history_message(interaction, self.user_id, self.page)


PAGES = (RosterPage, ListPage, HistoryPage)


class FamiliesCog(commands.Cog, name="Families"):
    family = app_commands.Group(
        name=_T("family"), description=_T("Families of the creator program"), guild_only=True
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot
        self.families = bot.services.families
        self.leave_notes = LeaveNotes()  # read by LeaveSelect

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*PERSISTENT, *PAGES)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*PERSISTENT, *PAGES)

    async def _target(
        self, interaction: discord.Interaction, named: Family | None, *, own: bool = True
    ) -> tuple[Family | None, bool]:
        return await target_family(interaction, named, own=own)

    # -- managers ----------------------------------------------------------------------------

    @family.command(name=_T("create"), description=_T("Create a family with its channel and role"))
    @app_commands.rename(co_leader=_T("co-leader"))
    @app_commands.describe(name=_T("The family's name"), leader=_T("Who leads it"),
                           capacity=_T("Most members it can have (empty: no limit)"),
                           co_leader=_T("An optional co-leader"))
    @manager_only()
    async def create(
        self, interaction: discord.Interaction, name: FamilyNameText, leader: discord.Member,
        capacity: Capacity | None = None,
        co_leader: discord.Member | None = None,
    ) -> None:
        guild, guild_id = interaction.guild, cogkit.guild_id(interaction)
        assert guild is not None and guild_id is not None
        co_id = co_leader.id if co_leader else None
        clean = await self.families.check_new(guild_id, name, leader.id, co_id, capacity)
        dd.need(guild, dd.MANAGE_ROLES, dd.MANAGE_CHANNELS)
        await interaction.response.defer(ephemeral=True)
        family = await found_family(self.bot, guild, interaction.user.id, clean, leader.id,
                                    co_leader_id=co_id, capacity=capacity)
        await reply(interaction, "discord/families/updated.md.j2", family=family, changed="create")

    @family.command(name=_T("rename"), description=_T("Rename a family, its channel and role"))
    @app_commands.describe(family=_T("The family"), name=_T("The new name"))
    @manager_only()
    async def rename(self, interaction: discord.Interaction, family: FamilyArg,
                     name: FamilyNameText) -> None:
        await acknowledge(interaction)  # the channel and role are renamed before the answer
        renamed = await self.families.rename(
            cogkit.guild_id(interaction), interaction.user.id, family.id, name
        )
        await dd.rename(cogkit.guild(interaction), renamed)
        await reply(interaction, "discord/families/updated.md.j2", family=renamed,
                    changed="rename")

    @family.command(name=_T("archive"), description=_T("Archive a family, keeping its history"))
    @app_commands.describe(family=_T("The family to archive"))
    @manager_only()
    async def archive(self, interaction: discord.Interaction, family: FamilyArg) -> None:
        guild = interaction.guild
        assert guild is not None
        dd.need(guild, dd.MANAGE_ROLES, dd.MANAGE_CHANNELS)
        await interaction.response.defer(ephemeral=True)
        # every member's family role is queued to come off with the archive
        done = await self.families.archive(guild.id, interaction.user.id, family.id)
        archived, ended = done.family, done.ended_user_ids
        settings = await self.bot.services.guilds.get(guild.id)
        await dd.make_read_only(guild, archived, settings.manager_role_id)
        await reply(interaction, "discord/families/updated.md.j2", family=archived,
                    changed="archive", ended=len(ended))

    @family.command(name=_T("appoint"), description=_T("Set a family's leader or co-leader"))
    @app_commands.describe(family=_T("The family"), position=_T("Leader or co-leader"),
                           member=_T("Who (empty clears the co-leader)"))
    @app_commands.choices(position=POSITIONS)
    @manager_only()
    async def appoint(
        self, interaction: discord.Interaction, family: FamilyArg, position: str,
        member: discord.Member | None = None,
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        if member is not None and family.role_id:
            dd.need(guild, dd.MANAGE_ROLES)
        updated = await self.families.appoint(  # the family role: queued for the sender
            guild.id, interaction.user.id, family.id, position, member.id if member else None,
            ask_agreement=await agreement_dm(self.bot, guild.id,
                                              member.id if member else None),
        )
        await reply(interaction, "discord/families/updated.md.j2", family=updated,
                    changed="appoint")

    @family.command(name=_T("capacity"), description=_T("Set how many members a family takes"))
    @app_commands.describe(family=_T("The family"), capacity=_T("Most members (empty: no limit)"))
    @manager_only()
    async def capacity(
        self, interaction: discord.Interaction, family: FamilyArg,
        capacity: Capacity | None = None,
    ) -> None:
        updated = await self.families.set_capacity(
            cogkit.guild_id(interaction), interaction.user.id, family.id, capacity
        )
        await reply(interaction, "discord/families/updated.md.j2", family=updated,
                    changed="capacity")

    @family.command(name=_T("list"), description=_T("All families (managers)"))
    @app_commands.describe(archived=_T("Include archived families"))
    @manager_only()
    async def list_(self, interaction: discord.Interaction, archived: bool = False) -> None:
        text, view = await list_message(interaction, archived, 0)
        await send(interaction, text, view=view)

    @family.command(name=_T("sync"), description=_T("Check family and tier roles and repair them"))
    @app_commands.describe(apply=_T("Apply the changes (default: only show them)"))
    @manager_only()
    async def sync(self, interaction: discord.Interaction, apply: bool = False) -> None:
        guild = interaction.guild
        assert guild is not None
        await interaction.response.defer(ephemeral=True)
        families = await self.families.list_families(guild.id)
        roles = await self.families.expected_roles(guild.id)
        plan = dd.plan(guild, families, roles.by_member, roles.managed)
        states: dict[str, str] = {}
        if apply and not plan.empty:
            dd.need(guild, dd.MANAGE_ROLES, dd.MANAGE_CHANNELS)
            await self._repair(guild, plan)
            roles = await self.families.expected_roles(guild.id)
            changes = dd.plan(guild, [], roles.by_member, roles.managed).changes
            # queued for the one Discord sender (about one role change a second); the answer
            # waits a little, then says how many are still on their way
            keys = await self.families.queue_role_repairs(guild.id, interaction.user.id, changes)
            if keys:
                states = await self.bot.services.deliveries.wait_settled(guild.id, keys,
                                                                         SYNC_WAIT)
        pending = sum(state not in ("sent", "failed") for state in states.values())
        failed = sum(state == "failed" for state in states.values())
        await reply(interaction, "discord/families/sync.md.j2", plan=plan, applied=apply,
                    pending=pending, failed=failed, split=True)

    async def _repair(self, guild: discord.Guild, plan: dd.RolePlan) -> None:
        settings = await self.bot.services.guilds.get(guild.id)
        for family in {f.id: f for f in plan.missing_roles + plan.missing_channels}.values():
            role = guild.get_role(family.role_id or 0)
            if role is None:
                role = await dd.create_role(guild, family.name)
                await self.families.attach_discord(guild.id, family.id, role_id=role.id)
            channel = guild.get_channel(family.channel_id or 0)
            if channel is None:
                channel = await dd.create_channel(guild, family.name, role,
                                                  settings.channels.get("family_category"),
                                                  settings.manager_role_id)
                # Requests made while the channel was gone reach the leaders now.
                post = await RequestPost.prepare(self.bot, replace(family,
                                                                   channel_id=channel.id))
                await self.families.attach_discord(guild.id, family.id, channel_id=channel.id,
                                                   repost=post)
                await post.posted()
            elif family in plan.missing_roles and isinstance(channel, discord.TextChannel):
                await dd.allow(channel, role)

    # -- joining and leaving -----------------------------------------------------------------

    @family.command(name=_T("join"), description=_T("Ask to join a family"))
    @app_commands.describe(family=_T("The family you want to join"))
    async def join(self, interaction: discord.Interaction, family: FamilyArg) -> None:
        guild_id, user_id = cogkit.guild_id(interaction), interaction.user.id
        locale = await locale_for(interaction)
        invite = await self.families.pending_invite(guild_id, user_id, family.id)
        if invite is not None:
            view = decide_view(self.bot, locale, invite)
        else:
            await self.families.check_join(guild_id, user_id, family.id)
            view = single(JoinButton(label(self.bot, locale, "accept_and_ask"), guild_id=guild_id,
                                     family_id=family.id, version=AGREEMENT_VERSION))
        await reply(interaction, "discord/families/join.md.j2", family=family, view=view,
                    invited=invite is not None, version=AGREEMENT_VERSION)

    @family.command(name=_T("invite"), description=_T("Invite a creator to your family"))
    @app_commands.describe(member=_T("The creator to invite"),
                           family=_T("The family (managers; leaders invite to their own)"))
    @leader_or_manager()
    async def invite(
        self, interaction: discord.Interaction, member: discord.Member,
        family: FamilyArg | None = None,
    ) -> None:
        await acknowledge(interaction)  # the answer waits for the DM
        target, manager = await self._target(interaction, family)
        if target is None:
            raise NotAllowed("families.not_your_family")
        guild_id = cogkit.guild_id(interaction)
        locale = await self.bot.services.members.locale_of(member.guild.id, member.id)
        text = self.bot.templates.render(locale, "discord/families/invite.md.j2", family=target,
                                         inviter_id=interaction.user.id, version=AGREEMENT_VERSION)

        def dm(request: FamilyRequest) -> list[Send]:
            """The invitation by DM, with Accept / Decline, queued with the invite."""
            return [Send("family_invite", f"family-invite:{request.id}", "dm", member.id, {
                "content": text, "mentions": {"users": [interaction.user.id]},
                "components": decide_view(self.bot, locale, request).to_components(),
            }, priority=1)]

        request = await self.families.invite(guild_id, interaction.user.id, target.id, member.id,
                                             as_manager=manager, posts=dm)
        # The sender takes it first; the answer says whether it reached them (DMs closed:
        # they can accept with /family join).
        key = f"family-invite:{request.id}"
        state = (await self.bot.services.deliveries.wait_settled(
            guild_id, [key], POST_WAIT)).get(key)
        await reply(interaction, "discord/families/invite_sent.md.j2", family=target,
                    user_id=member.id, dm_sent=state != "failed")

    @family.command(name=_T("leave"), description=_T("Leave your family"))
    @app_commands.describe(note=_T("Anything you want to tell us (optional)"))
    @creator_only()
    async def leave(self, interaction: discord.Interaction,
                    note: NoteText | None = None) -> None:
        membership = await self.families.check_leave(cogkit.guild_id(interaction),
                                                     interaction.user.id)
        locale = await locale_for(interaction)
        if note:
            self.leave_notes.keep(membership.id, note)
        menu = LeaveSelect.of(self.bot, locale, membership.id, bool(note))
        await reply(interaction, "discord/families/leave.md.j2", membership=membership,
                    view=single(menu))

    @family.command(name=_T("remove"), description=_T("Remove a creator from your family"))
    @app_commands.describe(member=_T("The creator to remove"), reason=_T("Why (required)"))
    @leader_or_manager()
    async def remove(
        self, interaction: discord.Interaction, member: discord.Member, reason: NoteText
    ) -> None:
        manager = await is_manager(interaction)
        dd.need(member.guild, dd.MANAGE_ROLES)
        family = (await self.families.remove(  # the family role: queued to come off
            cogkit.guild_id(interaction), interaction.user.id, member.id, reason, as_manager=manager
        )).family
        await reply(interaction, "discord/families/removed.md.j2", family=family,
                    user_id=member.id)

    @family.command(name=_T("transfer"), description=_T("Move a creator to another family"))
    @app_commands.describe(family=_T("The family to move to"),
                           member=_T("Who moves (default: you)"))
    @creator_only()
    async def transfer(
        self, interaction: discord.Interaction, family: FamilyArg,
        member: discord.Member | None = None,
    ) -> None:
        await acknowledge(interaction)  # a request's answer waits for its post
        guild_id, who = cogkit.guild_id(interaction), (member or interaction.user).id
        manager = await is_manager(interaction)
        if manager:  # a manager's move is immediate: roles change at once
            dd.need(cogkit.guild(interaction), dd.MANAGE_ROLES)
        post = await RequestPost.prepare(self.bot, family)
        outcome = await self.families.request_transfer(  # a manager's: roles queued
            guild_id, interaction.user.id, who, family.id,
            as_manager=manager, posts=post,
        )
        done = isinstance(outcome, Decision)  # a manager's move is done at once
        posted = False
        if not done:  # the request's post to the receiving leaders: wait for Discord
            posted = await post.posted()
        await reply(interaction, "discord/families/transferred.md.j2", family=family,
                    user_id=who, done=done, posted=posted)

    @family.command(name=_T("agreement"), description=_T("Read the program agreement"))
    async def agreement(self, interaction: discord.Interaction) -> None:
        guild_id = cogkit.guild_id(interaction)
        accepted = await self.families.agreement_of(guild_id, interaction.user.id)
        view = None
        if accepted is None or accepted.version < AGREEMENT_VERSION:
            text = label(self.bot, await locale_for(interaction), "accept")
            view = single(AgreeButton(text, guild_id=guild_id, version=AGREEMENT_VERSION))
        await reply(interaction, "discord/families/agreement.md.j2", accepted=accepted,
                    current=AGREEMENT_VERSION, just_accepted=False, view=view)

    # -- views -------------------------------------------------------------------------------

    @family.command(name=_T("info"), description=_T("About a family (default: yours)"))
    @app_commands.describe(family=_T("The family (default: yours)"))
    @creator_only()
    async def info(self, interaction: discord.Interaction, family: FamilyArg | None = None) -> None:
        target, _ = await self._target(interaction, family, own=False)
        if target is None:
            raise NotAllowed("families.not_a_member_hint")
        guild_id = cogkit.guild_id(interaction)
        membership = await self.families.membership_of(guild_id, interaction.user.id)
        accepted = await self.families.agreement_of(guild_id, interaction.user.id)
        await reply(interaction, "discord/families/info.md.j2", family=target,
                    membership=membership, needs_agreement=membership is not None and (
                        accepted is None or accepted.version < AGREEMENT_VERSION))

    @family.command(name=_T("roster"), description=_T("Members of a family"))
    @app_commands.describe(family=_T("The family (leaders: their own)"))
    @leader_or_manager()
    async def roster(
        self, interaction: discord.Interaction, family: FamilyArg | None = None
    ) -> None:
        text, view = await roster_message(interaction, family, 0)
        await send(interaction, text, view=view)

    @family.command(name=_T("history"), description=_T("A creator's family history"))
    @app_commands.describe(member=_T("Whose history (default: yours)"))
    @creator_only()
    async def history(
        self, interaction: discord.Interaction, member: discord.Member | None = None
    ) -> None:
        text, view = await history_message(interaction, (member or interaction.user).id, 0)
        await send(interaction, text, view=view)

    @family.command(name=_T("stats"), description=_T("Members, joins, leaves and attrition"))
    @app_commands.describe(family=_T("The family (managers: empty for the whole program)"),
                           days=_T("How many days back (default 30)"))
    @leader_or_manager()
    async def stats(
        self, interaction: discord.Interaction, family: FamilyArg | None = None,
        days: StatsDays = 30,
    ) -> None:
        manager = await is_manager(interaction)
        target = None if (manager and not family) else (await self._target(interaction, family))[0]
        # Up to now inclusive: times are stored to the second, and the period ends before `end`.
        end = self.bot.clock.now().replace(microsecond=0) + timedelta(seconds=1)
        report = await self.bot.services.kpis.report(
            cogkit.guild_id(interaction), target.id if target else None,
            end - timedelta(days=days), end,
        )
        await reply(interaction, "discord/families/stats.md.j2", family=target, stats=report.stats,
                    quality=report.quality, days=days)

    @family.command(name=_T("scorecard"),
                    description=_T("Service quality of every family side by side, with a score"))
    @app_commands.describe(period=_T("Which period (default: last month)"))
    @app_commands.choices(period=SCORECARD_PERIODS)
    @leader_or_manager()
    async def scorecard(self, interaction: discord.Interaction,
                        period: str = "last_month") -> None:
        """Managers see every family (the first ones here, all in the CSV); a leader sees
        their own family's card with its rank."""
        manager = await is_manager(interaction)
        led = None if manager else await led_family(interaction)
        if not manager and led is None:
            raise NotAllowed("families.leaders_only")
        await acknowledge(interaction)  # a whole program is read, a chart drawn
        card = await self.bot.services.scorecard.scorecard(cogkit.guild_id(interaction), period)
        locale = await locale_for(interaction)
        mine = card.card(led.id) if led is not None else None
        text = scorecard_text(self.bot, locale, card, mine, everyone=manager)
        files = [discord.File(io.BytesIO(data), filename=name)
                 for name, data in scorecard_files(self.bot, locale, card)] if manager else []
        await send(interaction, text, files=files)

    # -- the server ----------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """Leaving the server ends the membership (reason: left server), cached or not."""
        await self.families.left_server(payload.guild_id, payload.user.id)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(FamiliesCog(bot))
