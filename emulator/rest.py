"""REST v10 routes discord.py uses.

Routes are declared with Discord-style templates (``/channels/{channel_id}/messages``); each
handler takes a :class:`Ctx` (emulator, request, calling application) and the path's
parameters, and returns ``(json, status)``. :class:`~emulator.http.ApiError` becomes Discord's
error JSON. Every change goes through the emulator's world methods, which dispatch the gateway
event Discord would send.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator import limits
from emulator import models as m
from emulator.http import ApiError, form_error, read_body, read_json, unknown

if TYPE_CHECKING:
    from emulator.server import Emulator


@dataclass
class Ctx:
    """One request: the emulator, the aiohttp request and the calling application (``None``
    on webhook and interaction-callback routes, which carry no Authorization)."""

    emu: Emulator
    request: web.Request
    app: m.Application

    @property
    def bot(self) -> m.User:
        return self.app.bot


Reply = tuple[Any, int]
Handler = Callable[..., Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool


ROUTES: list[Route] = []


def _compile(template: str) -> re.Pattern[str]:
    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "token":
            return "([^/]+)"
        if name == "message_id":
            return r"(\d+|@original)"
        return r"(\d+)"

    return re.compile("^" + re.sub(r"\{(\w+)\}", group, template) + "$")


def route(method: str, template: str, auth: bool = True) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        ROUTES.append(Route(method, template, _compile(template), func, auth))
        return func

    return register


def match(method: str, path: str) -> tuple[Route, tuple[str, ...]] | None:
    """The route for ``method path`` and its parameters, or ``None`` (404)."""
    for candidate in ROUTES:
        if candidate.method == method:
            found = candidate.pattern.match(path)
            if found:
                return candidate, found.groups()
    return None


def _flag_channel(ctx: Ctx, channel: m.Channel) -> None:
    """Read access to a channel: DMs only for their bot; guild channels need View Channel."""
    if channel.type == m.DM:
        if channel.bot_id != ctx.bot.id:
            raise ApiError(403, 50001, "Missing Access")
    else:
        ctx.emu.require_channel(ctx.app, channel, m.VIEW_CHANNEL)


# -- identity ------------------------------------------------------------------------------------

@route("GET", "/users/@me")
async def me(ctx: Ctx) -> Reply:
    return ctx.bot.private_payload(), 200


@route("GET", "/users/{user_id}")
async def get_user(ctx: Ctx, uid: str) -> Reply:
    return ctx.emu.user(int(uid)).payload(), 200


@route("GET", "/oauth2/applications/@me")
async def application(ctx: Ctx) -> Reply:
    return ctx.app.payload(), 200


@route("GET", "/applications/@me")
async def application_v2(ctx: Ctx) -> Reply:
    return ctx.app.payload(), 200


@route("GET", "/gateway", auth=False)
async def gateway(ctx: Ctx) -> Reply:
    return {"url": ctx.emu.gateway_url}, 200


@route("GET", "/gateway/bot")
async def gateway_bot(ctx: Ctx) -> Reply:
    return {"url": ctx.emu.gateway_url, "shards": 1, "session_start_limit": {
        "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}}, 200


# -- application commands -----------------------------------------------------------------------

def _own_app(ctx: Ctx, app_id: str) -> None:
    if int(app_id) != ctx.app.id:
        raise ApiError(403, 20012, "You are not authorized to perform this action on this "
                                   "application")


@route("PUT", "/applications/{application_id}/commands")
async def sync_global(ctx: Ctx, app_id: str) -> Reply:
    _own_app(ctx, app_id)
    commands = await read_json(ctx.request)
    limits.check_commands(commands)
    return ctx.emu.sync_commands(ctx.app, None, commands), 200


@route("GET", "/applications/{application_id}/commands")
async def list_global(ctx: Ctx, app_id: str) -> Reply:
    _own_app(ctx, app_id)
    return list(ctx.app.commands.get(None, {}).values()), 200


@route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
async def sync_guild(ctx: Ctx, app_id: str, gid: str) -> Reply:
    _own_app(ctx, app_id)
    guild = ctx.emu.guild(int(gid))
    ctx.emu.bot_member(guild, ctx.app)
    commands = await read_json(ctx.request)
    limits.check_commands(commands)
    return ctx.emu.sync_commands(ctx.app, guild.id, commands), 200


@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
async def list_guild(ctx: Ctx, app_id: str, gid: str) -> Reply:
    _own_app(ctx, app_id)
    return list(ctx.app.commands.get(int(gid), {}).values()), 200


# -- interactions and webhooks (no Authorization header) ---------------------------------------

@route("POST", "/interactions/{interaction_id}/{token}/callback", auth=False)
async def callback(ctx: Ctx, iid: str, token: str) -> Reply:
    payload, files = await read_body(ctx.request, ctx.emu.ids.next)
    body, status = ctx.emu.interaction_callback(int(iid), token, payload, files)
    if ctx.request.query.get("with_response", "").lower() not in ("1", "true"):
        return None, 204
    return body, status


@route("POST", "/webhooks/{application_id}/{token}", auth=False)
async def followup(ctx: Ctx, app_id: str, token: str) -> Reply:
    payload, files = await read_body(ctx.request, ctx.emu.ids.next)
    message = ctx.emu.interaction_followup(int(app_id), token, payload, files)
    if ctx.request.query.get("wait", "").lower() not in ("1", "true"):
        return None, 204
    return ctx.emu.payload(message), 200


@route("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", auth=False)
async def webhook_get(ctx: Ctx, app_id: str, token: str, mid: str) -> Reply:
    _record, message = ctx.emu.interaction_message(int(app_id), token, mid)
    if message.deleted:
        raise unknown("Message", 10008)
    return ctx.emu.payload(message), 200


@route("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", auth=False)
async def webhook_edit(ctx: Ctx, app_id: str, token: str, mid: str) -> Reply:
    payload, files = await read_body(ctx.request, ctx.emu.ids.next)
    message = ctx.emu.edit_interaction_message(int(app_id), token, mid, payload, files)
    return ctx.emu.payload(message), 200


@route("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}", auth=False)
async def webhook_delete(ctx: Ctx, app_id: str, token: str, mid: str) -> Reply:
    ctx.emu.delete_interaction_message(int(app_id), token, mid)
    return None, 204


# -- messages ------------------------------------------------------------------------------------

@route("POST", "/channels/{channel_id}/messages")
async def post_message(ctx: Ctx, cid: str) -> Reply:
    emu = ctx.emu
    channel = emu.channel(int(cid))
    payload, files = await read_body(ctx.request, emu.ids.next)
    if channel.type == m.DM:
        assert channel.recipient is not None
        if channel.bot_id != ctx.bot.id:
            raise ApiError(403, 50001, "Missing Access")
        if not channel.recipient.dms_open or not emu.shares_guild(ctx.app, channel.recipient):
            raise ApiError(403, 50007, "Cannot send messages to this user")
    else:
        need = m.SEND_MESSAGES_IN_THREADS if channel.is_thread else m.SEND_MESSAGES
        emu.require_channel(ctx.app, channel, need)
        if channel.is_thread and channel.archived:
            if channel.locked and not emu.has_channel(ctx.app, channel, 1 << 34):
                raise ApiError(400, 50083, "Thread is archived")
            channel.archived = False  # a message in an archived thread unarchives it
            emu.channel_updated(channel)
        if files:
            emu.require_channel(ctx.app, channel, m.ATTACH_FILES)
    limits.check_message(payload, files)
    if payload.get("enforce_nonce") and payload.get("nonce") is not None:
        repeat = emu.nonce_match(ctx.bot, str(payload["nonce"]))
        if repeat is not None:  # Discord answers with the message created the first time
            return emu.payload(repeat), 200
    reference = payload.get("message_reference")
    if reference and reference.get("fail_if_not_exists", True):
        emu.message(int(reference["message_id"]))
    message = emu.add_message(channel, ctx.bot, payload, files)
    return emu.payload(message), 200


@route("GET", "/channels/{channel_id}/messages")
async def list_messages(ctx: Ctx, cid: str) -> Reply:
    channel = ctx.emu.channel(int(cid))
    _flag_channel(ctx, channel)
    if channel.type != m.DM:
        ctx.emu.require_channel(ctx.app, channel, m.READ_MESSAGE_HISTORY)
    query = ctx.request.query
    limit = max(1, min(int(query.get("limit", 50)), 100))
    found = ctx.emu.messages(channel.id)  # oldest first
    if "before" in query:
        found = [x for x in found if x.id < int(query["before"])][-limit:]
    elif "after" in query:
        found = [x for x in found if x.id > int(query["after"])][:limit]
    elif "around" in query:
        pivot = int(query["around"])
        older = [x for x in found if x.id <= pivot][-(limit // 2 + limit % 2):]
        newer = [x for x in found if x.id > pivot][: limit // 2]
        found = older + newer
    else:
        found = found[-limit:]
    return [ctx.emu.payload(x) for x in sorted(found, key=lambda x: -x.id)], 200


@route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(ctx: Ctx, cid: str, mid: str) -> Reply:
    channel = ctx.emu.channel(int(cid))
    _flag_channel(ctx, channel)
    return ctx.emu.payload(ctx.emu.message(int(mid), channel.id)), 200


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(ctx: Ctx, cid: str, mid: str) -> Reply:
    message = ctx.emu.message(int(mid), int(cid))
    if message.author.id != ctx.bot.id:
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    payload, files = await read_body(ctx.request, ctx.emu.ids.next)
    limits.check_message(payload, files, edit=True)
    ctx.emu.edit_message(message, payload, files)
    return ctx.emu.payload(message), 200


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(ctx: Ctx, cid: str, mid: str) -> Reply:
    channel = ctx.emu.channel(int(cid))
    message = ctx.emu.message(int(mid), channel.id)
    if message.author.id != ctx.bot.id:
        if channel.type == m.DM:
            raise ApiError(403, 50003, "Cannot execute action on a DM channel")
        ctx.emu.require_channel(ctx.app, channel, m.MANAGE_MESSAGES)
    ctx.emu.delete_message(message)
    return None, 204


@route("POST", "/users/@me/channels")
async def open_dm(ctx: Ctx) -> Reply:
    data = await read_json(ctx.request)
    if "recipient_id" not in data:
        raise form_error("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
    return ctx.emu.dm_channel(ctx.emu.user(int(data["recipient_id"])), ctx.app).payload(), 200


# -- channels ------------------------------------------------------------------------------------

def _overwrites(raw: list[dict[str, Any]] | None) -> list[m.Overwrite]:
    return [m.Overwrite(int(o["id"]), int(o.get("type", 0)), int(o.get("allow") or 0),
                        int(o.get("deny") or 0)) for o in raw or []]


@route("GET", "/guilds/{guild_id}/channels")
async def list_channels(ctx: Ctx, gid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    ctx.emu.bot_member(guild, ctx.app)
    return [c.payload() for c in guild.channels.values() if not c.is_thread], 200


@route("POST", "/guilds/{guild_id}/channels")
async def create_channel(ctx: Ctx, gid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    ctx.emu.require_guild(ctx.app, guild, m.MANAGE_CHANNELS)
    data = await read_json(ctx.request)
    kind = int(data.get("type") or 0)
    if kind not in (m.TEXT, m.CATEGORY, 2, 5, 13, 15):
        raise form_error("type", "BASE_TYPE_CHOICES", "Value must be one of (0, 2, 4, 5, 13, 15).")
    name = limits.channel_name(data.get("name"), kind)
    limits.check_channel(data, kind)
    overwrites = _overwrites(data.get("permission_overwrites"))
    if overwrites:  # setting overwrites needs Manage Roles (or Administrator)
        ctx.emu.require_guild(ctx.app, guild, m.MANAGE_ROLES)
    parent = int(data["parent_id"]) if data.get("parent_id") else None
    if parent is not None and guild.channels.get(parent, m.Channel(0, -1)).type != m.CATEGORY:
        raise form_error("parent_id", "CHANNEL_PARENT_INVALID", "Invalid parent channel")
    vocal = _vocal(data, kind)
    channel = ctx.emu.create_channel(guild, name, type=kind, parent=parent,
                                     overwrites=overwrites, topic=data.get("topic"),
                                     bitrate=vocal.get("bitrate", 64000),
                                     user_limit=vocal.get("user_limit", 0))
    return channel.payload(), 201


def _vocal(data: dict[str, Any], kind: int) -> dict[str, int]:
    """A voice or stage channel's bitrate and user limit, where given (checked already)."""
    if kind not in m.VOCAL_TYPES:
        return {}
    return {key: int(data[key]) for key in ("bitrate", "user_limit") if data.get(key) is not None}


