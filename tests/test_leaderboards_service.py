"""Leaderboards on a real SQLite file: ranking and ties, pages, periods across zones, scopes,
leavers, family against family, all-time history, scheduled-post claims."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from bot.cogkit.options import RangeEndOption, RangeStartOption, Refused
from bot.errors import UserError
from bot.services.leaderboards import PAGE, Period
from tests._leaderboards import (
    ANA,
    BEN,
    CLA,
    DAN,
    EVA,
    LEADER,
    MANAGER,
    OTHER_LEADER,
    G,
    family,
    stat,
)

WEEK = Period("week", "2026-W10")
MONDAY = date(2026, 3, 2)


@pytest.fixture
async def lobos(services):
    return await family(services, "Lobos", LEADER, [ANA, BEN, CLA, DAN])


async def range_days(start, end):
    """The custom range's bounds as the options of /leaderboard creators read them."""
    given = SimpleNamespace(period="custom", to=end, **{"from": start})
    interaction = SimpleNamespace(namespace=given)
    return (await RangeStartOption().transform(interaction, start) if start else None,
            await RangeEndOption().transform(interaction, end) if end else None)


def ranks(board):
    return [(r.rank, r.user_id, r.value) for r in board.rows]


async def test_ties_share_a_rank_in_user_id_order(services, lobos):
    for user, hours in ((DAN, 3), (ANA, 5), (CLA, 1), (BEN, 3)):
        await stat(services, user, MONDAY, hours)
    board = await services.leaderboards.board(G, "hours", WEEK, viewer_id=BEN)
    assert ranks(board) == [(1, ANA, 5), (2, BEN, 3), (2, DAN, 3), (4, CLA, 1)]
    assert board.me == board.rows[1] and not board.has_next and not board.has_prev


async def test_pages_keep_ranks_across_a_tie_and_show_my_rank_off_page(services, lobos):
    for user, hours in ((ANA, 5), (BEN, 3), (CLA, 3), (DAN, 1)):
        await stat(services, user, MONDAY, hours)
    first = await services.leaderboards.board(G, "hours", WEEK, viewer_id=DAN, size=2)
    assert ranks(first) == [(1, ANA, 5), (2, BEN, 3)] and first.has_next
    assert (first.me.rank, first.me.user_id) == (4, DAN)
    second = await services.leaderboards.board(G, "hours", WEEK, page=1, viewer_id=ANA, size=2)
    assert ranks(second) == [(2, CLA, 3), (4, DAN, 1)] and not second.has_next
    assert second.has_prev and second.me.rank == 1


async def test_empty_period_has_no_rows_and_no_rank(services, lobos):
    await stat(services, ANA, date(2026, 2, 20), 4)
    board = await services.leaderboards.board(G, "diamonds", WEEK, viewer_id=ANA)
    assert board.rows == [] and board.me is None
    families = await services.leaderboards.family_board(G, "hours", WEEK)
    # the leader did not stream: four creators count (bot/services/population.py)
    assert [(f.rank, f.name, f.members, f.total) for f in families] == [(1, "Lobos", 4, 0)]


