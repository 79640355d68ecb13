"""Check-ins under load: 2,000 creators (in 100 families) submit /checkin at the same moment.

The emulator runs in its own process (``python -m emulator.serve``); the real Familia bot runs
in this one. Figures:

- ``p50_ms`` / ``p99_ms``: inside our process, from the moment discord.py parses the
  submission's INTERACTION_CREATE to the moment the acknowledgement (the defer's HTTP call)
  returns. ``lost``: submissions the emulator did not see acknowledged within Discord's 3 s.
- ``throughput_per_s``: check-ins stored per second over the burst (first submission received
  to the last check-in stored, in our process).
- ``service_per_s``: ``CheckinService.submit`` called one after another for every creator on a
  copy of the same database (same Database class, so the same PRAGMAs), no Discord at all.
- ``raw_insert_per_s``: single-row INSERTs of a row shaped like ``checkins``, each its own
  ``BEGIN IMMEDIATE``/``COMMIT``, through the same Database class (same PRAGMAs).
- ``cpu_ratio_to_raw_insert``: the same ratio per CPU second of this process (the database
  thread included), which the machine's other load moves less than the wall clock.
- ``ratio_to_raw_insert``: the two are measured in alternating rounds (``ROUNDS`` slices of
  the creators, each followed by as many raw inserts), so both see the same moment of a noisy
  machine; the figures are the medians over the rounds.
- ``emu_*``: end to end as the emulator sees it (interaction created to callback received,
  to first visible answer), which includes both processes' gateway and HTTP work.

Goals: p99 ≤ 100 ms, ratio ≥ 0.5 and ``emu_answer_p99_ms`` ≤ 5,000 (issue 15).

    .venv/bin/python bench/checkins.py [--creators 2000] [--families 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import discord

from bot.clock import Clock
from bot.config import load_settings
from bot.db import Database
from bot.runner import familia_bot
from bot.services import Services
from bot.services.families import AGREEMENT_VERSION
from emulator.serve import RemoteEmulator

VALUES = {"hours": "2,5", "diamonds": "1200", "followers": "15", "peak_viewers": "80",
          "notes": "bench"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * q) - 1)], 1) if ordered else -1.0


ROUNDS = 5


async def raw_inserts(path: Path, count: int, first: int = 0) -> tuple[float, float]:
    """Single-row INSERTs, each its own transaction, into a table shaped like ``checkins``:
    (per wall-clock second, per CPU second of this process)."""
    db = await Database.open(path)
    try:
        await db.writer.executescript(
            "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, guild_id INTEGER,"
            " user_id INTEGER, family_id INTEGER, local_date TEXT, timezone TEXT, hours REAL,"
            " diamonds INTEGER, followers INTEGER, peak_viewers INTEGER, mood INTEGER, notes TEXT,"
            " created_at TEXT, updated_at TEXT, UNIQUE (guild_id, user_id, local_date));"
        )
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(first, first + count):
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO t (guild_id, user_id, family_id, local_date, timezone, hours,"
                    " diamonds, followers, peak_viewers, mood, notes, created_at, updated_at)"
                    " VALUES (1, ?, 1, '2026-03-02', 'UTC', 2.5, 1200, 15, 80, NULL, 'bench',"
                    " '2026-03-02T15:00:00+00:00', '2026-03-02T15:00:00+00:00')", (i,),
                )
        return (count / (time.perf_counter() - start),
                count / max(time.process_time() - cpu, 1e-9))
    finally:
        await db.close()


async def service_rate(path: Path, settings: Any, guild_id: int,
                       creators: list[int]) -> tuple[float, float]:
    """``CheckinService.submit`` for these creators, one after another, on ``path``: (per
    wall-clock second, per CPU second of this process)."""
    db = await Database.open(path)
    try:
        checkins = Services.build(db, settings, Clock()).checkins
        start, cpu = time.perf_counter(), time.process_time()
        for user_id in creators:
            await checkins.submit(guild_id, user_id, VALUES)
        return (len(creators) / (time.perf_counter() - start),
                len(creators) / max(time.process_time() - cpu, 1e-9))
    finally:
        await db.close()


async def alternating(path: Path, raw_path: Path, settings: Any, guild_id: int,
                      creators: list[int]) -> tuple[float, float, float, float]:
    """Medians over :data:`ROUNDS` of (service rate, raw insert rate, their ratio, and the
    ratio of the two per CPU second: the machine's other load moves it less)."""
    size = -(-len(creators) // ROUNDS)
    services, raws, ratios, cpu_ratios = [], [], [], []
    for start in range(0, len(creators), size):
        part = creators[start:start + size]
        service, service_cpu = await service_rate(path, settings, guild_id, part)
        raw, raw_cpu = await raw_inserts(raw_path, len(part), first=start)
        services.append(service)
        raws.append(raw)
        ratios.append(service / raw)
        cpu_ratios.append(service_cpu / raw_cpu)
    return (statistics.median(services), statistics.median(raws), statistics.median(ratios),
            statistics.median(cpu_ratios))


async def setup_families(bot: Any, world: dict, creators: list[int], leaders: list[int]
                         ) -> None:
    services, guild_id, owner = bot.services, int(world["guild_id"]), int(world["owner_id"])
    family_ids = []
    for i, (leader, channel) in enumerate(zip(leaders, world["channel_ids"], strict=True)):
        family = await services.families.create(guild_id, owner, f"Family {i}", leader,
                                                channel_id=int(channel))
        family_ids.append(family.id)
    for i, user_id in enumerate(creators):
        # invited and accepted: their own decision, so no DM tells them (2,000 approval DMs
        # would share the sender with the check-ins measured)
        invite = await services.families.invite(
            guild_id, leaders[i % len(leaders)], family_ids[i % len(leaders)], user_id,
            as_manager=False)
        await services.families.decide(guild_id, user_id, invite.id, True,
                                       agreement_version=AGREEMENT_VERSION)
    await services.checkins.update_settings(guild_id, owner, post_mode="summary")


def instrument(bot: Any) -> tuple[dict[int, float], dict[int, float], list[float]]:
    """Timestamps in our process: INTERACTION_CREATE parsed, acknowledgement returned,
    check-in stored."""
    received: dict[int, float] = {}
    acked: dict[int, float] = {}
    stored: list[float] = []
    parsers = bot._connection.parsers
    parse = parsers["INTERACTION_CREATE"]

    def timed_parse(data: dict) -> None:
        received.setdefault(int(data["id"]), time.monotonic())
        parse(data)

    parsers["INTERACTION_CREATE"] = timed_parse
    defer = discord.InteractionResponse.defer

    async def timed_defer(self: discord.InteractionResponse, *args: Any, **kw: Any) -> Any:
        result = await defer(self, *args, **kw)
        acked.setdefault(self._parent.id, time.monotonic())
        return result

    discord.InteractionResponse.defer = timed_defer  # type: ignore[method-assign]
    checkins = bot.services.checkins
    submit = checkins.submit

    async def timed_submit(*args: Any, **kw: Any) -> Any:
        done = await submit(*args, **kw)
        stored.append(time.monotonic())
        return done

    checkins.submit = timed_submit
    return received, acked, stored


async def run(creators: int, families: int) -> dict:
    args = ("--users", str(creators + families), "--channels", str(families), "--unlimited",
            "--guild", "Bench program")
    async with RemoteEmulator.spawn(*args) as remote:
        world = remote.world
        ids = [int(u) for u in world["user_ids"]]
        creator_ids, leader_ids = ids[:creators], ids[creators:]
        remote.patch_discord()
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(env_file=None, database_path=Path(tmp) / "f.db",
                                     http_port=0)
            async with familia_bot(settings, guild_ready_timeout=0.05) as bot:
                task = asyncio.create_task(bot.start(world["token"]))
                await asyncio.wait_for(bot.wait_until_ready(), 120)
                try:
                    await setup_families(bot, world, creator_ids, leader_ids)
                    with sqlite3.connect(settings.database_path) as src, \
                            sqlite3.connect(Path(tmp) / "copy.db") as dst:
                        src.backup(dst)  # the same world, for the service-only figure
                    received, acked, stored = instrument(bot)
                    burst = (await remote.call(
                        "modal_burst", guild_id=world["guild_id"],
                        user_ids=world["user_ids"][:creators], command="checkin",
                        values=VALUES, timeout=60))["submissions"]
                    count = await bot.services.db.fetchval("SELECT count(*) FROM checkins")
                    for _ in range(600):  # let the family posts finish before stopping
                        if not await bot.services.db.fetchval(  # (posts are deliveries)
                                "SELECT count(*) FROM deliveries WHERE kind = 'checkin_post'"
                                " AND state IN ('queued', 'sending')"):
                            break
                        await asyncio.sleep(0.1)
                finally:
                    await bot.close()
                    task.cancel()
            service, raw, ratio, cpu_ratio = await alternating(
                Path(tmp) / "copy.db", Path(tmp) / "raw.db", settings, int(world["guild_id"]),
                creator_ids)
    sub_ids = [int(s["id"]) for s in burst]
    inside = [(acked[i] - received[i]) * 1000 for i in sub_ids if i in acked and i in received]
    first = min(received[i] for i in sub_ids if i in received)
    throughput = len(stored) / (max(stored) - first) if stored else 0.0
    emu_ack = [((s["acked"] or s["created"] + 60) - s["created"]) * 1000 for s in burst]
    emu_answer = [((s["answered"] or s["created"] + 60) - s["created"]) * 1000 for s in burst]
    gateway = [(received[int(s["id"])] - s["created"]) * 1000 for s in burst
               if int(s["id"]) in received]
    return {
        "bench": "checkins", "creators": creators, "families": families, "stored": count,
        "p50_ms": round(statistics.median(inside), 1), "p99_ms": pct(inside, 0.99),
        "throughput_per_s": round(throughput, 1),
        "lost": sum(1 for v in emu_ack if v > 3000), "not_acked_inside": creators - len(inside),
        "service_per_s": round(service, 1), "raw_insert_per_s": round(raw, 1),
        "ratio_to_raw_insert": round(ratio, 3), "cpu_ratio_to_raw_insert": round(cpu_ratio, 3),
        "rounds": ROUNDS,
        "emu_ack_p50_ms": round(statistics.median(emu_ack), 1),
        "emu_ack_p99_ms": pct(emu_ack, 0.99),
        "emu_answer_p50_ms": round(statistics.median(emu_answer), 1),
        "emu_answer_p99_ms": pct(emu_answer, 0.99),
        "gateway_p50_ms": round(statistics.median(gateway), 1),
        "gateway_p99_ms": pct(gateway, 0.99),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creators", type=int, default=2000)
    parser.add_argument("--families", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    result = await run(args.creators, args.families)
    result["meets_goal"] = (result["p99_ms"] <= 100 and result["ratio_to_raw_insert"] >= 0.5
                            and result["emu_answer_p99_ms"] <= 5000)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
