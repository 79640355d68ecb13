"""Check-ins under load: 2,000 creators (in 100 families) submit /checkin at the same moment.

Through the emulator and the real Familia bot, measures the time from each modal submission's
creation to the bot's acknowledgement (p50, p99) and the throughput (check-ins stored per
second, first submission to last stored row); in the same run, raw aiosqlite single-row
inserts (one transaction each) into a similar table on the same machine, as the floor.
Goals: p99 ≤ 100 ms, throughput ≥ 0.5 × raw inserts. The emulator shares the bot's process and
event loop, so its own work (and discord.py parsing each gateway event) is in the figures:
``gateway_p50_ms`` / ``gateway_p99_ms`` show how late the bot even sees the submissions. A
submission not acknowledged within Discord's 3 s fails (``failed``), as it would on Discord.

    .venv/bin/python bench/checkins.py [--creators 2000] [--families 100]
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

import aiosqlite
import discord

from bot.config import load_settings
from bot.runner import familia_bot
from bot.services.families import AGREEMENT_VERSION
from emulator import Emulator
from emulator.ratelimit import DEFAULT_RULES
from emulator.testing import start_bot, stop_bot

VALUES = {"hours": "2,5", "diamonds": "1200", "followers": "15", "peak_viewers": "80",
          "notes": "bench"}


async def raw_inserts(path: Path, count: int) -> float:
    """Single-row INSERTs, each committed, into a table shaped like ``checkins``."""
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await conn.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            "CREATE TABLE t (id INTEGER PRIMARY KEY, guild_id INTEGER, user_id INTEGER,"
            " local_date TEXT, hours REAL, diamonds INTEGER, followers INTEGER,"
            " peak_viewers INTEGER, notes TEXT, created_at TEXT,"
            " UNIQUE (guild_id, user_id, local_date));"
        )
        start = time.perf_counter()
        for i in range(count):
            await conn.execute("BEGIN IMMEDIATE")
            await conn.execute(
                "INSERT INTO t (guild_id, user_id, local_date, hours, diamonds, followers,"
                " peak_viewers, notes, created_at) VALUES (1, ?, '2026-03-02', 2.5, 1200, 15,"
                " 80, 'bench', '2026-03-02T15:00:00+00:00')", (i,),
            )
            await conn.execute("COMMIT")
        return count / (time.perf_counter() - start)


async def setup_world(emu: Emulator, bot, creators: int, families: int):
    guild = emu.create_guild("Bench program")
    users = [emu.create_user(f"creator{i}") for i in range(creators)]
    leaders = [emu.create_user(f"leader{i}") for i in range(families)]
    for user in users + leaders:
        emu.add_member(guild, user, dispatch=False)
    services = bot.services
    family_ids = []
    for i, leader in enumerate(leaders):
        channel = emu.create_channel(guild, f"family-{i}")
        family = await services.families.create(guild.id, emu.owner.id, f"Family {i}",
                                                leader.id, channel_id=channel.id)
        family_ids.append(family.id)
    for i, user in enumerate(users):
        family_id = family_ids[i % families]
        request = await services.families.request_join(guild.id, user.id, family_id,
                                                       AGREEMENT_VERSION)
        await services.families.decide(guild.id, leaders[i % families].id, request.id, True)
    await services.checkins.update_settings(guild.id, emu.owner.id, post_mode="summary")
    return guild, users


async def run(creators: int, families: int) -> dict:
    # No route limits: measure Familia, not Discord's per-channel limits.
    unlimited = (10**9, 1.0)
    emu = await Emulator(global_rate=100000, default_route_limit=unlimited,
                         route_limits={r.name: unlimited for r in DEFAULT_RULES}).start()
    acked: dict[int, float] = {}
    callback = emu.interaction_callback

    def timed_callback(iid, *args, **kwargs):
        acked.setdefault(int(iid), time.monotonic())
        return callback(iid, *args, **kwargs)

    emu.interaction_callback = timed_callback  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(env_file=None, database_path=Path(tmp) / "f.db",
                                     http_port=0)
            async with familia_bot(settings, guild_ready_timeout=0.05) as bot:
                task = await start_bot(emu, bot, timeout=60)
                received: dict[int, float] = {}

                async def on_interaction(interaction: discord.Interaction) -> None:
                    received.setdefault(interaction.id, time.monotonic())

                bot.add_listener(on_interaction)
                try:
                    guild, users = await setup_world(emu, bot, creators, families)
                    opened, modals = [], []
                    for i in range(0, len(users), 50):  # opening the forms is not measured
                        batch = [await emu.run_command(guild, u, "checkin")
                                 for u in users[i:i + 50]]
                        modals += await asyncio.gather(*(it.wait_modal(30) for it in batch))
                        opened += batch
                    start = time.monotonic()
                    submitted = [await emu.submit_modal(it, VALUES, modal=modal)
                                 for it, modal in zip(opened, modals, strict=True)]
                    # An interaction not acknowledged within Discord's 3 s fails: counted.
                    await asyncio.gather(*(it.wait_message(60) for it in submitted),
                                         return_exceptions=True)
                    stored_at = time.monotonic()
                    stored = await bot.services.db.fetchval("SELECT count(*) FROM checkins")
                    for _ in range(600):  # let the family posts finish before stopping
                        if not await bot.services.db.fetchval(
                                "SELECT count(*) FROM checkins WHERE message_id IS NULL"):
                            break
                        await asyncio.sleep(0.1)
                    errors = [it for it in submitted
                              if "Checked in" not in "".join(m.content for m in it.messages)]
                finally:
                    await stop_bot(bot, task)
            raw = await raw_inserts(Path(tmp) / "raw.db", creators)
    finally:
        await emu.stop()
    # Not acknowledged at all counts as the 60 s the bench waited.
    latencies = sorted((acked.get(it.id, it.created + 60) - it.created) * 1000
                       for it in submitted)
    throughput = stored / (stored_at - start)
    # The harness's own floor: emulator to bot over the gateway, before Familia runs at all.
    gateway = sorted((received[it.id] - it.created) * 1000 for it in submitted
                     if it.id in received)
    return {
        "bench": "checkins", "creators": creators, "families": families, "stored": stored,
        "failed": len(errors),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        "gateway_p50_ms": round(statistics.median(gateway), 1),
        "gateway_p99_ms": round(gateway[int(len(gateway) * 0.99) - 1], 1),
        "throughput_per_s": round(throughput, 1),
        "raw_insert_per_s": round(raw, 1),
        "ratio_to_raw_insert": round(throughput / raw, 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creators", type=int, default=2000)
    parser.add_argument("--families", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    result = await run(args.creators, args.families)
    result["meets_goal"] = result["p99_ms"] <= 100 and result["ratio_to_raw_insert"] >= 0.5
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
