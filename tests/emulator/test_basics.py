"""The real discord.py client against the emulator: login, commands, components, DMs."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest


async def test_login_ready_and_cache(world):
    emu, bot, guild, ana = world
    assert bot.user.id == emu.bot_user.id
    cached = bot.get_guild(guild.id)
    assert cached is not None and cached.get_member(ana.id) is not None
    assert cached.get_channel(emu.channel_by_name(guild, "general").id) is not None
    assert set(emu.synced_commands()) >= {"echo", "slow", "buttons", "ask", "fruit", "who"}


async def test_slash_command_with_options_ephemeral(world):
    emu, _bot, guild, ana = world
    it = await emu.run_command(guild, ana, "echo", {"text": "hola", "times": 2})
    assert await it.reply_text() == "hola hola"
    assert it.ephemeral
    assert emu.messages(emu.channel_by_name(guild, "general")) == []


async def test_defer_then_followup(world):
    emu, _bot, guild, ana = world
    it = await emu.run_command(guild, ana, "slow")
    assert await it.reply_text() == "done slowly"
    assert it.response_type == 5 and it.ephemeral


async def test_user_option_resolved(world):
    emu, _bot, guild, ana = world
    it = await emu.run_command(guild, ana, "who", {"member": ana})
    assert await it.reply_text() == "member ana"


async def test_autocomplete(world):
    emu, _bot, guild, ana = world
    choices = await emu.autocomplete(guild, ana, "fruit", "name", "ap")
    assert [c["value"] for c in choices] == ["apple", "apricot"]


async def test_button_and_select(world):
    emu, _bot, guild, ana = world
    it = await emu.run_command(guild, ana, "buttons")
    message = await it.wait_message()
    assert not message.ephemeral
    click = await emu.click(ana, message, "test:press")
    assert await click.reply_text() == "pressed by ana"
    pick = await emu.select(ana, message, "test:pick", ["b"])
    await pick.wait_response()
    assert message.content == "picked b"


async def test_modal_round_trip(world):
    emu, _bot, guild, ana = world
    it = await emu.run_command(guild, ana, "ask")
    submitted = await it.submit({"answer": "42"})
    assert await submitted.reply_text() == "answer=42"


async def test_dm_and_closed_dms(world):
    emu, bot, guild, ana = world
    member = bot.get_guild(guild.id).get_member(ana.id)
    await member.send("hi")
    assert [m.content for m in emu.dms(ana)] == ["hi"]
    emu.close_dms(ana)
    with pytest.raises(discord.Forbidden) as caught:
        await member.send("again")
    assert caught.value.code == 50007


async def test_multipart_upload(world):
    emu, bot, guild, _ana = world
    general = emu.channel_by_name(guild, "general")
    channel = bot.get_channel(general.id)
    await channel.send("file", file=discord.File(io.BytesIO(b"PNGDATA"), filename="a.png"))
    sent = emu.messages(general)[-1]
    assert sent.attachments[0].filename == "a.png" and sent.attachments[0].data == b"PNGDATA"


async def test_missing_manage_roles_is_forbidden(world):
    emu, bot, guild, ana = world
    role = emu.create_role(guild, "family")
    await emu.wait_for(lambda: bot.get_guild(guild.id).get_role(role.id))
    member = bot.get_guild(guild.id).get_member(ana.id)
    await member.add_roles(bot.get_guild(guild.id).get_role(role.id))
    await emu.wait_for(lambda: role.id in [r.id for r in member.roles], what="role in cache")
    emu.set_bot_permissions(guild, discord.Permissions(send_messages=True,
                                                       view_channel=True).value)
    with pytest.raises(discord.Forbidden) as caught:
        await member.remove_roles(bot.get_guild(guild.id).get_role(role.id))
    assert caught.value.code == 50013


async def test_message_limits(world):
    emu, bot, guild, _ana = world
    channel = bot.get_channel(emu.channel_by_name(guild, "general").id)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x" * 2001)
    assert caught.value.code == 50035
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embeds=[discord.Embed(description="x" * 4000) for _ in range(2)])
    assert caught.value.code == 50035


async def test_injected_429_is_retried(world):
    emu, bot, guild, _ana = world
    channel = bot.get_channel(emu.channel_by_name(guild, "general").id)
    emu.inject_429(1, route="/messages", retry_after=0.1)
    await channel.send("after a 429")
    assert emu.stats.rate_limited == 1
    assert emu.messages(emu.channel_by_name(guild, "general"))[-1].content == "after a 429"


async def test_5xx_burst_is_retried(world):
    emu, bot, guild, _ana = world
    channel = bot.get_channel(emu.channel_by_name(guild, "general").id)
    emu.inject_5xx(1, status=502)
    await channel.send("after 502s")
    assert emu.messages(emu.channel_by_name(guild, "general"))[-1].content == "after 502s"


async def test_gateway_drop_resumes_and_events_arrive(world):
    emu, bot, guild, _ana = world
    await emu.drop_gateway()
    ben = emu.create_user("ben")
    emu.add_member(guild, ben)
    await emu.wait_for(lambda: "join ben" in bot.events, timeout=10, what="member join event")
    assert emu.gateway.resumes >= 1


async def test_reconnect_request(world):
    emu, _bot, guild, ana = world
    await emu.request_reconnect()
    await emu.wait_for(lambda: emu.gateway.resumes >= 1, timeout=10, what="resume")
    it = await emu.run_command(guild, ana, "echo", {"text": "still here"})
    assert await it.reply_text() == "still here"


@pytest.mark.slow
async def test_burst_respects_per_route_buckets(world):
    emu, bot, guild, _ana = world
    channel = bot.get_channel(emu.channel_by_name(guild, "general").id)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(channel.send(f"m{i}") for i in range(7)))
    elapsed = loop.time() - start
    assert len(emu.messages(emu.channel_by_name(guild, "general"))) == 7
    assert elapsed >= 4  # 5 per 5 s per channel: 7 messages need one reset
    assert emu.stats.rate_limited <= 2
