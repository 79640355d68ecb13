"""Discord's permission arithmetic: base permissions from roles, then channel overwrites.

Follows Discord's documented algorithm: the owner and Administrator get everything; otherwise
@everyone's permissions OR the member's roles, then the channel's @everyone overwrite, the
role overwrites (deny then allow, merged) and the member's own overwrite. A channel the member
cannot view grants nothing (implicit deny); threads use their parent's overwrites, and a
private thread is seen only by its members and those with Manage Threads (Discord's threads
guide: "Private threads are only viewable by those who are invited or have the
MANAGE_THREADS permission").
"""

from __future__ import annotations

from emulator.models import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    PRIVATE_THREAD,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Channel,
    Guild,
    Member,
)

ATTACH_FILES = 1 << 15
EMBED_LINKS = 1 << 14
MENTION_EVERYONE = 1 << 17
MANAGE_THREADS = 1 << 34

NAMES = {
    1 << 4: "MANAGE_CHANNELS", 1 << 5: "MANAGE_GUILD", 1 << 10: "VIEW_CHANNEL",
    1 << 11: "SEND_MESSAGES", 1 << 14: "EMBED_LINKS", 1 << 15: "ATTACH_FILES",
    1 << 16: "READ_MESSAGE_HISTORY", 1 << 28: "MANAGE_ROLES", 1 << 36: "CREATE_PRIVATE_THREADS",
    1 << 34: "MANAGE_THREADS", 1 << 38: "SEND_MESSAGES_IN_THREADS",
}


def base_permissions(guild: Guild, member: Member) -> int:
    """Guild-wide permissions of ``member`` (before channel overwrites)."""
    if member.user.id == guild.owner_id:
        return ALL_PERMISSIONS
    everyone = guild.roles.get(guild.id)
    perms = everyone.permissions if everyone is not None else 0
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms


def channel_permissions(guild: Guild, member: Member, channel: Channel) -> int:
    """Permissions of ``member`` in ``channel``, overwrites applied."""
    perms = base_permissions(guild, member)
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    thread = channel
    if channel.is_thread and channel.parent_id:
        parent = guild.channels.get(channel.parent_id)
        if parent is not None:
            channel = parent
    everyone = channel.overwrites.get(guild.id)
    if everyone is not None:
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
    if not perms & VIEW_CHANNEL:
        return 0
    if (thread.type == PRIVATE_THREAD and member.user.id not in thread.thread_members
            and not perms & MANAGE_THREADS):
        return 0
    if not perms & SEND_MESSAGES:  # Discord's implicit denials for text channels
        perms &= ~(MENTION_EVERYONE | ATTACH_FILES | EMBED_LINKS)
    return perms


def highest_position(guild: Guild, member: Member) -> int:
    """Position of the member's highest role (the owner outranks everyone)."""
    if member.user.id == guild.owner_id:
        return 1 << 30
    return max((guild.roles[r].position for r in member.roles if r in guild.roles), default=0)


def names(perms: int) -> list[str]:
    """Readable names of the bits in ``perms`` the emulator knows about."""
    return [name for bit, name in NAMES.items() if perms & bit]
