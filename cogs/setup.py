"""/setup: a wizard that walks a manager through a new server, and /setup status, the
checklist of what is configured, what is missing and which permissions Familia lacks where.

The wizard is the manager's own ephemeral message, one step at a time (every step
skippable); each pick is saved at once through the service that owns the setting, so
running /setup again resumes at the first open step and changes only what is changed.
Its buttons and selects belong to that message (they are not restart-proof: after a
restart, /setup start again picks up where the manager was); every press re-checks that
the presser manages this server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import is_manager, manager_only
from bot.cogkit import discord_ops as dd
from bot.cogkit.buttons import labels
from bot.cogkit.founding import found_family
from bot.config import SUPPORTED_LOCALES
from bot.errors import NotAllowed, UserError
from bot.interactions import (
    FamiliaModal,
    FamiliaView,
    edit,
    familia,
    locale_for,
    reply,
    send,
)
from bot.services.setup import DESK_CHANNELS, POST_CHANNELS, STEPS, SetupStatus

label = labels("discord/setup/labels.j2")

# Time zones the wizard offers (Discord selects hold 25): the program's regions. Any other
# zone: /settings timezone.
ZONES = (
    "America/Mexico_City", "America/Bogota", "America/Lima", "America/Caracas",
    "America/Santiago", "America/Argentina/Buenos_Aires", "America/Sao_Paulo",
    "America/Guatemala", "America/Panama", "America/Guayaquil", "America/La_Paz",
    "America/Asuncion", "America/Montevideo", "America/Santo_Domingo", "America/Puerto_Rico",
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles", "Europe/Madrid", "Europe/London", "Asia/Jakarta", "UTC",
)
# What Familia needs in each channel it posts in: (permission attribute, its name in Discord).
_SEE = ("view_channel", "View Channel")
_SEND = ("send_messages", "Send Messages")
_EMBED = ("embed_links", "Embed Links")
_ATTACH = ("attach_files", "Attach Files")
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "announcements": (_SEE, _SEND, _EMBED, _ATTACH),
    "leaderboard": (_SEE, _SEND, _EMBED, _ATTACH),
    "managers": (_SEE, _SEND, _EMBED, _ATTACH),
    "family_category": (_SEE, ("manage_channels", "Manage Channels"),
                        ("manage_roles", "Manage Permissions")),
    "support": (_SEE, _SEND, ("create_private_threads", "Create Private Threads"),
                ("send_messages_in_threads", "Send Messages in Threads"),
                ("manage_threads", "Manage Threads")),
    "staff": (_SEE, _SEND),
}
# What Familia needs in the whole server (families: roles and channels; tiers: roles).
SERVER_NEEDS = (("manage_roles", "Manage Roles"), ("manage_channels", "Manage Channels"))
# The channel Familia creates for each purpose when asked: (name, who else may read it:
# "everyone" reads but only Familia posts, "managers" only; a category for family channels).
CREATED = {
    "announcements": ("announcements", "everyone"),
    "leaderboard": ("leaderboard", "everyone"),
    "managers": ("managers-log", "managers"),
    "family_category": ("Families", "category"),
    "support": ("support", "threads"),
    "staff": ("support-staff", "managers"),
}
STEP_CHANNELS = {"channels": POST_CHANNELS, "support": DESK_CHANNELS}


def missing_in(channel: discord.abc.GuildChannel, purpose: str) -> list[str]:
    """The permissions Familia lacks in ``channel`` for ``purpose`` (their Discord names)."""
    have = channel.permissions_for(channel.guild.me)
    return [name for attribute, name in NEEDS[purpose] if not getattr(have, attribute)]


def _channel_ids(status: SetupStatus) -> dict[str, int]:
    """Every channel the server set, by purpose (the desk's picked ones until it is saved)."""
    found = dict(status.settings.channels)
    if status.desk is not None:
        found |= {"support": status.desk.support_channel_id,
                  "staff": status.desk.staff_channel_id}
    return found | {k: v for k, v in status.picks.items() if k not in found}


def problems(guild: discord.Guild, status: SetupStatus) -> list[tuple[str, int | None, Any]]:
    """What keeps Familia from working: (purpose, channel id, missing permission names, or
    None when the channel is gone); purpose "server" for the server-wide permissions."""
    found: list[tuple[str, int | None, Any]] = []
    have = guild.me.guild_permissions
    lacking = [name for attribute, name in SERVER_NEEDS if not getattr(have, attribute)]
    if lacking:
        found.append(("server", None, lacking))
    for purpose, channel_id in _channel_ids(status).items():
        if purpose not in NEEDS:
            continue
        channel = guild.get_channel(channel_id)
        if channel is None:
            found.append((purpose, channel_id, None))
        elif names := missing_in(channel, purpose):
            found.append((purpose, channel_id, names))
    return found


async def _make_channel(guild: discord.Guild, purpose: str, manager_role_id: int | None
                        ) -> discord.abc.GuildChannel:
    """Create ``purpose``'s channel with the permissions it needs."""
    name, readers = CREATED[purpose]
    me = discord.PermissionOverwrite(
        view_channel=True, send_messages=True, embed_links=True, attach_files=True,
        read_message_history=True, create_private_threads=readers == "threads",
        send_messages_in_threads=readers == "threads", manage_threads=readers == "threads")
    managers = guild.get_role(manager_role_id) if manager_role_id else None
    everyone = {
        "everyone": discord.PermissionOverwrite(send_messages=False),
        "threads": discord.PermissionOverwrite(send_messages=False,
                                               send_messages_in_threads=True),
        "managers": discord.PermissionOverwrite(view_channel=False),
        "category": discord.PermissionOverwrite(view_channel=False),
    }[readers]
    overwrites: dict[Any, discord.PermissionOverwrite] = {guild.default_role: everyone,
                                                          guild.me: me}
    if managers is not None:
        overwrites[managers] = discord.PermissionOverwrite(view_channel=True,
                                                           send_messages=True)
    try:
        if readers == "category":
            made: discord.abc.GuildChannel = await guild.create_category(
                name, overwrites=overwrites, reason=dd.REASON)
        else:
            made = await guild.create_text_channel(name, overwrites=overwrites,
                                                   reason=dd.REASON)
    except discord.Forbidden as exc:
        raise dd.missing(dd.MANAGE_CHANNELS) from exc
    return made


class FamilyModal(FamiliaModal):
    """The first family's name (its leader was picked in the wizard)."""

    def __init__(self, bot: Any, locale: str, leader_id: int) -> None:
        super().__init__(title=label(bot, locale, "family_title"), timeout=900)
        self.leader_id = leader_id
        self.name: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "family_name"), custom_id="name", max_length=100)
        self.add_item(self.name)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        if not await is_manager(interaction):
            raise NotAllowed("common.managers_only")
        bot, guild = familia(interaction), cogkit.guild(interaction)
        clean = await bot.services.families.check_new(guild.id, self.name.value,
                                                      self.leader_id, None, None)
        dd.need(guild, dd.MANAGE_ROLES, dd.MANAGE_CHANNELS)
        await interaction.response.defer()  # the role and channel take several calls
        family = await found_family(bot, guild, interaction.user.id, clean, self.leader_id)
        await show(interaction, "family", saved=family.name)