@route("GET", "/channels/{channel_id}")
async def get_channel(ctx: Ctx, cid: str) -> Reply:
    channel = ctx.emu.channel(int(cid))
    _flag_channel(ctx, channel)
    return channel.payload(), 200


@route("PATCH", "/channels/{channel_id}")
async def edit_channel(ctx: Ctx, cid: str) -> Reply:
    channel = ctx.emu.channel(int(cid))
    if channel.type == m.DM:
        raise ApiError(403, 50003, "Cannot execute action on a DM channel")
    if channel.is_thread and channel.owner_id == ctx.bot.id:
        ctx.emu.require_channel(ctx.app, channel, m.VIEW_CHANNEL)
    else:
        perm = (1 << 34) if channel.is_thread else m.MANAGE_CHANNELS  # MANAGE_THREADS
        ctx.emu.require_channel(ctx.app, channel, perm)
    data = await read_json(ctx.request)
    limits.check_channel(data, channel.type)
    if "name" in data:
        channel.name = limits.channel_name(data["name"], channel.type)
    if "topic" in data:
        channel.topic = data["topic"]
    if "parent_id" in data:
        channel.parent_id = int(data["parent_id"]) if data["parent_id"] else None
    if data.get("position") is not None:
        channel.position = int(data["position"])
    for key, value in _vocal(data, channel.type).items():
        setattr(channel, key, value)
    if channel.is_thread:
        _edit_thread(ctx, channel, data)
    if "permission_overwrites" in data:
        ctx.emu.require_guild(ctx.app, ctx.emu.guild(channel.guild_id), m.MANAGE_ROLES)
        channel.overwrites = {o.id: o for o in _overwrites(data["permission_overwrites"])}
    ctx.emu.channel_updated(channel)
    return channel.payload(), 200


