"""Voice and stage channels as Discord sends them: with a bitrate, a user limit and an RTC
region. Without them discord.py cannot read the channel (``KeyError: 'bitrate'``), its gateway
task dies, and the bot stops answering interactions in the whole guild."""

from __future__ import annotations

import aiohttp
import discord

from emulator import Emulator
from emulator.testing import running_bot
from tests.emulator._bot import TestBot
from tests.spec_check import SpecChecker


async def test_a_bot_in_a_guild_with_voice_channels_still_answers():
    async with Emulator() as emu:
        guild = emu.create_guild("Voice")
        ana = emu.create_user("ana")
        emu.add_member(guild, ana, dispatch=False)
        lounge = emu.create_channel(guild, "Lounge", type=2)  # in GUILD_CREATE
        async with running_bot(emu, TestBot()) as bot:
            it = await emu.run_command(guild, ana, "hello")
            assert await it.reply_text() == "hello ana in guild"
            stage = emu.create_channel(guild, "Town Hall", type=13)  # CHANNEL_CREATE
            await emu.wait_for(lambda: bot.get_channel(stage.id), what="the stage channel")
            again = await emu.run_command(guild, ana, "hello")
            assert await again.reply_text() == "hello ana in guild"
            # text in voice: a command run from the voice channel itself
            there = await emu.run_command(guild, ana, "hello", channel=lounge)
            assert await there.reply_text() == "hello ana in guild"
            seen = bot.get_channel(lounge.id)
            assert isinstance(seen, discord.VoiceChannel) and seen.name == "Lounge"
            assert (seen.bitrate, seen.user_limit, seen.rtc_region) == (64000, 0, None)
            assert isinstance(bot.get_channel(stage.id), discord.StageChannel)


async def test_voice_channel_over_rest_keeps_its_bitrate_and_limit_and_matches_the_spec():
    checker = SpecChecker()
    async with Emulator() as emu, aiohttp.ClientSession(
            headers={"Authorization": f"Bot {emu.token}"}) as http:
        emu.observers.append(lambda x: checker.check(x.method, x.path, x.request, x.status,
                                                     x.response, x.query))
        guild = emu.create_guild("Voice")
        url = f"{emu.api_url}/guilds/{guild.id}/channels"
        async with http.post(url, json={"name": "Lounge", "type": 2, "bitrate": 96000,
                                        "user_limit": 10}) as response:
            assert response.status == 201
            made = await response.json()
        assert (made["type"], made["name"], made["bitrate"], made["user_limit"]) == (
            2, "Lounge", 96000, 10)
        assert made["rtc_region"] is None and "topic" not in made
        async with http.patch(f"{emu.api_url}/channels/{made['id']}",
                              json={"user_limit": 0}) as response:
            assert (await response.json())["user_limit"] == 0
        async with http.post(url, json={"name": "Low", "type": 2, "bitrate": 7999,
                                        "user_limit": 100}) as response:
            assert response.status == 400
            errors = (await response.json())["errors"]
        assert errors["bitrate"]["_errors"][0]["code"] == "NUMBER_TYPE_MIN"
        assert errors["user_limit"]["_errors"][0]["code"] == "NUMBER_TYPE_MAX"
        async with http.get(f"{emu.api_url}/guilds/{guild.id}/channels") as response:
            listed = {c["name"]: c for c in await response.json()}
        assert listed["Lounge"]["bitrate"] == 96000 and "bitrate" not in listed["general"]
    # every answer matches Discord's spec; the one request it faults is the one refused above
    assert checker.figures.exchanges == 4
    assert [(m.part, m.path, m.status) for m in checker.figures.mismatches] == [
        ("request", "bitrate", 400)]
