"""``familia demo`` and ``familia run --offline``."""

from __future__ import annotations

import asyncio
import sys
import webbrowser
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.demo.harness import Demo, mail_folder, running_demo
from bot.demo.scenes import scenes
from bot.demo.seed import seed
from emulator.console import Console, Describe

BANNER = (
    "Familia demo — the real bot against a local Discord emulator (no Discord account or\n"
    "internet needed). Each line shows what a person did and what Familia answered them."
)


async def play_scenes(demo: Demo) -> None:
    """Seed the server, then play every scene, numbered in the order they play."""
    seeded = await seed(demo)
    demo.narrate(seeded.summary())
    for number, scene in enumerate(scenes(), start=1):
        demo.scene(f"{number} · {scene.TITLE}")
        await scene.play(demo)


async def demo_main(settings: Settings, out: TextIO = sys.stdout, *,
                    mail_dir: Path | None = None) -> int:
    out.write(BANNER + "\n")
    async with running_demo(settings, out=out, mail_dir=mail_dir or mail_folder(settings)
                            ) as demo:
        await play_scenes(demo)
    out.write("\nEnd of the demo. `make test` runs the test suite; see README to connect a "
              "real Discord server.\n")
    return 0


async def offline_main(settings: Settings, out: TextIO = sys.stdout, *,
                       mail_dir: Path | None = None, open_browser: bool = False) -> int:
    out.write(
        "familia: no DISCORD_TOKEN set, so Familia runs OFFLINE against a local Discord "
        "emulator.\nSet DISCORD_TOKEN in .env (see README) to connect to real Discord.\n\n"
    )
    out.write(BANNER + "\n")
    async with running_demo(settings, out=out, mail_dir=mail_dir or mail_folder(settings)
                            ) as demo:
        await play_scenes(demo)
        web = demo.settings.public_base_url
        console = await open_console(demo, settings)
        try:
            if console is not None:
                out.write(f"\nTry Familia in your browser, as anyone in the demo server: "
                          f"{console.url}\n")
                if open_browser:
                    webbrowser.open(console.url)
            out.write(
                f"\nThe bot keeps running against the emulator at {demo.emu.api_url} "
                "(demo guild 'Familia Demo'). Email goes to a local SMTP server at "
                f"127.0.0.1:{demo.smtp.port} and is saved in {demo.settings.outbox_dir}; "
                f"unsubscribe links work at {web}. Press Ctrl-C to stop.\n"
            )
            out.flush()
            await asyncio.Event().wait()
        finally:
            if console is not None:
                await console.stop()
    return 0


async def open_console(demo: Demo, settings: Settings) -> Console | None:
    """The web console over the demo, started: only offline, never when a Discord token is
    set (``--offline`` with a token in .env runs the demo without it)."""
    if settings.discord_token is not None:
        return None
    return await Console(demo.emu, demo.guild, describe=describer(demo),
                         on_time=traveller(demo), now=demo.clock.now,
                         outbox=demo.settings.outbox_dir).start(settings.console_port)


def traveller(demo: Demo) -> Callable[[float], Awaitable[None]]:
    """The console's time travel: Familia's clock (and the emulator's) moves forward, then
    every scheduled sweep runs once, so what fell due (reminders, roll-calls, digests,
    campaign steps, SLA alerts) happens now."""

    async def travel(seconds: float) -> None:
        demo.clock.advance(seconds=seconds)
        await demo.bot.jobs.run_all()

    return travel


def describer(demo: Demo) -> Describe:
    """Who a person is in the demo program, for the console's user switcher: the manager, a
    family's leader or co-leader, a creator of a family."""
    services, guild_id = demo.bot.services, demo.guild.id

    async def describe(user_id: int) -> str | None:
        if user_id == demo.guild.owner_id:
            return "manager"
        membership = await services.families.membership_of(guild_id, user_id)
        if membership is None:
            return None
        family = await services.families.get(guild_id, membership.family_id)
        if family.leader_user_id == user_id:
            return f"leader of {family.name}"
        if family.co_leader_user_id == user_id:
            return f"co-leader of {family.name}"
        return f"creator in {family.name}"

    return describe
