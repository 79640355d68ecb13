"""The emulator's world and every change to it, each followed by the gateway event Discord
would send (discord.py's cache changes only through events).

:class:`World` is a mixin of :class:`emulator.server.Emulator`; tests call these methods
directly to set the scene (``create_guild``, ``add_member``…), and the REST routes call them on
the bot's behalf after checking permissions.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator import limits
from emulator import models as m
from emulator.http import ApiError, missing_access, missing_permissions, unknown
from emulator.permissions import base_permissions, channel_permissions, highest_position

if TYPE_CHECKING:
    from emulator.gateway import Gateway

MENTION = re.compile(r"<@!?(\d+)>")
NONCE_WINDOW = 300.0  # seconds Discord remembers a nonce for enforce_nonce


class World:
    """State and state changes. Expects ``ids``, ``gateway``, ``base_url`` from the host."""

    ids: m.Snowflakes
    gateway: Gateway
    app: m.Application

    def _init_world(self) -> None:
        self.users: dict[int, m.User] = {}
        self.guilds: dict[int, m.Guild] = {}
        self.apps: dict[int, m.Application] = {}
        self._apps_by_token: dict[str, m.Application] = {}
        self._channels: dict[int, m.Channel] = {}
        self._messages: dict[int, m.Message] = {}
        self._by_channel: dict[int, list[m.Message]] = {}
        self._dms: dict[tuple[int, int], m.Channel] = {}  # (bot id, user id) → DM channel
        self._nonces: dict[tuple[int, str], m.Message] = {}  # (author id, nonce) → latest
        # files uploaded as a slash command's attachment option (Discord keeps them on its
        # CDN, ephemeral-attachments/…, served like a message's attachment)
        self._uploads: dict[int, m.Attachment] = {}
        # Called with ("create" | "update" | "delete", message) for every message, ephemeral
        # ones too (the web console's live view); empty by default, at no cost.
        self.message_watchers: list[Callable[[str, m.Message], None]] = []

    @property
    def base_url(self) -> str:  # overridden by the server
        return ""

    # -- default application -----------------------------------------------------------------

    @property
    def bot_user(self) -> m.User:
        """The default application's bot user."""
        return self.app.bot

    @property
    def token(self) -> str:
        """The default application's bot token."""
        return self.app.token

    @property
    def application_id(self) -> int:
        return self.app.id

    @property
    def commands(self) -> dict[int | None, dict[str, dict[str, Any]]]:
        """Commands the default application synced: ``{guild id or None: {name: command}}``."""
        return self.app.commands

    @property
    def members_intent_enabled(self) -> bool:
        return self.app.members_intent

    @members_intent_enabled.setter
    def members_intent_enabled(self, value: bool) -> None:
        self.app.members_intent = value

    # -- lookups (raise Discord's 404s) --------------------------------------------------------

    def user(self, uid: int) -> m.User:
        if uid not in self.users:
            raise unknown("User", 10013)
        return self.users[uid]

    def guild(self, gid: int | None) -> m.Guild:
        if gid is None or gid not in self.guilds:
            raise unknown("Guild", 10004)
        return self.guilds[gid]

    def channel(self, cid: int) -> m.Channel:
        if cid not in self._channels:
            raise unknown("Channel", 10003)
        return self._channels[cid]

    def role(self, guild: m.Guild, rid: int) -> m.Role:
        if rid not in guild.roles:
            raise unknown("Role", 10011)
        return guild.roles[rid]

    def member(self, guild: m.Guild, uid: int) -> m.Member:
        if uid not in guild.members:
            raise unknown("Member", 10007)
        return guild.members[uid]

    def message(self, mid: int, channel_id: int | None = None) -> m.Message:
        found = self._messages.get(mid)
        if found is None or found.deleted or (channel_id and found.channel_id != channel_id):
            raise unknown("Message", 10008)
        return found

    def app_by_token(self, token: str) -> m.Application | None:
        return self._apps_by_token.get(token)

    def bot_member(self, guild: m.Guild, app: m.Application | None = None) -> m.Member:
        """The bot's member in ``guild`` (default application unless ``app``)."""
        bot = (app or self.app).bot
        if bot.id not in guild.members:
            raise missing_access()
        return guild.members[bot.id]

    # -- permission checks used by the routes --------------------------------------------------

    def require_guild(self, app: m.Application, guild: m.Guild, *perms: int) -> None:
        """403 / 50013 unless the bot has every one of ``perms`` guild-wide."""
        have = base_permissions(guild, self.bot_member(guild, app))
        for perm in perms:
            if not have & perm:
                raise missing_permissions()

    def require_channel(self, app: m.Application, channel: m.Channel, *perms: int) -> None:
        """403 / 50001 if the bot cannot see ``channel``, 50013 if it lacks ``perms`` there."""
        guild = self.guild(channel.guild_id)
        have = channel_permissions(guild, self.bot_member(guild, app), channel)
        if not have & m.VIEW_CHANNEL:
            raise missing_access()
        for perm in perms:
            if not have & perm:
                raise missing_permissions()

    def has_channel(self, app: m.Application, channel: m.Channel, perm: int) -> bool:
        """Whether the bot has ``perm`` in ``channel``."""
        guild = self.guild(channel.guild_id)
        return bool(channel_permissions(guild, self.bot_member(guild, app), channel) & perm)

    def require_role_control(self, app: m.Application, guild: m.Guild, role: m.Role) -> None:
        """Manage Roles, and the bot's highest role strictly above ``role``."""
        self.require_guild(app, guild, m.MANAGE_ROLES)
        if role.managed or role.id == guild.id:
            raise ApiError(400, 50028, "Invalid Role")
        if highest_position(guild, self.bot_member(guild, app)) <= role.position:
            raise missing_permissions()

    # -- events --------------------------------------------------------------------------------

    def dispatch(self, event: str, data: Any, *, guild_id: int | None = None,
                 app: m.Application | None = None) -> None:
        """Send ``event`` to the sessions of bots in ``guild_id`` (or of ``app`` only)."""
        self.gateway.dispatch(event, data, guild_id=guild_id, app=app)

    # -- users and applications ----------------------------------------------------------------

    def create_user(self, name: str, *, bot: bool = False, locale: str = "en-US",
                    dms_open: bool = True) -> m.User:
        """A Discord user (not yet in any guild)."""
        user = m.User(self.ids.next(), name, bot=bot, locale=locale, dms_open=dms_open)
        self.users[user.id] = user
        return user

    def create_application(self, name: str = "Bot", *, owner: m.User | None = None,
                           members_intent: bool = True, message_content_intent: bool = True,
                           presences_intent: bool = True,
                           ) -> tuple[m.Application, m.User, str]:
        """A bot application: returns ``(app, bot_user, token)``. The ``*_intent`` switches are
        the privileged intents enabled in the developer portal."""
        owner = owner or next(iter(self.users.values()), None) or self.create_user("owner")
        bot = self.create_user(name, bot=True)
        app = m.Application(self.ids.next(), name, bot, owner,
                            f"emulator.{secrets.token_urlsafe(24)}", members_intent,
                            message_content_intent, presences_intent)
        self.apps[app.id] = app
        self._apps_by_token[app.token] = app
        return app, bot, app.token

    def close_dms(self, user: m.User) -> None:
        """The user turns DMs off: the bot's DMs to them answer 403 / 50007."""
        user.dms_open = False

    def open_dms(self, user: m.User) -> None:
        user.dms_open = True

    # -- guilds, bots and members --------------------------------------------------------------

    def create_guild(self, name: str = "Familia Test", *, owner: m.User | None = None,
                     locale: str = "en-US", bot_permissions: int = m.BOT_DEFAULT,
                     apps: list[m.Application] | None = None) -> m.Guild:
        """A guild with @everyone, the owner, #general and the bot(s) (default: the default
        application) each with a managed role granting ``bot_permissions``."""
        owner = owner or self.app.owner
        guild = m.Guild(self.ids.next(), name, owner.id, locale)
        guild.roles[guild.id] = m.Role(guild.id, guild.id, "@everyone", m.EVERYONE_DEFAULT, 0)
        self.guilds[guild.id] = guild
        guild.members[owner.id] = m.Member(owner, guild.id, joined_at=self.ids.iso_now())
        self.create_channel(guild, "general", dispatch_event=None)
        for app in apps if apps is not None else [self.app]:
            self.add_bot(guild, app, permissions=bot_permissions)
        return guild

    def add_bot(self, guild: m.Guild, app: m.Application, *,
                permissions: int = m.BOT_DEFAULT) -> m.Member:
        """Invite ``app``'s bot: a managed role with ``permissions``; GUILD_CREATE to the bot,
        GUILD_ROLE_CREATE and GUILD_MEMBER_ADD to bots already there."""
        role = m.Role(self.ids.next(), guild.id, app.bot.name, permissions, position=100,
                      managed=True, bot_id=app.bot.id)
        guild.roles[role.id] = role
        self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()},
                      guild_id=guild.id)
        member = m.Member(app.bot, guild.id, [role.id], joined_at=self.ids.iso_now())
        guild.members[app.bot.id] = member
        for other in self.apps.values():
            if other is not app and other.bot.id in guild.members:
                self.dispatch("GUILD_MEMBER_ADD", member.payload() | {"guild_id": str(guild.id)},
                              app=other)
        self.gateway.guild_available(guild, app)
        return member

    def bot_role(self, guild: m.Guild, app: m.Application | None = None) -> m.Role:
        """The bot's managed role in ``guild``."""
        bot_id = (app or self.app).bot.id
        return next(r for r in guild.roles.values() if r.managed and r.bot_id == bot_id)

    def set_bot_permissions(self, guild: m.Guild, permissions: int,
                            app: m.Application | None = None) -> None:
        """Change the permissions of the bot's managed role (GUILD_ROLE_UPDATE)."""
        role = self.bot_role(guild, app)
        role.permissions = permissions
        self.role_updated(guild, role)

    def add_member(self, guild: m.Guild, user: m.User, roles: list[m.Role] | None = None,
                   *, dispatch: bool = True) -> m.Member:
        """``user`` joins ``guild`` (GUILD_MEMBER_ADD unless ``dispatch=False``: already there
        when the bot connects)."""
        member = m.Member(user, guild.id, [r.id for r in roles or []],
                          joined_at=self.ids.iso_now())
        guild.members[user.id] = member
        if dispatch:
            self.dispatch("GUILD_MEMBER_ADD", member.payload() | {"guild_id": str(guild.id)},
                          guild_id=guild.id)
        return member

    def remove_member(self, guild: m.Guild, user: m.User) -> None:
        """``user`` leaves (GUILD_MEMBER_REMOVE)."""
        if guild.members.pop(user.id, None) is not None:
            self.dispatch("GUILD_MEMBER_REMOVE",
                          {"guild_id": str(guild.id), "user": user.payload()}, guild_id=guild.id)

    def member_updated(self, guild: m.Guild, member: m.Member) -> None:
        self.dispatch("GUILD_MEMBER_UPDATE", member.payload() | {"guild_id": str(guild.id)},
                      guild_id=guild.id)

    def give_role(self, guild: m.Guild, user: m.User, role: m.Role) -> None:
        """Give ``user`` a role (as an admin would; GUILD_MEMBER_UPDATE)."""
        member = self.member(guild, user.id)
        if role.id not in member.roles:
            member.roles.append(role.id)
            self.member_updated(guild, member)

    def take_role(self, guild: m.Guild, user: m.User, role: m.Role) -> None:
        member = self.member(guild, user.id)
        if role.id in member.roles:
            member.roles.remove(role.id)
            self.member_updated(guild, member)

    # -- roles ---------------------------------------------------------------------------------

    def create_role(self, guild: m.Guild, name: str, *, permissions: int = 0,
                    position: int | None = None, mentionable: bool = False, color: int = 0
                    ) -> m.Role:
        """A role (GUILD_ROLE_CREATE); by default just above the other unmanaged roles."""
        if position is None:
            position = max((r.position for r in guild.roles.values() if not r.managed),
                           default=0) + 1
        role = m.Role(self.ids.next(), guild.id, name, permissions, position,
                      mentionable=mentionable, color=color)
        guild.roles[role.id] = role
        self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()},
                      guild_id=guild.id)
        return role

    def role_updated(self, guild: m.Guild, role: m.Role) -> None:
        self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.payload()},
                      guild_id=guild.id)

    def delete_role(self, guild: m.Guild, role: m.Role) -> None:
        """Delete a role everywhere (GUILD_ROLE_DELETE)."""
        guild.roles.pop(role.id, None)
        for member in guild.members.values():
            if role.id in member.roles:
                member.roles.remove(role.id)
        for channel in guild.channels.values():
            channel.overwrites.pop(role.id, None)
        self.dispatch("GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role.id)},
                      guild_id=guild.id)

    # -- channels ------------------------------------------------------------------------------

    def create_channel(self, guild: m.Guild, name: str, *, type: int = m.TEXT,
                       parent: m.Channel | int | None = None,
                       overwrites: list[m.Overwrite] | None = None, topic: str | None = None,
                       dispatch_event: str | None = "CHANNEL_CREATE", bitrate: int = 64000,
                       user_limit: int = 0) -> m.Channel:
        """A guild channel (CHANNEL_CREATE). ``overwrites`` makes it private, e.g.
        ``[Overwrite(guild.id, 0, deny=VIEW_CHANNEL), Overwrite(role.id, 0, allow=VIEW_CHANNEL)]``.
        ``bitrate`` and ``user_limit`` are a voice or stage channel's (``type`` 2 or 13).
        """
        if type in limits.SLUG_CHANNELS:  # as Discord stores text channel names
            name = limits.normalise_channel_name(name) or name
        parent_id = parent.id if isinstance(parent, m.Channel) else parent
        position = sum(1 for c in guild.channels.values() if not c.is_thread)
        channel = m.Channel(self.ids.next(), type, name, guild.id, position, parent_id,
                            {o.id: o for o in overwrites or []}, topic=topic,
                            bitrate=bitrate, user_limit=user_limit)
        guild.channels[channel.id] = channel
        self._channels[channel.id] = channel
        if dispatch_event:
            data = channel.payload()
            if dispatch_event == "THREAD_CREATE":
                data["newly_created"] = True
            self.dispatch(dispatch_event, data, guild_id=guild.id)
        return channel

    def channel_updated(self, channel: m.Channel) -> None:
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        self.dispatch(event, channel.payload(), guild_id=channel.guild_id)

    def delete_channel(self, channel: m.Channel) -> None:
        """Delete a channel and its threads (CHANNEL_DELETE / THREAD_DELETE)."""
        guild = self.guild(channel.guild_id)
        for thread in [c for c in guild.channels.values() if c.parent_id == channel.id
                       and c.is_thread]:
            self.delete_channel(thread)
        guild.channels.pop(channel.id, None)
        self._channels.pop(channel.id, None)
        if channel.is_thread:
            self.dispatch("THREAD_DELETE", {"id": str(channel.id), "guild_id": str(guild.id),
                                            "parent_id": str(channel.parent_id),
                                            "type": channel.type}, guild_id=guild.id)
        else:
            self.dispatch("CHANNEL_DELETE", channel.payload(), guild_id=guild.id)

    def set_overwrite(self, channel: m.Channel, target: m.Role | m.User | m.Member, *,
                      allow: int = 0, deny: int = 0) -> None:
        """Set a permission overwrite for a role or a member (CHANNEL_UPDATE)."""
        if isinstance(target, m.Role):
            overwrite = m.Overwrite(target.id, 0, allow, deny)
        else:
            user = target.user if isinstance(target, m.Member) else target
            overwrite = m.Overwrite(user.id, 1, allow, deny)
        channel.overwrites[overwrite.id] = overwrite
        self.channel_updated(channel)

    def add_thread_member(self, thread: m.Channel, user: m.User) -> None:
        """Add someone to a thread (THREAD_MEMBERS_UPDATE)."""
        if user.id in thread.thread_members:
            return
        thread.thread_members.add(user.id)
        self.dispatch("THREAD_MEMBERS_UPDATE", {
            "id": str(thread.id), "guild_id": str(thread.guild_id),
            "member_count": len(thread.thread_members),
            "added_members": [{"id": str(thread.id), "user_id": str(user.id),
                               "join_timestamp": self.ids.iso_now(), "flags": 0}],
        }, guild_id=thread.guild_id)

    def dm_channel(self, user: m.User, app: m.Application | None = None) -> m.Channel:
        """The DM channel between ``user`` and the bot (created on first use)."""
        bot = (app or self.app).bot
        channel = self._dms.get((bot.id, user.id))
        if channel is None:
            channel = m.Channel(self.ids.next(), m.DM, recipient=user, bot_id=bot.id)
            self._dms[(bot.id, user.id)] = channel
            self._channels[channel.id] = channel
        return channel

    def shares_guild(self, app: m.Application, user: m.User) -> bool:
        return any(user.id in g.members and app.bot.id in g.members
                   for g in self.guilds.values())

    def app_of_dm(self, channel: m.Channel) -> m.Application | None:
        return next((a for a in self.apps.values() if a.bot.id == channel.bot_id), None)

    # -- messages ------------------------------------------------------------------------------

    def payload(self, message: m.Message) -> dict[str, Any]:
        data = message.payload(self.base_url)
        if message.mentions:
            data["mentions"] = [self.users[u].payload() for u in message.mentions
                                if u in self.users]
        return data

    def add_message(self, channel: m.Channel, author: m.User, payload: dict[str, Any],
                    files: list[m.Attachment], *, flags: int = 0, dispatch: bool = True,
                    webhook: m.Application | None = None, interaction_id: int | None = None
                    ) -> m.Message:
        """Store a message (MESSAGE_CREATE unless ephemeral)."""
        content = payload.get("content") or ""
        message = m.Message(
            self.ids.next(), channel.id, author, content, list(payload.get("embeds") or []),
            list(payload.get("components") or []), files,
            flags | int(payload.get("flags") or 0), channel.guild_id,
            mentions=self._mentions(content, payload),
            mention_everyone="@everyone" in content and self._may_ping_everyone(payload),
            webhook_id=webhook.id if webhook else None,
            interaction_id=interaction_id, reference=payload.get("message_reference"),
            nonce=str(payload["nonce"]) if payload.get("nonce") is not None else None,
        )
        self._messages[message.id] = message
        self._watched("create", message)
        if message.nonce is not None:
            self._nonces[(author.id, message.nonce)] = message
        if not message.ephemeral:
            self._by_channel.setdefault(channel.id, []).append(message)
            if dispatch:
                self._dispatch_message("MESSAGE_CREATE", channel, message)
        return message

    def nonce_match(self, author: m.User, nonce: str, window: float = NONCE_WINDOW
                    ) -> m.Message | None:
        """The message ``author`` created with ``nonce`` in the last ``window`` seconds, in any
        channel (Discord's ``enforce_nonce``: "another message created by the same author with
        the same nonce"), if any."""
        found = self._nonces.get((author.id, nonce))
        if found is None or found.deleted or time.monotonic() - found.created > window:
            return None
        return found

    def _watched(self, event: str, message: m.Message) -> None:
        for watch in self.message_watchers:
            watch(event, message)

    def _dispatch_message(self, event: str, channel: m.Channel, message: m.Message) -> None:
        if channel.type == m.DM:
            app = self.app_of_dm(channel)
            if app is not None:
                self.dispatch(event, self.payload(message), app=app)
        else:
            self.dispatch(event, self.payload(message), guild_id=channel.guild_id)

    def _mentions(self, content: str, payload: dict[str, Any]) -> list[int]:
        allowed = payload.get("allowed_mentions")
        found = [int(x) for x in MENTION.findall(content)]
        if allowed is not None and "users" not in (allowed.get("parse") or []):
            explicit = {int(u) for u in allowed.get("users") or []}
            found = [u for u in found if u in explicit]
        return list(dict.fromkeys(found))

    @staticmethod
    def _may_ping_everyone(payload: dict[str, Any]) -> bool:
        allowed = payload.get("allowed_mentions")
        return allowed is None or "everyone" in (allowed.get("parse") or [])

    def edit_message(self, message: m.Message, payload: dict[str, Any],
                     files: list[m.Attachment]) -> None:
        """Apply an edit (MESSAGE_UPDATE unless ephemeral)."""
        if "content" in payload:
            message.content = payload["content"] or ""
            message.mentions = self._mentions(message.content, payload)
        if "embeds" in payload:
            message.embeds = list(payload["embeds"] or [])
        if "components" in payload:
            message.components = list(payload["components"] or [])
        if "flags" in payload and payload["flags"] is not None:
            # Only SUPPRESS_EMBEDS may change; the ephemeral bit stays as created.
            message.flags = (message.flags & 64) | (int(payload["flags"]) & ~64)
        if files or "attachments" in payload:
            keep = {int(a["id"]) for a in payload.get("attachments") or []
                    if str(a.get("id", "")).isdigit()}
            message.attachments = [a for a in message.attachments if a.id in keep] + files
        message.edited = self.ids.iso_now()
        self._watched("update", message)
        if not message.ephemeral:
            self._dispatch_message("MESSAGE_UPDATE", self.channel(message.channel_id), message)

    def delete_message(self, message: m.Message) -> None:
        """Delete a message (MESSAGE_DELETE unless ephemeral)."""
        message.deleted = True
        listed = self._by_channel.get(message.channel_id, [])
        if message in listed:
            listed.remove(message)
        self._watched("delete", message)
        if message.ephemeral:
            return
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id:
            data["guild_id"] = str(message.guild_id)
            self.dispatch("MESSAGE_DELETE", data, guild_id=message.guild_id)
        else:
            app = self.app_of_dm(self.channel(message.channel_id))
            if app is not None:
                self.dispatch("MESSAGE_DELETE", data, app=app)

    # -- application commands ------------------------------------------------------------------

    def sync_commands(self, app: m.Application, guild_id: int | None,
                      payload: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Bulk overwrite: store what the bot registered; ids are stable per name."""
        old = app.commands.get(guild_id, {})
        synced: dict[str, dict[str, Any]] = {}
        for command in payload:
            if not command.get("name"):
                raise ApiError(400, 50035, "Invalid Form Body")
            stored = m.command_payload(
                command, id=old.get(command["name"], {}).get("id") or str(self.ids.next()),
                application_id=str(app.id), version=str(self.ids.next()))
            if guild_id is not None:
                stored["guild_id"] = str(guild_id)
            synced[command["name"]] = stored
        app.commands[guild_id] = synced
        return list(synced.values())
