"""The Discord delivery queue under Discord-like limits, with a mix of kinds: a broadcast to
500 family channels + 2,000 opted-in DMs, plus (in the same queue) 60 tier role changes
(Discord allows about one a second per guild) and 200 pace-nudge DMs to people whose DM
channel is not open yet.

The emulator (default global limit 50 requests/s, Discord's per-route buckets) runs in this
process on a fixed port; the real Familia bot runs in a SUBPROCESS pointed at it, so the bot can
be killed for real. Phase 1 sends one such mix to the end and measures the achieved request
rate during the send (requests / s ÷ the 50/s global limit), the share of 429 answers and the
deliveries lost. Phase 2 sends another mix, SIGKILLs the bot process halfway, starts it
again and counts deliveries duplicated (a target that got the text twice) or lost (a message
not there, a role not given).
Goals: rate_ratio ≥ 0.9, r429_share ≤ 0.01, lost = 0, duplicated = 0.

    .venv/bin/python bench/broadcast.py [--channels 500] [--dms 2000] [--roles 60]
        [--nudges 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import Clock, to_db
from bot.config import load_settings
from bot.db import Database
from bot.delivery.queue import Send
from bot.mail.local import free_port
from bot.services import Services
from emulator import Emulator

GLOBAL_RATE = 50



# -- the bot process ---------------------------------------------------------------------------

async def bot_main(port: int, db_path: str) -> None:
    import discord.gateway
    import discord.http
    import yarl

    from bot.runner import familia_bot

    discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{port}/gateway")
    settings = load_settings(env_file=None, database_path=Path(db_path), http_port=0,
                             outbox_dir=Path(db_path).parent / "outbox")
    async with familia_bot(settings, guild_ready_timeout=0.05) as bot:
        await bot.start(os.environ["BENCH_BOT_TOKEN"])


def start_bot(port: int, db_path: Path, token: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, BENCH_BOT_TOKEN=token, LOG_LEVEL="WARNING")
    return subprocess.Popen([sys.executable, __file__, "--bot", str(port), str(db_path)],
                            env=env, stdout=subprocess.DEVNULL)


# -- the bench -----------------------------------------------------------------------------------

class Recorder:
    """Every REST request (time, status) and every message posted with a watched text."""

    def __init__(self, emu: Emulator) -> None:
        self.requests: list[tuple[float, int]] = []
        self.posts: dict[str, list[tuple[float, int]]] = {}  # text -> [(time, channel id)]
        handle, add = emu._handle, emu.add_message

        async def handled(request):
            response = await handle(request)
            self.requests.append((time.monotonic(), response.status))
            return response

        def added(channel, author, payload, files, **kw):
            message = add(channel, author, payload, files, **kw)
            if message.content in self.posts:
                self.posts[message.content].append((time.monotonic(), channel.id))
            return message

        emu._handle, emu.add_message = handled, added  # type: ignore[method-assign]


async def seed(emu: Emulator, services: Services, channels: int, dms: int):
    guild = emu.create_guild("Bench program")
    leaders = [emu.create_user(f"leader{i}") for i in range(channels)]
    creators = [emu.create_user(f"creator{i}") for i in range(dms)]
    for user in leaders + creators:
        emu.add_member(guild, user, dispatch=False)
    now = to_db(Clock().now())
    async with services.db.transaction() as tx:
        await services.guilds.ensure(tx, guild.id)
        family_ids = []
        for i, leader in enumerate(leaders):
            channel = emu.create_channel(guild, f"family-{i}")
            family_ids.append(await tx.execute(
                "INSERT INTO families (guild_id, name, leader_user_id, channel_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)", (guild.id, f"Family {i}", leader.id, channel.id, now)))
        await tx.executemany(
            "INSERT INTO family_members (guild_id, family_id, user_id, joined_at)"
            " VALUES (?, ?, ?, ?)",
            [(guild.id, family_ids[i % channels], u.id, now) for i, u in enumerate(creators)])
        # As if each creator had run /broadcast optin (which opens the DM channel).
        await tx.executemany(
            "INSERT INTO broadcast_optins (guild_id, user_id, dm, dm_channel_id, updated_at)"
            " VALUES (?, ?, 1, ?, ?)",
            [(guild.id, u.id, emu.dm_channel(u).id, now) for u in creators])
    return guild, creators


async def confirm(emu: Emulator, services: Services, guild, creators, text: str, phase: int,
                  roles: int, nudges: int) -> str:
    """The phase's broadcast, plus role changes and nudge DMs queued in the same queue;
    returns the phase's source."""
    author = emu.owner.id
    draft = (await services.broadcasts.draft(guild.id, author, text, "all", [],
                                               ("channel", "dm"), False, None)).broadcast
    await services.broadcasts.confirm(guild.id, author, draft.id)
    role = emu.create_role(guild, f"Tier {phase}")
    source = f"bench:{phase}"
    sends = [Send("tier_role", f"{source}:role:{u.id}", "role_add", u.id, source=source,
                  role_id=role.id, payload={"reason": "bench"})
             for u in creators[:roles]]
    sends += [Send("nudge", f"{source}:nudge:{u.id}", "dm", u.id, source=source,
                   payload={"content": nudge_text(phase)})
              for u in creators[-nudges:]] if nudges else []
    async with services.db.transaction() as tx:
        await services.deliveries.add(tx, guild.id, sends)
        await tx.execute("UPDATE deliveries SET source = ? WHERE source = ?",
                         (source, f"broadcast:{draft.id}"))
    return source


