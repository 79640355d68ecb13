"""Shared fixtures: real SQLite files in a temp folder, a frozen clock, services, a real SMTP
server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock
from bot.config import Settings, load_settings
from bot.db import Database
from bot.program import Program
from bot.program import build as build_program
from bot.services import Services
from bot.templating import Templates
from tests import spec_check
from tests._email import SmtpSink


def pytest_configure(config: pytest.Config) -> None:
    # the spec check's figures, summed over the run (and over pytest -n's workers)
    config.pluginmanager.register(spec_check.Summary(), "familia-spec-check")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest -n (xdist), the tests marked ``slow`` are handed out first, so the
    longest ones start at once side by side instead of ending the run alone. A serial run
    keeps the files' order."""
    if hasattr(config, "workerinput"):  # an xdist worker: every worker sorts alike
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    for name in ("DISCORD_TOKEN", "DEV_GUILD_ID", "DEFAULT_TIMEZONE", "DEFAULT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    return load_settings(env_file=None, database_path=tmp_path / "familia.db")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))


@pytest.fixture
async def db(settings):
    database = await Database.open(settings.database_path)
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
def services(db, settings, clock) -> Services:
    return Services.build(db, settings, clock)


@pytest.fixture
def make_program(services):
    """Build a seeded program (``bot/program.py``) in guild 1 at the clock's now:
    ``made = await make_program("program")`` (sizes small, program, large; options as
    :func:`bot.program.build` takes them). ``made`` names the families and people made."""

    async def make(size: str = "small", **options) -> Program:
        return await build_program(services, size, **options)

    return make


@pytest.fixture(scope="session")
def templates() -> Templates:
    return Templates()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 (a free port) keeping what it accepts."""
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()