class Wizard(FamiliaView):
    """One step of the wizard. Every press re-checks that the presser manages this server
    (``interaction_check``), whatever message the step sits on."""

    def __init__(self, bot: FamiliaBot, locale: str, guild_id: int, status: SetupStatus,
                 step: str) -> None:
        super().__init__(timeout=900)
        self.bot, self.locale, self.guild_id, self.status, self.step = (
            bot, locale, guild_id, status, step)
        getattr(self, f"_{step}")()
        self._nav()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        await super().interaction_check(interaction)
        if interaction.guild_id != self.guild_id:
            raise NotAllowed("common.other_server")
        if not await is_manager(interaction):
            raise NotAllowed("common.managers_only")
        return True

    def _text(self, name: str, *args: Any) -> str:
        return label(self.bot, self.locale, name, *args)

    def _button(self, name: str, run: Callable[[discord.Interaction], Awaitable[None]], *,
                style: discord.ButtonStyle = discord.ButtonStyle.secondary, row: int = 4,
                disabled: bool = False) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=self._text(name), style=style, row=row, disabled=disabled)
        button.callback = run  # type: ignore[method-assign,assignment]
        self.add_item(button)

    def _select(self, item: discord.ui.Item[Any],
                on_pick: Callable[[discord.Interaction, Any], Awaitable[None]]) -> None:
        async def picked(interaction: discord.Interaction) -> None:
            await on_pick(interaction, item)
        item.callback = picked  # type: ignore[method-assign]
        self.add_item(item)

    def _nav(self) -> None:
        """Back, Next (the step is done) and Skip."""
        at = STEPS.index(self.step)
        if at:
            self._button("back", self._go(STEPS[at - 1]))
        self._button("finish" if at == len(STEPS) - 1 else "next", self._mark("done"),
                     style=discord.ButtonStyle.primary)
        self._button("skip", self._mark("skipped"))

    def _go(self, step: str) -> Callable[[discord.Interaction], Awaitable[None]]:
        async def go(interaction: discord.Interaction) -> None:
            await show(interaction, step)
        return go

    def _mark(self, state: str) -> Callable[[discord.Interaction], Awaitable[None]]:
        async def mark(interaction: discord.Interaction) -> None:
            setup = familia(interaction).services.setup
            await setup.mark(self.guild_id, interaction.user.id, self.step, state)
            at = STEPS.index(self.step)
            await show(interaction, STEPS[at + 1] if at + 1 < len(STEPS) else None)
        return mark

    # -- the steps -----------------------------------------------------------------------

    def _basics(self) -> None:
        settings = self.status.settings
        languages: discord.ui.Select[Any] = discord.ui.Select(
            placeholder=self._text("pick_language"), row=0, options=[
                discord.SelectOption(label=self._text("language", code), value=code,
                                     default=code == settings.locale)
                for code in SUPPORTED_LOCALES])
        self._select(languages, self._pick_language)
        zones = [settings.timezone] + [z for z in ZONES if z != settings.timezone]
        picker: discord.ui.Select[Any] = discord.ui.Select(
            placeholder=self._text("pick_zone"), row=1, options=[
                discord.SelectOption(label=zone, value=zone, default=zone == settings.timezone)
                for zone in zones[:25]])
        self._select(picker, self._pick_zone)

    async def _pick_language(self, interaction: discord.Interaction, item: Any) -> None:
        await familia(interaction).services.guilds.set_locale(
            self.guild_id, interaction.user.id, item.values[0])
        interaction.extras.pop("locale", None)
        await show(interaction, "basics", saved=True)

    async def _pick_zone(self, interaction: discord.Interaction, item: Any) -> None:
        await familia(interaction).services.guilds.set_timezone(
            self.guild_id, interaction.user.id, item.values[0])
        await show(interaction, "basics", saved=True)

    def _managers(self) -> None:
        self._select(discord.ui.RoleSelect(placeholder=self._text("pick_role"), row=0),
                     self._pick_role)
        self._button("create_role", self._create_role, row=1,
                     disabled=self.status.settings.manager_role_id is not None)

    async def _pick_role(self, interaction: discord.Interaction, item: Any) -> None:
        role = item.values[0]
        if role.is_default() or role.managed:
            raise UserError("setup.role_unusable", role=role.name)
        await familia(interaction).services.guilds.set_manager_role(
            self.guild_id, interaction.user.id, role.id)
        await show(interaction, "managers", saved=True)

    async def _create_role(self, interaction: discord.Interaction) -> None:
        guild = cogkit.guild(interaction)
        dd.need(guild, dd.MANAGE_ROLES)
        await interaction.response.defer()
        role = await dd.create_role(guild, self._text("manager_role_name"))
        await familia(interaction).services.guilds.set_manager_role(
            self.guild_id, interaction.user.id, role.id)
        await show(interaction, "managers", saved=True)

    def _channel_picks(self, purposes: tuple[str, ...]) -> None:
        for row, purpose in enumerate(purposes):
            kinds = ([discord.ChannelType.category] if purpose == "family_category"
                     else [discord.ChannelType.text])
            picker: discord.ui.ChannelSelect[Any] = discord.ui.ChannelSelect(
                placeholder=self._text("pick_channel", purpose), channel_types=kinds, row=row)
            self._select(picker, self._pick_channel(purpose))
        found = _channel_ids(self.status)
        self._button("create_channels", self._create_channels(purposes), row=len(purposes),
                     disabled=all(p in found for p in purposes))

    def _channels(self) -> None:
        self._channel_picks(POST_CHANNELS)

    def _support(self) -> None:
        self._channel_picks(DESK_CHANNELS)

    def _pick_channel(self, purpose: str
                      ) -> Callable[[discord.Interaction, Any], Awaitable[None]]:
        async def pick(interaction: discord.Interaction, item: Any) -> None:
            chosen = item.values[0].resolve() or cogkit.guild(interaction).get_channel(
                item.values[0].id)
            if chosen is None:
                raise UserError("setup.channel_gone")
            if names := missing_in(chosen, purpose):
                raise NotAllowed("setup.channel_permissions", channel=chosen.id,
                                 permissions=names)
            await save_channel(interaction, purpose, chosen)
            await show(interaction, self.step, saved=True)
        return pick

    def _create_channels(self, purposes: tuple[str, ...]
                         ) -> Callable[[discord.Interaction], Awaitable[None]]:
        async def create(interaction: discord.Interaction) -> None:
            guild = cogkit.guild(interaction)
            dd.need(guild, dd.MANAGE_CHANNELS)
            await interaction.response.defer()  # one Discord call per channel
            status = await familia(interaction).services.setup.status(self.guild_id)
            found = _channel_ids(status)
            for purpose in purposes:
                if purpose not in found:
                    made = await _make_channel(guild, purpose,
                                               status.settings.manager_role_id)
                    await save_channel(interaction, purpose, made)
            await show(interaction, self.step, saved=True)
        return create

    def _tiers(self) -> None:
        self._button("tier_template", self._tier_template, row=0,
                     style=discord.ButtonStyle.success, disabled=self.status.tiers > 0)

    async def _tier_template(self, interaction: discord.Interaction) -> None:
        names = (self._text("tier_name", 1), self._text("tier_name", 2),
                 self._text("tier_name", 3))
        await familia(interaction).services.setup.tier_template(
            self.guild_id, interaction.user.id, names)
        await show(interaction, "tiers", saved=True)

    def _family(self) -> None:
        self._select(discord.ui.UserSelect(placeholder=self._text("pick_leader"), row=0),
                     self._pick_leader)

    async def _pick_leader(self, interaction: discord.Interaction, item: Any) -> None:
        leader = item.values[0]
        if leader.bot:
            raise UserError("setup.leader_is_bot")
        await interaction.response.send_modal(FamilyModal(self.bot, self.locale, leader.id))

    def _email(self) -> None:
        schedule = self.status.schedule
        days: discord.ui.Select[Any] = discord.ui.Select(
            placeholder=self._text("pick_day"), row=0, options=[
            discord.SelectOption(label=self._text("day", d), value=str(d),
                                 default=schedule is not None and schedule[0] == d)
            for d in range(7)])
        self._select(days, self._pick_schedule(day=True))
        hours: discord.ui.Select[Any] = discord.ui.Select(
            placeholder=self._text("pick_hour"), row=1, options=[
            discord.SelectOption(label=self._text("hour", h), value=str(h),
                                 default=schedule is not None and schedule[1] == h)
            for h in range(24)])
        self._select(hours, self._pick_schedule(day=False))

    def _pick_schedule(self, *, day: bool
                       ) -> Callable[[discord.Interaction, Any], Awaitable[None]]:
        async def pick(interaction: discord.Interaction, item: Any) -> None:
            current = (await familia(interaction).services.setup.status(self.guild_id)
                       ).schedule or (0, 9)
            value = int(item.values[0])
            chosen = (value, current[1]) if day else (current[0], value)
            await familia(interaction).services.digests.set_schedule(
                self.guild_id, interaction.user.id, *chosen)
            await show(interaction, "email", saved=True)
        return pick


