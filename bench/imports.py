"""Stats import under load: a platform export of 5,000 creators × 90 days (450,000 rows) read,
previewed and applied through the service, against raw ``executemany`` of the same rows into
a plain table, in the same run.

The file is a CSV as an agency back office writes it (English headers; LIVE duration as
``2.5``, ``1h 30m`` or ``95 min``; diamonds with thousands separators), 5,000 creators with
profiles (their platform handles) in one guild with no check-ins. Figures:

- ``rows``: data rows in the file;
- ``rows_per_s``: rows ÷ the time from the upload's bytes to the import applied — reading
  and checking every row (``PlatformStatsService.stage``: decoding, header matching, value
  parsing, creators matched, rows staged, the preview's counts) and applying it
  (``apply``: rows stored, what they replace kept, the progress model of every creator
  recomputed for the weeks and months touched);
- ``raw_rows_per_s``: ``executemany`` of the same rows, already parsed, into a plain table
  (no key, no index) on a database opened the same way, in one transaction;
- ``ratio_to_raw``: rows_per_s ÷ raw_rows_per_s. Goal ≥ 0.3;
- ``cpu_seconds``, ``raw_cpu_seconds``, ``cpu_ratio_to_raw``: the same two in CPU time
  (every thread of the process): on a shared machine, what the wall-clock ratio is not
  (it also counts the time other processes held the cores);
- ``peak_mb``: the peak resident memory of the bot's process (``ru_maxrss``) after the
  import, the file included (the raw baseline runs after it), plus the peak of any child
  process (``RUSAGE_CHILDREN``; the file is read in the bot's process, so none). Goal ≤ 300;
- ``max_loop_stall_ms``: the longest the event loop was kept from running a 5 ms ticker
  during the import. Goal ≤ 100. ``idle_loop_stall_ms``: the same ticker for 5 s with
  nothing to do, just before: what the machine alone costs (a shared machine's load shows
  there).

    .venv/bin/python bench/imports.py [--creators 5000] [--days 90]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import FrozenClock
from bot.config import load_settings
from bot.db import Database
from bot.services import Services

NOW = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
FIRST = date(2026, 1, 1)
GUILD = 1
TICK = 0.005


def figures(creators: int, days: int) -> Iterator[tuple[int, date, float, int, int, int]]:
    """(creator number, day, hours, diamonds, followers, valid) — the same rows for the file
    and for the raw baseline."""
    rng = random.Random(18)
    for number in range(creators):
        for offset in range(days):
            hours = round(rng.choice((0, 0.5, 1, 1.5, 2, 2.5, 3, 4)) + rng.random(), 2)
            yield (number, FIRST + timedelta(days=offset), hours, rng.randrange(0, 25_000),
                   rng.randrange(0, 300), 1 if hours >= 1 else 0)


def export(creators: int, days: int) -> bytes:
    """The CSV file, as the platform exports it."""
    lines = ["Creator,Date,LIVE duration,Diamonds,New followers,Valid days,Region"]
    for number, day, hours, diamonds, followers, valid in figures(creators, days):
        whole, minutes = int(hours), round((hours - int(hours)) * 60)
        duration = (f"{hours}" if number % 3 == 0 else f"{whole}h {minutes}m"
                    if number % 3 == 1 else f"{whole * 60 + minutes} min")
        lines.append(f'creator{number:05d},{day.isoformat()},{duration},"{diamonds:,}",'
                     f"{followers},{valid},MX")
    return ("\r\n".join(lines) + "\r\n").encode()


class Stalls:
    """The longest the event loop ran late on a 5 ms ticker."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            self.longest = max(self.longest, time.perf_counter() - start - TICK)

    def __enter__(self) -> Stalls:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def familia(folder: Path, data: bytes, creators: int) -> tuple[float, float, float]:
    settings = load_settings(env_file=None, database_path=folder / "familia.db")
    db = await Database.open(settings.database_path)
    await db.migrate()
    services = Services.build(db, settings, FrozenClock(NOW))
    await db.run(lambda tx: tx.executemany(
        "INSERT INTO creator_profiles (guild_id, user_id, handle, updated_at)"
        " VALUES (?, ?, ?, '2026-04-01')",
        ((GUILD, 10_000 + n, f"creator{n:05d}") for n in range(creators))))
    try:
        with Stalls() as stalls:
            start, cpu = time.perf_counter(), time.process_time()
            preview = await services.stats.stage(GUILD, 1, "export.csv", data)
            record = await services.stats.apply(GUILD, preview.record.id, 1)
            took, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert record.added == record.rows and not preview.refused, preview.refused[:3]
        stored = await db.fetchval("SELECT count(*) FROM platform_stats")
        assert stored == record.rows, (stored, record.rows)
        return took, stalls.longest, cpu
    finally:
        await db.close()


async def raw(folder: Path, creators: int, days: int) -> tuple[float, float]:
    db = await Database.open(folder / "raw.db")
    try:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE stats (guild_id INTEGER, user_id INTEGER, day TEXT,"
                             " hours REAL, diamonds INTEGER, followers INTEGER,"
                             " valid_days INTEGER)")
        rows = [(GUILD, 10_000 + n, d.isoformat(), h, di, f, v)
                for n, d, h, di, f, v in figures(creators, days)]
        start, cpu = time.perf_counter(), time.process_time()
        await db.run(lambda tx: tx.executemany(
            "INSERT INTO stats VALUES (?, ?, ?, ?, ?, ?, ?)", rows))
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        await db.close()


async def idle(seconds: float = 5.0) -> float:
    with Stalls() as stalls:
        await asyncio.sleep(seconds)
    return stalls.longest


async def main(creators: int, days: int) -> dict:
    data = export(creators, days)
    quiet = await idle()
    rows = creators * days
    with tempfile.TemporaryDirectory() as folder:
        took, stall, cpu = await familia(Path(folder), data, creators)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        peak = own + worker
        raw_took, raw_cpu = await raw(Path(folder), creators, days)
    result = {
        "rows": rows, "file_mb": round(len(data) / 1024 / 1024, 1),
        "seconds": round(took, 2), "rows_per_s": round(rows / took),
        "raw_seconds": round(raw_took, 2), "raw_rows_per_s": round(rows / raw_took),
        "ratio_to_raw": round(raw_took / took, 3), "cpu_seconds": round(cpu, 2),
        "raw_cpu_seconds": round(raw_cpu, 2), "cpu_ratio_to_raw": round(raw_cpu / cpu, 3),
        "peak_mb": round(peak, 1),
        "bot_peak_mb": round(own, 1), "worker_peak_mb": round(worker, 1),
        "max_loop_stall_ms": round(stall * 1000, 1), "idle_loop_stall_ms": round(quiet * 1000, 1),
    }
    result["goals_met"] = (result["ratio_to_raw"] >= 0.3 and result["peak_mb"] <= 300
                           and result["max_loop_stall_ms"] <= 100)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creators", type=int, default=5000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(main(args.creators, args.days))))
