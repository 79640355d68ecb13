"""Interactions end to end: subcommand groups, every option type, locales, DMs, deferred
updates, edits and follow-ups, Discord's 3 s window and double acknowledgement."""

from __future__ import annotations

import discord
import pytest

from emulator.testing import running_bot
from tests.emulator._bot import TestBot


async def test_subcommand_group_with_every_option_type(world):
    emu, _bot, guild, ana = world
    role = emu.create_role(guild, "leaders")
    general = emu.channel_by_name(guild, "general")
    es = emu.create_user("eva", locale="es-ES")
    emu.add_member(guild, es)
    it = await emu.run_command(guild, es, "family join", {
        "name": "Lobos", "size": 3, "ratio": 0.5, "public": True, "leader": ana,
        "where": general, "role": role})
    assert await it.reply_text() == "Lobos|3|0.5|True|ana|general|leaders|es-ES|en-US"
    assert it.ephemeral and it.response_type == 4


async def test_nested_group_and_member_permissions(world):
    emu, _bot, guild, ana = world
    it = await emu.run_command(guild, ana, "family", subcommand=["admin", "perms"])
    assert await it.reply_text() == "manage_roles=False admin=False"
    owner = await emu.run_command(guild, emu.owner, "family admin perms")
    assert await owner.reply_text() == "manage_roles=True admin=True"
    manager = emu.create_role(guild, "manager", permissions=discord.Permissions(
        manage_roles=True).value)
    emu.give_role(guild, ana, manager)
    again = await emu.run_command(guild, ana, "family admin perms")
    assert await again.reply_text() == "manage_roles=True admin=False"


async def test_unknown_command_and_option_are_clear_errors(world):
    emu, _bot, guild, ana = world
    with pytest.raises(AssertionError, match="not synced"):
        await emu.run_command(guild, ana, "nope")
    with pytest.raises(AssertionError, match="no option"):
        await emu.run_command(guild, ana, "echo", {"txt": "x"})
    with pytest.raises(AssertionError, match="required"):
        await emu.run_command(guild, ana, "echo", {"times": 2})


async def test_command_in_dm(world):
    emu, _bot, _guild, ana = world
    it = await emu.run_command(None, ana, "hello")
    assert await it.reply_text() == "hello ana in dm"
    assert it.original.channel_id == emu.dm_channel(ana).id


async def test_deferred_update_then_edit_original(world):
    emu, _bot, guild, ana = world
    it = await emu.run_command(guild, ana, "counter")
    message = await it.wait_message()
    click = await emu.click(ana, message, "test:inc")
    assert await click.reply_text() == "count 1"
    assert click.response_type == 6 and click.original is message
    assert message.content == "count 1" and message.edited


async def test_edit_original_and_ephemeral_followup(world):
    emu, _bot, guild, ana = world
    it = await emu.run_command(guild, ana, "edits")
    followups = await it.wait_followups(1)
    assert it.original.content == "second" and not it.ephemeral
    assert followups[0].content == "extra" and followups[0].ephemeral
    general = emu.channel_by_name(guild, "general")
    assert [m.content for m in emu.messages(general)] == ["second"]


async def test_answer_after_three_seconds_is_unknown_interaction(world):
    emu, bot, guild, ana = world
    emu.interaction_timeout = 0.1
    it = await emu.run_command(guild, ana, "late")
    await emu.wait_for(lambda: "late 10062" in bot.events, what="10062 in the bot")
    assert not it.responded


async def test_second_answer_is_already_acknowledged(world):
    emu, bot, guild, ana = world
    it = await emu.run_command(guild, ana, "twice")
    await emu.wait_for(lambda: any(e.startswith("twice: already") for e in bot.events))
    await it.wait_followups(1)
    # discord.py guards the second callback locally; a raw second callback gets 40060:
    body, status = None, None
    try:
        emu.interaction_callback(it.id, it.token, {"type": 4, "data": {"content": "x"}}, [])
    except Exception as exc:  # ApiError
        body, status = exc.body(), exc.status
    assert status == 400 and body["code"] == 40060


async def test_autocomplete_with_locale_and_guild_sync(emu):
    guild = emu.create_guild("Synced")
    ana = emu.create_user("ana", locale="es-ES")
    emu.add_member(guild, ana, dispatch=False)
    async with running_bot(emu, TestBot(sync_guild=guild.id)):
        commands = emu.synced_commands(guild)
        assert "fruit" in commands and commands["fruit"]["guild_id"] == str(guild.id)
        choices = await emu.autocomplete(guild, ana, "fruit", "name", "b")
        assert [c["name"] for c in choices] == ["banana"]
        # the guild copy is used (data.guild_id set), so discord.py finds the guild command
        it = await emu.run_command(guild, ana, "fruit", {"name": "banana"})
        assert await it.reply_text() == "banana"


async def test_select_validates_values_and_modal_from_user(world):
    emu, _bot, guild, ana = world
    it = await emu.run_command(guild, ana, "buttons")
    message = await it.wait_message()
    with pytest.raises(AssertionError, match="no options"):
        await emu.select(ana, message, "test:pick", ["zzz"])
    with pytest.raises(AssertionError, match="not a button"):
        await emu.click(ana, message, "test:pick")
    submitted = await emu.submit_modal(ana, "Ask", {"answer": "7"}, guild=guild)
    # the bot has no persistent modal with that id: nothing answers
    with pytest.raises(AssertionError, match="timed out"):
        await submitted.wait_response(timeout=0.2)