def _edit_thread(ctx: Ctx, thread: m.Channel, data: dict[str, Any]) -> None:
    """A thread's metadata (Modify Channel, thread fields): its owner may archive it;
    ``locked`` and ``invitable`` need Manage Threads, and so does unarchiving a locked thread
    ("when a thread is locked, only users with MANAGE_THREADS can unarchive it")."""
    manages = ctx.emu.has_channel(ctx.app, thread, 1 << 34)
    if ("locked" in data or "invitable" in data) and not manages:
        raise ApiError(403, 50013, "Missing Permissions")
    if thread.locked and data.get("archived") is False and not manages:
        raise ApiError(403, 50013, "Missing Permissions")
    if "invitable" in data and thread.type != m.PRIVATE_THREAD:
        raise ApiError(400, 50035, "Invalid Form Body")
    if "locked" in data:
        thread.locked = bool(data["locked"])
    if "archived" in data:
        thread.archived = bool(data["archived"])
    if "invitable" in data:
        thread.invitable = bool(data["invitable"])


@route("DELETE", "/channels/{channel_id}")
async def delete_channel(ctx: Ctx, cid: str) -> Reply:
    channel = ctx.emu.channel(int(cid))
    if channel.type == m.DM:
        return channel.payload(), 200  # closing a DM
    perm = (1 << 34) if channel.is_thread else m.MANAGE_CHANNELS
    ctx.emu.require_channel(ctx.app, channel, perm)
    ctx.emu.delete_channel(channel)
    return channel.payload(), 200