async def test_periods_follow_the_guild_zone(services, clock):
    # Sunday 1 March 23:00 in Mexico City is already Monday 2 March in UTC.
    clock.set(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    lb = services.leaderboards
    assert await lb.resolve_period(G, "this_week") == Period("week", "2026-W10")
    await services.guilds.set_timezone(G, MANAGER, "America/Mexico_City")
    assert await lb.resolve_period(G, "this_week") == Period("week", "2026-W09")
    assert await lb.resolve_period(G, "today") == Period("day", "2026-03-01")
    assert await lb.resolve_period(G, "this_month") == Period("month", "2026-03")
    assert await lb.resolve_period(G, "last_week") == Period("week", "2026-W08")
    # Auckland is a day ahead: still 28 February in UTC, already March there.
    clock.set(datetime(2026, 2, 28, 12, 0, tzinfo=UTC))
    await services.guilds.set_timezone(G, MANAGER, "Pacific/Auckland")
    assert await lb.resolve_period(G, "this_month") == Period("month", "2026-03")
    assert await lb.resolve_period(G, "last_month") == Period("month", "2026-02")
    assert WEEK.first == MONDAY and WEEK.last == date(2026, 3, 8)
    assert Period("month", "2026-02").last == date(2026, 2, 28)


async def test_custom_range_sums_days_and_refuses_bad_ranges(services, lobos):
    await stat(services, ANA, date(2026, 2, 27), 2, diamonds=100)
    await stat(services, ANA, MONDAY, 3, diamonds=50)
    await stat(services, BEN, date(2026, 2, 20), 9)
    lb = services.leaderboards
    period = await lb.resolve_period(G, "custom", date(2026, 2, 25), MONDAY)
    board = await lb.board(G, "hours", period)
    assert ranks(board) == [(1, ANA, 5)]
    assert ranks(await lb.board(G, "days", period)) == [(1, ANA, 2)]
    assert ranks(await lb.board(G, "hours", period, "family", lobos.id)) == [(1, ANA, 5)]
    for start, end, code in (("2026-03-02", "2026-03-01", "range_backwards"),
                             ("2025-01-01", "2026-03-01", "range_too_long"),
                             ("2026-02-31", "2026-03-01", "bad_date"),
                             ("2026-04-01", "2026-04-02", "range_future"),
                             (None, "2026-03-01", "range_needed")):
        # the days as /leaderboard's options read them (a bad one is refused by its option)
        with pytest.raises((UserError, Refused)) as caught:
            await lb.resolve_period(G, "custom", *await range_days(start, end))
        assert caught.value.code == f"leaderboards.{code}"


async def test_today_and_all_time_read_history(services, lobos):
    await stat(services, ANA, date(2026, 1, 5), 10, diamonds=5)
    await stat(services, BEN, date(2026, 2, 5), 4, diamonds=900)
    await stat(services, BEN, MONDAY, 2, diamonds=100)
    lb = services.leaderboards
    today = await lb.resolve_period(G, "today")
    assert ranks(await lb.board(G, "diamonds", today)) == [(1, BEN, 100)]
    alltime = Period("all", "all")
    assert ranks(await lb.board(G, "hours", alltime)) == [(1, ANA, 10), (2, BEN, 6)]
    assert ranks(await lb.board(G, "diamonds", alltime)) == [(1, BEN, 1000), (2, ANA, 5)]
    # An edit of a past day moves the all-time total too (the month row changes).
    async with services.db.transaction() as tx:
        await services.progress.apply(tx, G, ANA, date(2026, 1, 5), {
            "hours": 10, "diamonds": 5, "followers": 0}, {
            "hours": 1, "diamonds": 5, "followers": 0})
    assert ranks(await lb.board(G, "hours", alltime)) == [(1, BEN, 6), (2, ANA, 1)]


async def test_leavers_are_hidden_unless_asked(services, lobos):
    await stat(services, ANA, MONDAY, 5)
    await stat(services, BEN, MONDAY, 4)
    await services.families.leave(G, ANA, "time")
    lb = services.leaderboards
    board = await lb.board(G, "hours", WEEK, viewer_id=ANA)
    assert ranks(board) == [(1, BEN, 4)] and board.me is None
    everyone = await lb.board(G, "hours", WEEK, include_left=True)
    assert ranks(everyone) == [(1, ANA, 5), (2, BEN, 4)]
    await services.families.left_server(G, BEN)
    assert (await lb.board(G, "hours", WEEK)).rows == []


async def test_family_and_tier_scopes(services, lobos):
    other = await family(services, "Osos", OTHER_LEADER, [EVA])
    for user, hours in ((ANA, 2), (BEN, 6), (EVA, 9)):
        await stat(services, user, MONDAY, hours)
    lb = services.leaderboards
    assert ranks(await lb.board(G, "hours", WEEK, "family", lobos.id)) == [
        (1, BEN, 6), (2, ANA, 2)]
    assert ranks(await lb.board(G, "hours", WEEK, "family", other.id, viewer_id=ANA)) == [
        (1, EVA, 9)]
    gold = await services.tiers.define(G, MANAGER, "Gold", 2, min_hours=50)
    await services.tiers.set_manual(G, MANAGER, ANA, gold, "2026-03")
    assert ranks(await lb.board(G, "hours", WEEK, "tier", gold.id)) == [(1, ANA, 2)]


async def test_small_family_wins_on_average(services, lobos):
    small = await family(services, "Osos", OTHER_LEADER, [EVA])
    for user, hours in ((ANA, 4), (BEN, 4), (CLA, 4), (DAN, 0.5), (EVA, 8)):
        await stat(services, user, MONDAY, hours)
    lb = services.leaderboards
    by_average = await lb.family_board(G, "hours", WEEK)
    assert [(f.rank, f.name, f.members) for f in by_average] == [(1, "Osos", 1), (2, "Lobos", 4)]
    # 8 h over Eva alone: the leader, who did not stream, is not a member of the average
    assert by_average[0].average == pytest.approx(8.0)
    by_total = await lb.family_board(G, "hours", WEEK, by="total")
    assert [f.name for f in by_total] == ["Lobos", "Osos"] and by_total[0].total == 12.5
    assert small.id == by_average[0].family_id


async def test_streak_board_drops_broken_streaks(services, lobos):
    async with services.db.transaction() as tx:
        for user, current, last in ((ANA, 12, "2026-03-02"), (BEN, 30, "2026-02-20"),
                                    (CLA, 4, "2026-02-28")):
            await tx.execute("INSERT INTO checkin_streaks (guild_id, user_id, current, best,"
                             " last_date) VALUES (?, ?, ?, ?, ?)", (G, user, current, current,
                                                                    last))
    board = await services.leaderboards.board(G, "streak", Period("all", "all"))
    assert ranks(board) == [(1, ANA, 12), (2, CLA, 4)]


async def test_scheduled_posts_are_claimed_once(services, clock):
    lb = services.leaderboards
    due = await lb.due_posts(G)
    assert [(k, p.key, late) for k, p, late in due] == [
        ("week", "2026-W09", False), ("month", "2026-02", True)]
    post = await lb.claim_post(G, "week", "2026-W09", False)
    assert post is not None
    assert await lb.claim_post(G, "week", "2026-W09", False) is None
    await lb.finish_post(post, "sent", 5, 6)
    assert [k for k, _, _ in await lb.due_posts(G)] == ["month"]


async def test_unknown_metric_or_scope_is_refused(services):
    for call in (services.leaderboards.board(G, "likes", WEEK),
                 services.leaderboards.board(G, "hours", WEEK, "galaxy")):
        with pytest.raises(UserError):
            await call


async def test_week_boards_are_read_in_order_from_an_index(services, lobos):
    """The top of a board comes straight from an index: no sort of the whole period."""
    lb = services.leaderboards
    query = await lb._query(G, "days", WEEK, "program", 0, False)
    plan = await services.db.fetchall(
        "EXPLAIN QUERY PLAN " + query.statement(PAGE), {**query.params, "limit": 25, "offset": 0})
    details = " | ".join(r["detail"] for r in plan)
    assert "progress_rank_checkins" in details and "TEMP B-TREE" not in details


def test_a_range_splits_into_whole_weeks_and_loose_days():
    from bot.services.leaderboards import split_range
    assert split_range(date(2026, 2, 25), date(2026, 3, 17)) == (
        ["2026-W10", "2026-W11"],
        [(date(2026, 2, 25), date(2026, 3, 1)), (date(2026, 3, 16), date(2026, 3, 17))])
    assert split_range(MONDAY, date(2026, 3, 8)) == (["2026-W10"], [])
    assert split_range(date(2026, 3, 3), date(2026, 3, 4)) == (
        [], [(date(2026, 3, 3), date(2026, 3, 4))])


async def test_a_range_of_whole_weeks_and_loose_days_adds_up(services, lobos):
    for day, hours in ((date(2026, 2, 22), 1), (date(2026, 2, 23), 2), (date(2026, 3, 1), 4),
                       (date(2026, 3, 2), 8), (date(2026, 3, 3), 16)):
        await stat(services, ANA, day, hours)
    lb = services.leaderboards
    period = await lb.resolve_period(G, "custom", date(2026, 2, 22), MONDAY)
    assert ranks(await lb.board(G, "hours", period)) == [(1, ANA, 15)]
    assert ranks(await lb.board(G, "days", period, "family", lobos.id)) == [(1, ANA, 4)]


async def test_a_days_board_of_one_day_lists_everyone_by_user_id(services, lobos):
    """Every creator has the same value (1): one shared rank, listed by user id."""
    for user in (DAN, ANA, CLA):
        await stat(services, user, MONDAY, 2)
    lb = services.leaderboards
    today = await lb.resolve_period(G, "today")
    assert ranks(await lb.board(G, "days", today)) == [(1, ANA, 1), (1, CLA, 1), (1, DAN, 1)]
