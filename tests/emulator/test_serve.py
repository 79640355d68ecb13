"""The emulator in its own process: world from arguments, a modal burst over the control port."""

from __future__ import annotations

import asyncio

from emulator.serve import RemoteEmulator
from tests.emulator._bot import TestBot


async def test_modal_burst_in_a_separate_process() -> None:
    async with RemoteEmulator.spawn("--users", "3", "--channels", "1") as remote:
        world = remote.world
        assert len(world["user_ids"]) == 3 and len(world["channel_ids"]) == 1
        remote.patch_discord()
        bot = TestBot()
        task = asyncio.create_task(bot.start(world["token"]))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 20)
            result = await remote.call("modal_burst", guild_id=world["guild_id"],
                                       user_ids=world["user_ids"], command="ask",
                                       values={"answer": "42"}, timeout=10)
        finally:
            await bot.close()
            task.cancel()
        subs = result["submissions"]
        assert len(subs) == 3
        assert all(s["acked"] is not None and s["acked"] >= s["created"] for s in subs)
        assert all(s["answered"] is not None for s in subs)
        assert (await remote.call("stats"))["requests"] > 0
