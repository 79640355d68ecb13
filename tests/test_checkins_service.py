"""Check-ins, streaks, feedback and the progress model on a real SQLite file, with time travel."""

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.errors import NotAllowed, UserError
from bot.services.checkins import parse_count, parse_hours, streak_length
from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER, ANA, BEN, OTHER_LEADER = 1, 10, 20, 30, 40, 50
STATS = {"hours": "3", "diamonds": "1200", "followers": "15", "peak_viewers": "80",
         "notes": "good stream"}


async def _family(services, name="Lobos", leader=LEADER):
    return await services.families.create(G, MANAGER, name, leader, channel_id=500)


async def _join(services, family, user):
    request = await services.families.request_join(G, user, family.id, AGREEMENT_VERSION)
    await services.families.decide(G, family.leader_user_id, request.id, True)


@pytest.fixture
async def lobos(services):
    family = await _family(services)
    await _join(services, family, ANA)
    return family


async def _code(call, kind=UserError):
    with pytest.raises(kind) as caught:
        await call
    return caught.value.code


def test_parsing_accepts_spanish_decimals_and_refuses_nonsense():
    assert parse_hours("2,5") == 2.5 and parse_hours(" 24 ") == 24
    assert parse_count("1.200", "diamonds") == 1200 and parse_count("", "followers") == 0
    for bad in ("-1", "25", "abc", "nan", ""):
        with pytest.raises(UserError):
            parse_hours(bad)
    for bad in ("-3", "2.5", "1e3", "99999999"):
        with pytest.raises(UserError):
            parse_count(bad, "diamonds")


async def test_checkin_stores_once_per_day_and_edit_replaces(services, clock, lobos):
    first = await services.checkins.submit(G, ANA, STATS, mood=4)
    assert (first.edited, first.streak, first.week.hours, first.week.diamonds) == (
        False, 1, 3, 1200)
    clock.advance(hours=2)
    again = await services.checkins.submit(G, ANA, {**STATS, "hours": "4,5"}, mood=5)
    assert again.edited and again.checkin.id == first.checkin.id
    assert (again.week.hours, again.week.checkins, again.week.diamonds) == (4.5, 1, 1200)
    month = await services.progress.month_progress(G, "2026-03")
    assert month[ANA].hours == 4.5 and month[ANA].valid_days == 1


async def test_bad_input_stores_nothing(services, lobos):
    assert await _code(services.checkins.submit(G, ANA, {**STATS, "hours": "30"})) == \
        "checkins.bad_hours"
    assert await _code(services.checkins.submit(G, ANA, {**STATS, "followers": "-2"})) == \
        "checkins.bad_count"
    assert await _code(services.checkins.submit(G, BEN, STATS)) == "checkins.no_family"
    assert await services.db.fetchval("SELECT count(*) FROM checkins") == 0
    assert await services.db.fetchval("SELECT count(*) FROM progress_totals") == 0


@pytest.mark.parametrize("zone, utc_hour, expected", [
    # 05:30 UTC is still March 1st in Mexico City (UTC-6), 00:30 of March 2nd in Bogota.
    ("America/Mexico_City", 5, date(2026, 3, 1)),
    ("America/Bogota", 4, date(2026, 3, 1)),
    ("America/Bogota", 5, date(2026, 3, 2)),
    ("Europe/London", 5, date(2026, 3, 2)),
    # 2026-03-02 17:30 UTC is already March 3rd 00:30 in Jakarta (UTC+7).
    ("Asia/Jakarta", 17, date(2026, 3, 3)),
])
async def test_local_day_follows_the_creator_zone(services, clock, lobos, zone, utc_hour,
                                                 expected):
    await services.members.set_timezone(G, ANA, zone)
    clock.set(datetime(2026, 3, 2, utc_hour, 30, tzinfo=UTC))
    done = await services.checkins.submit(G, ANA, STATS)
    assert done.checkin.local_date == expected


