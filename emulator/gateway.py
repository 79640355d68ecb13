"""The gateway websocket: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, RESUME,
member chunking, and in-order dispatch of events to every connected session."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from emulator.server import Emulator

GUILD_MEMBERS_INTENT = 1 << 1
BUFFER = 5000


@dataclass
class Session:
    id: str
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    queue: asyncio.Queue[str] | None = None
    writer: asyncio.Task[None] | None = None
    buffer: list[tuple[int, str]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, event: str, data: Any) -> None:
        self.seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": self.seq, "d": data})
        self.buffer.append((self.seq, frame))
        if len(self.buffer) > BUFFER:
            del self.buffer[: len(self.buffer) - BUFFER]
        if self.queue is not None:
            self.queue.put_nowait(frame)


class Gateway:
    def __init__(self, emu: Emulator, heartbeat_interval: int = 41250) -> None:
        self.emu = emu
        self.heartbeat_interval = heartbeat_interval
        self.sessions: dict[str, Session] = {}
        self.identifies = 0
        self.resumes = 0

    def dispatch(self, event: str, data: Any) -> None:
        for session in self.sessions.values():
            session.push(event, data)

    @property
    def connected(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.ws is not None and not s.ws.closed]

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        await ws.send_str(json.dumps(
            {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval}, "s": None, "t": None}
        ))
        session: Session | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                op = data.get("op")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
                elif op == 2:
                    session = await self._identify(ws, data["d"])
                elif op == 6:
                    session = await self._resume(ws, data["d"])
                elif op == 8 and session is not None:
                    self._chunk(session, data["d"])
        finally:
            if session is not None and session.ws is ws:
                self._detach(session)
        return ws

    def _attach(self, session: Session, ws: web.WebSocketResponse) -> None:
        session.ws = ws
        session.queue = asyncio.Queue()
        session.writer = asyncio.create_task(self._write(session, ws, session.queue))

    def _detach(self, session: Session) -> None:
        session.ws = None
        session.queue = None
        if session.writer is not None:
            session.writer.cancel()
            session.writer = None

    async def _write(self, session: Session, ws: web.WebSocketResponse,
                     queue: asyncio.Queue[str]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not ws.closed:
                frame = await queue.get()
                await ws.send_str(frame)

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        if data.get("token") != self.emu.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        if intents & GUILD_MEMBERS_INTENT and not self.emu.members_intent_enabled:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        self.identifies += 1
        session = Session(secrets.token_hex(16))
        self.sessions[session.id] = session
        self._attach(session, ws)
        guilds = [g for g in self.emu.guilds.values() if self.emu.bot_user.id in g.members]
        ready: dict[str, Any] = {
            "v": 10, "user": self.emu.bot_user.payload() | {"verified": True, "mfa_enabled": False,
                                                            "flags": 0},
            "session_id": session.id, "resume_gateway_url": self.emu.gateway_url,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "application": {"id": str(self.emu.application_id), "flags": 0},
            "private_channels": [], "relationships": [], "presences": [],
            "session_type": "normal", "user_settings": {}, "auth": {},
        }
        shard = data.get("shard")
        if shard:
            ready["shard"] = shard
        session.push("READY", ready)
        members_ok = bool(intents & GUILD_MEMBERS_INTENT)
        for guild in guilds:
            payload = guild.create_payload(None if members_ok else 1)
            if not members_ok:
                payload["members"] = [guild.members[self.emu.bot_user.id].payload()]
            session.push("GUILD_CREATE", payload)
        session.ready.set()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.emu.token:
            await ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
            return None
        self.resumes += 1
        if session.ws is not None and session.ws is not ws:
            self._detach(session)
        seq = int(data.get("seq") or 0)
        self._attach(session, ws)
        assert session.queue is not None
        for number, frame in session.buffer:
            if number > seq:
                session.queue.put_nowait(frame)
        session.push("RESUMED", {})
        return session

    def _chunk(self, session: Session, data: dict[str, Any]) -> None:
        guild = self.emu.guilds.get(int(data["guild_id"]))
        if guild is None:
            return
        members = list(guild.members.values())
        wanted = data.get("user_ids")
        if wanted:
            ids = {int(u) for u in (wanted if isinstance(wanted, list) else [wanted])}
            members = [m for m in members if m.user.id in ids]
        elif data.get("query"):
            query = str(data["query"]).lower()
            members = [m for m in members if m.user.name.lower().startswith(query)]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunks = [members[i:i + 1000] for i in range(0, len(members), 1000)] or [[]]
        for index, chunk in enumerate(chunks):
            session.push("GUILD_MEMBERS_CHUNK", {
                "guild_id": str(guild.id), "members": [m.payload() for m in chunk],
                "chunk_index": index, "chunk_count": len(chunks), "nonce": data.get("nonce"),
                "not_found": [],
            })

    async def drop(self, code: int = 4000) -> None:
        """Close every connection abnormally; discord.py reconnects and RESUMEs."""
        for session in self.connected:
            assert session.ws is not None
            ws = session.ws
            self._detach(session)
            await ws.close(code=code, message=b"emulated disconnect")

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client closes and resumes."""
        for session in self.connected:
            assert session.ws is not None
            await session.ws.send_str(json.dumps({"op": 7, "d": None, "s": None, "t": None}))

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            if session.ws is not None:
                ws = session.ws
                self._detach(session)
                with contextlib.suppress(Exception):
                    await ws.close(code=1001)
