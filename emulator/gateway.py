"""The gateway websocket, as discord.py 2.7 expects it (plain JSON text frames).

HELLO (``heartbeat_interval`` 41,250 ms, as Discord) → heartbeats (op 1 → op 11 after a
network-like round trip; the server may ask for one with op 1) → IDENTIFY → READY + one
GUILD_CREATE per guild; RESUME replays what a session missed, then RESUMED; op 8
REQUEST_GUILD_MEMBERS → GUILD_MEMBERS_CHUNK (1,000 per chunk). Large guilds (more members than
the identify's ``large_threshold``) arrive with only the bot's member, as on Discord, and the
client chunks the rest.

Each session belongs to one application; events reach only sessions of bots in the guild
concerned and are filtered by the session's intents (no message content without the
MESSAGE_CONTENT intent, except DMs, mentions and the bot's own messages).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from emulator import models as m

if TYPE_CHECKING:
    from emulator.server import Emulator

BUFFER = 10_000  # frames kept per session for RESUME
# Seconds between a HEARTBEAT and its ACK: Discord's ACK crosses a network, a local one would
# not. discord.py's keep-alive thread records the send time only after the send resolves in
# its own thread; an ACK handled before that is measured from the PREVIOUS heartbeat, which
# logs "Can't keep up, shard ID None websocket is 41.3s behind" on an idle bot. A small round
# trip lets that thread run first, so the bot's latency is the true time to the ACK.
ACK_DELAY = 0.05
CHUNK = 1000

_MEMBER_EVENTS = {"GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE",
                  "THREAD_MEMBERS_UPDATE"}
_GUILD_EVENTS = {"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE", "GUILD_ROLE_CREATE",
                 "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE", "CHANNEL_CREATE", "CHANNEL_UPDATE",
                 "CHANNEL_DELETE", "THREAD_CREATE", "THREAD_UPDATE", "THREAD_DELETE",
                 "THREAD_LIST_SYNC", "THREAD_MEMBER_UPDATE"}
_MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"}


def _control(op: int, d: Any = None) -> str:
    return json.dumps({"op": op, "d": d, "s": None, "t": None})


@dataclass
class Session:
    """One gateway session (survives reconnects through RESUME)."""

    id: str
    app: m.Application
    intents: int
    large_threshold: int = 250
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    queue: asyncio.Queue[str] | None = None
    writer: asyncio.Task[None] | None = None
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=BUFFER))
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    events: int = 0

    def push(self, event: str, data_json: str) -> None:
        """Queue a dispatch (op 0) with the next sequence number; kept for RESUME."""
        self.seq += 1
        self.events += 1
        frame = f'{{"op":0,"t":"{event}","s":{self.seq},"d":{data_json}}}'
        self.buffer.append((self.seq, frame))
        if self.queue is not None:
            self.queue.put_nowait(frame)

    def send(self, frame: str) -> None:
        """Queue a control frame (not sequenced, not replayed)."""
        if self.queue is not None:
            self.queue.put_nowait(frame)

    def wants(self, event: str, data: Any) -> bool:
        """Whether the session's intents include ``event``."""
        if event in _GUILD_EVENTS:
            return bool(self.intents & m.INTENT_GUILDS)
        if event in _MEMBER_EVENTS:
            own = isinstance(data, dict) and (data.get("user") or {}).get("id") == str(
                self.app.bot.id)
            return own or bool(self.intents & m.INTENT_GUILD_MEMBERS)
        if event in _MESSAGE_EVENTS:
            in_guild = isinstance(data, dict) and data.get("guild_id") is not None
            need = m.INTENT_GUILD_MESSAGES if in_guild else m.INTENT_DIRECT_MESSAGES
            return bool(self.intents & need)
        return True

    def sees_content(self, data: dict[str, Any]) -> bool:
        """Message content reaches bots with the intent, in DMs, when mentioned, or their own."""
        if self.intents & m.INTENT_MESSAGE_CONTENT or data.get("guild_id") is None:
            return True
        bot_id = str(self.app.bot.id)
        return (data.get("author", {}).get("id") == bot_id
                or any(u.get("id") == bot_id for u in data.get("mentions") or []))


def _redacted(data: dict[str, Any]) -> dict[str, Any]:
    return data | {"content": "", "embeds": [], "attachments": [], "components": []}


