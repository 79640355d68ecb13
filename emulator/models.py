"""The emulator's in-memory world: users, guilds, roles, channels, members, messages.

Payload methods return dicts shaped like Discord's API v10 objects: every field Discord's
OpenAPI spec says it always sends (the end-to-end suite checks each response against it, see
``tests/spec_check.py``), fields it may omit only when they have a value.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits used by the emulator (Discord's numbering).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
CHANGE_NICKNAME = 1 << 26
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_DEFAULT = (
    CREATE_INSTANT_INVITE | ADD_REACTIONS | VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS
    | ATTACH_FILES | READ_MESSAGE_HISTORY | CHANGE_NICKNAME | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS
)
BOT_DEFAULT = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
    | MANAGE_ROLES | MANAGE_CHANNELS | CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS
)

TEXT, DM, CATEGORY, PUBLIC_THREAD, PRIVATE_THREAD = 0, 1, 4, 11, 12
VOICE, STAGE = 2, 13
VOCAL_TYPES = (VOICE, STAGE)  # channels with a bitrate and a user limit
THREAD_TYPES = (10, PUBLIC_THREAD, PRIVATE_THREAD)

# Gateway intents (Discord's numbering) and the privileged ones.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15


class Snowflakes:
    """Snowflake ids whose timestamps are the time of creation by ``now`` (the real time unless
    a test gives its own clock, e.g. the bot's frozen one, so that the bot's "messages after
    this moment" and the emulator's ids agree). Ids only grow, even if that clock is set back.
    """

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self._counter = itertools.count()
        self._last_ms = 0

    def next(self) -> int:
        ms = int(self.now().timestamp() * 1000) - DISCORD_EPOCH_MS
        self._last_ms = ms = max(ms, self._last_ms)
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)

    def iso_now(self) -> str:
        return self.now().isoformat()


def snowflake_iso(snowflake: int) -> str:
    """The moment a snowflake was made (Discord's message ``timestamp``)."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class User:
    id: int
    name: str
    bot: bool = False
    locale: str = "en-US"
    dms_open: bool = True

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id), "username": self.name, "global_name": self.name,
            "discriminator": "0", "avatar": None, "public_flags": 0, "flags": 0,
            "banner": None, "accent_color": None, "avatar_decoration_data": None,
            "collectibles": None, "primary_guild": None,
        }
        if self.bot:  # Discord omits ``bot`` for people
            data["bot"] = True
        return data

    def private_payload(self) -> dict[str, Any]:
        """``GET /users/@me``: the user with the fields only its owner sees."""
        return self.payload() | {"mfa_enabled": False, "locale": self.locale,
                                 "verified": True, "premium_type": 0}


@dataclass
class Application:
    """A bot application: its bot user, token, privileged-intent switches and synced commands.

    ``commands`` maps a guild id (``None`` for global commands) to ``{name: command}`` as the
    bot registered them, with the ids the emulator assigned.
    """

    id: int
    name: str
    bot: User
    owner: User
    token: str
    members_intent: bool = True
    message_content_intent: bool = True
    presences_intent: bool = True
    commands: dict[int | None, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def privileged_allowed(self, intents: int) -> bool:
        """Whether IDENTIFY with ``intents`` is allowed (else Discord closes with 4014)."""
        return not (
            (intents & INTENT_GUILD_MEMBERS and not self.members_intent)
            or (intents & INTENT_MESSAGE_CONTENT and not self.message_content_intent)
            or (intents & INTENT_GUILD_PRESENCES and not self.presences_intent)
        )

    def payload(self) -> dict[str, Any]:
        """``GET /oauth2/applications/@me``."""
        flags = 0
        if self.members_intent:
            flags |= 1 << 15  # GATEWAY_GUILD_MEMBERS
        if self.message_content_intent:
            flags |= 1 << 19  # GATEWAY_MESSAGE_CONTENT
        if self.presences_intent:
            flags |= 1 << 13  # GATEWAY_PRESENCE
        return {
            "id": str(self.id), "name": self.name, "description": "", "icon": None,
            "type": None, "bot_public": True, "bot_require_code_grant": False,
            "owner": self.owner.payload(), "verify_key": "0" * 64, "flags": flags,
            "flags_new": str(flags), "team": None, "summary": "", "rpc_origins": [],
            "bot": self.bot.payload(), "redirect_uris": [], "interactions_endpoint_url": None,
            "role_connections_verification_url": None, "approximate_guild_count": 0,
            "approximate_user_install_count": 0, "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0, "eligible_oauth2_scopes": ["applications.commands",
                                                                     "bot"],
            "integration_types_config": {"0": {}}, "install_params": {
                "scopes": ["applications.commands", "bot"], "permissions": "0"},
        }


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 1
    managed: bool = False
    mentionable: bool = False
    color: int = 0
    bot_id: int | None = None  # managed bot roles
    hoist: bool = False

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id), "name": self.name, "color": self.color, "hoist": self.hoist,
            "position": self.position, "permissions": str(self.permissions),
            "managed": self.managed, "mentionable": self.mentionable, "flags": 0,
            "icon": None, "unicode_emoji": None, "colors": {
                "primary_color": self.color, "secondary_color": None, "tertiary_color": None},
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow),
                "deny": str(self.deny)}


