"""The gateway: the raw protocol, then discord.py through drops, reconnects, invalid
sessions, disallowed intents, large guilds and several bots."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import discord
import pytest
from discord.ext import commands

from emulator import Emulator
from emulator.testing import running_bot

GUILDS_AND_MEMBERS = 1 | 2


async def _recv(ws: aiohttp.ClientWebSocketResponse) -> dict:
    return json.loads((await ws.receive(timeout=2)).data)


async def test_raw_protocol_identify_chunk_resume(emu):
    guild = emu.create_guild("G")
    for n in range(1500):
        emu.add_member(guild, emu.create_user(f"u{n}"), dispatch=False)
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(emu.gateway_url) as ws:
            hello = await _recv(ws)
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
            await ws.send_json({"op": 1, "d": None})
            assert (await _recv(ws))["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": emu.token, "intents": GUILDS_AND_MEMBERS,
                                               "properties": {}, "large_threshold": 250}})
            ready = await _recv(ws)
            assert (ready["t"], ready["s"]) == ("READY", 1)
            data = ready["d"]
            assert data["user"]["id"] == str(emu.bot_user.id)
            assert data["guilds"] == [{"id": str(guild.id), "unavailable": True}]
            assert data["application"]["id"] == str(emu.application_id)
            create = await _recv(ws)
            assert create["t"] == "GUILD_CREATE" and create["d"]["large"] is True
            assert create["d"]["member_count"] == 1502 and len(create["d"]["members"]) == 1
            await ws.send_json({"op": 8, "d": {"guild_id": str(guild.id), "query": "",
                                               "limit": 0, "nonce": "n1"}})
            chunks = [await _recv(ws) for _ in range(2)]
            assert [c["d"]["chunk_index"] for c in chunks] == [0, 1]
            assert {c["d"]["chunk_count"] for c in chunks} == {2}
            assert {c["d"]["nonce"] for c in chunks} == {"n1"}
            assert sum(len(c["d"]["members"]) for c in chunks) == 1502
            session, seq = data["session_id"], chunks[-1]["s"]
            await ws.close(code=4000)  # 1000 would end the session, as on Discord
        ben = emu.create_user("ben")
        emu.add_member(guild, ben)  # missed while disconnected
        async with http.ws_connect(emu.gateway_url) as ws:
            await _recv(ws)
            await ws.send_json({"op": 6, "d": {"token": emu.token, "session_id": session,
                                               "seq": seq}})
            replayed = await _recv(ws)
            assert replayed["t"] == "GUILD_MEMBER_ADD" and replayed["s"] == seq + 1
            assert (await _recv(ws))["t"] == "RESUMED"
        async with http.ws_connect(emu.gateway_url) as ws:
            await _recv(ws)
            await ws.send_json({"op": 6, "d": {"token": emu.token, "session_id": "nope",
                                               "seq": 1}})
            invalid = await _recv(ws)
            assert invalid["op"] == 9 and invalid["d"] is False


async def test_raw_close_codes(emu):
    async with aiohttp.ClientSession() as http:
        for frame, code in (
            ({"op": 2, "d": {"token": "wrong", "intents": 1}}, 4004),
            ({"op": 8, "d": {"guild_id": "1"}}, 4003),
            ({"op": 99, "d": None}, 4001),
        ):
            async with http.ws_connect(emu.gateway_url) as ws:
                await _recv(ws)
                await ws.send_json(frame)
                message = await ws.receive(timeout=2)
                assert message.type == aiohttp.WSMsgType.CLOSE and message.data == code


async def test_ready_with_5000_members_chunks_every_member(emu):
    # how fast is bench/startup.py's question (targets live in benchmarks, not timed tests)
    guild = emu.create_guild("Big")
    for n in range(5000):
        emu.add_member(guild, emu.create_user(f"creator{n}"), dispatch=False)
    intents = discord.Intents.none()
    intents.guilds = intents.members = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.05)
    async with running_bot(emu, client):
        cached = client.get_guild(guild.id)
        assert cached.chunked and len(cached.members) == 5002


async def test_privileged_intent_not_enabled_closes_4014():
    async with Emulator(members_intent_enabled=False) as emu:
        emu.create_guild("G")
        intents = discord.Intents.none()
        intents.guilds = intents.members = True
        client = discord.Client(intents=intents, guild_ready_timeout=0.05)
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_bot(emu, client, timeout=5):
                pass
        assert 4014 in emu.gateway.close_codes


async def test_without_members_intent_only_the_bot_is_cached(emu):
    guild = emu.create_guild("G")
    ana = emu.create_user("ana")
    emu.add_member(guild, ana, dispatch=False)
    client = discord.Client(intents=discord.Intents(guilds=True), guild_ready_timeout=0.05)
    async with running_bot(emu, client):
        cached = client.get_guild(guild.id)
        assert cached.get_member(ana.id) is None and cached.me is not None
        assert cached.member_count == 3


@pytest.mark.slow
async def test_invalid_session_makes_the_client_identify_again(world):
    """discord.py waits 5 s before a non-initial IDENTIFY (Client.before_identify_hook)."""
    emu, bot, guild, _ana = world
    await emu.invalidate_session(resumable=False)
    await emu.wait_for(lambda: emu.gateway.identifies >= 2, timeout=10, what="re-identify")
    ben = emu.create_user("ben")
    emu.add_member(guild, ben)
    await emu.wait_for(lambda: "join ben" in bot.events, timeout=10, what="join after identify")


async def test_message_content_intent(emu):
    guild = emu.create_guild("G")
    ana = emu.create_user("ana")
    emu.add_member(guild, ana, dispatch=False)
    general = emu.channel_by_name(guild, "general")
    seen: list[str] = []

    class Reader(commands.Bot):
        async def on_message(self, message: discord.Message) -> None:
            seen.append(message.content)

    intents = discord.Intents.none()
    intents.guilds = intents.guild_messages = intents.dm_messages = True
    async with running_bot(emu, Reader("!", intents=intents, guild_ready_timeout=0.05)):
        emu.send_message(general, ana, "secret")
        emu.send_message(general, ana, f"hey <@{emu.bot_user.id}>")
        emu.send_dm(ana, "in dm")
        await emu.wait_for(lambda: len(seen) == 3)
    assert seen == ["", f"hey <@{emu.bot_user.id}>", "in dm"]


async def test_two_bots_at_once(emu):
    other_app, other_bot, _token = emu.create_application("Helper")
    guild = emu.create_guild("G")
    emu.add_bot(guild, other_app)
    solo = emu.create_guild("Only helper", apps=[other_app])
    first = discord.Client(intents=discord.Intents(guilds=True, members=True),
                           guild_ready_timeout=0.05)
    second = discord.Client(intents=discord.Intents(guilds=True, members=True),
                            guild_ready_timeout=0.05)
    async with running_bot(emu, first), running_bot(emu, second, app=other_app):
        assert first.user.id == emu.bot_user.id and second.user.id == other_bot.id
        assert {g.id for g in first.guilds} == {guild.id}
        assert {g.id for g in second.guilds} == {guild.id, solo.id}
        role = emu.create_role(solo, "only-helper-sees-this")
        await emu.wait_for(lambda: second.get_guild(solo.id).get_role(role.id))
        assert first.get_guild(solo.id) is None
        channel = second.get_channel(emu.channel_by_name(solo, "general").id)
        await channel.send("from helper")
        assert emu.messages(channel.id)[-1].author is other_bot


@pytest.mark.slow
async def test_many_drops_in_a_row(world):
    emu, bot, guild, ana = world
    for n in range(3):
        await emu.drop_gateway()
        user = emu.create_user(f"late{n}")
        emu.add_member(guild, user)
        await emu.wait_for(lambda n=n: f"join late{n}" in bot.events, timeout=10)
    assert emu.gateway.resumes >= 3
    it = await emu.run_command(guild, ana, "echo", {"text": "ok"})
    assert await it.reply_text() == "ok"


@pytest.mark.slow
async def test_heartbeat_latency_is_measured_against_the_right_heartbeat(caplog):
    """discord.py's latency is the time from a heartbeat to its ACK. An ACK that arrives
    before the keep-alive thread recorded its send is measured from the heartbeat before
    (one whole interval: "Can't keep up, … websocket is 41.3s behind" at Discord's interval).
    With a short interval here, every measure must stay far below one interval."""
    interval = 0.3
    async with Emulator(heartbeat_interval=int(interval * 1000)) as emu:
        emu.create_guild("G")
        client = discord.Client(intents=discord.Intents(guilds=True), guild_ready_timeout=0.05)
        caplog.set_level(logging.WARNING, logger="discord")
        async with running_bot(emu, client):
            start = emu.gateway.heartbeats
            seen: list[float] = []
            while emu.gateway.heartbeats - start < 12:
                await asyncio.sleep(0.005)
                if client.latency != (seen[-1] if seen else None):
                    seen.append(client.latency)
    assert len(seen) >= 10
    assert max(seen) < interval * 0.75, seen  # never the whole interval
    assert min(seen) > 0  # about the emulated 50 ms round trip, less the thread's own delay
    assert not [r for r in caplog.records if r.name.startswith("discord.gateway")]


async def test_hello_uses_discords_interval_and_op1_asks_for_a_heartbeat(emu):
    emu.create_guild("G")
    async with aiohttp.ClientSession() as http, http.ws_connect(emu.gateway_url) as ws:
        hello = await _recv(ws)
        assert hello == {"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}
        await ws.send_json({"op": 2, "d": {"token": emu.token, "intents": 1, "properties": {}}})
        assert (await _recv(ws))["t"] == "READY"
        await _recv(ws)  # GUILD_CREATE
        await emu.request_heartbeat()
        assert (await _recv(ws))["op"] == 1
        sent = time.perf_counter()
        await ws.send_json({"op": 1, "d": 2})
        assert await _recv(ws) == {"op": 11, "d": None, "s": None, "t": None}
        assert time.perf_counter() - sent < 1.0
    client = discord.Client(intents=discord.Intents(guilds=True), guild_ready_timeout=0.05)
    async with running_bot(emu, client):
        before = emu.gateway.heartbeats
        await emu.request_heartbeat()  # discord.py answers at once, not after 41 s
        await emu.wait_for(lambda: emu.gateway.heartbeats == before + 1, timeout=2,
                           what="the requested heartbeat")
