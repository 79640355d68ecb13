"""The test API: act as Discord users (slash commands, autocomplete, buttons, selects, modals,
messages) and read back what the bot did. Part of :class:`emulator.server.Emulator`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

from emulator import models as m
from emulator.interactions import Interaction, Responses
from emulator.permissions import base_permissions, channel_permissions

OPTION_TYPES = {"subcommand": 1, "group": 2, "string": 3, "integer": 4, "boolean": 5, "user": 6,
                "channel": 7, "role": 8, "mentionable": 9, "number": 10, "attachment": 11}


class Actions(Responses):
    """Acting as users and reading the world (mixin of the emulator)."""

    # -- interactions ------------------------------------------------------------------------

    def _start(self, kind: int, user: m.User, guild: m.Guild | None, channel: m.Channel,
               data: dict[str, Any], *, locale: str | None = None,
               message: m.Message | None = None, app: m.Application | None = None
               ) -> Interaction:
        """Create an interaction and dispatch INTERACTION_CREATE to the bot."""
        app = app or self.app
        record = Interaction(self, self.ids.next(),  # type: ignore[arg-type]
                             secrets.token_urlsafe(48), kind, user,
                             guild.id if guild else None, channel.id, app=app,
                             source_message=message, data=data)
        self._interactions[record.id] = record
        self._by_token[record.token] = record
        payload: dict[str, Any] = {
            "id": str(record.id), "application_id": str(app.id), "type": kind,
            "token": record.token, "version": 1, "attachment_size_limit": 25 * 1024 * 1024,
            "data": data, "channel_id": str(channel.id), "locale": locale or user.locale,
            "entitlements": [], "entitlement_sku_ids": [],
        }
        if guild is not None:
            member = self.member(guild, user.id)
            perms = channel_permissions(guild, member, channel)
            bot_perms = channel_permissions(guild, self.bot_member(guild, app), channel)
            payload.update({
                "guild_id": str(guild.id),
                "guild": {"id": str(guild.id), "locale": guild.locale, "features": []},
                "channel": channel.payload() | {"permissions": str(perms)},
                "member": member.payload() | {"permissions": str(perms)},
                "guild_locale": guild.locale, "app_permissions": str(bot_perms),
                "authorizing_integration_owners": {"0": str(guild.id)}, "context": 0,
            })
        else:
            payload.update({
                "user": user.payload(), "channel": channel.payload(),
                "app_permissions": str(m.EVERYONE_DEFAULT),
                "authorizing_integration_owners": {"0": str(app.owner.id)}, "context": 1,
            })
        if message is not None:
            payload["message"] = self.payload(message)
        self.dispatch("INTERACTION_CREATE", payload, app=app)
        return record

    def default_channel(self, guild: m.Guild) -> m.Channel:
        """#general (or the first text channel)."""
        return (self.channel_by_name(guild, "general")
                or next(c for c in guild.channels.values() if c.type == m.TEXT))

    def _command(self, app: m.Application, guild: m.Guild | None, name: str) -> dict[str, Any]:
        scoped = app.commands.get(guild.id, {}) if guild else {}
        command = scoped.get(name) or app.commands.get(None, {}).get(name)
        if command is None:
            synced = sorted(set(scoped) | set(app.commands.get(None, {})))
            raise AssertionError(f"/{name} was not synced by the bot (synced: {synced})")
        return command

    def _options(self, guild: m.Guild | None, definitions: list[dict[str, Any]],
                 values: dict[str, Any], focused: str | None, resolved: dict[str, Any]
                 ) -> list[dict[str, Any]]:
        by_name = {d["name"]: d for d in definitions}
        out = []
        for name, value in values.items():
            if name not in by_name:
                raise AssertionError(f"no option {name!r}; options are {sorted(by_name)}")
            kind = by_name[name]["type"]
            item: dict[str, Any] = {"name": name, "type": kind}
            item["value"] = (str(value) if name == focused
                             else self._option_value(guild, kind, value, resolved))
            if name == focused:
                item["focused"] = True
            out.append(item)
        missing = [d["name"] for d in definitions if d.get("required") and d["name"] not in values
                   and d["type"] not in (1, 2)]
        if missing and focused is None:
            raise AssertionError(f"required option(s) {missing} not given")
        return out

    def _option_value(self, guild: m.Guild | None, kind: int, value: Any,
                      resolved: dict[str, Any]) -> Any:
        if kind == 9:  # mentionable: a user or a role
            kind = 8 if isinstance(value, m.Role) or (
                guild is not None and not isinstance(value, m.User)
                and int(value) in guild.roles) else 6
        if kind == 6:  # user (and member when in the guild)
            user = value if isinstance(value, m.User) else self.user(int(value))
            resolved.setdefault("users", {})[str(user.id)] = user.payload()
            if guild is not None and user.id in guild.members:
                member = guild.members[user.id]
                resolved.setdefault("members", {})[str(user.id)] = member.payload(
                    with_user=False) | {"permissions": str(base_permissions(guild, member))}
            return str(user.id)
        if kind == 7:  # channel
            channel = value if isinstance(value, m.Channel) else self.channel(int(value))
            resolved.setdefault("channels", {})[str(channel.id)] = channel.payload() | {
                "permissions": str(m.ALL_PERMISSIONS)}
            return str(channel.id)
        if kind == 8:  # role
            assert guild is not None, "role options need a guild"
            role = value if isinstance(value, m.Role) else guild.roles[int(value)]
            resolved.setdefault("roles", {})[str(role.id)] = role.payload()
            return str(role.id)
        if kind == 11:  # attachment: (filename, bytes) or (filename, bytes, content type)
            filename, blob, *rest = value
            attachment = m.Attachment(self.ids.next(), filename, bytes(blob),
                                      rest[0] if rest else None)
            self._uploads[attachment.id] = attachment
            resolved.setdefault("attachments", {})[str(attachment.id)] = attachment.payload(
                self.base_url)
            return str(attachment.id)
        if kind == 4 and not isinstance(value, int):
            raise AssertionError(f"integer option got {value!r}")
        return value

    def _command_data(self, app: m.Application, guild: m.Guild | None, name: str,
                      options: dict[str, Any] | None, subcommand: str | list[str] | None,
                      focused: str | None) -> dict[str, Any]:
        if subcommand is None and " " in name:
            name, *path = name.split()
        else:
            path = [subcommand] if isinstance(subcommand, str) else list(subcommand or [])
        command = self._command(app, guild, name)
        resolved: dict[str, Any] = {}
        definitions = command.get("options") or []
        chain: list[dict[str, Any]] = []
        for part in path:
            node = next((o for o in definitions if o["name"] == part and o["type"] in (1, 2)),
                        None)
            if node is None:
                names = [o["name"] for o in definitions if o["type"] in (1, 2)]
                raise AssertionError(f"/{name} has no subcommand {part!r} (has {names})")
            chain.append(node)
            definitions = node.get("options") or []
        if any(o["type"] in (1, 2) for o in definitions):
            raise AssertionError(f"/{name} {' '.join(path)} needs a subcommand")
        leaf = self._options(guild, definitions, options or {}, focused, resolved)
        for node in reversed(chain):
            leaf = [{"name": node["name"], "type": node["type"], "options": leaf}]
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": leaf}
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return data

    async def run_command(self, guild: m.Guild | None, user: m.User, name: str,
                          options: dict[str, Any] | None = None, *,
                          subcommand: str | list[str] | None = None,
                          channel: m.Channel | None = None, locale: str | None = None,
                          app: m.Application | None = None) -> Interaction:
        """Run ``/name [subcommand…] options`` as ``user`` (``name`` may be ``"family join"``);
        ``guild=None`` runs it in the user's DM with the bot. Returns the interaction handle."""
        app = app or self.app
        data = self._command_data(app, guild, name, options, subcommand, None)
        where = channel or (self.default_channel(guild) if guild else self.dm_channel(user, app))
        return self._start(2, user, guild, where, data, locale=locale, app=app)

    async def autocomplete(self, guild: m.Guild | None, user: m.User, name: str, focused: str,
                           value: str, options: dict[str, Any] | None = None, *,
                           subcommand: str | list[str] | None = None, locale: str | None = None,
                           timeout: float = 5.0, app: m.Application | None = None
                           ) -> list[dict[str, Any]]:
        """Type ``value`` into the autocompleted option ``focused``; returns the choices."""
        app = app or self.app
        values = dict(options or {})
        values[focused] = value
        data = self._command_data(app, guild, name, values, subcommand, focused)
        where = self.default_channel(guild) if guild else self.dm_channel(user, app)
        record = self._start(4, user, guild, where, data, locale=locale, app=app)
        await record.wait_response(timeout)
        return record.choices or []

    def _component(self, message: m.Message, custom_id: str) -> dict[str, Any]:
        def walk(items: list[dict[str, Any]]) -> dict[str, Any] | None:
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

    def _message_place(self, user: m.User, message: m.Message
                       ) -> tuple[m.Guild | None, m.Channel]:
        channel = self.channel(message.channel_id)
        guild = self.guilds.get(message.guild_id) if message.guild_id else None
        return guild, channel

    def _app_of_message(self, message: m.Message) -> m.Application:
        return next((a for a in self.apps.values() if a.bot.id == message.author.id), self.app)

    async def click(self, user: m.User, message: m.Message, custom_id: str, *,
                    locale: str | None = None) -> Interaction:
        """``user`` presses the button ``custom_id`` on ``message``."""
        component = self._component(message, custom_id)
        if component.get("type", 2) != 2:
            raise AssertionError(f"{custom_id!r} is not a button; use select()")
        if component.get("style") == 5:
            raise AssertionError(f"{custom_id!r} is a link button")
        guild, channel = self._message_place(user, message)
        data = {"custom_id": custom_id, "component_type": 2}
        return self._start(3, user, guild, channel, data, locale=locale, message=message,
                           app=self._app_of_message(message))

    async def select(self, user: m.User, message: m.Message, custom_id: str,
                     values: list[Any], *, locale: str | None = None) -> Interaction:
        """``user`` picks ``values`` in the select menu ``custom_id`` (user/role/channel
        selects take User/Role/Channel objects or ids and get ``resolved``)."""
        component = self._component(message, custom_id)
        kind = component.get("type", 3)
        low, high = component.get("min_values", 1), component.get("max_values", 1)
        if not low <= len(values) <= high:
            raise AssertionError(f"select {custom_id!r} takes {low}..{high} values")
        guild, channel = self._message_place(user, message)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": kind}
        if kind == 3:
            allowed = {o["value"] for o in component.get("options", [])}
            if set(values) - allowed:
                raise AssertionError(f"select {custom_id!r} has no options "
                                     f"{sorted(set(values) - allowed)}")
            data["values"] = [str(v) for v in values]
        else:  # 5 user, 6 role, 7 mentionable, 8 channel
            option_kind = {5: 6, 6: 8, 7: 9, 8: 7}[kind]
            resolved: dict[str, Any] = {}
            data["values"] = [self._option_value(guild, option_kind, v, resolved)
                              for v in values]
            data["resolved"] = resolved
        return self._start(3, user, guild, channel, data, locale=locale, message=message,
                           app=self._app_of_message(message))

    async def submit_modal(self, source: Interaction | m.User,
                           custom_id: str | dict[str, str] | None = None,
                           values: dict[str, str] | None = None, *,
                           modal: dict[str, Any] | None = None, user: m.User | None = None,
                           guild: m.Guild | None = None, channel: m.Channel | None = None,
                           locale: str | None = None) -> Interaction:
        """Submit a modal: ``submit_modal(interaction, {field: value})`` fills the modal the
        bot opened on ``interaction`` (checking the fields exist); ``submit_modal(user,
        "custom_id", {field: value}, guild=…)`` submits an arbitrary one."""
        if isinstance(custom_id, dict):
            custom_id, values = None, custom_id
        values = values or {}
        message = None
        if isinstance(source, Interaction):
            modal = modal or await source.wait_modal()
            user = user or source.user
            # a modal opened from a button carries that button's message (Discord sends it,
            # and the answer may update it: type 7)
            message = source.source_message if source.type == 3 else None
            guild = guild or (self.guilds.get(source.guild_id) if source.guild_id else None)
            channel = channel or self.channel(source.channel_id)
            app = source.app or self.app
        else:
            user = source
            if guild is None and channel is None:
                guild = self.guild(self._guild_of_user(user))
            app = self.app
            if custom_id is None:
                raise AssertionError("submit_modal(user, …) needs the modal's custom_id")
            modal = modal or {"custom_id": custom_id, "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": k}]} for k in values]}
        fields = _modal_fields(modal)
        unknown_fields = set(values) - set(fields)
        if unknown_fields:
            raise AssertionError(f"modal has no fields {sorted(unknown_fields)} (has {fields})")

        def fill(component: dict[str, Any]) -> dict[str, Any]:
            if component.get("type") == 4:
                return {"type": 4, "custom_id": component["custom_id"],
                        "value": values.get(component["custom_id"], "")}
            if component.get("type") == 18:  # label wrapping one input
                return {"type": 18, "component": fill(component["component"])}
            return {"type": component.get("type", 1),
                    "components": [fill(c) for c in component.get("components", [])]}

        data = {"custom_id": custom_id or modal["custom_id"],
                "components": [fill(c) for c in modal.get("components", [])]}
        where = channel or (self.default_channel(guild) if guild else self.dm_channel(user, app))
        return self._start(5, user, guild, where, data, locale=locale, app=app,
                           message=message)

    def _guild_of_user(self, user: m.User) -> int:
        for guild in self.guilds.values():
            if user.id in guild.members:
                return guild.id
        raise AssertionError(f"{user.name} is in no guild")

    def send_message(self, channel: m.Channel, user: m.User, content: str = "", *,
                     embeds: list[dict[str, Any]] | None = None,
                     files: list[tuple[str, bytes]] | None = None) -> m.Message:
        """``user`` posts in a channel or DM (MESSAGE_CREATE is dispatched)."""
        if channel.guild_id is not None:
            self.member(self.guild(channel.guild_id), user.id)
        attachments = [m.Attachment(self.ids.next(), name, data) for name, data in files or []]
        return self.add_message(channel, user, {"content": content, "embeds": embeds or []},
                                attachments)

    def send_dm(self, user: m.User, content: str, app: m.Application | None = None
                ) -> m.Message:
        """``user`` writes to the bot in DM."""
        return self.send_message(self.dm_channel(user, app), user, content)

    # -- reading what the bot did --------------------------------------------------------------

    def messages(self, channel: m.Channel | int) -> list[m.Message]:
        """Visible messages in a channel, oldest first (ephemeral ones are not listed)."""
        cid = channel if isinstance(channel, int) else channel.id
        return [x for x in self._by_channel.get(cid, []) if not x.deleted]

    def dms(self, user: m.User, app: m.Application | None = None) -> list[m.Message]:
        """Messages the bot sent to ``user`` in DM."""
        channel = self._dms.get(((app or self.app).bot.id, user.id))
        if channel is None:
            return []
        return [x for x in self.messages(channel) if x.author.id != user.id]

    def interactions(self, user: m.User | None = None) -> list[Interaction]:
        """Interactions started so far (by ``user``), oldest first."""
        return [i for i in self._interactions.values() if user is None or i.user is user]

    def channels(self, guild: m.Guild, type: int | None = None) -> list[m.Channel]:
        """The guild's channels (and threads), in creation order."""
        return [c for c in guild.channels.values() if type is None or c.type == type]

    def channel_by_name(self, guild: m.Guild, name: str) -> m.Channel | None:
        return next((c for c in guild.channels.values() if c.name == name), None)

    def role_by_name(self, guild: m.Guild, name: str) -> m.Role | None:
        return next((r for r in guild.roles.values() if r.name == name), None)

    def member_roles(self, guild: m.Guild, user: m.User) -> list[m.Role]:
        member = guild.members.get(user.id)
        return [guild.roles[r] for r in member.roles if r in guild.roles] if member else []

    def overwrites(self, channel: m.Channel) -> dict[int, m.Overwrite]:
        """``{role or user id: Overwrite}`` of a channel."""
        return dict(channel.overwrites)

    def permissions(self, guild: m.Guild, user: m.User, channel: m.Channel | None = None
                    ) -> int:
        """What ``user`` may do in ``guild`` (or in ``channel``), as Discord computes it."""
        member = self.member(guild, user.id)
        if channel is None:
            return base_permissions(guild, member)
        return channel_permissions(guild, member, channel)

    def can_view(self, guild: m.Guild, user: m.User, channel: m.Channel) -> bool:
        return bool(self.permissions(guild, user, channel) & m.VIEW_CHANNEL)

    def synced_commands(self, guild: m.Guild | None = None, app: m.Application | None = None
                        ) -> dict[str, dict[str, Any]]:
        """``{name: command}`` the bot registered (globally, or for ``guild``)."""
        return (app or self.app).commands.get(guild.id if guild else None, {})

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0,
                       what: str = "condition") -> Any:
        """Poll ``predicate`` (sync or async) until truthy and return it; AssertionError
        with ``what`` on timeout."""
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

    async def wait_ready(self, timeout: float = 5.0, app: m.Application | None = None) -> None:
        """Wait until a bot session (of ``app``) has identified."""
        await self.wait_for(
            lambda: any(s.ready.is_set() for s in self.gateway.sessions.values()
                        if app is None or s.app is app), timeout, "the bot to identify")


def _modal_fields(modal: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if "custom_id" in item and item.get("type") != 1:
                found.append(item["custom_id"])
            walk(item.get("components", []) + ([item["component"]] if "component" in item
                                               else []))

    walk(modal.get("components", []))
    return found
