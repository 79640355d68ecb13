"""Start-up: emulator + the real Familia bot to READY with a 5,000-member guild.

Measures, in the same run, a bare discord.py client with the same intents (the floor any
bot pays for login and the guild payload), then Familia (migrations on a fresh database,
cogs, command sync, READY). Goal: Familia's median ≤ 2 s.

    python bench/startup.py [--members 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import discord

from bot.app import intents
from bot.config import load_settings
from bot.runner import familia_bot
from emulator import Emulator
from emulator.testing import start_bot, stop_bot

GOAL_S = 2.0


async def _world(members: int) -> tuple[Emulator, object]:
    emu = await Emulator().start()
    guild = emu.create_guild("Big program")
    for i in range(members):
        emu.add_member(guild, emu.create_user(f"creator{i}"), dispatch=False)
    return emu, guild


async def bare_client(members: int) -> float:
    emu, guild = await _world(members)
    try:
        client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
        start = time.perf_counter()
        task = await start_bot(emu, client, timeout=60)
        elapsed = time.perf_counter() - start
        assert client.get_guild(guild.id).member_count >= members
        await stop_bot(client, task)
        return elapsed
    finally:
        await emu.stop()


async def familia(members: int) -> float:
    emu, guild = await _world(members)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(env_file=None, database_path=Path(tmp) / "f.db",
                                     http_port=0)
            start = time.perf_counter()
            async with familia_bot(settings, guild_ready_timeout=0.05) as bot:
                task = await start_bot(emu, bot, timeout=60)
                elapsed = time.perf_counter() - start
                assert len(bot.get_guild(guild.id).members) >= members
                await stop_bot(bot, task)
        return elapsed
    finally:
        await emu.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    bare, ours = [], []
    for _ in range(args.runs):
        bare.append(await bare_client(args.members))
        ours.append(await familia(args.members))
    bare_median, our_median = statistics.median(bare), statistics.median(ours)
    print(f"bare discord.py client to READY: median {bare_median:.3f} s  runs {bare}")
    print(f"Familia to READY:                median {our_median:.3f} s  runs {ours}")
    print(json.dumps({
        "bench": "startup", "members": args.members, "runs": args.runs,
        "median_s": round(our_median, 3), "p_max_s": round(max(ours), 3),
        "bare_client_median_s": round(bare_median, 3),
        "ratio_to_bare_client": round(our_median / bare_median, 2),
        "goal_s": GOAL_S, "ratio_to_goal": round(our_median / GOAL_S, 2),
        "meets_goal": our_median <= GOAL_S,
    }))


if __name__ == "__main__":
    asyncio.run(main())