@dataclass
class Channel:
    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    recipient: User | None = None  # DM channels
    bot_id: int | None = None  # DM channels: the bot on the other side
    owner_id: int | None = None  # threads
    topic: str | None = None
    invitable: bool = False
    thread_members: set[int] = field(default_factory=set)
    bitrate: int = 64000  # voice and stage channels: Discord's default, 64 kbps
    user_limit: int = 0  # voice and stage channels: 0 = no limit
    archived: bool = False  # threads: thread_metadata.archived / locked
    locked: bool = False

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def payload(self) -> dict[str, Any]:
        if self.type == DM:
            assert self.recipient is not None
            return {"id": str(self.id), "type": DM, "last_message_id": None, "flags": 0,
                    "recipients": [self.recipient.payload()]}
        data: dict[str, Any] = {
            "id": str(self.id), "type": self.type, "guild_id": str(self.guild_id),
            "name": self.name, "position": self.position,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "permission_overwrites": [o.payload() for o in self.overwrites.values()],
            "nsfw": False, "topic": self.topic, "last_message_id": None,
            "rate_limit_per_user": 0, "flags": 0,
        }
        if self.type in THREAD_TYPES:  # a thread has no position, overwrites, topic or nsfw
            for key in ("position", "permission_overwrites", "topic", "nsfw"):
                del data[key]
            data["owner_id"] = str(self.owner_id)
            data["thread_metadata"] = {
                "archived": self.archived, "auto_archive_duration": 10080,
                "locked": self.locked,
                "archive_timestamp": iso_now(), "invitable": self.invitable,
            }
            data["member_count"] = len(self.thread_members)
            data["message_count"] = data["total_message_sent"] = 0
        if self.type in VOCAL_TYPES:  # as Discord's voice channel: no topic, automatic region
            data.update(bitrate=self.bitrate, user_limit=self.user_limit, rtc_region=None)
            if self.type == VOICE:
                del data["topic"]
        return data


@dataclass
class Member:
    user: User
    guild_id: int
    roles: list[int] = field(default_factory=list)
    joined_at: str = field(default_factory=iso_now)
    nick: str | None = None

    def payload(self, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles], "joined_at": self.joined_at,
            "nick": self.nick, "deaf": False, "mute": False, "flags": 0, "pending": False,
            "avatar": None, "banner": None, "premium_since": None,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None = None

    def payload(self, base_url: str) -> dict[str, Any]:
        url = f"{base_url}/attachments/{self.id}/{self.filename}"
        data: dict[str, Any] = {"id": str(self.id), "filename": self.filename,
                                "size": len(self.data), "url": url, "proxy_url": url}
        if self.content_type:  # Discord omits it when it cannot tell
            data["content_type"] = self.content_type
        return data