async def test_midnight_and_dst_in_london(services, clock, lobos):
    # Clocks go forward on 2026-03-29 in London: 23:30 local on the 29th is 22:30 UTC.
    await services.members.set_timezone(G, ANA, "Europe/London")
    clock.set(datetime(2026, 3, 28, 23, 59, tzinfo=UTC))
    assert (await services.checkins.submit(G, ANA, STATS)).checkin.local_date == date(2026, 3, 28)
    clock.set(datetime(2026, 3, 29, 22, 30, tzinfo=UTC))
    done = await services.checkins.submit(G, ANA, STATS)
    assert done.checkin.local_date == date(2026, 3, 29) and done.streak == 2
    clock.set(datetime(2026, 3, 29, 23, 5, tzinfo=UTC))  # 00:05 BST on the 30th
    done = await services.checkins.submit(G, ANA, STATS)
    assert done.checkin.local_date == date(2026, 3, 30) and done.streak == 3


async def test_mexico_city_has_no_dst_any_more(services, clock, lobos):
    # Mexico dropped DST in 2022: April 5th 2026 (old DST start) 05:30 UTC is still 23:30 on 4th.
    await services.members.set_timezone(G, ANA, "America/Mexico_City")
    clock.set(datetime(2026, 4, 5, 5, 30, tzinfo=UTC))
    assert (await services.checkins.submit(G, ANA, STATS)).checkin.local_date == date(2026, 4, 4)


async def test_yesterday_until_the_cutoff(services, clock, lobos):
    await services.members.set_timezone(G, ANA, "America/Bogota")
    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # 09:00 in Bogota, cutoff 12
    done = await services.checkins.submit(G, ANA, STATS, yesterday=True)
    assert done.checkin.local_date == date(2026, 3, 1)
    clock.set(datetime(2026, 3, 2, 17, 30, tzinfo=UTC))  # 12:30 in Bogota
    assert await _code(services.checkins.submit(G, ANA, STATS, yesterday=True)) == \
        "checkins.too_late"
    assert await services.db.fetchval("SELECT hours FROM checkins") == 3


def test_streak_rule_with_rest_days():
    monday = date(2026, 3, 2)
    week = {monday + timedelta(days=i) for i in range(7)}
    assert streak_length(week, monday + timedelta(days=6), 0) == 7
    one_off = week - {monday + timedelta(days=3)}
    assert streak_length(one_off, monday + timedelta(days=6), 1) == 6
    assert streak_length(one_off, monday + timedelta(days=6), 0) == 3
    two_off = one_off - {monday + timedelta(days=4)}
    assert streak_length(two_off, monday + timedelta(days=6), 1) == 2
    # today not checked in yet does not break the run
    assert streak_length(week, monday + timedelta(days=7), 0) == 7


async def test_streak_milestone_and_best(services, clock, lobos):
    await services.checkins.update_settings(G, MANAGER, rest_days=0)
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    milestones = []
    for _ in range(8):
        done = await services.checkins.submit(G, ANA, STATS)
        milestones.append(done.milestone)
        clock.advance(days=1)
    assert milestones == [None] * 6 + [7, None] and done.streak == 8
    clock.advance(days=2)  # two days missed with no rest days: broken
    done = await services.checkins.submit(G, ANA, STATS)
    assert (done.streak, done.best) == (1, 8)


async def test_milestones_30_and_100_and_one_crossed_by_a_late_check_in(services, clock, lobos):
    await services.checkins.update_settings(G, MANAGER, rest_days=0)
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))  # before the cut-off for yesterday
    for _ in range(6):
        assert (await services.checkins.submit(G, ANA, STATS)).milestone is None
        clock.advance(days=1)
    clock.advance(days=1)  # day 7 forgotten...
    assert (await services.checkins.submit(G, ANA, STATS)).streak == 1
    late = await services.checkins.submit(G, ANA, STATS, yesterday=True)  # ...and added
    assert (late.streak, late.milestone) == (8, 7)  # 6 → 8: the 7-day milestone was crossed
    seen = {}
    for _ in range(92):
        clock.advance(days=1)
        done = await services.checkins.submit(G, ANA, STATS)
        if done.milestone:
            seen[done.streak] = done.milestone
    assert seen == {30: 30, 100: 100}