@route("PUT", "/channels/{channel_id}/permissions/{overwrite_id}")
async def put_overwrite(ctx: Ctx, cid: str, oid: str) -> Reply:
    channel = ctx.emu.channel(int(cid))
    ctx.emu.require_channel(ctx.app, channel, m.MANAGE_ROLES)
    data = await read_json(ctx.request)
    channel.overwrites[int(oid)] = m.Overwrite(
        int(oid), int(data.get("type", 0)), int(data.get("allow") or 0), int(data.get("deny") or 0)
    )
    ctx.emu.channel_updated(channel)
    return None, 204


@route("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}")
async def delete_overwrite(ctx: Ctx, cid: str, oid: str) -> Reply:
    channel = ctx.emu.channel(int(cid))
    ctx.emu.require_channel(ctx.app, channel, m.MANAGE_ROLES)
    channel.overwrites.pop(int(oid), None)
    ctx.emu.channel_updated(channel)
    return None, 204


@route("POST", "/channels/{channel_id}/threads")
async def create_thread(ctx: Ctx, cid: str) -> Reply:
    parent = ctx.emu.channel(int(cid))
    data = await read_json(ctx.request)
    kind = int(data.get("type") or m.PRIVATE_THREAD)
    need = m.CREATE_PRIVATE_THREADS if kind == m.PRIVATE_THREAD else m.CREATE_PUBLIC_THREADS
    ctx.emu.require_channel(ctx.app, parent, need)
    name = limits.channel_name(data.get("name"), kind)
    thread = ctx.emu.create_channel(ctx.emu.guild(parent.guild_id), name, type=kind,
                                    parent=parent.id, dispatch_event=None)
    thread.owner_id = ctx.bot.id
    thread.invitable = bool(data.get("invitable", True))
    thread.thread_members.add(ctx.bot.id)
    ctx.emu.dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True},
                     guild_id=thread.guild_id)
    return thread.payload(), 201


