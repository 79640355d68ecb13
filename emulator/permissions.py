"""Discord's permission arithmetic: base permissions from roles, then channel overwrites."""

from __future__ import annotations

from emulator.models import ADMINISTRATOR, ALL_PERMISSIONS, Channel, Guild, Member

NAMES = {
    1 << 4: "MANAGE_CHANNELS", 1 << 5: "MANAGE_GUILD", 1 << 10: "VIEW_CHANNEL",
    1 << 11: "SEND_MESSAGES", 1 << 14: "EMBED_LINKS", 1 << 15: "ATTACH_FILES",
    1 << 16: "READ_MESSAGE_HISTORY", 1 << 28: "MANAGE_ROLES", 1 << 36: "CREATE_PRIVATE_THREADS",
    1 << 38: "SEND_MESSAGES_IN_THREADS",
}


def base_permissions(guild: Guild, member: Member) -> int:
    if member.user.id == guild.owner_id:
        return ALL_PERMISSIONS
    perms = guild.roles[guild.id].permissions if guild.id in guild.roles else 0
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms


def channel_permissions(guild: Guild, member: Member, channel: Channel) -> int:
    perms = base_permissions(guild, member)
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    if channel.parent_id and channel.type == 12:  # threads inherit the parent's overwrites
        parent = guild.channels.get(channel.parent_id)
        if parent is not None:
            channel = parent
    everyone = channel.overwrites.get(guild.id)
    if everyone:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member.roles:
        ow = channel.overwrites.get(role_id)
        if ow is not None and ow.type == 0:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    own = channel.overwrites.get(member.user.id)
    if own is not None and own.type == 1:
        perms = (perms & ~own.deny) | own.allow
    return perms


def highest_position(guild: Guild, member: Member) -> int:
    if member.user.id == guild.owner_id:
        return 1 << 30
    return max((guild.roles[r].position for r in member.roles if r in guild.roles), default=0)
