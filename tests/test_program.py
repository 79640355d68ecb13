"""The program builder (bot/program.py): seeded and deterministic, sizes that are what they say,
and check-ins that leave exactly what the check-in service leaves."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, time, timedelta

import pytest

from bot.db import Database
from bot.localtime import at_local, local_date, month
from bot.program import SIZES, CheckinRow, build, record_checkins, streaks
from bot.services import Services
from bot.services.checkins import streak_length
from bot.services.families import AGREEMENT_VERSION

G, OTHER, MANAGER = 1, 2, 10


async def dump(db: Database, guild_id: int) -> dict[str, list[tuple]]:
    """Every row the builder writes for a guild, without the guild id."""
    out = {}
    for table, order in (("families", "id"), ("family_members", "id"), ("members", "user_id"),
                         ("checkins", "id"), ("progress_totals", "user_id, period_kind, period"),
                         ("progress_alltime", "user_id"), ("checkin_streaks", "user_id"),
                         ("checkin_feedback", "id"), ("member_tiers", "user_id"),
                         ("campaign_enrolments", "user_id"), ("tiers", "id")):
        rows = await db.fetchall(f"SELECT * FROM {table} WHERE guild_id = ? ORDER BY {order}",
                                 (guild_id,))
        out[table] = [tuple(v for k, v in dict(r).items() if k != "guild_id") for r in rows]
    return out


def test_streaks_in_bulk_equal_the_services_rule_day_by_day():
    rng = random.Random(3)
    for rest in (0, 1, 2):
        for _ in range(150):
            start = date(2026, 1, 1) + timedelta(days=rng.randrange(7))
            days = sorted({start + timedelta(days=rng.randrange(60))
                           for _ in range(rng.randrange(1, 50))})
            expected = [streak_length(set(days[: i + 1]), d, rest) for i, d in enumerate(days)]
            assert streaks(days, rest) == (expected[-1], max(expected)), (rest, days)


async def test_same_seed_and_now_make_the_same_program(services, settings, clock, tmp_path):
    first = await build(services, "small", seed=7)
    again_db = await Database.open(tmp_path / "again.db")
    await again_db.migrate()
    try:
        again = await build(Services.build(again_db, settings, clock), "small", seed=7)
        assert await dump(services.db, G) == await dump(again_db, G)
        assert first.people == again.people and first.families == again.families
    finally:
        await again_db.close()
    other = await build(services, "small", guild_id=OTHER, seed=8, first_user_id=900_000)
    assert [p.timezone for p in other.people.values()] != [
        p.timezone for p in first.people.values()]


async def test_the_program_size_is_a_real_program(services, clock, make_program):
    large = SIZES["large"]
    assert (large.families, large.families * large.creators, large.days) == (200, 5000, 365)
    made = await make_program("program")
    size = SIZES["program"]
    assert len(made.families) == 30 and len({f.name for f in made.families}) == 30
    assert all(len(f.creator_ids) == size.creators for f in made.families)
    assert len(made.creators) == 300 and len(made.leavers) == 30
    assert sum(f.co_leader_id is not None for f in made.families) == 20
    assert {p.locale for p in made.people.values()} >= {"en", "es", None}
    assert len({p.timezone for p in made.creators}) >= 4
    families = await services.families.list_families(G)
    assert sorted(f.name for f in families) == sorted(f.name for f in made.families)
    lobos = made.family("Lobos")
    roster = await services.families.roster(G, lobos.id)
    assert sorted(e.user_id for e in roster) == sorted(lobos.member_ids)
    assert roster[0].role == "leader" and roster[1].role == "co_leader"
    assert (await services.families.family_led_by(G, lobos.leader_id)).id == lobos.id
    # 90 days of check-ins with gaps, none after now, and the leavers' only while they stayed
    first, last = await services.db.fetchone(
        "SELECT min(local_date), max(local_date) FROM checkins WHERE guild_id = ?", (G,))
    today = clock.now().date()
    assert date.fromisoformat(first) == today - timedelta(days=90)
    assert date.fromisoformat(last) <= today + timedelta(days=1)  # Jakarta is ahead
    per_day = made.checkins / 91 / (len(made.people) - 1)
    assert 0.4 < per_day < 0.9
    assert await services.db.fetchval(
        "SELECT count(*) FROM checkins WHERE guild_id = ? AND created_at > ?",
        (G, clock.now().isoformat(timespec="seconds"))) == 0
    for leaver in made.leavers:
        membership = (await services.families.history(G, leaver.user_id))[0]
        assert membership.left_at is not None
        assert await services.families.membership_of(G, leaver.user_id) is None
        late = await services.db.fetchval(
            "SELECT count(*) FROM checkins WHERE guild_id = ? AND user_id = ? AND local_date"
            " >= ?", (G, leaver.user_id, leaver.left.isoformat()))
        assert late == 0
    # tiers from last month's sweep, feedback, a running campaign with its participants
    assert len(await services.tiers.list_tiers(G)) == 3
    sweep = await services.tiers.plan(G, month(today.replace(day=1) - timedelta(days=1)))
    assert sweep == [] and await services.db.fetchval(
        "SELECT count(*) FROM member_tiers WHERE tier_id IS NOT NULL") > 50
    assert made.feedback > 100
    campaign = await services.campaigns.get(G, made.campaign_id)
    assert campaign.state == "running"
    rows = await services.campaigns.board_rows(campaign)
    assert len(rows) > 100 and rows[0].value > 0


async def test_what_the_builder_wrote_is_what_the_services_read(services, clock):
    made = await build(services, "program")
    rng = random.Random(1)
    for person in rng.sample(made.creators, 20):
        zone = made.zone_of(person.user_id)
        assert await services.members.timezone_of(G, person.user_id) == zone
        today = local_date(clock.now(), zone)
        rows = await services.db.fetchall(
            "SELECT local_date, hours FROM checkins WHERE guild_id = ? AND user_id = ?",
            (G, person.user_id))
        days = {date.fromisoformat(r["local_date"]) for r in rows}
        streak = await services.checkins.streak_of(G, person.user_id)
        assert streak.current == streak_length(days, today, 1)
        this_month = month(today)
        totals = await services.progress.totals(G, person.user_id, "month", this_month)
        assert totals.hours == pytest.approx(sum(r["hours"] for r in rows
                                                 if r["local_date"].startswith(this_month)))
        assert totals.checkins == sum(r["local_date"].startswith(this_month) for r in rows)


async def test_written_checkins_equal_checkins_submitted_through_the_service(services, clock):
    """The same days, written in bulk (guild 1) and submitted one by one through
    CheckinService.submit at 20:00 on each day (guild 2): the same rows, totals and streaks."""
    zones = {30: "UTC", 31: "America/Mexico_City", 32: "Asia/Jakarta", 33: "Europe/Madrid"}
    rng = random.Random(5)
    start = clock.now().date() + timedelta(days=1)
    rows = []
    for user, zone in zones.items():
        days = sorted({start + timedelta(days=rng.randrange(45)) for _ in range(30)})
        rows += [CheckinRow(user, day, rng.choice((0.5, 1.0, 2.25, 3.1, 6.0)),
                            rng.randrange(0, 3000), rng.randrange(0, 30), rng.randrange(100),
                            timezone=zone) for day in days]
    for guild in (G, OTHER):
        family = await services.families.create(guild, MANAGER, "Lobos", 20)
        for user, zone in zones.items():
            await services.members.set_timezone(guild, user, zone)
            request = await services.families.request_join(guild, user, family.id,
                                                           AGREEMENT_VERSION)
            await services.families.decide(guild, 20, request.id, True)
        await services.checkins.update_settings(guild, MANAGER, rest_days=2)
    family_id = (await services.families.membership_of(G, 30)).family_id
    await record_checkins(services, G, [replace(r, family_id=family_id) for r in rows])
    for row in sorted(rows, key=lambda r: at_local(r.day, time(20), r.timezone)):
        clock.set(at_local(row.day, time(20), row.timezone))
        await services.checkins.submit(OTHER, row.user_id, {
            "hours": str(row.hours), "diamonds": str(row.diamonds),
            "followers": str(row.followers), "peak_viewers": str(row.peak_viewers)})
    written, submitted = await dump(services.db, G), await dump(services.db, OTHER)
    best = [r[2] for r in written["checkin_streaks"]]
    assert len(best) == 4 and max(best) > 3
    for table in ("progress_totals", "progress_alltime", "checkin_streaks"):
        assert written[table] == submitted[table], table

    def stats(found):  # user, day, zone, stats, mood, notes, times (not the id or family)
        return sorted(r[1:2] + r[3:13] for r in found)

    assert stats(written["checkins"]) == stats(submitted["checkins"])