@route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
async def add_thread_member(ctx: Ctx, cid: str, uid: str) -> Reply:
    thread = ctx.emu.channel(int(cid))
    if not thread.is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    ctx.emu.require_channel(ctx.app, thread, m.SEND_MESSAGES_IN_THREADS)
    if thread.archived:
        raise ApiError(400, 50083, "Thread is archived")
    guild = ctx.emu.guild(thread.guild_id)
    ctx.emu.member(guild, int(uid))
    ctx.emu.add_thread_member(thread, ctx.emu.user(int(uid)))
    return None, 204


@route("PUT", "/channels/{channel_id}/thread-members/@me")
async def join_thread(ctx: Ctx, cid: str) -> Reply:
    thread = ctx.emu.channel(int(cid))
    ctx.emu.require_channel(ctx.app, thread, m.VIEW_CHANNEL)
    ctx.emu.add_thread_member(thread, ctx.bot)
    return None, 204


@route("GET", "/channels/{channel_id}/thread-members")
async def list_thread_members(ctx: Ctx, cid: str) -> Reply:
    thread = ctx.emu.channel(int(cid))
    _flag_channel(ctx, thread)
    joined = ctx.emu.ids.iso_now()
    return [{"id": str(thread.id), "user_id": str(u), "join_timestamp": joined, "flags": 0}
            for u in sorted(thread.thread_members)], 200


# -- guilds, roles, members ----------------------------------------------------------------------

