"""The emulator: an aiohttp server on 127.0.0.1 with REST v10 and a gateway, the world it
serves, and a Python API for tests to act as users and read what the bot did."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulator import models as m
from emulator import rest
from emulator.gateway import Gateway
from emulator.http import (
    ApiError,
    json_response,
    missing_access,
    missing_permissions,
    unknown,
)
from emulator.interactions import Interaction
from emulator.permissions import base_permissions, channel_permissions, highest_position
from emulator.ratelimit import RateLimiter


@dataclass
class Stats:
    requests: int = 0
    rate_limited: int = 0
    invalid: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)


class Emulator:
    """A local Discord. ``async with Emulator() as emu: emu.patch_discord(); ...``"""

    def __init__(
        self, *, global_rate: int = 50, heartbeat_interval: int = 41250,
        members_intent_enabled: bool = True, interaction_timeout: float = 3.0,
    ) -> None:
        self.ids = m.Snowflakes()
        self.limiter = RateLimiter(global_rate=global_rate)
        self.gateway = Gateway(self, heartbeat_interval)
        self.members_intent_enabled = members_intent_enabled
        self.interaction_timeout = interaction_timeout
        self.stats = Stats()
        self.users: dict[int, m.User] = {}
        self.guilds: dict[int, m.Guild] = {}
        self._channels: dict[int, m.Channel] = {}
        self._messages: dict[int, m.Message] = {}
        self._by_channel: dict[int, list[m.Message]] = {}
        self._dm_by_user: dict[int, m.Channel] = {}
        self.thread_members: dict[int, set[int]] = {}
        self.commands: dict[int | None, dict[str, dict[str, Any]]] = {}
        self._interactions: dict[int, Interaction] = {}
        self._by_token: dict[str, Interaction] = {}
        self._fail_5xx: list[int] = []
        self._force_429: list[tuple[str | None, bool, float]] = []
        self.owner = self.create_user("owner")
        self.application_id = self.ids.next()
        self.bot_user = self.create_user("Familia", bot=True)
        self.token = f"emulator.{secrets.token_urlsafe(24)}"
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._patched: tuple[Any, Any] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, port: int = 0) -> Emulator:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self.gateway.handle)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        app.router.add_route("GET", "/attachments/{aid}/{name}", self._attachment)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self.unpatch_discord()
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def patch_discord(self) -> None:
        """Point discord.py at this emulator. Process-global: one emulator per process."""
        import discord.gateway
        import discord.http
        import yarl

        if self._patched is None:
            self._patched = (discord.http.Route.BASE,
                             discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = self.api_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    def unpatch_discord(self) -> None:
        if self._patched is not None:
            import discord.gateway
            import discord.http

            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
                self._patched
            )
            self._patched = None

    # -- HTTP ------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        method = request.method
        self.stats.requests += 1
        found = rest.match(method, path)
        shape = found[0].__name__ if found else "unknown"
        self.stats.by_route[f"{method} {shape}"] += 1
        response = await self._respond(request, method, path, found)
        self.stats.statuses[response.status] += 1
        if response.status in (401, 403, 429):
            self.stats.invalid += 1
        if response.status == 429:
            self.stats.rate_limited += 1
        return response

    async def _respond(self, request: web.Request, method: str, path: str, found) -> web.Response:
        if self._fail_5xx:
            status = self._fail_5xx.pop(0)
            return json_response({"message": "emulated server error", "code": 0}, status)
        if found is None:
            return json_response({"message": "404: Not Found", "code": 0}, 404)
        handler, groups, auth = found
        if auth and request.headers.get("Authorization") != f"Bot {self.token}":
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        forced = self._forced_429(path)
        if forced is not None:
            return self._too_many(*forced, {})
        decision = self.limiter.check(method, path, counts_global=auth)
        if not decision.allowed:
            return self._too_many(decision.retry_after, decision.is_global, decision.headers)
        try:
            data, status = await handler(self, request, *groups)
        except ApiError as exc:
            return json_response(exc.body(), exc.status, decision.headers)
        return json_response(data, status, decision.headers)

    def _too_many(self, retry_after: float, is_global: bool, headers: dict[str, str]
                  ) -> web.Response:
        headers = dict(headers)
        headers["Via"] = "1.1 google"
        headers.setdefault("X-RateLimit-Scope", "global" if is_global else "user")
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        headers["Retry-After"] = str(max(1, round(retry_after)))
        body = {"message": "You are being rate limited.", "retry_after": round(retry_after, 3),
                "global": is_global}
        return json_response(body, 429, headers)

    def _forced_429(self, path: str) -> tuple[float, bool] | None:
        for index, (route, is_global, retry_after) in enumerate(self._force_429):
            if route is None or route in path:
                del self._force_429[index]
                return retry_after, is_global
        return None

    async def _attachment(self, request: web.Request) -> web.Response:
        aid = int(request.match_info["aid"])
        for message in self._messages.values():
            for attachment in message.attachments:
                if attachment.id == aid:
                    return web.Response(body=attachment.data,
                                        content_type=attachment.content_type or
                                        "application/octet-stream")
        raise web.HTTPNotFound()

    # -- faults ----------------------------------------------------------------------------------

    def inject_429(self, count: int = 1, route: str | None = None, *, global_: bool = False,
                   retry_after: float = 0.2) -> None:
        """The next ``count`` requests (whose path contains ``route``) answer 429."""
        self._force_429.extend([(route, global_, retry_after)] * count)

    def inject_5xx(self, count: int = 1, status: int = 500) -> None:
        """The next ``count`` requests answer ``status``."""
        self._fail_5xx.extend([status] * count)

    async def drop_gateway(self) -> None:
        await self.gateway.drop()

    async def request_reconnect(self) -> None:
        await self.gateway.request_reconnect()

    # -- lookups used by routes ---------------------------------------------------------------

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

    def message(self, mid: int) -> m.Message:
        if mid not in self._messages or self._messages[mid].deleted:
            raise unknown("Message", 10008)
        return self._messages[mid]

    def bot_member(self, guild: m.Guild) -> m.Member:
        return guild.members[self.bot_user.id]

    def require_guild(self, guild: m.Guild, *perms: int) -> None:
        have = base_permissions(guild, self.bot_member(guild))
        for perm in perms:
            if not have & perm:
                raise missing_permissions()

    def require_channel(self, channel: m.Channel, *perms: int) -> None:
        guild = self.guild(channel.guild_id)
        have = channel_permissions(guild, self.bot_member(guild), channel)
        if not have & m.VIEW_CHANNEL:
            raise missing_access()
        for perm in perms:
            if not have & perm:
                raise missing_permissions()

    def require_role_control(self, guild: m.Guild, role: m.Role) -> None:
        self.require_guild(guild, m.MANAGE_ROLES)
        if role.managed or role.id == guild.id:
            raise ApiError(400, 50028, "Invalid Role")
        if highest_position(guild, self.bot_member(guild)) <= role.position:
            raise missing_permissions()

    # -- world changes (also used by the test API) --------------------------------------------

    def dispatch(self, event: str, data: Any) -> None:
        self.gateway.dispatch(event, data)

    def create_user(self, name: str, *, bot: bool = False, locale: str = "en-US",
                    dms_open: bool = True) -> m.User:
        user = m.User(self.ids.next(), name, bot=bot, locale=locale, dms_open=dms_open)
        self.users[user.id] = user
        return user

    def create_guild(self, name: str = "Familia Test", *, owner: m.User | None = None,
                     locale: str = "en-US", bot_permissions: int = m.BOT_DEFAULT) -> m.Guild:
        """A guild with @everyone, the bot (with its managed role) and a #general channel."""
        owner = owner or self.owner
        guild = m.Guild(self.ids.next(), name, owner.id, locale)
        guild.roles[guild.id] = m.Role(guild.id, guild.id, "@everyone", m.EVERYONE_DEFAULT, 0)
        self.guilds[guild.id] = guild
        bot_role = m.Role(self.ids.next(), guild.id, self.bot_user.name, bot_permissions,
                          position=100, managed=True)
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = m.Member(owner, guild.id)
        guild.members[self.bot_user.id] = m.Member(self.bot_user, guild.id, [bot_role.id])
        self.create_channel(guild, "general", dispatch_event=None)
        self.dispatch("GUILD_CREATE", guild.create_payload())
        return guild

    def bot_role(self, guild: m.Guild) -> m.Role:
        return next(r for r in guild.roles.values() if r.managed)

    def set_bot_permissions(self, guild: m.Guild, permissions: int) -> None:
        role = self.bot_role(guild)
        role.permissions = permissions
        self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.payload()})

    def add_member(self, guild: m.Guild, user: m.User, roles: list[m.Role] | None = None,
                   *, dispatch: bool = True) -> m.Member:
        member = m.Member(user, guild.id, [r.id for r in roles or []])
        guild.members[user.id] = member
        if dispatch:
            self.dispatch("GUILD_MEMBER_ADD", member.payload() | {"guild_id": str(guild.id)})
        return member

    def remove_member(self, guild: m.Guild, user: m.User) -> None:
        guild.members.pop(user.id, None)
        self.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": str(guild.id), "user": user.payload()})

    def member_updated(self, guild: m.Guild, member: m.Member) -> None:
        self.dispatch("GUILD_MEMBER_UPDATE", member.payload() | {"guild_id": str(guild.id)})

    def create_role(self, guild: m.Guild, name: str, *, permissions: int = 0,
                    position: int | None = None, mentionable: bool = False, color: int = 0
                    ) -> m.Role:
        if position is None:
            position = max((r.position for r in guild.roles.values() if not r.managed),
                           default=0) + 1
        role = m.Role(self.ids.next(), guild.id, name, permissions, position,
                      mentionable=mentionable, color=color)
        guild.roles[role.id] = role
        self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()})
        return role

    def delete_role(self, guild: m.Guild, role: m.Role) -> None:
        guild.roles.pop(role.id, None)
        for member in guild.members.values():
            if role.id in member.roles:
                member.roles.remove(role.id)
        for channel in guild.channels.values():
            channel.overwrites.pop(role.id, None)
        self.dispatch("GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role.id)})

    def create_channel(self, guild: m.Guild, name: str, *, type: int = m.TEXT,
                       parent: int | None = None, overwrites: list[m.Overwrite] | None = None,
                       topic: str | None = None, dispatch_event: str | None = "CHANNEL_CREATE"
                       ) -> m.Channel:
        if type == m.TEXT:  # Discord lowercases text channel names and hyphenates spaces
            name = "-".join(name.lower().split())
        channel = m.Channel(self.ids.next(), type, name, guild.id, len(guild.channels), parent,
                            {o.id: o for o in overwrites or []}, topic=topic)
        guild.channels[channel.id] = channel
        self._channels[channel.id] = channel
        if dispatch_event:
            data = channel.payload()
            if dispatch_event == "THREAD_CREATE":
                data["newly_created"] = True
            self.dispatch(dispatch_event, data)
        return channel

    def delete_channel(self, channel: m.Channel) -> None:
        guild = self.guild(channel.guild_id)
        guild.channels.pop(channel.id, None)
        self._channels.pop(channel.id, None)
        self.dispatch("CHANNEL_DELETE", channel.payload())

    def dm_channel(self, user: m.User) -> m.Channel:
        channel = self._dm_by_user.get(user.id)
        if channel is None:
            channel = m.Channel(self.ids.next(), m.DM, recipient=user)
            self._dm_by_user[user.id] = channel
            self._channels[channel.id] = channel
        return channel

    def close_dms(self, user: m.User) -> None:
        user.dms_open = False

    def payload(self, message: m.Message) -> dict[str, Any]:
        return message.payload(self.base_url)

    def add_message(self, channel: m.Channel, author: m.User, payload: dict[str, Any],
                    files: list[m.Attachment], *, flags: int = 0, dispatch: bool = True,
                    webhook: bool = False) -> m.Message:
        content = payload.get("content") or ""
        message = m.Message(
            self.ids.next(), channel.id, author, content, list(payload.get("embeds") or []),
            list(payload.get("components") or []), files,
            flags | int(payload.get("flags") or 0), channel.guild_id,
            mention_everyone="@everyone" in content and self._may_ping_everyone(payload),
            webhook_id=self.application_id if webhook else None,
        )
        self._messages[message.id] = message
        if not message.ephemeral:
            self._by_channel.setdefault(channel.id, []).append(message)
            if dispatch:
                self.dispatch("MESSAGE_CREATE", self.payload(message))
        return message

    @staticmethod
    def _may_ping_everyone(payload: dict[str, Any]) -> bool:
        allowed = payload.get("allowed_mentions")
        return allowed is None or "everyone" in (allowed.get("parse") or [])

    def edit_message(self, message: m.Message, payload: dict[str, Any],
                     files: list[m.Attachment]) -> None:
        if "content" in payload:
            message.content = payload["content"] or ""
        if "embeds" in payload:
            message.embeds = list(payload["embeds"] or [])
        if "components" in payload:
            message.components = list(payload["components"] or [])
        if files or "attachments" in payload:
            keep = {int(a["id"]) for a in payload.get("attachments") or [] if "id" in a
                    and str(a["id"]).isdigit() and int(a["id"]) > 100}
            message.attachments = [a for a in message.attachments if a.id in keep] + files
        message.edited = m.iso_now()
        if not message.ephemeral:
            self.dispatch("MESSAGE_UPDATE", self.payload(message))

    def delete_message(self, message: m.Message) -> None:
        message.deleted = True
        listed = self._by_channel.get(message.channel_id, [])
        if message in listed:
            listed.remove(message)
        self.dispatch("MESSAGE_DELETE", {"id": str(message.id),
                                         "channel_id": str(message.channel_id),
                                         "guild_id": str(message.guild_id)
                                         if message.guild_id else None})

    # -- application commands ------------------------------------------------------------------

    def sync_commands(self, guild_id: int | None, payload: list[dict[str, Any]]
                      ) -> list[dict[str, Any]]:
        old = self.commands.get(guild_id, {})
        synced = {}
        for command in payload:
            stored = dict(command)
            stored["id"] = old.get(command["name"], {}).get("id") or str(self.ids.next())
            stored["application_id"] = str(self.application_id)
            stored["version"] = str(self.ids.next())
            stored.setdefault("type", 1)
            stored.setdefault("options", [])
            if guild_id is not None:
                stored["guild_id"] = str(guild_id)
            synced[command["name"]] = stored
        self.commands[guild_id] = synced
        return list(synced.values())

    def synced_commands(self, guild: m.Guild | None = None) -> dict[str, dict[str, Any]]:
        return self.commands.get(guild.id if guild else None, {})

    # -- interaction responses -----------------------------------------------------------------

    def _interaction(self, iid: int, token: str) -> Interaction:
        record = self._interactions.get(iid)
        if record is None or record.token != token:
            raise unknown("interaction", 10062)
        return record

    def interaction_callback(self, iid: int, token: str, payload: dict[str, Any],
                             files: list[m.Attachment]) -> tuple[Any, int]:
        record = self._interaction(iid, token)
        if record.responded:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - record.created > self.interaction_timeout:
            raise unknown("interaction", 10062)
        kind = int(payload["type"])
        data = payload.get("data") or {}
        channel = self._channels.get(record.channel_id)
        message = None
        if kind == 4:
            message = self._interaction_message(record, channel, data, files)
            record.original = message
        elif kind == 5:
            message = self._interaction_message(record, channel, {"flags": data.get("flags")},
                                                [], allow_empty=True)
            record.original = message
            record.loading = True
        elif kind == 7:
            target = self._component_message(record)
            if target is not None:
                self.edit_message(target, data, files)
                message = target
        elif kind == 8:
            record.choices = list(data.get("choices") or [])
        elif kind == 9:
            record.modal = data
        record.response_type = kind
        record.touch()
        body: dict[str, Any] = {
            "interaction": {
                "id": str(record.id), "type": record.type,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": {"type": kind},
        }
        if message is not None:
            body["resource"]["message"] = self.payload(message)
        return body, 200

    def _interaction_message(self, record: Interaction, channel: m.Channel | None,
                             data: dict[str, Any], files: list[m.Attachment],
                             allow_empty: bool = False) -> m.Message:
        if not allow_empty:
            from emulator.http import validate_message

            validate_message(data, files)
        target = channel or self.dm_channel(record.user)
        return self.add_message(target, self.bot_user, data, files, webhook=True)

    def _component_message(self, record: Interaction) -> m.Message | None:
        return getattr(record, "source_message", None)

    def interaction_followup(self, token: str, payload: dict[str, Any],
                             files: list[m.Attachment]) -> tuple[Any, int]:
        record = self._by_token.get(token)
        if record is None:
            raise unknown("Webhook", 10015)
        if record.loading and record.original is not None:
            # The first follow-up after a defer replaces the "thinking" message.
            from emulator.http import validate_message

            validate_message(payload, files)
            self.edit_message(record.original, payload, files)
            record.loading = False
            record.touch()
            return self.payload(record.original), 200
        channel = self._channels.get(record.channel_id)
        from emulator.http import validate_message

        validate_message(payload, files)
        message = self.add_message(channel or self.dm_channel(record.user), self.bot_user,
                                   payload, files, webhook=True)
        record.followups.append(message)
        record.touch()
        return self.payload(message), 200

    def interaction_message(self, token: str, mid: str) -> m.Message:
        record = self._by_token.get(token)
        if record is None:
            raise unknown("Webhook", 10015)
        if mid == "@original":
            if record.original is None:
                raise unknown("Message", 10008)
            record.loading = False
            record.touch()
            return record.original
        for message in record.messages:
            if message.id == int(mid):
                record.touch()
                return message
        raise unknown("Message", 10008)

    # -- acting as users (the test API) --------------------------------------------------------

    def _start(self, kind: int, user: m.User, guild: m.Guild, channel: m.Channel,
               data: dict[str, Any], *, locale: str | None = None,
               message: m.Message | None = None) -> Interaction:
        member = self.member(guild, user.id)
        record = Interaction(self, self.ids.next(), secrets.token_urlsafe(32), kind, user,
                             guild.id, channel.id)
        record.source_message = message  # type: ignore[attr-defined]
        self._interactions[record.id] = record
        self._by_token[record.token] = record
        bot_perms = channel_permissions(guild, self.bot_member(guild), channel)
        payload: dict[str, Any] = {
            "id": str(record.id), "application_id": str(self.application_id), "type": kind,
            "token": record.token, "version": 1, "attachment_size_limit": 25 * 1024 * 1024,
            "data": data, "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": guild.locale, "features": []},
            "channel": channel.payload() | {"permissions": str(
                channel_permissions(guild, member, channel))},
            "channel_id": str(channel.id),
            "member": member.payload() | {"permissions": str(
                channel_permissions(guild, member, channel))},
            "locale": locale or user.locale, "guild_locale": guild.locale,
            "app_permissions": str(bot_perms), "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)}, "context": 0,
        }
        if message is not None:
            payload["message"] = self.payload(message)
        self.dispatch("INTERACTION_CREATE", payload)
        return record

    def _default_channel(self, guild: m.Guild) -> m.Channel:
        return next(c for c in guild.channels.values() if c.name == "general")

    def _command(self, guild: m.Guild, name: str) -> dict[str, Any]:
        command = self.commands.get(guild.id, {}).get(name) or self.commands.get(None, {}).get(
            name)
        if command is None:
            raise AssertionError(f"/{name} was not synced by the bot")
        return command

    def _options(self, guild: m.Guild, definitions: list[dict[str, Any]],
                 values: dict[str, Any], focused: str | None, resolved: dict[str, Any]
                 ) -> list[dict[str, Any]]:
        by_name = {d["name"]: d for d in definitions}
        out = []
        for name, value in values.items():
            if name not in by_name:
                raise AssertionError(f"no option {name!r}; options are {sorted(by_name)}")
            kind = by_name[name]["type"]
            out.append({"name": name, "type": kind,
                        "value": self._option_value(guild, kind, value, resolved)})
            if name == focused:
                out[-1]["focused"] = True
        return out

    def _option_value(self, guild: m.Guild, kind: int, value: Any, resolved: dict[str, Any]
                      ) -> Any:
        if kind == 6:  # user
            user = value if isinstance(value, m.User) else self.user(int(value))
            resolved.setdefault("users", {})[str(user.id)] = user.payload()
            if user.id in guild.members:
                resolved.setdefault("members", {})[str(user.id)] = guild.members[
                    user.id].payload(with_user=False)
            return str(user.id)
        if kind == 7:  # channel
            channel = value if isinstance(value, m.Channel) else self.channel(int(value))
            resolved.setdefault("channels", {})[str(channel.id)] = channel.payload() | {
                "permissions": str(m.ALL_PERMISSIONS)}
            return str(channel.id)
        if kind == 8:  # role
            role = value if isinstance(value, m.Role) else guild.roles[int(value)]
            resolved.setdefault("roles", {})[str(role.id)] = role.payload()
            return str(role.id)
        return value

    def _command_data(self, guild: m.Guild, name: str, options: dict[str, Any] | None,
                      subcommand: str | list[str] | None, focused: str | None
                      ) -> dict[str, Any]:
        command = self._command(guild, name)
        path = [subcommand] if isinstance(subcommand, str) else list(subcommand or [])
        resolved: dict[str, Any] = {}
        definitions = command.get("options", [])
        chain: list[dict[str, Any]] = []
        for part in path:
            node = next((o for o in definitions if o["name"] == part and o["type"] in (1, 2)),
                        None)
            if node is None:
                raise AssertionError(f"/{name} has no subcommand {part!r}")
            chain.append(node)
            definitions = node.get("options", [])
        leaf = self._options(guild, definitions, options or {}, focused, resolved)
        for node in reversed(chain):
            leaf = [{"name": node["name"], "type": node["type"], "options": leaf}]
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": leaf}
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return data

    async def run_command(self, guild: m.Guild, user: m.User, name: str,
                          options: dict[str, Any] | None = None, *,
                          subcommand: str | list[str] | None = None,
                          channel: m.Channel | None = None, locale: str | None = None
                          ) -> Interaction:
        """Run ``/name [subcommand…] options`` as ``user``; returns the interaction handle."""
        data = self._command_data(guild, name, options, subcommand, None)
        return self._start(2, user, guild, channel or self._default_channel(guild), data,
                           locale=locale)

    async def autocomplete(self, guild: m.Guild, user: m.User, name: str, focused: str,
                           value: str, options: dict[str, Any] | None = None, *,
                           subcommand: str | list[str] | None = None, locale: str | None = None,
                           timeout: float = 5.0) -> list[dict[str, Any]]:
        """Type into an autocompleted option; returns the choices the bot offered."""
        values = dict(options or {})
        values[focused] = value
        data = self._command_data(guild, name, values, subcommand, focused)
        record = self._start(4, user, guild, self._default_channel(guild), data, locale=locale)
        await record.wait_response(timeout)
        return record.choices or []

    def _component(self, message: m.Message, custom_id: str) -> dict[str, Any]:
        def walk(items: list[dict[str, Any]]):
            for item in items:
                if item.get("custom_id") == custom_id:
                    return item
                found = walk(item.get("components", []) + (
                    [item["component"]] if "component" in item else []))
                if found:
                    return found
            return None

        component = walk(message.components)
        if component is None:
            raise AssertionError(f"no component {custom_id!r}; message has {message.custom_ids}")
        if component.get("disabled"):
            raise AssertionError(f"component {custom_id!r} is disabled")
        return component

    async def click(self, user: m.User, message: m.Message, custom_id: str, *,
                    locale: str | None = None) -> Interaction:
        component = self._component(message, custom_id)
        guild = self.guild(message.guild_id or self._guild_of_user(user))
        channel = self._channels.get(message.channel_id) or self._default_channel(guild)
        data = {"custom_id": custom_id, "component_type": component.get("type", 2)}
        return self._start(3, user, guild, channel, data, locale=locale, message=message)

    async def select(self, user: m.User, message: m.Message, custom_id: str,
                     values: list[str], *, locale: str | None = None) -> Interaction:
        component = self._component(message, custom_id)
        guild = self.guild(message.guild_id or self._guild_of_user(user))
        channel = self._channels.get(message.channel_id) or self._default_channel(guild)
        data = {"custom_id": custom_id, "component_type": component.get("type", 3),
                "values": list(values)}
        return self._start(3, user, guild, channel, data, locale=locale, message=message)

    async def submit_modal(self, source: Interaction, modal: dict[str, Any],
                           values: dict[str, str], *, user: m.User | None = None
                           ) -> Interaction:
        def fill(component: dict[str, Any]) -> dict[str, Any]:
            if component.get("type") == 4:
                return {"type": 4, "custom_id": component["custom_id"],
                        "value": values.get(component["custom_id"], "")}
            if component.get("type") == 18:  # label wrapping one input
                return {"type": 18, "component": fill(component["component"])}
            return {"type": component.get("type", 1),
                    "components": [fill(c) for c in component.get("components", [])]}

        unknown_fields = set(values) - {
            c["custom_id"] for row in modal.get("components", [])
            for c in row.get("components", []) + ([row["component"]] if "component" in row
                                                  else [])
            if "custom_id" in c
        }
        if unknown_fields:
            raise AssertionError(f"modal has no fields {sorted(unknown_fields)}")
        data = {"custom_id": modal["custom_id"],
                "components": [fill(c) for c in modal.get("components", [])]}
        guild = self.guild(source.guild_id)
        channel = self._channels.get(source.channel_id) or self._default_channel(guild)
        return self._start(5, user or source.user, guild, channel, data)

    def _guild_of_user(self, user: m.User) -> int:
        for guild in self.guilds.values():
            if user.id in guild.members:
                return guild.id
        raise AssertionError(f"{user.name} is in no guild")

    def send_message(self, channel: m.Channel, user: m.User, content: str) -> m.Message:
        """A user posts in a channel (MESSAGE_CREATE is dispatched)."""
        return self.add_message(channel, user, {"content": content}, [])

    # -- reading what the bot did --------------------------------------------------------------

    def messages(self, channel: m.Channel | int) -> list[m.Message]:
        cid = channel if isinstance(channel, int) else channel.id
        return [x for x in self._by_channel.get(cid, []) if not x.deleted]

    def dms(self, user: m.User) -> list[m.Message]:
        channel = self._dm_by_user.get(user.id)
        return self.messages(channel) if channel else []

    def channel_by_name(self, guild: m.Guild, name: str) -> m.Channel | None:
        return next((c for c in guild.channels.values() if c.name == name), None)

    def role_by_name(self, guild: m.Guild, name: str) -> m.Role | None:
        return next((r for r in guild.roles.values() if r.name == name), None)

    def member_roles(self, guild: m.Guild, user: m.User) -> list[m.Role]:
        member = guild.members.get(user.id)
        return [guild.roles[r] for r in member.roles if r in guild.roles] if member else []

    def can_view(self, guild: m.Guild, user: m.User, channel: m.Channel) -> bool:
        member = self.member(guild, user.id)
        return bool(channel_permissions(guild, member, channel) & m.VIEW_CHANNEL)

    async def wait_for(self, predicate, timeout: float = 5.0, what: str = "condition"):
        """Poll ``predicate`` until it returns something truthy; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.01)

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Wait until a bot session has identified."""
        await self.wait_for(lambda: any(s.ready.is_set() for s in self.gateway.sessions.values()),
                            timeout, "the bot to identify")

