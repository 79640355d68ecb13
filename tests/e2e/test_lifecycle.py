"""The bot owns the life of what the composition root built, not the cogs."""

from __future__ import annotations

import asyncio

import aiohttp


async def test_unloading_the_email_cog_keeps_the_unsubscribe_pages_and_the_sender(app):
    bot = app.bot
    await bot.unload_extension("cogs.email")
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{bot.web.port}/healthz") as health:
        assert health.status == 200 and (await health.json())["status"] == "ok"
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


async def test_the_discord_sender_is_the_bots_and_outlives_the_broadcasts_cog(app):
    """What services queue reaches Discord with no cog loaded that once started the sender."""
    from bot.delivery.queue import Send

    bot = app.bot
    await bot.unload_extension("cogs.broadcasts")
    channel = app.emu.create_channel(app.guild, "news")
    async with app.services.db.transaction() as tx:
        await app.services.deliveries.add(tx, app.guild.id, [
            Send("test", "lifecycle:1", "channel", channel.id, {"content": "still sent"},
                 channel_id=channel.id)])
    for _ in range(200):
        if app.emu.messages(channel):
            break
        await asyncio.sleep(0.02)
    assert [m.content for m in app.emu.messages(channel)] == ["still sent"]
    await bot.load_extension("cogs.broadcasts")
