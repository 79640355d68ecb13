"""REST v10 routes discord.py uses. Each handler takes the emulator, the request and the
path's ids, and returns ``(json, status)``; :class:`ApiError` becomes Discord's error JSON."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator import models as m
from emulator.http import (
    ApiError,
    missing_access,
    missing_permissions,
    read_body,
    unknown,
    validate_message,
)
from emulator.permissions import base_permissions, channel_permissions, highest_position

if TYPE_CHECKING:
    from emulator.server import Emulator

Handler = Callable[..., Awaitable[tuple[Any, int]]]
ROUTES: list[tuple[str, re.Pattern[str], Handler, bool]] = []


def route(method: str, pattern: str, auth: bool = True):
    def register(func: Handler) -> Handler:
        ROUTES.append((method, re.compile("^" + pattern + "$"), func, auth))
        return func

    return register


def match(method: str, path: str) -> tuple[Handler, tuple[str, ...], bool] | None:
    for verb, pattern, handler, auth in ROUTES:
        if verb == method:
            found = pattern.match(path)
            if found:
                return handler, found.groups(), auth
    return None


# -- identity ------------------------------------------------------------------------------------

@route("GET", r"/users/@me")
async def me(emu: Emulator, request: web.Request) -> tuple[Any, int]:
    return emu.bot_user.payload() | {"verified": True, "mfa_enabled": False, "flags": 0}, 200


@route("GET", r"/users/(\d+)")
async def get_user(emu: Emulator, request: web.Request, uid: str) -> tuple[Any, int]:
    return emu.user(int(uid)).payload(), 200


@route("GET", r"/oauth2/applications/@me")
async def application(emu: Emulator, request: web.Request) -> tuple[Any, int]:
    return {
        "id": str(emu.application_id), "name": emu.bot_user.name, "description": "",
        "icon": None, "bot_public": True, "bot_require_code_grant": False,
        "owner": emu.owner.payload(), "verify_key": "0" * 64, "flags": 0, "team": None,
        "summary": "", "rpc_origins": [], "bot": emu.bot_user.payload(),
    }, 200


@route("GET", r"/gateway")
async def gateway(emu: Emulator, request: web.Request) -> tuple[Any, int]:
    return {"url": emu.gateway_url}, 200


@route("GET", r"/gateway/bot")
async def gateway_bot(emu: Emulator, request: web.Request) -> tuple[Any, int]:
    return {"url": emu.gateway_url, "shards": 1, "session_start_limit": {
        "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}}, 200


# -- application commands -----------------------------------------------------------------------

@route("PUT", r"/applications/(\d+)/commands")
async def sync_global(emu: Emulator, request: web.Request, app: str) -> tuple[Any, int]:
    return emu.sync_commands(None, await request.json()), 200


@route("GET", r"/applications/(\d+)/commands")
async def list_global(emu: Emulator, request: web.Request, app: str) -> tuple[Any, int]:
    return list(emu.commands.get(None, {}).values()), 200


@route("PUT", r"/applications/(\d+)/guilds/(\d+)/commands")
async def sync_guild(emu: Emulator, request: web.Request, app: str, gid: str) -> tuple[Any, int]:
    return emu.sync_commands(int(gid), await request.json()), 200


@route("GET", r"/applications/(\d+)/guilds/(\d+)/commands")
async def list_guild(emu: Emulator, request: web.Request, app: str, gid: str) -> tuple[Any, int]:
    return list(emu.commands.get(int(gid), {}).values()), 200


# -- interactions and webhooks (no Authorization header) ---------------------------------------

@route("POST", r"/interactions/(\d+)/([^/]+)/callback", auth=False)
async def callback(emu: Emulator, request: web.Request, iid: str, token: str) -> tuple[Any, int]:
    payload, files = await read_body(request, emu.ids.next)
    return emu.interaction_callback(int(iid), token, payload, files)


@route("POST", r"/webhooks/(\d+)/([^/]+)", auth=False)
async def followup(emu: Emulator, request: web.Request, app: str, token: str) -> tuple[Any, int]:
    payload, files = await read_body(request, emu.ids.next)
    return emu.interaction_followup(token, payload, files)


@route("GET", r"/webhooks/(\d+)/([^/]+)/messages/([^/]+)", auth=False)
async def webhook_get(emu: Emulator, request: web.Request, app: str, token: str, mid: str
                      ) -> tuple[Any, int]:
    return emu.payload(emu.interaction_message(token, mid)), 200


@route("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/([^/]+)", auth=False)
async def webhook_edit(emu: Emulator, request: web.Request, app: str, token: str, mid: str
                       ) -> tuple[Any, int]:
    payload, files = await read_body(request, emu.ids.next)
    message = emu.interaction_message(token, mid)
    emu.edit_message(message, payload, files)
    return emu.payload(message), 200


@route("DELETE", r"/webhooks/(\d+)/([^/]+)/messages/([^/]+)", auth=False)
async def webhook_delete(emu: Emulator, request: web.Request, app: str, token: str, mid: str
                         ) -> tuple[Any, int]:
    emu.delete_message(emu.interaction_message(token, mid))
    return None, 204


# -- messages ------------------------------------------------------------------------------------

@route("POST", r"/channels/(\d+)/messages")
async def post_message(emu: Emulator, request: web.Request, cid: str) -> tuple[Any, int]:
    channel = emu.channel(int(cid))
    payload, files = await read_body(request, emu.ids.next)
    validate_message(payload, files)
    if channel.type == m.DM:
        assert channel.recipient is not None
        if not channel.recipient.dms_open:
            raise ApiError(403, 50007, "Cannot send messages to this user")
    else:
        need = m.SEND_MESSAGES_IN_THREADS if channel.type == m.PRIVATE_THREAD else m.SEND_MESSAGES
        emu.require_channel(channel, m.VIEW_CHANNEL, need)
        if files:
            emu.require_channel(channel, m.ATTACH_FILES)
    message = emu.add_message(channel, emu.bot_user, payload, files)
    return emu.payload(message), 200


@route("GET", r"/channels/(\d+)/messages")
async def list_messages(emu: Emulator, request: web.Request, cid: str) -> tuple[Any, int]:
    channel = emu.channel(int(cid))
    if channel.type != m.DM:
        emu.require_channel(channel, m.VIEW_CHANNEL, m.READ_MESSAGE_HISTORY)
    limit = int(request.query.get("limit", 50))
    found = [x for x in emu.messages(channel.id)][-limit:]
    return [emu.payload(x) for x in reversed(found)], 200


@route("GET", r"/channels/(\d+)/messages/(\d+)")
async def get_message(emu: Emulator, request: web.Request, cid: str, mid: str
                      ) -> tuple[Any, int]:
    return emu.payload(emu.message(int(mid))), 200


@route("PATCH", r"/channels/(\d+)/messages/(\d+)")
async def edit_message(emu: Emulator, request: web.Request, cid: str, mid: str
                       ) -> tuple[Any, int]:
    message = emu.message(int(mid))
    if message.author.id != emu.bot_user.id:
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    payload, files = await read_body(request, emu.ids.next)
    emu.edit_message(message, payload, files)
    return emu.payload(message), 200


@route("DELETE", r"/channels/(\d+)/messages/(\d+)")
async def delete_message(emu: Emulator, request: web.Request, cid: str, mid: str
                         ) -> tuple[Any, int]:
    emu.delete_message(emu.message(int(mid)))
    return None, 204


@route("POST", r"/users/@me/channels")
async def open_dm(emu: Emulator, request: web.Request) -> tuple[Any, int]:
    data = await request.json()
    return emu.dm_channel(emu.user(int(data["recipient_id"]))).payload(), 200


# -- channels ------------------------------------------------------------------------------------

@route("GET", r"/guilds/(\d+)/channels")
async def list_channels(emu: Emulator, request: web.Request, gid: str) -> tuple[Any, int]:
    return [c.payload() for c in emu.guild(int(gid)).channels.values()], 200


@route("POST", r"/guilds/(\d+)/channels")
async def create_channel(emu: Emulator, request: web.Request, gid: str) -> tuple[Any, int]:
    guild = emu.guild(int(gid))
    emu.require_guild(guild, m.MANAGE_CHANNELS)
    data = await request.json()
    name = str(data.get("name") or "")
    if not 1 <= len(name) <= 100:
        raise ApiError(400, 50035, "Invalid Form Body")
    channel = emu.create_channel(
        guild, name, type=int(data.get("type") or 0),
        parent=int(data["parent_id"]) if data.get("parent_id") else None,
        overwrites=_overwrites(data.get("permission_overwrites")), topic=data.get("topic"),
    )
    return channel.payload(), 201


def _overwrites(raw: list[dict[str, Any]] | None) -> list[m.Overwrite]:
    return [m.Overwrite(int(o["id"]), int(o.get("type", 0)), int(o.get("allow") or 0),
                        int(o.get("deny") or 0)) for o in raw or []]


@route("GET", r"/channels/(\d+)")
async def get_channel(emu: Emulator, request: web.Request, cid: str) -> tuple[Any, int]:
    return emu.channel(int(cid)).payload(), 200


@route("PATCH", r"/channels/(\d+)")
async def edit_channel(emu: Emulator, request: web.Request, cid: str) -> tuple[Any, int]:
    channel = emu.channel(int(cid))
    emu.require_channel(channel, m.VIEW_CHANNEL, m.MANAGE_CHANNELS)
    data = await request.json()
    if "name" in data:
        channel.name = data["name"]
    if "topic" in data:
        channel.topic = data["topic"]
    if "parent_id" in data:
        channel.parent_id = int(data["parent_id"]) if data["parent_id"] else None
    if "position" in data and data["position"] is not None:
        channel.position = int(data["position"])
    if "permission_overwrites" in data:
        channel.overwrites = {o.id: o for o in _overwrites(data["permission_overwrites"])}
    emu.dispatch("CHANNEL_UPDATE", channel.payload())
    return channel.payload(), 200


@route("DELETE", r"/channels/(\d+)")
async def delete_channel(emu: Emulator, request: web.Request, cid: str) -> tuple[Any, int]:
    channel = emu.channel(int(cid))
    emu.require_channel(channel, m.VIEW_CHANNEL, m.MANAGE_CHANNELS)
    emu.delete_channel(channel)
    return channel.payload(), 200


@route("PUT", r"/channels/(\d+)/permissions/(\d+)")
async def put_overwrite(emu: Emulator, request: web.Request, cid: str, oid: str
                        ) -> tuple[Any, int]:
    channel = emu.channel(int(cid))
    emu.require_guild(emu.guild(channel.guild_id), m.MANAGE_ROLES)
    data = await request.json()
    channel.overwrites[int(oid)] = m.Overwrite(
        int(oid), int(data.get("type", 0)), int(data.get("allow") or 0), int(data.get("deny") or 0)
    )
    emu.dispatch("CHANNEL_UPDATE", channel.payload())
    return None, 204


@route("DELETE", r"/channels/(\d+)/permissions/(\d+)")
async def delete_overwrite(emu: Emulator, request: web.Request, cid: str, oid: str
                           ) -> tuple[Any, int]:
    channel = emu.channel(int(cid))
    emu.require_guild(emu.guild(channel.guild_id), m.MANAGE_ROLES)
    channel.overwrites.pop(int(oid), None)
    emu.dispatch("CHANNEL_UPDATE", channel.payload())
    return None, 204


@route("POST", r"/channels/(\d+)/threads")
async def create_thread(emu: Emulator, request: web.Request, cid: str) -> tuple[Any, int]:
    parent = emu.channel(int(cid))
    emu.require_channel(parent, m.VIEW_CHANNEL, m.CREATE_PRIVATE_THREADS)
    data = await request.json()
    thread = emu.create_channel(emu.guild(parent.guild_id), data.get("name", "thread"),
                                type=int(data.get("type") or m.PRIVATE_THREAD), parent=parent.id,
                                dispatch_event="THREAD_CREATE")
    thread.owner_id = emu.bot_user.id
    return thread.payload(), 201


@route("PUT", r"/channels/(\d+)/thread-members/(\d+)")
async def add_thread_member(emu: Emulator, request: web.Request, cid: str, uid: str
                            ) -> tuple[Any, int]:
    thread = emu.channel(int(cid))
    emu.thread_members.setdefault(thread.id, set()).add(int(uid))
    return None, 204


# -- guilds, roles, members ----------------------------------------------------------------------

@route("GET", r"/guilds/(\d+)")
async def get_guild(emu: Emulator, request: web.Request, gid: str) -> tuple[Any, int]:
    guild = emu.guild(int(gid))
    return guild.base_payload() | {"approximate_member_count": len(guild.members)}, 200


@route("GET", r"/guilds/(\d+)/roles")
async def list_roles(emu: Emulator, request: web.Request, gid: str) -> tuple[Any, int]:
    return [r.payload() for r in emu.guild(int(gid)).roles.values()], 200


@route("POST", r"/guilds/(\d+)/roles")
async def create_role(emu: Emulator, request: web.Request, gid: str) -> tuple[Any, int]:
    guild = emu.guild(int(gid))
    emu.require_guild(guild, m.MANAGE_ROLES)
    data = await request.json()
    role = emu.create_role(guild, data.get("name") or "new role",
                           permissions=int(data.get("permissions") or 0),
                           mentionable=bool(data.get("mentionable")),
                           color=int(data.get("color") or 0))
    return role.payload(), 200


@route("PATCH", r"/guilds/(\d+)/roles/(\d+)")
async def edit_role(emu: Emulator, request: web.Request, gid: str, rid: str) -> tuple[Any, int]:
    guild = emu.guild(int(gid))
    role = emu.role(guild, int(rid))
    emu.require_role_control(guild, role)
    data = await request.json()
    for key in ("name", "mentionable"):
        if key in data:
            setattr(role, key, data[key])
    if "permissions" in data:
        role.permissions = int(data["permissions"])
    emu.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.payload()})
    return role.payload(), 200


@route("DELETE", r"/guilds/(\d+)/roles/(\d+)")
async def delete_role(emu: Emulator, request: web.Request, gid: str, rid: str
                      ) -> tuple[Any, int]:
    guild = emu.guild(int(gid))
    role = emu.role(guild, int(rid))
    emu.require_role_control(guild, role)
    emu.delete_role(guild, role)
    return None, 204


@route("PUT", r"/guilds/(\d+)/members/(\d+)/roles/(\d+)")
async def add_role(emu: Emulator, request: web.Request, gid: str, uid: str, rid: str
                   ) -> tuple[Any, int]:
    guild = emu.guild(int(gid))
    role = emu.role(guild, int(rid))
    emu.require_role_control(guild, role)
    member = emu.member(guild, int(uid))
    if role.id not in member.roles:
        member.roles.append(role.id)
        emu.member_updated(guild, member)
    return None, 204


@route("DELETE", r"/guilds/(\d+)/members/(\d+)/roles/(\d+)")
async def remove_role(emu: Emulator, request: web.Request, gid: str, uid: str, rid: str
                      ) -> tuple[Any, int]:
    guild = emu.guild(int(gid))
    role = emu.role(guild, int(rid))
    emu.require_role_control(guild, role)
    member = emu.member(guild, int(uid))
    if role.id in member.roles:
        member.roles.remove(role.id)
        emu.member_updated(guild, member)
    return None, 204


@route("GET", r"/guilds/(\d+)/members/(\d+)")
async def get_member(emu: Emulator, request: web.Request, gid: str, uid: str
                     ) -> tuple[Any, int]:
    return emu.member(emu.guild(int(gid)), int(uid)).payload(), 200


@route("GET", r"/guilds/(\d+)/members")
async def list_members(emu: Emulator, request: web.Request, gid: str) -> tuple[Any, int]:
    guild = emu.guild(int(gid))
    limit = min(int(request.query.get("limit", 1)), 1000)
    after = int(request.query.get("after", 0))
    found = sorted((mb for mb in guild.members.values() if mb.user.id > after),
                   key=lambda mb: mb.user.id)[:limit]
    return [mb.payload() for mb in found], 200


@route("PATCH", r"/guilds/(\d+)/members/(\d+)")
async def edit_member(emu: Emulator, request: web.Request, gid: str, uid: str
                      ) -> tuple[Any, int]:
    guild = emu.guild(int(gid))
    member = emu.member(guild, int(uid))
    data = await request.json()
    if "roles" in data:
        emu.require_guild(guild, m.MANAGE_ROLES)
        member.roles = [int(r) for r in data["roles"]]
    if "nick" in data:
        member.nick = data["nick"]
    emu.member_updated(guild, member)
    return member.payload(), 200


__all__ = ["ROUTES", "base_permissions", "channel_permissions", "highest_position",
           "match", "missing_access", "missing_permissions", "unknown"]
