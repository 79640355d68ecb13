"""Digests under load: 10,000 personalised weekly digests rendered, queued in the outbox and
delivered by the real sender, against raw aiosmtplib sending 10,000 pre-rendered messages.

The SMTP server (aiosmtpd, accepting everything) runs in a subprocess on 127.0.0.1. Figures
(medians over ``--rounds``, both measured in the same run over the same number of
connections, in alternating rounds: the raw baseline runs right after Familia in odd rounds
and right before it in even ones):

- ``msgs_per_s``: from the digest sweep's start (recipients picked, contents queried,
  templates rendered, rows queued) until every row is marked sent by the sender.
- ``raw_msgs_per_s``: ``aiosmtplib.SMTP.sendmail`` of the same messages, pre-rendered to
  bytes (taken from that round's outbox), over the same N connections.
- ``ratio_to_raw_smtp``: the median over the rounds of that round's msgs_per_s /
  raw_msgs_per_s. Goal ≥ 0.8.

    .venv/bin/python bench/digests.py [--recipients 10000] [--connections 4] [--rounds 3]
        [--render-processes N (default: one per core but one, 1 to 4)]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosmtplib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import FrozenClock, to_db
from bot.config import load_settings
from bot.db import Database
from bot.mail.local import free_port
from bot.mail.rendering import Renderer, default_processes
from bot.mail.sender import Sender
from bot.mail.smtp import SmtpConfig, build_message
from bot.program import CheckinRow, write_checkins
from bot.services import Services
from bot.templating import Templates

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, after 09:00 UTC: digests are due
GUILD = 1

SERVER = """
import sys, time
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""



async def seed(path: Path, recipients: int) -> None:
    db = await Database.open(path)
    await db.migrate()
    week = [NOW - timedelta(days=d, hours=3) for d in range(1, 8)]
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO guilds (guild_id, timezone, locale, created_at, updated_at)"
                         " VALUES (?, 'UTC', 'en', ?, ?)",
                         (GUILD, to_db(NOW), to_db(NOW)))
        stamp = to_db(NOW - timedelta(days=30))
        await tx.executemany(
            "INSERT INTO members (guild_id, user_id, program_role, locale, joined_at)"
            " VALUES (?, ?, 'creator', ?, ?)",
            [(GUILD, u, "es" if u % 2 else "en", stamp) for u in range(1, recipients + 1)])
        await tx.executemany(
            "INSERT INTO email_addresses (guild_id, user_id, address, verified_at,"
            " weekly_digest, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
            [(GUILD, u, f"creator{u}@example.org", stamp, stamp, stamp)
             for u in range(1, recipients + 1)])
    # the week's check-ins with their running totals and streaks, as check-ins keep them
    rows = [CheckinRow(u, when.date(), 1.5 + i, 100 * u % 5000, u % 40, 30, created_at=when)
            for u in range(1, recipients + 1) for i, when in enumerate(week[: 1 + u % 7])]
    await db.run(lambda tx: write_checkins(tx, GUILD, rows))
    await db.close()


def fresh_copy(template: Path, path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, path)
    return path


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    return server


