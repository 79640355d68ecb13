"""The bot owns the life of what the composition root built, not the cogs."""

from __future__ import annotations

import aiohttp


async def test_unloading_the_email_cog_keeps_the_unsubscribe_pages_and_the_sender(app):
    bot = app.bot
    await bot.unload_extension("cogs.email")
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{bot.web.port}/healthz") as health:
        assert await health.text() == "ok"
    assert any(t.get_name() == "email sender" and not t.done() for t in bot.background_tasks)
    assert bot.scheduler.get_job("email-digests") is not None  # the root's job, not the cog's
    await bot.load_extension("cogs.email")


async def test_a_cog_removes_its_sweep_when_unloaded(app):
    bot = app.bot
    assert bot.scheduler.get_job("leaderboards.posts") is not None
    await bot.unload_extension("cogs.leaderboards")
    assert bot.scheduler.get_job("leaderboards.posts") is None
    await bot.load_extension("cogs.leaderboards")
    assert bot.scheduler.get_job("leaderboards.posts") is not None
