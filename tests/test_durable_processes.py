"""One Familia per database file, and migrations applied exactly once however many processes
start on a fresh file at the same moment (real processes, a real file)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.db import Database, DatabaseInUse, load_migrations

ROOT = Path(__file__).resolve().parent.parent

# What each process does: migrate as any `familia` command does (no lock), then start as the
# bot (familia_bot: the one-per-file lock), and stay up until told to stop.
START = """
import asyncio, sys
from bot.config import load_settings
from bot.db import Database, DatabaseInUse
from bot.runner import familia_bot

async def main(path):
    db = await Database.open(path)
    try:
        applied = await db.migrate()
    finally:
        await db.close()
    print("applied", *[m.version for m in applied], flush=True)
    try:
        async with familia_bot(load_settings(env_file=None, database_path=path)) as bot:
            await bot.db.migrate()
            print("running", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
    except DatabaseInUse as exc:
        print("refused", exc, flush=True)

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.slow
def test_processes_starting_at_once_on_a_fresh_file(tmp_path):
    path = tmp_path / "familia.db"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISCORD_TOKEN", "DATABASE_PATH", "DEV_GUILD_ID")}
    env["PYTHONPATH"] = str(ROOT)
    n = 6
    procs = [subprocess.Popen([sys.executable, "-c", START, str(path)], cwd=tmp_path, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(n)]
    try:
        outcomes = []
        applied: list[int] = []
        for proc in procs:
            assert proc.stdout is not None
            first = proc.stdout.readline().split()
            assert first[:1] == ["applied"], proc.stderr.read() if proc.stderr else ""
            applied += [int(v) for v in first[1:]]
            outcomes.append(proc.stdout.readline())
        # Every migration applied once, by whichever process got there first.
        assert sorted(applied) == [m.version for m in load_migrations()]
        running = [p for p, line in zip(procs, outcomes, strict=True) if line == "running\n"]
        refused = [line for line in outcomes if line.startswith("refused")]
        assert len(running) == 1 and len(refused) == n - 1
        assert all(f"another Familia is already running on {path}" in line
                   for line in refused)
    finally:
        for proc in procs:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write("\n")
                proc.stdin.flush()
        for proc in procs:
            proc.wait(timeout=60)
    assert all(p.returncode == 0 for p in procs)
    # The bot that ran has gone: the file is free again.
    with_lock = subprocess.run([sys.executable, "-c", START, str(path)], cwd=tmp_path, env=env,
                               input="\n", capture_output=True, text=True, timeout=120)
    assert with_lock.stdout.splitlines() == ["applied", "running"]


@pytest.fixture
def cli_env(settings, tmp_path, monkeypatch):
    """``familia`` run in-process on the test's file (no .env; its log handler removed after,
    as it writes to the captured stream)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(settings.database_path))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    yield
    logging.getLogger().handlers.clear()


@pytest.mark.usefixtures("cli_env")
async def test_a_second_familia_on_the_file_is_refused_in_plain_words(settings, capsys):
    bot = await Database.open(settings.database_path, exclusive=True)
    try:
        with pytest.raises(DatabaseInUse, match="another Familia is already running"):
            await Database.open(settings.database_path, exclusive=True)
        assert await asyncio_main(["db", "upgrade"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("familia: another Familia is already running on ")
        assert "stop it first" in err and "Traceback" not in err
        # Reading the status needs no lock.
        assert await asyncio_main(["db", "status"]) == 0
    finally:
        await bot.close()
    reopened = await Database.open(settings.database_path, exclusive=True)
    await reopened.close()


async def asyncio_main(argv: list[str]) -> int:
    import asyncio

    return await asyncio.to_thread(main, argv)