async def save_channel(interaction: discord.Interaction, purpose: str,
                       channel: Any) -> None:
    """Point ``purpose`` at ``channel``: a posting channel, or one of the support desk's."""
    services, guild_id = familia(interaction).services, cogkit.guild_id(interaction)
    if purpose in DESK_CHANNELS:
        await services.setup.pick_desk(guild_id, interaction.user.id, purpose, channel.id)
    else:
        await services.guilds.set_channel(
            guild_id, interaction.user.id, purpose, channel.id,
            is_category=isinstance(channel, discord.CategoryChannel)
            or getattr(channel, "type", None) == discord.ChannelType.category)


async def show(interaction: discord.Interaction, step: str | None, *,
               saved: object = None) -> None:
    """Show the wizard at ``step`` (None: the end, with what is still missing), in place of
    the message pressed, or as the answer to /setup start."""
    bot, guild = familia(interaction), cogkit.guild(interaction)
    status = await bot.services.setup.status(guild.id)
    locale = await locale_for(interaction)
    text = bot.templates.render(locale, "discord/setup/step.md.j2", step=step, status=status,
                                steps=STEPS, saved=saved, problems=problems(guild, status),
                                channels=_channel_ids(status),
                                purposes=STEP_CHANNELS.get(step or "", ()))
    view = Wizard(bot, locale, guild.id, status, step) if step else None
    if interaction.type == discord.InteractionType.application_command:
        await send(interaction, text, view=view)
    else:
        await edit(interaction, text, view=view)


