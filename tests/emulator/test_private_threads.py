"""Private threads as Discord has them (#21's support desk relies on them): seen only by
their members and by Manage Threads; archived and locked through Modify Channel (locking
and unarchiving a locked thread need Manage Threads); a locked archived thread refuses
messages and new members; a message unarchives an unlocked one."""

from __future__ import annotations

import discord
import pytest


async def test_private_thread_seen_by_members_and_thread_managers_only(world):
    emu, bot, guild, ana = world
    bea = emu.create_user("bea")
    emu.add_member(guild, bea)
    general = bot.get_guild(guild.id).text_channels[0]
    thread = await general.create_thread(name="ticket 1", invitable=False,
                                         type=discord.ChannelType.private_thread)
    stored = emu.channel(thread.id)
    assert stored.invitable is False
    parent = emu.channel(general.id)
    assert emu.can_view(guild, ana, parent) and not emu.can_view(guild, ana, stored)
    await thread.add_user(discord.Object(ana.id))
    assert emu.can_view(guild, ana, stored) and not emu.can_view(guild, bea, stored)
    moderators = emu.create_role(guild, "mods",
                                 permissions=discord.Permissions(manage_threads=True,
                                                                 view_channel=True).value)
    emu.give_role(guild, bea, moderators)
    assert emu.can_view(guild, bea, stored)


async def test_archive_lock_and_what_a_locked_thread_refuses(world):
    emu, bot, guild, ana = world
    desk = discord.Permissions(
        view_channel=True, send_messages=True, send_messages_in_threads=True,
        create_private_threads=True, read_message_history=True)
    emu.set_bot_permissions(guild, desk.value | discord.Permissions(manage_threads=True).value)
    general = bot.get_guild(guild.id).text_channels[0]
    thread = await general.create_thread(name="ticket 2",
                                         type=discord.ChannelType.private_thread)
    await thread.send("first")
    await thread.edit(archived=True, locked=True)
    stored = emu.channel(thread.id)
    assert stored.archived and stored.locked
    payload = stored.payload()["thread_metadata"]
    assert payload["archived"] is True and payload["locked"] is True
    await thread.edit(archived=False, locked=False)  # the bot has Manage Threads here
    assert not stored.archived and not stored.locked
    await thread.edit(archived=True)
    await thread.send("reopened by a message")  # not locked: a message unarchives it
    assert not stored.archived
    await thread.edit(archived=True, locked=True)
    emu.set_bot_permissions(guild, desk.value)
    with pytest.raises(discord.HTTPException) as refused:
        await thread.send("locked")
    assert refused.value.code == 50083
    with pytest.raises(discord.HTTPException) as adding:
        await thread.add_user(discord.Object(ana.id))
    assert adding.value.code == 50083
    with pytest.raises(discord.Forbidden):
        await thread.edit(archived=False)