async def familia_round(template: Path, work: Path, port: int, connections: int,
                        renderer: Renderer) -> tuple[float, int]:
    path = fresh_copy(template, work / "round.db")
    settings = load_settings(env_file=None, database_path=path, secret_key="bench-secret",
                             smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    db = await Database.open(path)
    clock = FrozenClock(NOW)
    sender = Sender(db, SmtpConfig.from_settings(settings), clock, connections=connections,
                    batch=500, poll=0.05)
    services = Services.build(db, settings, clock, renderer=renderer, on_queued=sender.wake)
    started = time.perf_counter()
    task = asyncio.create_task(sender.run())
    queued = await services.digests.sweep(cap=10**9)
    # An index seek, not a count: polling must not eat the CPU being measured.
    polls, progress = 0, (-1, time.perf_counter())
    while await db.fetchval(
            "SELECT 1 FROM email_outbox WHERE state IN ('queued', 'sending') LIMIT 1"):
        sender.wake()
        await asyncio.sleep(0.01)
        polls += 1
        if polls % 100 == 0:  # about once a second
            progress = await check_progress(db, task, progress)
    elapsed = time.perf_counter() - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    rows = await db.fetchall("SELECT * FROM email_outbox JOIN email_bodies ON outbox_id = id"
                             " WHERE state = 'sent'")
    await db.close()
    assert len(rows) == queued, (len(rows), queued)
    # The very same messages, pre-rendered, for the raw comparison.
    return elapsed, [(r["recipient"], build_message(r, settings.smtp_from)) for r in rows]


async def check_progress(db: Database, sender: asyncio.Task, last: tuple[int, float]
                         ) -> tuple[int, float]:
    """Fail the round rather than wait forever: the clock is frozen, so a row put back for a
    later try (a temporary SMTP failure) would never be due again, and rows whose sending
    went wrong would stay leased. ``last``: (rows sent, when that changed)."""
    if sender.done():
        raise RuntimeError(f"the sender stopped: {sender.exception()!r}")
    later = await db.fetchone(
        "SELECT count(*) AS n, max(last_error) AS error FROM email_outbox"
        " WHERE state = 'queued' AND next_attempt_at > ?", (to_db(NOW),))
    if later["n"]:
        raise RuntimeError(f"{later['n']} emails failed for now and wait for a later try"
                           f" (the clock is frozen): {later['error']}")
    sent = await db.fetchval("SELECT count(*) FROM email_outbox WHERE state = 'sent'")
    if sent != last[0]:
        return sent, time.perf_counter()
    if time.perf_counter() - last[1] > 60:
        raise RuntimeError(f"no email sent for a minute ({sent} sent)")
    return last


async def raw_round(messages: list[tuple[str, bytes]], port: int, connections: int) -> float:
    queue: asyncio.Queue = asyncio.Queue()
    for item in messages:
        queue.put_nowait(item)

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        while not queue.empty():
            to, data = queue.get_nowait()
            await smtp.sendmail("familia@localhost", [to], data)
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--render-processes", type=int, default=default_processes())
    args = parser.parse_args()
    logging.disable(logging.INFO)  # warnings (a retry, a renderer fallback) are shown
    port = free_port()
    server = start_server(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            template = work / "seed.db"
            await seed(template, args.recipients)
            renderer = Renderer(Templates(), processes=args.render_processes)
            await renderer.warm()
            ours, raw, ratios = [], [], []
            messages: list[tuple[str, bytes]] = []
            for n in range(args.rounds):
                # Alternating rounds under the same conditions: the raw baseline sends the
                # same messages (from a Familia round), right after Familia in rounds 1, 3, …
                # and right before it in rounds 2, 4, …, so neither side always goes first.
                if n % 2 and messages:
                    raw.append(len(messages) / await raw_round(messages, port, args.connections))
                elapsed, messages = await familia_round(template, work, port,
                                                        args.connections, renderer)
                ours.append(len(messages) / elapsed)
                if len(raw) < len(ours):
                    raw.append(len(messages) / await raw_round(messages, port, args.connections))
                ratios.append(ours[-1] / raw[-1])
                print(f"round {n + 1}: familia {ours[-1]:.0f}/s, raw {raw[-1]:.0f}/s, "
                      f"ratio {ratios[-1]:.3f}", file=sys.stderr)
            renderer.close()
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    result = {
        "bench": "digests", "recipients": args.recipients, "connections": args.connections,
        "rounds": args.rounds, "msgs_per_s": round(statistics.median(ours), 1),
        "raw_msgs_per_s": round(statistics.median(raw), 1),
    }
    # The median of each round's ratio: a round's two figures were measured back to back, so
    # a neighbour's load on the machine weighs on both alike.
    result["ratio_to_raw_smtp"] = round(statistics.median(ratios), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
