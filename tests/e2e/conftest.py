"""End-to-end: the real Familia bot (real settings, temp SQLite file) against the emulator.

The ``app`` fixture hands over an :class:`App`: the emulator (``app.emu``, its whole test API),
the running bot, a guild whose owner is a manager, and helpers to add people.

Every REST exchange is checked against Discord's OpenAPI spec (:mod:`tests.spec_check`): in
strict mode (the default) a test whose exchanges do not validate fails at teardown;
``FAMILIA_SPEC_CHECK=report`` only prints the summary; ``=off`` skips the check.

Time is frozen: the bot, its services and the emulator's message ids and timestamps all read
one :class:`FrozenClock` (``app.clock``), pinned to :data:`NOW`, far from midnight in every
zone the tests use, so that "today" and "a minute ago" never straddle two days. A test that
travels in time moves ``app.clock`` itself (``advance``/``set``), forward only.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.app import FamiliaBot
from bot.clock import FrozenClock
from bot.config import Settings, load_settings
from bot.program import Program
from bot.program import build as build_program
from bot.runner import familia_bot
from emulator import Emulator, Guild, User
from emulator.server import Exchange
from emulator.testing import start_bot, stop_bot
from tests import spec_check

# A Wednesday in mid-month (no week or month boundary within a few days), at noon UTC: 07:00 in
# Bogotá, 06:00 in Mexico City, 19:00 in Jakarta: hours from midnight in each of them.
NOW = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)


@dataclass
class App:
    emu: Emulator
    bot: FamiliaBot
    guild: Guild
    owner: User
    settings: Settings
    clock: FrozenClock

    @property
    def services(self):
        return self.bot.services

    def user(self, name: str, *, locale: str = "en-US", roles=None, dms_open: bool = True
             ) -> User:
        """A new person who is a member of the guild (no join event: they were there)."""
        user = self.emu.create_user(name, locale=locale, dms_open=dms_open)
        self.emu.add_member(self.guild, user, roles, dispatch=False)
        return user

    async def joined(self, name: str, *, locale: str = "en-US") -> User:
        """A new person joining the guild now (GUILD_MEMBER_ADD reaches the bot)."""
        user = self.emu.create_user(name, locale=locale)
        self.emu.add_member(self.guild, user)
        await self.emu.wait_for(lambda: self.bot.get_guild(self.guild.id).get_member(user.id),
                                what=f"{name} in the bot's cache")
        return user

    async def run(self, user: User, name: str, options=None, *, subcommand=None,
                  locale: str | None = None, channel=None):
        return await self.emu.run_command(self.guild, user, name, options,
                                          subcommand=subcommand, locale=locale, channel=channel)

    async def program(self, size: str = "program", *, channels: bool = False, **options
                      ) -> Program:
        """A seeded program (``bot/program.py``) in the test guild, at the frozen clock's now:
        every person is an emulator user and guild member (the owner is the manager), each
        family gets a text channel when ``channels``. Family roles are not made (``/family
        sync`` would offer to create them)."""
        people, numbers = {}, itertools.count(1)

        def person(name: str, locale: str) -> int:
            people[name] = self.user(name, locale=locale)
            return people[name].id

        def channel(name: str) -> int:
            return self.emu.create_channel(self.guild, f"family-{next(numbers)}").id

        made = await build_program(self.services, size, guild_id=self.guild.id,
                                   manager_id=self.owner.id, people=person,
                                   channels=channel if channels else None, **options)
        made.extra["users"] = {people[p.name].id: people[p.name]
                               for p in made.people.values() if p.name in people}
        return made

    async def reply(self, user: User, name: str, options=None, **kwargs) -> str:
        """Run a command and return the text of the bot's answer."""
        interaction = await self.run(user, name, options, **kwargs)
        return await interaction.reply_text()


@pytest.fixture
async def app(tmp_path, monkeypatch):
    for name in ("DISCORD_TOKEN", "DEV_GUILD_ID", "DATABASE_PATH"):
        monkeypatch.delenv(name, raising=False)
    overrides: dict[str, object] = {"database_path": tmp_path / "familia.db", "http_port": 0}
    if "outbox_dir" in Settings.model_fields:
        overrides["outbox_dir"] = tmp_path / "outbox"
    settings = load_settings(env_file=None, **overrides)
    clock = FrozenClock(NOW)
    checker = spec_check.checker()
    exchanges: list[Exchange] = []  # checked after the test: the check must not slow it down
    async with Emulator(now=clock.now) as emu:
        if checker is not None:
            emu.observers.append(exchanges.append)
        owner = emu.owner
        guild = emu.create_guild("Familia Test", owner=owner)
        async with familia_bot(settings, clock=clock, guild_ready_timeout=0.05) as bot:
            task = await start_bot(emu, bot)
            try:
                yield App(emu, bot, guild, owner, settings, clock)
            finally:
                await stop_bot(bot, task)
            failed = [i.describe() for i in emu.failed_interactions()]
            assert not failed, f"interactions not acknowledged within 3 s: {failed}"
    found = [mismatch for x in exchanges for mismatch in checker.check(
        x.method, x.path, x.request, x.status, x.response, x.query)] if checker else []
    if found and spec_check.mode() == "strict":
        shown = sorted({m.describe() for m in found})
        pytest.fail(f"{len(found)} mismatch(es) with Discord's OpenAPI spec "
                    f"(tests/spec_check.py; FAMILIA_SPEC_CHECK=report to only count):\n"
                    + "\n".join(shown[:30]), pytrace=False)