class Gateway:
    """All gateway sessions of an emulator."""

    def __init__(self, emu: Emulator, heartbeat_interval: int = 41250,
                 heartbeat_ack_delay: float = ACK_DELAY) -> None:
        self.emu = emu
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_ack_delay = heartbeat_ack_delay
        self.heartbeats = 0  # op 1 heartbeats received, all connections
        self.sessions: dict[str, Session] = {}
        self.identifies = 0
        self.resumes = 0
        self.close_codes: list[int] = []  # codes the emulator closed connections with

    # -- dispatch --------------------------------------------------------------------------------

    def _targets(self, guild_id: int | None, app: m.Application | None) -> list[Session]:
        guild = self.emu.guilds.get(guild_id) if guild_id is not None else None
        found = []
        for session in self.sessions.values():
            if app is not None and session.app is not app:
                continue
            if guild is not None and session.app.bot.id not in guild.members:
                continue
            found.append(session)
        return found

    def dispatch(self, event: str, data: Any, *, guild_id: int | None = None,
                 app: m.Application | None = None) -> None:
        """Send ``event`` to sessions of ``app`` or of bots in ``guild_id`` (default: all)."""
        full: str | None = None
        hidden: str | None = None
        for session in self._targets(guild_id, app):
            if not session.wants(event, data):
                continue
            if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.sees_content(data):
                hidden = hidden or json.dumps(_redacted(data))
                session.push(event, hidden)
            else:
                full = full or json.dumps(data)
                session.push(event, full)

    def guild_available(self, guild: m.Guild, app: m.Application) -> None:
        """GUILD_CREATE to ``app``'s sessions (the bot joined ``guild``)."""
        for session in self._targets(None, app):
            if session.intents & m.INTENT_GUILDS:
                session.push("GUILD_CREATE", json.dumps(self._guild_create(session, guild)))

    def _guild_create(self, session: Session, guild: m.Guild) -> dict[str, Any]:
        bot_member = guild.members.get(session.app.bot.id)
        if session.intents & m.INTENT_GUILD_MEMBERS and len(guild.members) <= max(
                50, min(session.large_threshold, 250)):
            return guild.create_payload(None, large_threshold=session.large_threshold)
        members = [bot_member] if bot_member is not None else []
        return guild.create_payload(members, large_threshold=session.large_threshold)

    async def flush(self, timeout: float = 1.0) -> None:
        """Wait until queued frames are written to the sockets, so a REST answer reaches the
        client after the events it caused (discord.py's cache is then already updated)."""
        queues = [s.queue for s in self.connected if s.queue is not None and s.queue.qsize()]
        if queues:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(q.join() for q in queues)), timeout)

    @property
    def connected(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.ws is not None and not s.ws.closed]

    # -- connection ------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The websocket endpoint (``/gateway``)."""
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        await ws.send_str(_control(10, {"heartbeat_interval": self.heartbeat_interval}))
        session: Session | None = None
        acks: set[asyncio.Task[None]] = set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.BINARY:
                        await self._close(ws, 4002, b"Error while decoding payload.")
                    continue
                try:
                    data = json.loads(msg.data)
                    op = data["op"]
                except (ValueError, KeyError, TypeError):
                    await self._close(ws, 4002, b"Error while decoding payload.")
                    break
                if op == 1:
                    self.heartbeats += 1
                    ack = asyncio.create_task(self._ack(ws))
                    acks.add(ack)
                    ack.add_done_callback(acks.discard)
                elif op == 2:
                    if session is not None:
                        await self._close(ws, 4005, b"Already authenticated.")
                        break
                    session = await self._identify(ws, data.get("d") or {})
                elif op == 6:
                    session = await self._resume(ws, data.get("d") or {})
                elif op == 8:
                    if session is None:
                        await self._close(ws, 4003, b"Not authenticated.")
                        break
                    self._chunk(session, data.get("d") or {})
                elif op in (3, 4):  # presence / voice state updates: accepted, ignored
                    continue
                else:
                    await self._close(ws, 4001, b"Unknown opcode.")
                    break
        finally:
            for ack in acks:
                ack.cancel()
            if session is not None and session.ws is ws:
                self._detach(session)
                if ws.close_code in (1000, 1001):  # a clean close ends the session
                    self.sessions.pop(session.id, None)
        return ws

    async def _ack(self, ws: web.WebSocketResponse) -> None:
        """HEARTBEAT_ACK after the round trip a network adds (see :data:`ACK_DELAY`)."""
        await asyncio.sleep(self.heartbeat_ack_delay)
        if not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(_control(11))

    async def _close(self, ws: web.WebSocketResponse, code: int, reason: bytes = b"") -> None:
        self.close_codes.append(code)
        with contextlib.suppress(Exception):
            await ws.close(code=code, message=reason)

    def _attach(self, session: Session, ws: web.WebSocketResponse) -> None:
        session.ws = ws
        session.queue = asyncio.Queue()
        session.writer = asyncio.create_task(self._write(ws, session.queue))

    def _detach(self, session: Session) -> None:
        session.ws = None
        session.queue = None
        if session.writer is not None:
            session.writer.cancel()
            session.writer = None

    @staticmethod
    async def _write(ws: web.WebSocketResponse, queue: asyncio.Queue[str]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not ws.closed:
                frame = await queue.get()
                try:
                    await ws.send_str(frame)
                finally:
                    queue.task_done()

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        app = self.emu.app_by_token(str(data.get("token", "")).removeprefix("Bot "))
        if app is None:
            await self._close(ws, 4004, b"Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        if not app.privileged_allowed(intents):
            await self._close(ws, 4014, b"Disallowed intent(s).")
            return None
        shard = data.get("shard")
        if shard and (len(shard) != 2 or not 0 <= int(shard[0]) < int(shard[1])):
            await self._close(ws, 4010, b"Invalid shard.")
            return None
        self.identifies += 1
        session = Session(secrets.token_hex(16), app, intents,
                          int(data.get("large_threshold") or 50))
        self.sessions[session.id] = session
        self._attach(session, ws)
        guilds = [g for g in self.emu.guilds.values() if app.bot.id in g.members
                  and (not shard or (g.id >> 22) % int(shard[1]) == int(shard[0]))]
        ready: dict[str, Any] = {
            "v": 10, "user": app.bot.payload() | {"verified": True, "mfa_enabled": False,
                                                  "flags": 0},
            "session_id": session.id, "resume_gateway_url": self.emu.gateway_url,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "application": {"id": str(app.id), "flags": app.payload()["flags"]},
            "private_channels": [], "relationships": [], "presences": [],
            "session_type": "normal", "user_settings": {}, "auth": {},
            "guild_join_requests": [], "geo_ordered_rtc_regions": [],
        }
        if shard:
            ready["shard"] = [int(shard[0]), int(shard[1])]
        session.push("READY", json.dumps(ready))
        if intents & m.INTENT_GUILDS:
            for guild in guilds:
                session.push("GUILD_CREATE", json.dumps(self._guild_create(session, guild)))
        session.ready.set()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(str(data.get("session_id", "")))
        token = str(data.get("token", "")).removeprefix("Bot ")
        if session is None or token != session.app.token:
            await ws.send_str(_control(9, False))
            return None
        self.resumes += 1
        if session.ws is not None and session.ws is not ws:
            old = session.ws
            self._detach(session)
            await self._close(old, 4000)
        seq = int(data.get("seq") or 0)
        self._attach(session, ws)
        assert session.queue is not None
        for number, frame in session.buffer:
            if number > seq:
                session.queue.put_nowait(frame)
        session.push("RESUMED", "{}")
        return session

    def _chunk(self, session: Session, data: dict[str, Any]) -> None:
        """Answer op 8 with GUILD_MEMBERS_CHUNK events (1,000 members each)."""
        guild = self.emu.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or session.app.bot.id not in guild.members:
            return
        members = list(guild.members.values())
        wanted = data.get("user_ids")
        not_found: list[str] = []
        if wanted:
            ids = [int(u) for u in (wanted if isinstance(wanted, list) else [wanted])]
            members = [guild.members[i] for i in ids if i in guild.members]
            not_found = [str(i) for i in ids if i not in guild.members]
        elif data.get("query"):
            query = str(data["query"]).lower()
            members = [x for x in members if x.user.name.lower().startswith(query)
                       or (x.nick or "").lower().startswith(query)]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunks = [members[i:i + CHUNK] for i in range(0, len(members), CHUNK)] or [[]]
        for index, chunk in enumerate(chunks):
            payload: dict[str, Any] = {
                "guild_id": str(guild.id), "members": [x.payload() for x in chunk],
                "chunk_index": index, "chunk_count": len(chunks),
            }
            if data.get("nonce") is not None:
                payload["nonce"] = data["nonce"]
            if not_found and index == 0:
                payload["not_found"] = not_found
            if data.get("presences"):
                payload["presences"] = []
            session.push("GUILD_MEMBERS_CHUNK", json.dumps(payload))

    # -- faults ----------------------------------------------------------------------------------

    def _sessions_of(self, app: m.Application | None) -> list[Session]:
        return [s for s in self.connected if app is None or s.app is app]

    async def drop(self, code: int = 4000, app: m.Application | None = None) -> None:
        """Close connections abnormally (default 4000, resumable); the client RESUMEs."""
        for session in self._sessions_of(app):
            assert session.ws is not None
            ws = session.ws
            self._detach(session)
            await self._close(ws, code, b"emulated disconnect")

    async def request_heartbeat(self, app: m.Application | None = None) -> None:
        """Send op 1 HEARTBEAT: Discord asks for a heartbeat now; the client answers at once
        (discord.py sends op 1 without waiting for its interval)."""
        for session in self._sessions_of(app):
            session.send(_control(1))

    async def request_reconnect(self, app: m.Application | None = None) -> None:
        """Send op 7 RECONNECT: the client closes and resumes."""
        for session in self._sessions_of(app):
            session.send(_control(7))

    async def invalidate(self, resumable: bool = False, app: m.Application | None = None
                         ) -> None:
        """Send op 9 INVALID SESSION; if not resumable the session is forgotten and the client
        identifies again."""
        for session in self._sessions_of(app):
            session.send(_control(9, resumable))
            if not resumable:
                self.sessions.pop(session.id, None)

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            if session.ws is not None:
                ws = session.ws
                self._detach(session)
                await self._close(ws, 1001)
        self.sessions.clear()
