"""The emulator's web console: try Familia in a browser, as anyone in the demo server.

A small web server of its own (127.0.0.1 only) over a running :class:`Emulator`: a page
like Discord's (channels, messages, a composer for slash commands, buttons, selects and
forms) and a JSON API under ``/console/api/`` that acts through the emulator's own test API,
so what a person does here is what a test does, and the bot cannot tell the difference.
Everything shown is what the acting person can see, by the emulator's permission model
(private channels and threads, their own ephemeral replies and DMs). New, edited and deleted
messages reach the page as server-sent events (``/console/events``).

Safe by construction: it listens on 127.0.0.1 only and refuses any request whose peer or
``Host`` is not this machine (a page elsewhere cannot drive it: every action is a JSON POST,
which a cross-site form cannot send); the offline runner starts it only without a
``DISCORD_TOKEN``. No code path of the bot changes for it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from markdown_it import MarkdownIt

from emulator import models as m

if TYPE_CHECKING:
    from emulator.server import Emulator

STATIC = Path(__file__).with_name("console_static")
LOOPBACK = {"127.0.0.1", "::1"}
SHOWN = 100  # the last messages of a channel the page shows
WAIT = 10.0  # seconds an action waits for the bot's first answer
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}
                       ).enable("strikethrough")
_USER = re.compile(r"&lt;@!?(\d+)&gt;")
_ROLE = re.compile(r"&lt;@&amp;(\d+)&gt;")
_CHANNEL = re.compile(r"&lt;#(\d+)&gt;")
_STAMP = re.compile(r"&lt;t:(\d+)(?::[tTdDfFR])?&gt;")
_LINK = re.compile(r'<a href="(?!https?://)[^"]*">')
# Labels of a person, by who they are in the program (given by the host: the demo knows).
Describe = Callable[[int], Awaitable[str | None]]


class Console:
    """The web console over ``emu``, for the people of ``guild``."""

    def __init__(self, emu: Emulator, guild: m.Guild, *, describe: Describe | None = None,
                 on_time: Callable[[float], Awaitable[None]] | None = None,
                 now: Callable[[], datetime] | None = None, outbox: Path | None = None
                 ) -> None:
        self.emu = emu
        self.guild = guild
        self.describe = describe
        self.on_time = on_time  # moves the bot's clock (and runs what became due)
        self.now = now  # the bot's clock, shown beside the time-travel buttons
        self.outbox = outbox  # where the offline run saves the emails it sends (.eml)
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._pending: dict[int, Any] = {}  # interactions whose modal the page shows
        emu.message_watchers.append(self._changed)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, port: int = 0) -> Console:
        app = web.Application(middlewares=[self._guard], client_max_size=32 * 1024 * 1024)
        app.router.add_get("/console", self._page)
        app.router.add_get("/console/static/{name}", self._static)
        app.router.add_get("/console/events", self._events)
        app.router.add_get("/console/api/people", self._people)
        app.router.add_get("/console/api/channels", self._channels)
        app.router.add_get("/console/api/messages", self._messages)
        app.router.add_get("/console/api/commands", self._commands)
        app.router.add_post("/console/api/run", self._run)
        app.router.add_post("/console/api/autocomplete", self._autocomplete)
        app.router.add_post("/console/api/click", self._click)
        app.router.add_post("/console/api/select", self._select)
        app.router.add_post("/console/api/submit", self._submit)
        app.router.add_post("/console/api/time", self._time)
        app.router.add_get("/console/api/emails", self._emails)
        app.router.add_get("/console/email/{name}", self._email)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.emu.message_watchers.remove(self._changed)
        for queue in list(self._listeners):
            queue.put_nowait({"event": "bye"})
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/console"

    # -- safety ------------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        host = (request.host or "").rsplit(":", 1)[0].strip("[]")
        if request.remote not in LOOPBACK or host not in {"127.0.0.1", "localhost", "::1"}:
            return web.Response(status=403, text="The console answers this machine only.")
        if request.method == "POST" and request.content_type != "application/json":
            return web.Response(status=415, text="JSON only.")
        try:
            response: web.StreamResponse = await handler(request)
        except (KeyError, ValueError, TypeError, AssertionError) as exc:
            return web.json_response({"error": str(exc) or type(exc).__name__}, status=400)
        except Exception as exc:  # an emulator refusal (unknown user, channel…)
            if type(exc).__name__ == "ApiError":
                return web.json_response({"error": str(exc)}, status=400)
            raise
        if request.path == "/console" or request.path.startswith("/console/static/"):
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data: http://127.0.0.1:*; "
                "connect-src 'self'; style-src 'self'; script-src 'self'; "
                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    # -- pages -------------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    # -- what the acting person sees ---------------------------------------------------------

    def _actor(self, request: web.Request, body: dict[str, Any] | None = None) -> m.User:
        raw = (body or {}).get("user") or request.query.get("user")
        user = self.emu.user(int(raw or self.guild.owner_id))
        if user.id not in self.guild.members or user.bot:
            raise ValueError("not a person of this server")
        return user

    async def _people(self, request: web.Request) -> web.Response:
        people: list[dict[str, Any]] = []
        for member in self.guild.members.values():
            user = member.user
            if user.bot:
                continue
            label = await self.describe(user.id) if self.describe else None
            roles = [self.guild.roles[r].name for r in member.roles if r in self.guild.roles]
            people.append({"id": str(user.id), "name": member.nick or user.name,
                           "label": label or ", ".join(roles), "locale": user.locale,
                           "owner": user.id == self.guild.owner_id})
        people.sort(key=lambda p: (not p["owner"], p["label"] == "", str(p["name"]).lower()))
        named = [{"id": str(r.id), "name": r.name} for r in self.guild.roles.values()
                 if r.id != self.guild.id and not r.managed]
        return web.json_response({"guild": {"id": str(self.guild.id), "name": self.guild.name},
                                  "people": people, "roles": named,
                                  "time_travel": self.on_time is not None,
                                  "now": self.now().isoformat(timespec="minutes")
                                  if self.now else None,
                                  "emails": self.outbox is not None})

    def _visible(self, user: m.User) -> list[m.Channel]:
        """The channels ``user`` can see: guild channels by permission (private threads by
        membership), then their DM with the bot."""
        found = []
        for channel in sorted(self.guild.channels.values(), key=lambda c: (c.position, c.id)):
            if channel.type not in (m.TEXT, m.CATEGORY, *m.THREAD_TYPES):
                continue
            if channel.is_thread:
                parent = self.guild.channels.get(channel.parent_id or 0)
                if parent is None or not self.emu.can_view(self.guild, user, parent):
                    continue
                if channel.type == m.PRIVATE_THREAD and user.id not in channel.thread_members:
                    continue
            elif not self.emu.can_view(self.guild, user, channel):
                continue
            found.append(channel)
        found.append(self.emu.dm_channel(user))
        return found

    async def _channels(self, request: web.Request) -> web.Response:
        user = self._actor(request)
        listed = []
        for channel in self._visible(user):
            kind = ("dm" if channel.type == m.DM else "category" if channel.type == m.CATEGORY
                    else "thread" if channel.is_thread else "text")
            listed.append({"id": str(channel.id), "kind": kind,
                           "name": "Familia" if channel.type == m.DM else channel.name,
                           "parent": str(channel.parent_id) if channel.parent_id else None,
                           "private": bool(channel.overwrites) or
                           channel.type == m.PRIVATE_THREAD})
        return web.json_response({"channels": listed})

    def _sees(self, user: m.User, message: m.Message) -> bool:
        if not message.ephemeral:
            return True
        record = self.emu._interactions.get(message.interaction_id or 0)
        return record is not None and record.user.id == user.id

    def _channel_for(self, user: m.User, raw: Any) -> m.Channel:
        channel = self.emu.channel(int(raw))
        if channel.id not in {c.id for c in self._visible(user)}:
            raise ValueError("that channel is not one this person can see")
        return channel

    async def _messages(self, request: web.Request) -> web.Response:
        user = self._actor(request)
        channel = self._channel_for(user, request.query["channel"])
        shown = [msg for msg in self.emu._messages.values()
                 if msg.channel_id == channel.id and not msg.deleted and self._sees(user, msg)]
        shown.sort(key=lambda msg: msg.id)
        return web.json_response({"messages": [self._render(msg) for msg in shown[-SHOWN:]]})

    def _name(self, user_id: int) -> str:
        member = self.guild.members.get(user_id)
        if member is not None:
            return member.nick or member.user.name
        user = self.emu.users.get(user_id)
        return user.name if user else "unknown-user"

    def _markdown(self, text: str) -> str:
        """Discord's Markdown as HTML: raw HTML escaped, mentions shown as names (never
        pinging: just text), timestamps as dates, links only to http(s)."""
        out = _MARKDOWN.render(text)
        out = _USER.sub(lambda g: f'<span class="mention">@{html.escape(self._name(int(g[1])))}'
                        '</span>', out)
        out = _ROLE.sub(lambda g: '<span class="mention">@' + html.escape(
            self.guild.roles[int(g[1])].name if int(g[1]) in self.guild.roles
            else "deleted-role") + "</span>", out)

        def channel_name(found: re.Match[str]) -> str:
            channel = self.emu._channels.get(int(found[1]))
            name = channel.name if channel is not None and channel.name else "unknown"
            return f'<span class="mention">#{html.escape(name)}</span>'

        out = _CHANNEL.sub(channel_name, out)
        out = _STAMP.sub(lambda g: '<time>' + datetime.fromtimestamp(int(g[1])).strftime(
            "%Y-%m-%d %H:%M") + "</time>", out)
        return _LINK.sub('<a>', out)

    def _render(self, message: m.Message) -> dict[str, Any]:
        base = self.emu.base_url
        return {
            "id": str(message.id),
            "author": message.author.name, "bot": message.author.bot,
            "html": self._markdown(message.content) if message.content else "",
            "embeds": [{
                "title": e.get("title") or "",
                "html": self._markdown(e.get("description") or ""),
                "fields": [{"name": f.get("name", ""), "html": self._markdown(
                    f.get("value", ""))} for f in e.get("fields") or []],
                "image": (e.get("image") or {}).get("url"),
                "footer": (e.get("footer") or {}).get("text") or "",
            } for e in message.embeds],
            "attachments": [{"name": a.filename, "url": f"{base}/attachments/{a.id}/"
                             f"{a.filename}", "image": (a.content_type or "").startswith(
                                 "image/") or a.filename.lower().endswith((".png", ".jpg"))}
                            for a in message.attachments],
            "components": message.components,
            "ephemeral": message.ephemeral,
            "edited": bool(message.edited),
            "time": message.timestamp,
        }

    async def _commands(self, request: web.Request) -> web.Response:
        user = self._actor(request)
        found = dict(self.emu.synced_commands()) | dict(self.emu.synced_commands(self.guild))
        return web.json_response({"locale": user.locale, "commands": list(found.values())})

    # -- acting ------------------------------------------------------------------------------

    async def _answer(self, it: Any, started: float) -> web.Response:
        """What the page needs after an action: a modal to show, or that it was answered."""
        with contextlib.suppress(AssertionError):  # no answer in time: said so below
            await it.wait_response(WAIT)
        if it.modal is not None:
            self._pending[it.id] = it
            return web.json_response({"interaction": str(it.id), "modal": it.modal})
        return web.json_response({"interaction": str(it.id), "answered": it.responded,
                                  "ms": round((time.monotonic() - started) * 1000, 1)})

    async def _body(self, request: web.Request) -> dict[str, Any]:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("a JSON object")
        return body

    async def _run(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        body = await self._body(request)
        user = self._actor(request, body)
        channel = self._channel_for(user, body["channel"])
        options = dict(body.get("options") or {})
        for name, value in list(options.items()):
            if isinstance(value, dict) and "filename" in value:  # an uploaded file
                options[name] = (value["filename"], base64.b64decode(value["data"]),
                                 value.get("type") or None)
        in_dm = channel.type == m.DM
        it = await self.emu.run_command(None if in_dm else self.guild, user, body["name"],
                                        options, subcommand=body.get("subcommand") or None,
                                        channel=None if in_dm else channel,
                                        locale=user.locale)
        return await self._answer(it, started)

    async def _autocomplete(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        user = self._actor(request, body)
        choices = await self.emu.autocomplete(
            self.guild, user, body["name"], body["focused"], str(body.get("value", "")),
            dict(body.get("options") or {}), subcommand=body.get("subcommand") or None,
            locale=user.locale)
        return web.json_response({"choices": choices})

    def _message_for(self, user: m.User, raw: Any) -> m.Message:
        message = self.emu.message(int(raw))
        self._channel_for(user, message.channel_id)
        if not self._sees(user, message):
            raise ValueError("that message is not one this person can see")
        return message

    async def _click(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        body = await self._body(request)
        user = self._actor(request, body)
        message = self._message_for(user, body["message"])
        it = await self.emu.click(user, message, str(body["custom_id"]), locale=user.locale)
        return await self._answer(it, started)

    async def _select(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        body = await self._body(request)
        user = self._actor(request, body)
        message = self._message_for(user, body["message"])
        it = await self.emu.select(user, message, str(body["custom_id"]),
                                   list(body.get("values") or []), locale=user.locale)
        return await self._answer(it, started)

    async def _submit(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        body = await self._body(request)
        user = self._actor(request, body)
        opened = self._pending.get(int(body["interaction"]))
        if opened is None or opened.user.id != user.id:
            raise ValueError("no form of this person is open")
        values = {str(k): str(v) for k, v in (body.get("values") or {}).items()}
        it = await self.emu.submit_modal(opened, values, locale=user.locale)
        self._pending.pop(opened.id, None)
        return await self._answer(it, started)

    async def _time(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if self.on_time is None:
            return web.json_response({"error": "time travel is not available here"},
                                     status=400)
        if "to" in body and self.now is not None:  # a moment, in UTC ("2026-12-05T09:00")
            target = datetime.fromisoformat(str(body["to"]))
            if target.tzinfo is None:
                target = target.replace(tzinfo=UTC)
            seconds = (target - self.now()).total_seconds()
        else:
            seconds = float(body["seconds"])
        if not 0 < seconds <= 366 * 86400:
            raise ValueError("time moves forward only, by up to a year")
        await self.on_time(seconds)
        return web.json_response({"moved": seconds, "now": self.now().isoformat(
            timespec="minutes") if self.now else None})

    # -- the emails the offline run sent -----------------------------------------------------

    def _saved(self) -> list[Path]:
        if self.outbox is None or not self.outbox.is_dir():
            return []
        return sorted(self.outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime,
                      reverse=True)

    async def _emails(self, request: web.Request) -> web.Response:
        listed = []
        for path in self._saved()[:SHOWN]:
            with path.open("rb") as raw:
                mail = BytesParser(policy=policy.default).parse(raw, headersonly=True)
            listed.append({"name": path.name, "subject": str(mail["Subject"] or ""),
                           "to": str(mail["To"] or ""), "date": str(mail["Date"] or "")})
        return web.json_response({"emails": listed})

    async def _email(self, request: web.Request) -> web.StreamResponse:
        """One saved email: its HTML part (in a sandbox: no script, no network but this
        machine), or its text with ``?text``."""
        name = request.match_info["name"]
        found = {p.name: p for p in self._saved()}.get(name)
        if found is None:
            raise web.HTTPNotFound()
        with found.open("rb") as raw:
            mail = BytesParser(policy=policy.default).parse(raw)
        wants = ("plain",) if "text" in request.query else ("html", "plain")
        part = mail.get_body(preferencelist=wants)
        body = part.get_content() if part is not None else ""
        kind = "text/html" if part is not None and part.get_content_subtype() == "html" \
            else "text/plain"
        response = web.Response(text=body, content_type=kind)
        response.headers["Content-Security-Policy"] = (
            "sandbox; default-src 'none'; img-src data: cid: http://127.0.0.1:*; "
            "style-src 'unsafe-inline'")
        return response

    # -- live updates ------------------------------------------------------------------------

    def _changed(self, event: str, message: m.Message) -> None:
        note = {"event": event, "channel": str(message.channel_id), "message": str(message.id),
                "ephemeral": message.ephemeral}
        for queue in self._listeners:
            queue.put_nowait(note)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._listeners.add(queue)
        try:
            await response.write(b": connected\n\n")
            while True:
                try:
                    note = await asyncio.wait_for(queue.get(), 15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if note.get("event") == "bye":
                    break
                await response.write(f"data: {json.dumps(note)}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._listeners.discard(queue)
        return response
