"""KPIs with time travel, and tiers: definitions, manual setting, the sweep."""

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.errors import UserError
from bot.localtime import month
from bot.program import CheckinRow, record_checkins
from bot.services.families import AGREEMENT_VERSION

G, MANAGER = 1, 10


def _days(user, first, hours, diamonds):
    """A creator's check-ins on the days from ``first``: ``hours`` each, ``diamonds`` on the
    first."""
    return [CheckinRow(user, first + timedelta(days=i), h, diamonds if i == 0 else 0)
            for i, h in enumerate(hours)]


async def _join(services, family, user):
    request = await services.families.request_join(G, user, family.id, AGREEMENT_VERSION)
    await services.families.decide(G, family.leader_user_id, request.id, True)


async def test_stats_count_joins_leaves_attrition_and_tenure(services, clock):
    start = clock.now()
    lobos = await services.families.create(G, MANAGER, "Lobos", 20)
    osos = await services.families.create(G, MANAGER, "Osos", 21)
    for user in (30, 31, 32, 33):
        await _join(services, lobos, user)
    clock.advance(days=10)
    await services.families.leave(G, 30, "earnings")
    clock.advance(days=10)
    await services.families.remove(G, 20, 31, "no shows", as_manager=False)
    await services.families.request_transfer(G, MANAGER, 32, osos.id, as_manager=True)
    clock.advance(days=1)
    end = clock.now()

    family = await services.kpis.family_stats(G, lobos.id, start, end)
    # Creators only: the leaders were appointed (no join) and did not stream (not counted).
    assert (family.members_start, family.members, family.joins, family.leaves) == (0, 1, 4, 3)
    assert family.reasons == {"earnings": 1, "removed": 1, "transfer": 1}
    assert family.median_tenure_days == 20
    assert family.attrition == pytest.approx(3 / 0.5)

    program = await services.kpis.family_stats(G, None, start, end)
    # The transfer is neither a join nor a leave for the program.
    assert (program.members, program.joins, program.leaves) == (2, 4, 2)
    assert program.reasons == {"earnings": 1, "removed": 1}

    later = await services.kpis.family_stats(G, lobos.id, end, end + timedelta(days=30))
    assert (later.members_start, later.members, later.joins, later.leaves) == (1, 1, 0, 0)
    assert later.attrition == 0 and later.median_tenure_days is None


async def test_tier_definitions_validate_and_upsert(services):
    await services.tiers.define(G, MANAGER, "Bronze", 1, min_hours=10)
    with pytest.raises(UserError) as caught:
        await services.tiers.define(G, MANAGER, "Silver", 1)
    assert caught.value.code == "families.rank_taken"
    with pytest.raises(UserError):
        await services.tiers.define(G, MANAGER, "Silver", 2, min_diamonds=-1)
    updated = await services.tiers.define(G, MANAGER, "bronze", 1, min_hours=12, role_id=5)
    assert (updated.min_hours, updated.role_id) == (12, 5)
    assert [t.name for t in await services.tiers.list_tiers(G)] == ["bronze"]


async def test_sweep_previews_then_applies_once(services, clock):
    family = await services.families.create(G, MANAGER, "Lobos", 20)
    await _join(services, family, 30)
    await _join(services, family, 31)
    await services.tiers.define(G, MANAGER, "Bronze", 1, min_hours=10)
    await services.tiers.define(G, MANAGER, "Gold", 2, min_hours=40, min_diamonds=1000)
    february, march = date(2026, 2, 1), date(2026, 3, 1)
    await record_checkins(services, G, [  # 30: 50 h, 2,000 💎; 31: 45 h, 10 💎; 20: no family
        *_days(30, february, (20, 20, 10), 1000), *_days(31, february, (20, 20, 5), 10),
        *_days(20, february, (1,), 0)])
    plan = await services.tiers.plan(G, "2026-02")
    assert [(c.user_id, c.new.name) for c in plan] == [(30, "Gold"), (31, "Bronze")]
    assert await services.db.fetchval("SELECT count(*) FROM member_tiers") == 0  # preview only
    applied = await services.tiers.sweep(G, MANAGER, "2026-02")
    assert all(c.promotion for c in applied)
    assert (await services.tiers.tier_of(G, 30)).name == "Gold"
    assert await services.tiers.plan(G, "2026-02") == []
    await record_checkins(services, G, _days(30, march, (12,), 0))  # 31: no data, keeps Bronze
    with pytest.raises(UserError) as caught:  # March is not over: a preview only
        await services.tiers.sweep(G, MANAGER, "2026-03")
    assert caught.value.code == "families.month_not_final"
    assert caught.value.params["at"] == datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    clock.set(datetime(2026, 4, 1, 12, 0, tzinfo=UTC))  # the last check-in window closed
    (demotion,) = await services.tiers.sweep(G, MANAGER, "2026-03")
    assert (demotion.old.name, demotion.new.name, demotion.promotion) == ("Gold", "Bronze", False)


async def test_the_plan_asks_the_database_what_tier_reached_says(services, clock, make_program):
    """The sweep's plan (one statement for the whole program) gives each member with the
    month's progress the highest tier whose every threshold they meet, as Tier.reached."""
    made = await make_program("program")
    period = month(clock.now().date())  # the month so far: many changes
    progress = await services.progress.month_progress(G, period)
    followers = sorted(p.followers for p in progress.values())
    await services.tiers.define(G, MANAGER, "Open", 4)  # no threshold: everyone reaches it
    await services.tiers.define(G, MANAGER, "Fans", 5, min_hours=1,  # about half reach it
                                min_followers=followers[len(followers) // 2])
    tiers = sorted(await services.tiers.list_tiers(G), key=lambda t: t.rank, reverse=True)
    held = {u: await services.tiers.tier_of(G, u) for u in progress}
    members = {u for f in made.families for u in f.member_ids}
    expected = [(u, held[u], next((t for t in tiers if t.reached(progress[u])), None))
                for u in sorted(progress) if u in members]
    expected = [(u, old, new) for u, old, new in expected if old != new]
    plan = await services.tiers.plan(G, period)
    assert [(c.user_id, c.old, c.new) for c in plan] == expected
    assert len(plan) > 10 and {c.new.name for c in plan} >= {"Open", "Fans"}
