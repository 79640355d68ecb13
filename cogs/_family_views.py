"""Buttons and selects of families (private helper module, not an extension).

Approve/Decline, Accept invite, Join, Accept agreement and the leave-reason menu are
restart-proof (``bot.cogkit.buttons``): their custom_id carries what they act on, so they keep
working after a restart, and the database row decides (a second click answers "already
decided"). The id is data, never authority: the guild it names must be where the click
happens (Accept and Decline of an invitation, and Accept of the agreement, also work in the
DM they were sent to, for the member they are about), and the permission is read again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord

from bot import cogkit
from bot.checks import is_manager
from bot.cogkit import discord_ops as dd
from bot.cogkit.agreement import AgreeButton
from bot.cogkit.buttons import PersistentButton, PersistentSelect, labels
from bot.delivery.queue import Send
from bot.errors import NotAllowed, UserError
from bot.interactions import (
    FamiliaModal,
    acknowledge,
    edit,
    familia,
    locale_for,
    reply,
    start_timer,
)
from bot.services.bounds import NOTE_MAX
from bot.services.families import (
    AGREEMENT_VERSION,
    LEAVE_REASONS,
    Decision,
    Departure,
    Family,
    FamilyRequest,
)

LABELS = "discord/families/labels.j2"
POST_WAIT = 30.0  # seconds an answer waits for Discord to take the post or DM it reports on


label = labels(LABELS)


async def guild_locale(bot: Any, guild_id: int) -> str:
    return (await bot.services.guilds.get(guild_id)).locale


class DecideButton(PersistentButton,
                   custom_id="familia:req:{answer}:{guild_id}:{request_id}"):
    patterns = {"answer": "[yn]"}
    in_dm = True  # an invitation's Accept / Decline, in the invited member's DM
    answer: str  # y approves, n declines
    guild_id: int
    request_id: int

    async def authorize(self, interaction: discord.Interaction) -> None:
        """In a DM only an invitation is decided, by the member invited; requests and
        transfers are decided in their family channel (where the service checks who leads)."""
        request = await familia(interaction).services.families.get_request(
            self.guild_id, self.request_id)
        if interaction.guild_id is None and request.kind != "invite":
            raise NotAllowed("common.not_allowed")
        if interaction.guild_id is None and request.user_id != interaction.user.id:
            raise NotAllowed("families.not_your_invite")

    @property
    def approve(self) -> bool:
        return self.answer == "y"

    def button_style(self) -> discord.ButtonStyle:
        return discord.ButtonStyle.success if self.approve else discord.ButtonStyle.secondary

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        request = await bot.services.families.get_request(self.guild_id, self.request_id)
        if not self.approve and request.kind != "invite" and request.status == "pending":
            # a leader's Decline asks first for an optional reason, told to the creator;
            # whoever may not decide is refused before the form (the service checks again)
            await bot.services.families.check_decider(
                request, interaction.user.id, await is_manager(interaction))
            locale = await locale_for(interaction)
            await interaction.response.send_modal(
                DeclineModal(bot, locale, self.guild_id, self.request_id))
            return
        await decide_request(interaction, request, self.approve)


async def decide_request(interaction: discord.Interaction, request: FamilyRequest,
                         approve: bool, reason: str | None = None) -> None:
    """Decide ``request`` as the clicker (the service checks who leads or manages)."""
    bot = familia(interaction)
    guild = bot.get_guild(request.guild_id)
    if approve and guild is not None:
        dd.need(guild, dd.MANAGE_ROLES)  # refuse before deciding: roles follow at once
    as_manager = False
    if request.kind != "invite" and isinstance(interaction.user, discord.Member):
        as_manager = await is_manager(interaction)
    welcome = None
    if approve and request.kind == "invite":  # the family channel welcomes them
        welcome = await notice(bot, request.guild_id, "discord/families/welcome.md.j2",
                               f"family-welcome:{request.id}", request.user_id)
    decision = await bot.services.families.decide(
        request.guild_id, interaction.user.id, request.id, approve,
        as_manager=as_manager, agreement_version=AGREEMENT_VERSION, posts=welcome,
        reason=reason,
    )
    await after_decision(interaction, decision, approve)


class DeclineModal(FamiliaModal):
    """Decline a join or transfer request, with an optional reason the creator is told
    (kindly worded by the template). Submitted, it decides like the button: the service
    checks again who leads the family or manages the program."""

    def __init__(self, bot: Any, locale: str, guild_id: int, request_id: int) -> None:
        super().__init__(title=label(bot, locale, "decline_title"), timeout=900)
        self.guild_id, self.request_id = guild_id, request_id
        self.reason: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "decline_reason"), custom_id="reason",
            placeholder=label(bot, locale, "decline_placeholder"), required=False,
            max_length=NOTE_MAX, style=discord.TextStyle.paragraph)
        self.add_item(self.reason)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        start_timer(interaction)
        if interaction.guild_id != self.guild_id:  # a modal answers where it was opened
            raise NotAllowed("common.not_allowed")
        bot = familia(interaction)
        request = await bot.services.families.get_request(self.guild_id, self.request_id)
        await decide_request(interaction, request, False, self.reason.value or None)


class JoinButton(PersistentButton, custom_id="familia:join:{guild_id}:{family_id}:{version}"):
    style = discord.ButtonStyle.success
    guild_id: int
    family_id: int
    version: int

    async def run(self, interaction: discord.Interaction) -> None:
        # first: the answer waits for the post in the family channel (busy at check-in time)
        await acknowledge(interaction)
        bot = familia(interaction)
        family = await bot.services.families.get(self.guild_id, self.family_id)
        post = await RequestPost.prepare(bot, family)
        await bot.services.families.request_join(
            self.guild_id, interaction.user.id, self.family_id, self.version, posts=post
        )
        await reply(interaction, "discord/families/request_sent.md.j2", family=family,
                    posted=await post.posted())


class LeaveSelect(PersistentSelect, custom_id="familia:leave:reason:{membership_id}:{noted}"):
    """The reason a creator leaves, picked from a list; the optional note typed with /leave
    waits in :class:`LeaveNotes` (a pick after a restart that lost it says so). The menu is
    about the clicker's own membership: any other (or one already ended) is refused, with an
    answer."""

    membership_id: int
    noted: int  # 1: a note came with /family leave

    @classmethod
    def of(cls, bot: Any, locale: str, membership_id: int, noted: bool) -> LeaveSelect:
        return cls([(label(bot, locale, "reason", code), code) for code in LEAVE_REASONS],
                   placeholder=label(bot, locale, "reason_placeholder"),
                   membership_id=membership_id, noted=int(noted))

    async def authorize(self, interaction: discord.Interaction) -> None:
        current = await familia(interaction).services.families.membership_of(
            cogkit.guild_id(interaction), interaction.user.id)
        if current is None or current.id != self.membership_id:
            raise UserError("families.leave_outdated")

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        if interaction.guild is not None:
            dd.need(interaction.guild, dd.MANAGE_ROLES)
        guild_id = cogkit.guild_id(interaction)
        notes = LeaveNotes.of(bot)
        note = notes.get(self.membership_id) if self.noted else None
        if self.noted and note is None:  # the bot restarted since /family leave
            raise UserError("families.leave_expired")
        membership = await bot.services.families.check_leave(guild_id, interaction.user.id)
        left = await notice(bot, guild_id, "discord/families/left_notice.md.j2",
                            f"family-left:{membership.id}", interaction.user.id)
        reason = self.values[0]
        family = (await bot.services.families.leave(  # the role off, the notice: queued
            guild_id, interaction.user.id, reason, note, posts=left
        )).family
        notes.forget(self.membership_id)
        text = bot.templates.render(
            await locale_for(interaction), "discord/families/left.md.j2", family=family,
            reason=reason,
        )
        await edit(interaction, text, view=None)


class LeaveNotes:
    """The notes typed with /family leave, until the reason is picked (kept in memory: a
    restart loses them, and the menu then asks to run /family leave again)."""

    LIMIT = 1000  # notes of menus never picked: the oldest are dropped

    def __init__(self) -> None:
        self._notes: dict[int, str] = {}

    @classmethod
    def of(cls, bot: Any) -> LeaveNotes:
        found = getattr(bot.get_cog("Families"), "leave_notes", None)
        return found if isinstance(found, LeaveNotes) else cls()

    def keep(self, membership_id: int, note: str) -> None:
        self._notes.pop(membership_id, None)
        self._notes[membership_id] = note
        while len(self._notes) > self.LIMIT:
            del self._notes[next(iter(self._notes))]

    def get(self, membership_id: int) -> str | None:
        return self._notes.get(membership_id)

    def forget(self, membership_id: int) -> None:
        self._notes.pop(membership_id, None)


PERSISTENT = (DecideButton, JoinButton, AgreeButton, LeaveSelect)


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


def channel_open(bot: Any, channel_id: int | None) -> bool:
    """Whether the channel is there for Familia to post in (a family channel deleted by hand
    is not: /family sync recreates it)."""
    channel = bot.get_channel(channel_id) if channel_id else None
    return isinstance(channel, discord.abc.Messageable)


@dataclass
class RequestPost:
    """What a join or transfer request posts, queued with the request: the post to the
    family's leaders (Approve / Decline) in its channel, or, the channel gone, the managers'
    notice (/family sync reposts waiting requests). Called by the service with the request;
    :meth:`posted` then waits for Discord (someone waits for the answer: sent first)."""

    bot: Any
    family: Family
    locale: str
    managers: int | None
    keys: list[str] = field(default_factory=list)
    posts: dict[str, FamilyRequest] = field(default_factory=dict)  # key -> its request

    @classmethod
    async def prepare(cls, bot: Any, family: Family) -> RequestPost:
        settings = await bot.services.guilds.get(family.guild_id)
        return cls(bot, family, settings.locale, settings.channels.get("managers"))

    def __call__(self, request: FamilyRequest) -> list[Send]:
        channel_id = self.family.channel_id
        if channel_id is None or not channel_open(self.bot, channel_id):
            return self.channel_missing(request)
        text = self.bot.templates.render(self.locale, "discord/families/request.md.j2",
                                         request=request, family=self.family)
        key = f"family-request:{request.id}:{channel_id}"  # a recreated channel: posted again
        self.keys.append(key)
        self.posts[key] = request
        return [Send("family_request", key, "channel", channel_id, {
            "content": text, "mentions": {"users": [request.user_id]},
            "components": decide_view(self.bot, self.locale, request).to_components(),
        }, source=f"family-request:{request.id}", channel_id=channel_id, priority=1)]

    def channel_missing(self, request: FamilyRequest) -> list[Send]:
        if not self.managers:
            return []
        text = self.bot.templates.render(self.locale, "discord/families/channel_missing.md.j2",
                                         family=self.family)
        key = f"family-channel-missing:{request.id}:{self.family.channel_id or 0}"
        self.keys.append(key)
        return [Send("family_notice", key, "channel", self.managers, {"content": text},
                     channel_id=self.managers, priority=1)]

    async def posted(self) -> bool:
        """Wait for Discord to take what was queued; whether the leaders see the request (a
        post Discord refused is followed by the managers' notice, as a missing channel)."""
        guild_id = self.family.guild_id
        deliveries = self.bot.services.deliveries
        states = await deliveries.wait_settled(guild_id, self.keys, POST_WAIT)
        refused = [r for key, r in self.posts.items() if states.get(key) == "failed"]
        if refused:
            sends = [s for request in refused for s in self.channel_missing(request)]
            await self.bot.services.families.queue(guild_id, sends)
            await deliveries.wait_settled(guild_id, [s.dedupe_key for s in sends], POST_WAIT)
        return bool(self.posts) and not refused


async def notice(bot: Any, guild_id: int, template: str, key: str,
                 user_id: int) -> Callable[[Decision | Departure], Sequence[Send]]:
    """A notice about ``user_id`` in a family's channel (in the server's language), to queue
    with the event: the posts callback a service takes (nothing when the channel is gone)."""
    locale = await guild_locale(bot, guild_id)
    text = bot.templates.render(locale, template, user_id=user_id)

    def posts(event: Decision | Departure) -> Sequence[Send]:
        channel_id = event.family.channel_id
        if channel_id is None or not channel_open(bot, channel_id):
            return []
        return [Send("family_notice", key, "channel", channel_id,
                     {"content": text, "mentions": {"users": [user_id]}},
                     channel_id=channel_id)]
    return posts


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
    await edit(interaction, text, view=None)
