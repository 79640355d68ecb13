"""The emulator in its own process, so a bot (or a benchmark) does not share its event loop.

    python -m emulator.serve --users 2000 --channels 100 [--port 0] [--unlimited]

builds a guild with ``--users`` members (``user0``…) and ``--channels`` text channels
(``channel0``…), listens, and prints ONE JSON line: ``api_url``, ``gateway_url``,
``control_url``, ``token``, ``app_id``, ``owner_id``, ``guild_id``, ``user_ids``,
``channel_ids``. The control endpoint takes ``POST /<command>`` with a JSON body:

- ``modal_burst`` {guild_id, user_ids, command, values, batch=50, timeout=60}: each user runs
  ``/command`` (in batches; the bot must answer with a modal), then every modal is submitted
  at once with ``values``. Answers per submission ``id``, ``created``, ``acked`` (the
  callback's arrival) and ``answered`` (its first visible message), ``time.monotonic()``
  seconds of this machine (None when it never came).
- ``stats``: the REST request counters. ``stop``: shut down.

:class:`RemoteEmulator` starts it from Python and points discord.py at it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from emulator.ratelimit import DEFAULT_RULES
from emulator.server import Emulator


class Control:
    """The control endpoint's commands, over one started :class:`Emulator`."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.done = asyncio.Event()
        self.acked: dict[int, float] = {}
        callback = emu.interaction_callback

        def timed(iid: int, *args: Any, **kwargs: Any) -> Any:
            self.acked.setdefault(int(iid), time.monotonic())
            return callback(iid, *args, **kwargs)

        emu.interaction_callback = timed  # type: ignore[method-assign]

    async def modal_burst(self, guild_id: int | str, user_ids: list[int | str], command: str,
                          values: dict[str, str], batch: int = 50, timeout: float = 60
                          ) -> dict[str, Any]:
        emu = self.emu
        guild = emu.guild(int(guild_id))
        users = [emu.user(int(uid)) for uid in user_ids]
        opened, modals = [], []
        for i in range(0, len(users), batch):  # opening the forms is not part of the burst
            started = [await emu.run_command(guild, u, command) for u in users[i:i + batch]]
            modals += await asyncio.gather(*(it.wait_modal(timeout) for it in started))
            opened += started
        submitted = [await emu.submit_modal(it, values, modal=modal)
                     for it, modal in zip(opened, modals, strict=True)]
        async def answered_at(it: Any) -> float | None:
            """When this submission's own answer arrived (each one timed as it comes, not
            when the last of the burst came)."""
            try:
                await it.wait_message(timeout)
            except Exception:  # no answer in time: counted as unanswered
                return None
            return time.monotonic() if any(msg.content for msg in it.messages) else None

        times = await asyncio.gather(*(answered_at(it) for it in submitted))
        answered = {it.id: at for it, at in zip(submitted, times, strict=True)}
        return {"submissions": [
            {"id": str(it.id), "created": it.created, "acked": self.acked.get(it.id),
             "answered": answered[it.id]} for it in submitted]}

    async def stats(self) -> dict[str, Any]:
        s = self.emu.stats
        return {"requests": s.requests, "rate_limited": s.rate_limited,
                "statuses": {str(k): v for k, v in s.statuses.items()}}

    async def stop(self) -> dict[str, Any]:
        self.done.set()
        return {}

    async def handle(self, request: web.Request) -> web.Response:
        command = getattr(self, request.match_info["command"], None)
        if command is None or request.match_info["command"] == "handle":
            return web.json_response({"error": "unknown command"}, status=404)
        body = await request.json() if request.can_read_body else {}
        return web.json_response(await command(**body))


async def serve(args: argparse.Namespace) -> None:
    options: dict[str, Any] = {}
    if args.unlimited:  # no rate limits: measure the bot, not Discord's per-route limits
        unlimited = (10**9, 1.0)
        options = {"global_rate": 10**9, "default_route_limit": unlimited,
                   "route_limits": {r.name: unlimited for r in DEFAULT_RULES}}
    emu = await Emulator(**options).start(args.port)
    guild = emu.create_guild(args.guild)
    users = [emu.create_user(f"user{i}") for i in range(args.users)]
    for user in users:
        emu.add_member(guild, user, dispatch=False)
    channels = [emu.create_channel(guild, f"channel{i}") for i in range(args.channels)]
    control = Control(emu)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/{command}", control.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.control_port)
    await site.start()
    control_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({
        "api_url": emu.api_url, "gateway_url": emu.gateway_url,
        "control_url": f"http://127.0.0.1:{control_port}", "token": emu.app.token,
        "app_id": str(emu.app.id), "owner_id": str(emu.owner.id), "guild_id": str(guild.id),
        "user_ids": [str(u.id) for u in users], "channel_ids": [str(c.id) for c in channels],
    }), flush=True)
    try:
        await control.done.wait()
    finally:
        await runner.cleanup()
        await emu.stop()


class RemoteEmulator:
    """A ``python -m emulator.serve`` child process. ``world`` is its first JSON line."""

    def __init__(self, process: asyncio.subprocess.Process, world: dict[str, Any]) -> None:
        self.process, self.world = process, world
        self._patched: tuple[Any, Any] | None = None

    @classmethod
    @contextlib.asynccontextmanager
    async def spawn(cls, *args: str) -> AsyncIterator[RemoteEmulator]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "emulator.serve", *args, stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024)
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            if not line:
                raise RuntimeError("emulator.serve exited before printing its world")
            remote = cls(process, json.loads(line))
            try:
                yield remote
            finally:
                remote.unpatch_discord()
                with contextlib.suppress(Exception):
                    await remote.call("stop")
        finally:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), 10)
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def call(self, name: str, /, **body: Any) -> dict[str, Any]:
        """``POST /name`` on the control endpoint with ``body``; its JSON answer."""
        async with aiohttp.ClientSession() as session, session.post(
                f"{self.world['control_url']}/{name}", json=body,
                timeout=aiohttp.ClientTimeout(total=1800)) as response:
            response.raise_for_status()
            return await response.json()

    def patch_discord(self) -> None:
        """Point discord.py (process-global) at the child; :meth:`unpatch_discord` undoes."""
        import discord.gateway
        import discord.http
        import yarl

        if self._patched is None:
            self._patched = (discord.http.Route.BASE,
                             discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = self.world["api_url"]
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.world["gateway_url"])

    def unpatch_discord(self) -> None:
        if self._patched is not None:
            import discord.gateway
            import discord.http

            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
                self._patched)
            self._patched = None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator.serve")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--guild", default="Emulated guild")
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--channels", type=int, default=0)
    parser.add_argument("--unlimited", action="store_true", help="no rate limits")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
