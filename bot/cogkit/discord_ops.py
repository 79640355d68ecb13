"""The Discord side of families and tiers: channels, roles and the role diff.

Every call is awaited one after another, so discord.py's rate-limit handling spaces them out.
A refused call (Forbidden) becomes ``common.bot_missing_permissions`` naming the permission.
Posts, DMs and role changes are not here (but for the leaders of a new family: see /family
create): the families service queues them for the one Discord sender (bot/delivery/).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import discord

from bot.errors import NotAllowed, UserError
from bot.services.families import Family

log = logging.getLogger(__name__)

MANAGE_ROLES = "Manage Roles"
MANAGE_CHANNELS = "Manage Channels"
REASON = "Familia"


def missing(permission: str) -> NotAllowed:
    return NotAllowed("common.bot_missing_permissions", permissions=[permission])


def need(guild: discord.Guild, *permissions: str) -> None:
    """Refuse before changing anything when the bot's role lacks a permission."""
    have = guild.me.guild_permissions
    for name in permissions:
        attribute = name.lower().replace(" ", "_")
        if not getattr(have, attribute):
            raise missing(name)


def can_give(guild: discord.Guild, role_ids: Iterable[int | None]) -> None:
    """Refuse before anything is saved when Familia could not give or take one of these
    roles (no Manage Roles, or the role is above its own, a bot's or @everyone)."""
    ids = [i for i in role_ids if i]
    if not ids:
        return
    need(guild, MANAGE_ROLES)
    for role_id in ids:
        role = guild.get_role(role_id)
        if role is not None and (role >= guild.me.top_role or role.managed
                                 or role.is_default()):
            raise UserError("common.role_unmanageable", role=role.name)


def _overwrites(
    guild: discord.Guild, role: discord.Role, manager_role_id: int | None, *, writable: bool
) -> dict:
    see = discord.PermissionOverwrite(
        view_channel=True, read_message_history=True, send_messages=writable
    )
    overwrites = {
        guild.default_role: discord.PermissionOverwrite(view_channel=False),
        guild.me: discord.PermissionOverwrite(
            view_channel=True, send_messages=True, read_message_history=True
        ),
        role: see,
    }
    manager_role = guild.get_role(manager_role_id) if manager_role_id else None
    if manager_role is not None:
        overwrites[manager_role] = see
    return overwrites


async def create_role(guild: discord.Guild, name: str) -> discord.Role:
    try:
        role = await guild.create_role(name=name, mentionable=False, reason=REASON)
    except discord.Forbidden as exc:
        raise missing(MANAGE_ROLES) from exc
    await _until_cached(guild.get_role, role.id)
    return role


async def create_channel(
    guild: discord.Guild, name: str, role: discord.Role, category_id: int | None,
    manager_role_id: int | None,
) -> discord.TextChannel:
    category = guild.get_channel(category_id) if category_id else None
    try:
        channel = await guild.create_text_channel(
            name, category=category if isinstance(category, discord.CategoryChannel) else None,
            overwrites=_overwrites(guild, role, manager_role_id, writable=True), reason=REASON,
        )
    except discord.Forbidden as exc:
        raise missing(MANAGE_CHANNELS) from exc
    await _until_cached(guild.get_channel, channel.id)
    return channel


async def _until_cached(lookup, object_id: int, timeout: float = 5.0) -> None:
    """discord.py caches a new role or channel only when Discord's event arrives, often after
    the REST answer; wait for it, so that look-ups by id (roles, posts, the sync plan) find it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while lookup(object_id) is None:
        if loop.time() > deadline:
            log.warning("%s not in the cache after %ss", object_id, timeout)
            return
        await asyncio.sleep(0.02)


async def allow(channel: discord.TextChannel, role: discord.Role) -> None:
    """Let a recreated family role into the family's existing channel."""
    try:
        await channel.set_permissions(role, view_channel=True, send_messages=True,
                                      read_message_history=True, reason=REASON)
    except discord.Forbidden as exc:
        raise missing(MANAGE_ROLES) from exc


async def delete_quietly(*objects: discord.abc.Snowflake | None) -> None:
    """Undo objects made for a family whose record could not be stored."""
    for obj in objects:
        if obj is not None:
            try:
                await obj.delete(reason=REASON)  # type: ignore[attr-defined]  # a role/channel
            except discord.HTTPException:
                log.warning("could not delete %r after a failed create", obj)


async def member(guild: discord.Guild, user_id: int) -> discord.Member | None:
    found = guild.get_member(user_id)
    if found is not None:
        return found
    try:
        return await guild.fetch_member(user_id)
    except discord.NotFound:
        return None


async def set_roles(
    guild: discord.Guild, user_id: int, add: Iterable[int | None] = (),
    remove: Iterable[int | None] = (),
) -> None:
    """Add and remove roles of one member (ids of roles that no longer exist are skipped)."""
    target = await member(guild, user_id)
    if target is None:
        return
    held = {r.id for r in target.roles}
    adding = [r for i in add if i and i not in held and (r := guild.get_role(i))]
    removing = [r for i in remove if i and i in held and (r := guild.get_role(i))]
    try:
        if adding:
            await target.add_roles(*adding, reason=REASON)
        if removing:
            await target.remove_roles(*removing, reason=REASON)
    except discord.Forbidden as exc:
        raise missing(MANAGE_ROLES) from exc


async def rename(guild: discord.Guild, family: Family) -> None:
    channel, role = guild.get_channel(family.channel_id or 0), guild.get_role(family.role_id or 0)
    try:
        if role is not None:
            await role.edit(name=family.name, reason=REASON)
        if channel is not None:
            await channel.edit(name=family.name, reason=REASON)
    except discord.Forbidden as exc:
        raise missing(MANAGE_CHANNELS if role is None else MANAGE_ROLES) from exc


async def make_read_only(guild: discord.Guild, family: Family, manager_role_id: int | None):
    channel, role = guild.get_channel(family.channel_id or 0), guild.get_role(family.role_id or 0)
    if not isinstance(channel, discord.TextChannel) or role is None:
        return
    try:
        await channel.edit(
            overwrites=_overwrites(guild, role, manager_role_id, writable=False), reason=REASON
        )
    except discord.Forbidden as exc:
        raise missing(MANAGE_CHANNELS) from exc


@dataclass
class RolePlan:
    """What /family sync would do: per member roles to add/remove; families to repair."""

    changes: list[tuple[int, list[int], list[int]]] = field(default_factory=list)
    missing_channels: list[Family] = field(default_factory=list)
    missing_roles: list[Family] = field(default_factory=list)
    unknown_roles: set[int] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not (self.changes or self.missing_channels or self.missing_roles)


def plan(
    guild: discord.Guild, families: list[Family], expected: dict[int, set[int]], managed: set[int]
) -> RolePlan:
    result = RolePlan()
    for family in families:
        if guild.get_channel(family.channel_id or 0) is None:
            result.missing_channels.append(family)
        if guild.get_role(family.role_id or 0) is None:
            result.missing_roles.append(family)
    existing = {r.id for r in guild.roles}
    result.unknown_roles = {r for r in managed if r not in existing}
    for m in sorted(guild.members, key=lambda m: m.id):
        held = {r.id for r in m.roles} & managed
        wanted = expected.get(m.id, set()) & existing
        add, remove = sorted(wanted - held), sorted(held - wanted)
        if add or remove:
            result.changes.append((m.id, add, remove))
    return result
