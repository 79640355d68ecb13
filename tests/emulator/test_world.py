"""What a bot does to a guild (channels, overwrites, threads, roles, members) through the
real discord.py client; its cache must follow through gateway events."""

from __future__ import annotations

import asyncio

import discord
import pytest

from emulator.models import PRIVATE_THREAD


async def test_private_channel_with_overwrites(world):
    emu, bot, guild, ana = world
    cached = bot.get_guild(guild.id)
    member = cached.get_member(ana.id)
    overwrites = {
        cached.default_role: discord.PermissionOverwrite(view_channel=False),
        member: discord.PermissionOverwrite(view_channel=True, send_messages=True),
        cached.me: discord.PermissionOverwrite(view_channel=True),
    }
    category = await cached.create_category("Families")
    channel = await cached.create_text_channel("Casa Lobo", category=category,
                                               overwrites=overwrites)
    assert channel.name == "casa-lobo"
    channel = await emu.wait_for(lambda: cached.get_channel(channel.id), what="CHANNEL_CREATE")
    created = emu.channel_by_name(guild, "casa-lobo")
    assert created.parent_id == category.id
    assert emu.can_view(guild, ana, created)
    assert not emu.can_view(guild, _join(emu, guild, "bea"), created)
    await channel.set_permissions(member, overwrite=None)
    assert not emu.can_view(guild, ana, created)
    await emu.wait_for(lambda: member not in cached.get_channel(channel.id).overwrites,
                       what="overwrite removed")
    await channel.edit(name="casa-lobo-2", topic="hi")
    await emu.wait_for(lambda: cached.get_channel(channel.id).name == "casa-lobo-2",
                       what="CHANNEL_UPDATE")
    await channel.delete()
    await emu.wait_for(lambda: cached.get_channel(channel.id) is None, what="CHANNEL_DELETE")
    assert emu.channel_by_name(guild, "casa-lobo-2") is None


def _join(emu, guild, name):
    user = emu.create_user(name)
    emu.add_member(guild, user)
    return user


async def test_manage_channels_needed(world):
    emu, bot, guild, _ana = world
    emu.set_bot_permissions(guild, discord.Permissions(view_channel=True,
                                                       send_messages=True).value)
    cached = bot.get_guild(guild.id)
    await emu.wait_for(lambda: not cached.me.guild_permissions.manage_channels)
    with pytest.raises(discord.Forbidden) as caught:
        await cached.create_text_channel("nope")
    assert caught.value.code == 50013


async def test_private_thread_and_members(world):
    emu, bot, guild, ana = world
    general = bot.get_channel(emu.channel_by_name(guild, "general").id)
    thread = await general.create_thread(name="welcome ana",
                                         type=discord.ChannelType.private_thread)
    assert thread.type is discord.ChannelType.private_thread
    await thread.add_user(discord.Object(ana.id))
    stored = emu.channel(thread.id)
    assert stored.type == PRIVATE_THREAD and ana.id in stored.thread_members
    await thread.send("hello in thread")
    assert [m.content for m in emu.messages(stored)] == ["hello in thread"]
    await emu.wait_for(lambda: bot.get_guild(guild.id).get_thread(thread.id), what="thread")


async def test_roles_through_discord_py(world):
    emu, bot, guild, ana = world
    cached = bot.get_guild(guild.id)
    role = await cached.create_role(name="Lobos", mentionable=True)
    await emu.wait_for(lambda: cached.get_role(role.id), what="GUILD_ROLE_CREATE")
    member = cached.get_member(ana.id)
    await member.add_roles(role)
    await emu.wait_for(lambda: role in member.roles, what="GUILD_MEMBER_UPDATE")
    assert [r.name for r in emu.member_roles(guild, ana)] == ["Lobos"]
    await role.edit(name="Lobos Grises")
    await emu.wait_for(lambda: cached.get_role(role.id).name == "Lobos Grises")
    with pytest.raises(discord.Forbidden):  # no Manage Nicknames
        await member.edit(nick="Ana L")
    await role.delete()
    await emu.wait_for(lambda: cached.get_role(role.id) is None, what="GUILD_ROLE_DELETE")
    assert emu.member_roles(guild, ana) == []


async def test_role_above_the_bot_is_forbidden(world):
    emu, bot, guild, ana = world
    high = emu.create_role(guild, "Staff", position=200)
    cached = bot.get_guild(guild.id)
    await emu.wait_for(lambda: cached.get_role(high.id))
    with pytest.raises(discord.Forbidden) as caught:
        await cached.get_member(ana.id).add_roles(cached.get_role(high.id))
    assert caught.value.code == 50013


async def test_member_leave_event_and_fetch(world):
    emu, bot, guild, ana = world
    cached = bot.get_guild(guild.id)
    fetched = await cached.fetch_member(ana.id)
    assert fetched.name == "ana"
    emu.remove_member(guild, ana)
    await emu.wait_for(lambda: "leave ana" in bot.events)
    with pytest.raises(discord.NotFound) as caught:
        await cached.fetch_member(ana.id)
    assert caught.value.code == 10007


async def test_user_messages_and_history(emu):
    from emulator.testing import default_intents, running_bot
    from tests.emulator._bot import TestBot

    guild = emu.create_guild("G")
    ana = emu.create_user("ana")
    emu.add_member(guild, ana, dispatch=False)
    general = emu.channel_by_name(guild, "general")
    async with running_bot(emu, TestBot(intents=default_intents())) as bot:
        emu.send_message(general, ana, "hola bot")
        await emu.wait_for(lambda: "message ana: hola bot" in bot.events)
        channel = bot.get_channel(general.id)
        sent = await channel.send("reply", reference=discord.MessageReference(
            message_id=emu.messages(general)[0].id, channel_id=general.id))
        history = [m.content async for m in channel.history(limit=10)]
        assert history == ["reply", "hola bot"]
        await sent.edit(content="edited")
        assert emu.messages(general)[-1].content == "edited"
        await sent.delete()
        assert [m.content for m in emu.messages(general)] == ["hola bot"]


@pytest.mark.slow
async def test_global_rate_limit_under_a_burst(world):
    """120 messages to 120 channels at 50 requests/s: discord.py has no proactive global
    limiter, so it collects global 429s, waits and succeeds; it takes over 2 s."""
    emu, bot, guild, _ana = world
    cached = bot.get_guild(guild.id)
    stored = [emu.create_channel(guild, f"c{n}") for n in range(120)]
    await emu.wait_for(lambda: all(cached.get_channel(c.id) for c in stored))
    emu.stats.reset()
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(cached.get_channel(c.id).send("x") for c in stored))
    elapsed = loop.time() - start
    assert all(len(emu.messages(c)) == 1 for c in stored)
    assert elapsed >= 2.0 - 0.1
    assert emu.stats.rate_limited == emu.stats.global_rate_limited
    assert emu.stats.by_route["POST /channels/{channel_id}/messages"] == (
        120 + emu.stats.rate_limited)