async def test_feedback_only_by_leaders_of_that_family(services, clock, lobos):
    other = await _family(services, "Osos", OTHER_LEADER)
    done = await services.checkins.submit(G, ANA, STATS)
    cid = done.checkin.id
    for intruder in (ANA, OTHER_LEADER):
        assert await _code(services.checkins.give_feedback(G, intruder, cid, "hi"),
                           NotAllowed) == "checkins.leaders_of_family_only"
    assert other.id != lobos.id
    clock.advance(minutes=30)
    feedback = await services.checkins.give_feedback(G, LEADER, cid, "Great consistency!")
    assert feedback.user_id == ANA
    clock.advance(minutes=30)
    await services.checkins.give_feedback(G, LEADER, cid, "One more thing")
    # not delivered by DM: read with the next check-in, waiting until marked as shown
    again = await services.checkins.submit(G, ANA, STATS)
    assert [f.text for f in again.feedback] == ["Great consistency!", "One more thing"]
    assert len((await services.checkins.submit(G, ANA, STATS)).feedback) == 2  # not shown
    await services.checkins.feedback_delivered([again.feedback[0].id], "checkin")
    assert [f.text for f in (await services.checkins.submit(G, ANA, STATS)).feedback] == [
        "One more thing"]
    stats = await services.checkins.feedback_stats(
        G, None, clock.now() - timedelta(days=1), clock.now() + timedelta(days=1))
    assert stats["feedback_rate"] == 1.0 and stats["median_response_minutes"] == 30


async def test_feedback_stats_rate_and_median(services, clock, lobos):
    await _join(services, lobos, BEN)
    start = clock.now()
    a = await services.checkins.submit(G, ANA, STATS)
    b = await services.checkins.submit(G, BEN, STATS)
    clock.advance(minutes=90)
    await services.checkins.give_feedback(G, LEADER, a.checkin.id, "ok")
    await services.checkins.feedback_delivered(1, "dm")
    stats = await services.checkins.feedback_stats(G, lobos.id, start, clock.now())
    assert stats == {"checkins": 2, "with_feedback": 1, "feedback_rate": 0.5,
                     "median_response_minutes": 90}
    assert b.checkin.id != a.checkin.id
    assert (await services.checkins.submit(G, ANA, STATS)).feedback == []


async def test_history_own_and_leader_view(services, clock, lobos):
    await _join(services, await _family(services, "Osos", OTHER_LEADER), BEN)
    for _ in range(3):
        await services.checkins.submit(G, ANA, STATS)
        clock.advance(days=1)
    found = await services.checkins.history(G, ANA, None, 7)
    member, rows, streak, best = found.user_id, found.checkins, found.streak, found.best
    assert member == ANA and len(rows) == 3 and rows[0].local_date > rows[-1].local_date
    assert (streak, best) == (3, 3)
    assert len((await services.checkins.history(G, LEADER, ANA, 2)).checkins) == 1
    assert await _code(services.checkins.history(G, OTHER_LEADER, ANA, 7), NotAllowed) == \
        "checkins.not_your_member"
    assert await _code(services.checkins.history(G, BEN, ANA, 7), NotAllowed) == \
        "checkins.not_your_member"
    assert await _code(services.checkins.history(G, ANA, None, 0)) == "checkins.bad_days"


async def test_tiers_read_progress(services, lobos):
    await services.checkins.submit(G, ANA, {**STATS, "hours": "10", "diamonds": "5000"})
    await services.tiers.define(G, LEADER, "Oro", 1, min_diamonds=5000)
    assert [(c.user_id, c.new.name) for c in await services.tiers.plan(G, "2026-03")] == [
        (ANA, "Oro")]
    top = await services.progress.top(G, "week", "2026-W10", "hours")
    assert [(t.user_id, t.value) for t in top] == [(ANA, 10)]