@dataclass
class Message:
    id: int
    channel_id: int
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    guild_id: int | None = None
    mentions: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    timestamp: str = ""  # default: the moment of its id
    edited: str | None = None
    interaction_id: int | None = None
    deleted: bool = False
    webhook_id: int | None = None
    reference: dict[str, Any] | None = None
    nonce: str | None = None  # as sent; with enforce_nonce, a repeat returns this message
    created: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.timestamp:
            self.timestamp = snowflake_iso(self.id)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    @property
    def custom_ids(self) -> list[str]:
        """Every component custom_id on the message (buttons, selects)."""
        found: list[str] = []

        def walk(items: list[dict[str, Any]]) -> None:
            for item in items:
                if "custom_id" in item:
                    found.append(item["custom_id"])
                walk(item.get("components", []))
                if "component" in item:
                    walk([item["component"]])

        walk(self.components)
        return found

    def _reference_payload(self, sent: dict[str, Any]) -> dict[str, Any]:
        """The reference as Discord returns it: snowflakes as strings, its type, the channel
        (a reply's own one when not given), no ``fail_if_not_exists``."""
        data: dict[str, Any] = {"type": int(sent.get("type") or 0),
                                "channel_id": str(sent.get("channel_id") or self.channel_id)}
        if sent.get("message_id") is not None:
            data["message_id"] = str(sent["message_id"])
        guild_id = sent.get("guild_id") or self.guild_id
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        return data

    def payload(self, base_url: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id), "channel_id": str(self.channel_id),
            "author": self.author.payload(), "content": self.content,
            "timestamp": self.timestamp, "edited_timestamp": self.edited, "tts": False,
            "mention_everyone": self.mention_everyone, "mentions": [], "mention_roles": [],
            "attachments": [a.payload(base_url) for a in self.attachments],
            "embeds": self.embeds, "pinned": False, "type": 0, "flags": self.flags,
            "components": numbered_components(self.components),
        }
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.reference:
            data["type"] = 19
            data["message_reference"] = self._reference_payload(self.reference)
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        return data


def numbered_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Components as Discord returns them: each with an ``id`` (numbered 1, 2, … in order,
    skipping the ids the sender chose) and an emoji without the null fields it was sent with.
    """
    found = copy.deepcopy(components)
    every: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            every.append(item)
            walk(item.get("components") or [])
            if isinstance(item.get("accessory"), dict):
                walk([item["accessory"]])

    walk(found)
    used = {item["id"] for item in every if item.get("id") is not None}
    numbers = (n for n in itertools.count(1) if n not in used)
    for item in every:
        if item.get("id") is None:
            item["id"] = next(numbers)
        emoji = item.get("emoji")
        if isinstance(emoji, dict):
            item["emoji"] = {k: v for k, v in emoji.items() if v is not None}
    return found


def command_payload(sent: dict[str, Any], **ids: str) -> dict[str, Any]:
    """An application command as Discord returns it after a sync: what the bot sent, with
    ``ids`` (id, application_id, version, guild_id) and Discord's defaults for what it left
    out or sent as null."""
    data = {key: value for key, value in sent.items() if value is not None
            or key in ("default_member_permissions", "contexts", "name_localizations",
                       "description_localizations")}
    data.update(ids)
    data.setdefault("type", 1)
    data.setdefault("description", "")
    data.setdefault("options", [])
    data.setdefault("default_member_permissions", None)
    data.setdefault("name_localizations", None)
    data.setdefault("description_localizations", None)
    data.setdefault("integration_types", [0])  # guild install
    data.setdefault("nsfw", False)
    return data


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    locale: str = "en-US"
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)

    def base_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "name": self.name, "icon": None, "splash": None,
            "discovery_splash": None, "owner_id": str(self.owner_id), "afk_channel_id": None,
            "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "features": [], "mfa_level": 0,
            "system_channel_id": None, "system_channel_flags": 0, "rules_channel_id": None,
            "vanity_url_code": None, "description": None, "banner": None, "premium_tier": 0,
            "preferred_locale": self.locale, "public_updates_channel_id": None,
            "nsfw_level": 0, "premium_progress_bar_enabled": False, "emojis": [],
            "stickers": [], "roles": [r.payload() for r in self.roles.values()],
            "max_members": 500000, "max_presences": None, "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50, "premium_subscription_count": 0,
            "nsfw": False, "region": "deprecated", "application_id": None,
            "widget_enabled": False, "widget_channel_id": None,
            "safety_alerts_channel_id": None, "home_header": None, "incidents_data": None,
        }

    def create_payload(self, members: list[Member] | None = None, *,
                       large_threshold: int = 250) -> dict[str, Any]:
        """GUILD_CREATE: the whole guild with ``members`` (default: every member)."""
        data = self.base_payload()
        chosen = list(self.members.values()) if members is None else members
        data.update({
            "unavailable": False, "joined_at": iso_now(),
            "large": len(self.members) > large_threshold, "member_count": len(self.members),
            "members": [m.payload() for m in chosen],
            "channels": [c.payload() for c in self.channels.values() if not c.is_thread],
            "threads": [c.payload() for c in self.channels.values() if c.is_thread],
            "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [], "soundboard_sounds": [],
        })
        return data
