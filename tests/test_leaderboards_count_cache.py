"""The "page 1 of N" count of a leaderboard (LeaderboardService._count) is remembered for
COUNT_FOR seconds, per board: many people opening the same board at once cost one count, and
a creator who joins shows in the count once that time has passed, not never."""

from datetime import date

from bot.services.leaderboards import COUNT_FOR, Period
from tests._leaderboards import ANA, BEN, CLA, DAN, EVA, LEADER, OTHER_LEADER, G, family, stat

WEEK = Period("week", "2026-W10")
MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)


class Ticks:
    """The cache's monotonic clock, moved by hand instead of waiting 30 s."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_count_is_reused_for_its_time_then_counted_again(services):
    lb = services.leaderboards
    lb.monotonic = ticks = Ticks()
    await family(services, "Lobos", LEADER, [ANA, BEN, CLA, DAN])
    for user, hours in ((ANA, 5), (BEN, 4), (CLA, 3), (DAN, 2)):
        await stat(services, user, MONDAY, hours)

    async def first_page(metric: str = "hours"):
        board = await lb.board(G, metric, WEEK, size=2)
        assert board.has_next  # only a page with more after it asks for the count
        return board

    assert (await first_page()).total == 4
    await family(services, "Osos", OTHER_LEADER, [EVA])
    await stat(services, EVA, MONDAY, 1, diamonds=1)
    # the last page counts what it holds: Eva is on the board now
    last = await lb.board(G, "hours", WEEK, page=2, size=2)
    assert [r.user_id for r in last.rows] == [EVA] and last.total == 5

    # within COUNT_FOR seconds the first page shows the count it had (reused, not counted)
    ticks.now += COUNT_FOR - 1
    assert (await first_page()).total == 4
    # each board has its own count: diamonds was never counted, so it counts Eva now
    for user, diamonds in ((ANA, 9), (BEN, 8)):
        await stat(services, user, TUESDAY, 1, diamonds=diamonds)
    assert (await first_page("diamonds")).total == 3
    # past COUNT_FOR seconds from the count, it is counted again
    ticks.now += 2
    assert (await first_page()).total == 5
    assert (await first_page()).total == 5
