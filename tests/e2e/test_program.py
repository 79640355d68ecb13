"""The `program` size in the emulator guild: its people are Discord members who use commands,
in the language they chose, over the days the builder wrote."""

from __future__ import annotations

from datetime import timedelta

from bot.localtime import local_date


async def test_a_spanish_creator_reads_her_built_history(app):
    made = await app.program("program", channels=True)
    users = made.extra["users"]
    assert len(users) == len(made.people) - 1  # everyone but the manager (the owner)
    ana = next(p for p in made.creators if p.locale == "es" and p.discord_locale == "es")
    streak = await app.services.checkins.streak_of(app.guild.id, ana.user_id)
    text = await app.reply(users[ana.user_id], "checkins", {"days": 7}, subcommand="history",
                           locale="en-US")  # her Discord is in English; she chose Spanish
    racha = "día" if streak.current == 1 else "días"
    assert f"Racha: {streak.current} {racha}" in text
    today = local_date(app.clock.now(), made.zone_of(ana.user_id))
    days = await app.services.db.fetchval(
        "SELECT count(*) FROM checkins WHERE guild_id = ? AND user_id = ? AND local_date > ?",
        (app.guild.id, ana.user_id, (today - timedelta(days=7)).isoformat()))
    assert text.count("\n- **") == days
    family = made.family("Lobos")
    assert app.emu.channel(family.channel_id).name.startswith("family-")
