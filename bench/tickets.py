"""The support desk's SLA sweep at size (#21): 50,000 open tickets in one server (real SQLite
file), a tenth of them past 75 % of a clock or past it, as ``TicketService.sla_alerts`` and
``queue_alerts`` find and queue them — the first sweep (every alert new) and the next one
(nothing new: each alert is queued once, by its dedupe key). Goal: a sweep ≤ 500 ms.

The 500 tickets opened concurrently through the emulator (``p99_s``, ``own_share``,
``orphans``) are not measured yet: null in the JSON line.

    .venv/bin/python bench/tickets.py [--tickets 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import FrozenClock, to_db
from bot.config import load_settings
from bot.db import Database
from bot.services import Services

GOAL_MS = 500.0
G, STAFF, SUPPORT = 1, 2, 3
NOW = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)


async def seed(services: Services, clock: FrozenClock, count: int) -> None:
    await services.tickets.configure(G, 10, SUPPORT, STAFF)
    categories = await services.tickets.categories(G)
    rows = []
    for i in range(count):
        category = categories[i % len(categories)]
        # one in ten past 75 % of its first-answer time (or past it); the rest fresh
        hours = category.first_response_hours * (0.8 if i % 20 == 0 else 1.1 if i % 20 == 1
                                                 else 0.1)
        opened = NOW - timedelta(hours=hours)
        rows.append((G, i + 1, 100_000 + i, category.id, f"Subject {i}", "Description", "command",
                     1_000_000 + i, to_db(opened)))
    async with services.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO tickets (guild_id, number, user_id, category_id, subject, description,"
            " via, thread_id, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    clock.set(NOW)


async def sweep(services: Services) -> tuple[float, int]:
    start = time.perf_counter()
    alerts = await services.tickets.sla_alerts(G)
    texts = [(a, f"#{a.ticket.number} {a.kind} {a.stage}") for a in alerts]
    await services.tickets.queue_alerts(G, texts, 4, {a.key: "late" for a in alerts})
    return (time.perf_counter() - start) * 1000, len(alerts)


async def main(count: int, repeat: int) -> dict[str, object]:
    firsts, agains, alerts = [], [], 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            settings = load_settings(env_file=None, database_path=Path(folder) / "t.db")
            db = await Database.open(settings.database_path)
            await db.migrate()
            try:
                clock = FrozenClock(NOW)
                services = Services.build(db, settings, clock)
                await seed(services, clock, count)
                first_ms, alerts = await sweep(services)
                again_ms, again = await sweep(services)
                assert again == 0, "an alert was found twice"
                firsts.append(first_ms)
                agains.append(again_ms)
            finally:
                await db.close()
    worst = max(statistics.median(firsts), statistics.median(agains))
    return {"bench": "tickets", "tickets": count, "alerts": alerts,
            "sla_sweep_ms": round(worst, 1),
            "first_sweep_ms": round(statistics.median(firsts), 1),
            "next_sweep_ms": round(statistics.median(agains), 1),
            "p99_s": None, "own_share": None, "orphans": None,
            "goal_sla_sweep_ms": GOAL_MS, "met": worst <= GOAL_MS}


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.tickets, args.repeat))))


if __name__ == "__main__":
    cli()