@route("GET", "/guilds/{guild_id}")
async def get_guild(ctx: Ctx, gid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    ctx.emu.bot_member(guild, ctx.app)
    return guild.base_payload() | {"approximate_member_count": len(guild.members)}, 200


@route("GET", "/guilds/{guild_id}/roles")
async def list_roles(ctx: Ctx, gid: str) -> Reply:
    return [r.payload() for r in ctx.emu.guild(int(gid)).roles.values()], 200


@route("POST", "/guilds/{guild_id}/roles")
async def create_role(ctx: Ctx, gid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    ctx.emu.require_guild(ctx.app, guild, m.MANAGE_ROLES)
    data = await read_json(ctx.request)
    limits.check_role(data)
    if len(guild.roles) >= 250:
        raise ApiError(400, 30005, "Maximum number of guild roles reached (250)")
    role = ctx.emu.create_role(guild, data.get("name") or "new role",
                               permissions=int(data.get("permissions") or 0),
                               mentionable=bool(data.get("mentionable")),
                               color=int(data.get("color") or 0), position=1)
    role.hoist = bool(data.get("hoist"))
    return role.payload(), 200


@route("PATCH", "/guilds/{guild_id}/roles")
async def move_roles(ctx: Ctx, gid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    for item in await read_json(ctx.request):
        role = ctx.emu.role(guild, int(item["id"]))
        ctx.emu.require_role_control(ctx.app, guild, role)
        if item.get("position") is not None:
            role.position = int(item["position"])
            ctx.emu.role_updated(guild, role)
    return [r.payload() for r in guild.roles.values()], 200


@route("PATCH", "/guilds/{guild_id}/roles/{role_id}")
async def edit_role(ctx: Ctx, gid: str, rid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    role = ctx.emu.role(guild, int(rid))
    ctx.emu.require_role_control(ctx.app, guild, role)
    data = await read_json(ctx.request)
    limits.check_role(data)
    for key in ("name", "mentionable", "hoist"):
        if key in data and data[key] is not None:
            setattr(role, key, data[key])
    if data.get("color") is not None:
        role.color = int(data["color"])
    if data.get("permissions") is not None:
        role.permissions = int(data["permissions"])
    ctx.emu.role_updated(guild, role)
    return role.payload(), 200


@route("DELETE", "/guilds/{guild_id}/roles/{role_id}")
async def delete_role(ctx: Ctx, gid: str, rid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    role = ctx.emu.role(guild, int(rid))
    ctx.emu.require_role_control(ctx.app, guild, role)
    ctx.emu.delete_role(guild, role)
    return None, 204


@route("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def add_role(ctx: Ctx, gid: str, uid: str, rid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    role = ctx.emu.role(guild, int(rid))
    ctx.emu.require_role_control(ctx.app, guild, role)
    member = ctx.emu.member(guild, int(uid))
    if role.id not in member.roles:
        member.roles.append(role.id)
        ctx.emu.member_updated(guild, member)
    return None, 204


@route("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def remove_role(ctx: Ctx, gid: str, uid: str, rid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    role = ctx.emu.role(guild, int(rid))
    ctx.emu.require_role_control(ctx.app, guild, role)
    member = ctx.emu.member(guild, int(uid))
    if role.id in member.roles:
        member.roles.remove(role.id)
        ctx.emu.member_updated(guild, member)
    return None, 204


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(ctx: Ctx, gid: str, uid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    ctx.emu.bot_member(guild, ctx.app)
    return ctx.emu.member(guild, int(uid)).payload(), 200


@route("GET", "/guilds/{guild_id}/members")
async def list_members(ctx: Ctx, gid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    if not ctx.app.members_intent:
        raise ApiError(403, 50001, "Missing Access")
    limit = max(1, min(int(ctx.request.query.get("limit", 1)), 1000))
    after = int(ctx.request.query.get("after", 0))
    found = sorted((x for x in guild.members.values() if x.user.id > after),
                   key=lambda x: x.user.id)[:limit]
    return [x.payload() for x in found], 200


@route("PATCH", "/guilds/{guild_id}/members/{user_id}")
async def edit_member(ctx: Ctx, gid: str, uid: str) -> Reply:
    guild = ctx.emu.guild(int(gid))
    member = ctx.emu.member(guild, int(uid))
    data = await read_json(ctx.request)
    if "roles" in data:
        wanted = {int(r) for r in data["roles"] or []}
        for rid in wanted.symmetric_difference(member.roles):
            ctx.emu.require_role_control(ctx.app, guild, ctx.emu.role(guild, rid))
        member.roles = sorted(wanted)
    if "nick" in data:
        ctx.emu.require_guild(ctx.app, guild, 1 << 27)  # MANAGE_NICKNAMES
        member.nick = data["nick"]
    ctx.emu.member_updated(guild, member)
    return member.payload(), 200