def nudge_text(phase: int) -> str:
    return f"Bench nudge, phase {phase}: three check-ins to go this week."


async def wait_done(db: Database, source: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = await db.fetchval("SELECT count(*) FROM deliveries WHERE source = ?"
                                 " AND state IN ('queued', 'sending')", (source,))
        if left == 0:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{source} not finished after {timeout}s")


async def outcome(db: Database, emu: Emulator, guild, rec: Recorder, source: str,
                  texts: list[str]):
    """(lost, duplicated, rows): targets that never got their text or role, extra copies."""
    rows = await db.fetchall("SELECT kind, target, target_id, role_id, channel_id, state"
                             " FROM deliveries WHERE source = ?", (source,))
    text_of = {"broadcast": texts[0], "nudge": texts[1]}
    per_channel: dict[tuple[str, int], int] = {}  # (text, channel) -> copies
    for text in texts:
        for _, channel_id in rec.posts[text]:
            per_channel[text, channel_id] = per_channel.get((text, channel_id), 0) + 1
    lost = 0
    for r in rows:
        if r["target"] == "role_add":
            landed = r["role_id"] in emu.member(guild, r["target_id"]).roles
        else:
            landed = bool(per_channel.get((text_of[r["kind"]], r["channel_id"])))
        lost += r["state"] != "sent" or not landed
    duplicated = sum(n - 1 for n in per_channel.values() if n > 1)
    return lost, duplicated, len(rows)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
    process.wait(timeout=30)


async def main(channels: int, dms: int, roles: int, nudges: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="familia-bench-"))
    db_path = folder / "familia.db"
    port = free_port()
    emu = Emulator(global_rate=GLOBAL_RATE)
    rec = Recorder(emu)
    await emu.start(port)
    db = await Database.open(db_path)
    await db.migrate()
    settings = load_settings(env_file=None, database_path=db_path)
    services = Services.build(db, settings, Clock())
    guild, creators = await seed(emu, services, channels, dms)
    total = channels + dms + roles + nudges
    result: dict = {"channels": channels, "dms": dms, "roles": roles, "nudges": nudges,
                    "global_limit": GLOBAL_RATE}
    try:
        # Phase 1: one broadcast, start to end.
        text1 = "Bench broadcast, phase 1: live marathon on Saturday at 20:00!"
        rec.posts[text1] = []
        rec.posts[nudge_text(1)] = []
        first = await confirm(emu, services, guild, creators, text1, 1, roles, nudges)
        bot = start_bot(port, db_path, emu.app.token)
        try:
            await wait_done(db, first, timeout=total / 10 + 120)
        finally:
            stop(bot)
        times = [t for t, _ in rec.posts[text1] + rec.posts[nudge_text(1)]]
        t0, t1 = min(times), max(times)
        window = [s for t, s in rec.requests if t0 <= t <= t1]
        rate = (len(window) - 1) / (t1 - t0)
        lost1, dup1, rows1 = await outcome(db, emu, guild, rec, first,
                                           [text1, nudge_text(1)])
        result |= {
            "phase1_deliveries": rows1, "phase1_seconds": round(t1 - t0, 2),
            "requests_per_s": round(rate, 2), "rate_ratio": round(rate / GLOBAL_RATE, 3),
            "requests": len(window), "r429": sum(1 for s in window if s == 429),
            "r429_share": round(sum(1 for s in window if s == 429) / len(window), 4),
            "lost_phase1": lost1, "duplicated_phase1": dup1,
        }
        # Phase 2: killed halfway (SIGKILL: the process, not a task), then restarted.
        text2 = "Bench broadcast, phase 2: the sender is killed halfway through this one."
        rec.posts[text2] = []
        rec.posts[nudge_text(2)] = []
        second = await confirm(emu, services, guild, creators, text2, 2, roles, nudges)
        bot = start_bot(port, db_path, emu.app.token)
        while len(rec.posts[text2]) < (channels + dms) // 2:
            if bot.poll() is not None:
                raise RuntimeError("the bot exited before it was killed")
            await asyncio.sleep(0.01)
        stop(bot, signal.SIGKILL)
        killed_at = len(rec.posts[text2])
        claimed = await db.fetchval("SELECT count(*) FROM deliveries WHERE source = ?"
                                    " AND state = 'sending'", (second,))
        bot = start_bot(port, db_path, emu.app.token)
        try:
            await wait_done(db, second, timeout=total / 10 + 120)
        finally:
            stop(bot)
        lost2, dup2, rows2 = await outcome(db, emu, guild, rec, second,
                                           [text2, nudge_text(2)])
        result |= {"phase2_deliveries": rows2, "killed_after_posts": killed_at,
                   "claimed_at_kill": claimed, "lost_phase2": lost2, "duplicated": dup2,
                   "lost": lost1 + lost2}
    finally:
        await db.close()
        await emu.stop()
    return result


def cli() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bot":
        asyncio.run(bot_main(int(sys.argv[2]), sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--dms", type=int, default=2000)
    parser.add_argument("--roles", type=int, default=60)
    parser.add_argument("--nudges", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(main(args.channels, args.dms, args.roles, args.nudges))
    ok = (result["rate_ratio"] >= 0.9 and result["r429_share"] <= 0.01
          and result["lost"] == 0 and result["duplicated"] == 0)
    print(json.dumps(result | {"goals_met": ok}))


if __name__ == "__main__":
    cli()