class SetupCog(commands.Cog, name="Setup"):
    setup = app_commands.Group(
        name=_T("setup"), description=_T("Set up Familia in this server, step by step (managers)"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    @setup.command(name=_T("start"),
                   description=_T("The setup wizard: resumes at the first open step"))
    @app_commands.describe(step=_T("Go to this step (default: the first one not done)"))
    @app_commands.choices(step=[
        app_commands.Choice(name=_T("Time zone and language"), value="basics"),
        app_commands.Choice(name=_T("Manager role"), value="managers"),
        app_commands.Choice(name=_T("Channels"), value="channels"),
        app_commands.Choice(name=_T("Support desk"), value="support"),
        app_commands.Choice(name=_T("Tiers"), value="tiers"),
        app_commands.Choice(name=_T("First family"), value="family"),
        app_commands.Choice(name=_T("Email schedule"), value="email"),
    ])
    @manager_only()
    async def start(self, interaction: discord.Interaction, step: str | None = None) -> None:
        status = await self.bot.services.setup.status(cogkit.guild_id(interaction))
        if step is not None and step not in STEPS:
            raise UserError("setup.unknown_step", step=step)
        await show(interaction, step or status.resume_at or STEPS[0])

    @setup.command(name=_T("status"),
                   description=_T("What is set up, what is missing, and how to fix it"))
    @manager_only()
    async def status(self, interaction: discord.Interaction) -> None:
        guild = cogkit.guild(interaction)
        found = await self.bot.services.setup.status(guild.id)
        await reply(interaction, "discord/setup/status.md.j2", status=found, steps=STEPS,
                    problems=problems(guild, found), channels=_channel_ids(found))


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(SetupCog(bot))
