"""The emulator: an aiohttp server on 127.0.0.1 serving REST v10 under ``/api/v10`` and the
gateway at ``/gateway``, the world it serves, fault injection and request statistics.

    async with Emulator() as emu:
        guild = emu.create_guild("Test")
        emu.patch_discord()          # process-global: Route.BASE and DEFAULT_GATEWAY
        ...

The test API (acting as users, reading what the bot did) comes from
:class:`emulator.api.Actions`; world changes from :class:`emulator.world.World`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from emulator import models as m
from emulator import rest
from emulator.api import Actions
from emulator.gateway import ACK_DELAY, Gateway
from emulator.http import REQUEST_PAYLOAD, ApiError, json_response, read_body
from emulator.interactions import Interaction
from emulator.ratelimit import RateLimiter


@dataclass
class Stats:
    """Request counters (REST only)."""

    requests: int = 0
    rate_limited: int = 0  # 429s answered (real or injected)
    global_rate_limited: int = 0
    invalid: int = 0  # 401, 403 and 429: what Discord counts towards its 10,000 / 10 min ban
    server_errors: int = 0  # injected 5xx
    by_route: Counter[str] = field(default_factory=Counter)  # "POST /channels/{channel_id}/…"
    statuses: Counter[int] = field(default_factory=Counter)
    rate_limited_by_route: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


@dataclass(frozen=True)
class Exchange:
    """One REST request and its answer, as seen by :attr:`Emulator.observers`: the path under
    ``/api/v10``, the JSON request body (for multipart, its ``payload_json``; ``None`` when
    none was sent), the JSON response body (``None`` when empty) and the query's names."""

    method: str
    path: str
    request: Any
    status: int
    response: Any
    query: tuple[str, ...] = ()  # the names of the query parameters


@dataclass
class _Fault:
    kind: str  # "429" or "5xx"
    route: str | None
    remaining: int | None  # None: until ``until``
    until: float | None = None
    status: int = 500
    is_global: bool = False
    retry_after: float = 0.2

    def applies(self, method: str, path: str, template: str, now: float) -> bool:
        if self.until is not None and now > self.until:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.route is None or self.route in path or self.route in f"{method} {template}"


def _response_payload(response: web.Response) -> Any:
    body = response.body
    if not isinstance(body, bytes) or not body:
        return None
    return json.loads(body)


class Emulator(Actions):
    """A local Discord. See the module docstring and :mod:`emulator.api` for the test API."""

    def __init__(
        self, *, global_rate: int = 50, heartbeat_interval: int = 41250,
        heartbeat_ack_delay: float = ACK_DELAY,
        members_intent_enabled: bool = True, message_content_intent_enabled: bool = True,
        presences_intent_enabled: bool = True, interaction_timeout: float = 3.0,
        followup_ttl: float = 15 * 60, route_limits: dict[str, tuple[int, float]] | None = None,
        default_route_limit: tuple[int, float] = (50, 1.0), bot_name: str = "Familia",
        now: Callable[[], datetime] | None = None,
    ) -> None:
        # ``now``: the clock of ids and timestamps (default: real time); give the bot's clock
        # when the bot runs on a frozen one. Deadlines and rate limits always use real time.
        self.ids = m.Snowflakes(now)
        self._init_world()
        self.gateway = Gateway(self, heartbeat_interval, heartbeat_ack_delay)
        self.global_rate = global_rate
        self.route_limits = dict(route_limits or {})
        self.default_route_limit = default_route_limit
        self.interaction_timeout = interaction_timeout
        self.followup_ttl = followup_ttl
        self.stats = Stats()
        self._interactions: dict[int, Interaction] = {}
        self._by_token: dict[str, Interaction] = {}
        self._limiters: dict[int, RateLimiter] = {}
        self._faults: list[_Fault] = []
        self.owner = self.create_user("owner")
        self.app, _, _ = self.create_application(
            bot_name, owner=self.owner, members_intent=members_intent_enabled,
            message_content_intent=message_content_intent_enabled,
            presences_intent=presences_intent_enabled)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._patched: tuple[Any, Any] | None = None
        # Called with every REST :class:`Exchange` (e.g. the end-to-end suite's check against
        # Discord's OpenAPI spec); empty by default, at no cost.
        self.observers: list[Callable[[Exchange], None]] = []

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self, port: int = 0) -> Emulator:
        """Listen on 127.0.0.1 (a free port unless ``port``)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self.gateway.handle)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        app.router.add_route("*", "/api/{tail:.*}", self._wrong_version)
        app.router.add_route("GET", "/attachments/{aid}/{name}", self._attachment)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Close gateway connections, stop the server and undo :meth:`patch_discord`."""
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
        """Point discord.py at this emulator: sets ``discord.http.Route.BASE`` and
        ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``. These are process-global, so
        one emulator per process at a time; :meth:`unpatch_discord` (or :meth:`stop`) undoes
        it."""
        import discord.gateway
        import discord.http
        import yarl

        if self._patched is None:
            self._patched = (discord.http.Route.BASE,
                             discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = self.api_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    def unpatch_discord(self) -> None:
        """Restore what :meth:`patch_discord` replaced."""
        if self._patched is not None:
            import discord.gateway
            import discord.http

            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
                self._patched
            )
            self._patched = None

    # -- rate limits -----------------------------------------------------------------------------

    def limiter(self, app: m.Application | None = None) -> RateLimiter:
        """The rate limiter of ``app``'s token (default application)."""
        app = app or self.app
        found = self._limiters.get(app.id)
        if found is None:
            found = self._limiters[app.id] = RateLimiter(
                global_rate=self.global_rate, limits=self.route_limits,
                default_limit=self.default_route_limit[0],
                default_per=self.default_route_limit[1])
        return found

    # -- HTTP ------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        method = request.method
        found = rest.match(method, path)
        template = found[0].template if found else "(unknown)"
        key = f"{method} {template}"
        self.stats.requests += 1
        self.stats.by_route[key] += 1
        response = await self._respond(request, method, path, found)
        self.stats.statuses[response.status] += 1
        if response.status in (401, 403, 429):
            self.stats.invalid += 1
        if response.status == 429:
            self.stats.rate_limited += 1
            self.stats.rate_limited_by_route[key] += 1
            if response.headers.get("X-RateLimit-Global"):
                self.stats.global_rate_limited += 1
        if self.observers:
            exchange = Exchange(method, path, copy.deepcopy(await self._request_payload(request)),
                                response.status, _response_payload(response),
                                tuple(request.query))
            for observer in self.observers:
                observer(exchange)
        return response

    async def _request_payload(self, request: web.Request) -> Any:
        """The request's JSON payload: as the handler parsed it, else read now (a request
        answered before its handler read the body: 401, 429, an early 403)."""
        if REQUEST_PAYLOAD in request:
            return request[REQUEST_PAYLOAD]
        if not request.body_exists:
            return None
        with contextlib.suppress(Exception):  # a body the handler half-read: nothing to show
            async with asyncio.timeout(1):  # never hold the answer up
                if request.content_type.startswith("multipart/"):
                    return (await read_body(request, lambda: 0))[0]
                text = await request.text()
                return json.loads(text) if text else None
        return None

    def _caller(self, request: web.Request, route: rest.Route, groups: tuple[str, ...]
                ) -> m.Application | None:
        if route.auth:
            header = request.headers.get("Authorization", "")
            return self.app_by_token(header[4:]) if header.startswith("Bot ") else None
        if route.template.startswith("/webhooks/"):
            return self.apps.get(int(groups[0]))
        if route.template.startswith("/interactions/"):
            record = self._interactions.get(int(groups[0]))
            return record.app if record else None
        return self.app

    async def _respond(self, request: web.Request, method: str, path: str,
                       found: tuple[rest.Route, tuple[str, ...]] | None) -> web.Response:
        template = found[0].template if found else ""
        fault = self._fault(method, path, template)
        if fault is not None and fault.kind == "5xx":
            self.stats.server_errors += 1
            return json_response({"message": f"{fault.status}: emulated server error",
                                  "code": 0}, fault.status)
        if found is None:
            return json_response({"message": "404: Not Found", "code": 0}, 404)
        route, groups = found
        app = self._caller(request, route, groups)
        if route.auth and app is None:
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        if fault is not None:
            return self._too_many(fault.retry_after, fault.is_global, {})
        headers: dict[str, str] = {}
        if app is not None:
            decision = self.limiter(app).check(method, path, counts_global=route.auth)
            if not decision.allowed:
                return self._too_many(decision.retry_after, decision.is_global,
                                      decision.headers)
            headers = decision.headers
        try:
            if app is None:  # webhook / callback for something unknown
                raise ApiError(404, 10015 if route.template.startswith("/webhooks/") else 10062,
                               "Unknown Webhook" if route.template.startswith("/webhooks/")
                               else "Unknown interaction")
            data, status = await route.handler(rest.Ctx(self, request, app), *groups)
            if method != "GET":
                await self.gateway.flush()
        except ApiError as exc:
            return json_response(exc.body(), exc.status, headers)
        return json_response(data, status, headers)

    @staticmethod
    def _too_many(retry_after: float, is_global: bool, headers: dict[str, str]
                  ) -> web.Response:
        headers = dict(headers)
        headers["Via"] = "1.1 google"
        headers.setdefault("X-RateLimit-Scope", "global" if is_global else "user")
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        headers["Retry-After"] = str(max(1, round(retry_after + 0.5)))
        body = {"message": "You are being rate limited.",
                "retry_after": round(max(retry_after, 0.001), 3), "global": is_global}
        if is_global:
            body["code"] = 0
        return json_response(body, 429, headers)

    def _fault(self, method: str, path: str, template: str) -> _Fault | None:
        now = time.monotonic()
        for fault in self._faults:
            if fault.applies(method, path, template, now):
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        self._faults = [f for f in self._faults
                        if (f.until is None or f.until >= now)
                        and (f.remaining is None or f.remaining > 0)]
        return None

    async def _wrong_version(self, request: web.Request) -> web.Response:
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    async def _attachment(self, request: web.Request) -> web.Response:
        aid = int(request.match_info["aid"])
        upload = self._uploads.get(aid)
        if upload is not None and upload.filename == request.match_info["name"]:
            return web.Response(body=upload.data, content_type=upload.content_type or
                                "application/octet-stream")
        for message in self._messages.values():
            for attachment in message.attachments:
                if attachment.id == aid:
                    return web.Response(body=attachment.data,
                                        content_type=attachment.content_type or
                                        "application/octet-stream")
        raise web.HTTPNotFound()

    # -- faults ----------------------------------------------------------------------------------

    def inject_429(self, count: int = 1, route: str | None = None, *, global_: bool = False,
                   retry_after: float = 0.2, duration: float | None = None) -> None:
        """A 429 storm: the next ``count`` requests (or, with ``duration``, every request for
        that many seconds) whose path or ``"METHOD /template"`` contains ``route`` answer 429
        with ``retry_after`` (``"global": true`` if ``global_``)."""
        self._faults.append(_Fault(
            "429", route, None if duration is not None else count,
            time.monotonic() + duration if duration is not None else None,
            is_global=global_, retry_after=retry_after))

    def inject_5xx(self, count: int = 1, status: int = 500, route: str | None = None, *,
                   duration: float | None = None) -> None:
        """The next ``count`` requests (matching ``route``) answer ``status`` (500/502/503…).
        discord.py retries 500, 502, 504 and 524 after 1 s, 3 s…; 503 raises at once."""
        self._faults.append(_Fault(
            "5xx", route, None if duration is not None else count,
            time.monotonic() + duration if duration is not None else None, status=status))

    def clear_faults(self) -> None:
        self._faults.clear()

    async def drop_gateway(self, code: int = 4000, app: m.Application | None = None) -> None:
        """Close the bot's gateway connection(s) abnormally; discord.py reconnects and RESUMEs
        (codes 4004, 4010-4014 are fatal to discord.py)."""
        await self.gateway.drop(code, app)

    async def request_heartbeat(self, app: m.Application | None = None) -> None:
        """Send op 1 HEARTBEAT (Discord asks for an immediate heartbeat)."""
        await self.gateway.request_heartbeat(app)

    async def request_reconnect(self, app: m.Application | None = None) -> None:
        """Send op 7 RECONNECT; the client reconnects and RESUMEs."""
        await self.gateway.request_reconnect(app)

    async def invalidate_session(self, resumable: bool = False,
                                 app: m.Application | None = None) -> None:
        """Send op 9 INVALID SESSION (not resumable: the client IDENTIFYs again)."""
        await self.gateway.invalidate(resumable, app)
