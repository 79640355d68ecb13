"""The campaign board read from kept totals (0014's ``campaign_totals``): the same ranks and
values, ties included, as ranking every participant's live sum of their check-ins, for every
kind of campaign; and totals that stay equal to those live sums through every check-in write
(a new one, an edit, "yesterday", a day moved or deleted), a member leaving, /me delete and a
campaign moved to other days."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from bot.localtime import LocalMoment, parse_local
from bot.program import CheckinRow, record_checkins
from bot.services.campaigns import Spec
from bot.services.campaigns.store import ENROL
from bot.services.leaderboards import Row

G = 1
TODAY = date(2026, 3, 2)  # the clock's day (UTC, the program's server zone)
LIVE = (  # what the totals must equal: the metric summed over the campaign's days' check-ins
    "SELECT k.user_id, count(*), round(sum(CASE c.metric WHEN 'hours' THEN k.hours"
    " WHEN 'diamonds' THEN k.diamonds WHEN 'followers' THEN k.followers ELSE 1 END), 2)"
    " FROM campaigns c JOIN checkins k ON k.guild_id = c.guild_id"
    " AND k.local_date BETWEEN c.first_day AND c.last_day WHERE c.id = ?"
    " AND c.metric <> 'streak' GROUP BY k.user_id ORDER BY k.user_id"
)
KEPT = "SELECT user_id, days, value FROM campaign_totals WHERE campaign_id = ? ORDER BY user_id"


def local(text: str) -> LocalMoment:
    found = parse_local(text)
    assert found is not None
    return found


async def write(services, statement: str, params: tuple) -> None:
    async with services.db.transaction() as tx:
        await tx.execute(statement, params)


async def assert_totals_are_the_live_sums(services) -> None:
    for (campaign_id,) in await services.db.fetchall("SELECT id FROM campaigns"):
        live = [tuple(r) for r in await services.db.fetchall(LIVE, (campaign_id,))]
        kept = [tuple(r) for r in await services.db.fetchall(KEPT, (campaign_id,))]
        assert kept == live, campaign_id


async def assert_board_is_everyone_ranked(services, campaign_id: int, viewers, size: int = 3
                                          ) -> list[Row]:
    """board() against board_rows(), which sums every participant's check-ins and ranks
    them all: the first ``size`` rows and each viewer's own row are the same."""
    found = await services.campaigns.get(G, campaign_id)
    rows = await services.campaigns.board_rows(found)
    for viewer in viewers:
        board = await services.campaigns.board(found, viewer, size)
        assert board.rows == rows[:size], (found.metric, found.state)
        assert board.me == next((r for r in rows if r.user_id == viewer), None), viewer
    return rows


def spec(name: str, metric: str, enrolment: str, audience: str, ids: list[int],
         start: str = "2026-03-02") -> Spec:
    return Spec(name=name, metric=metric, start=local(start), end=local("2026-03-08"),
                target_creator=5.0, audience=audience, audience_ids=ids, enrolment=enrolment)


KINDS = [  # (enrolment, audience, state)
    ("optin", "all", "running"), ("optin", "all", "finished"), ("optin", "all", "cancelled"),
    ("optin", "families", "scheduled"), ("auto", "all", "running"),
    ("auto", "families", "running"), ("auto", "tiers", "running"),
    ("auto", "all", "draft"), ("auto", "families", "scheduled"), ("auto", "tiers", "finished"),
]


async def test_the_board_is_everyone_ranked_for_every_kind_of_campaign(services, make_program):
    made = await make_program("small")
    rng = random.Random(5)
    creators = [p.user_id for p in made.creators]
    # the campaign's days: values chosen from a few so that ties are common, some zeros
    await record_checkins(services, G, [
        CheckinRow(u, TODAY + timedelta(days=d), rng.choice([0, 1.5, 2.25, 3]),
                   rng.choice([0, 100, 250]), rng.choice([0, 1, 2]))
        for u in creators for d in range(1, 7) if rng.random() < 0.6])
    families = [f.id for f in made.families]
    tiers = list(made.tier_ids.values())
    viewers = [*creators, *(p.user_id for p in made.leaders), 999_999]
    checked = 0
    for n, (enrolment, audience, state) in enumerate(KINDS):
        ids = {"all": [], "families": families[:2], "tiers": tiers}[audience]
        for metric in ("hours", "diamonds", "followers", "days", "streak"):
            made_campaign = await services.campaigns.create(
                G, made.manager_id, spec(f"C{n} {metric}", metric, enrolment, audience, ids))
            # some enrolled (one of them outside the audience: enrolled before a change),
            # then the campaign put in the state under test
            for user_id in creators[n % 3::3]:
                await write(services, ENROL, (made_campaign.id, G, user_id, families[0],
                                                  "button", "2026-03-02T00:00:00+00:00"))
            await write(services, "UPDATE campaigns SET state = ? WHERE id = ?",
                                      (state, made_campaign.id))
            rows = await assert_board_is_everyone_ranked(services, made_campaign.id, viewers)
            checked += bool(rows)
    assert checked >= 40  # boards with people on them, not empty ones compared
    await assert_totals_are_the_live_sums(services)


async def test_a_board_with_ties_shares_ranks_past_its_first_page(services, make_program):
    made = await make_program("small")
    a, b, c, d = (p.user_id for p in made.creators[:4])
    found = await services.campaigns.create(G, made.manager_id, spec("Ties", "hours", "optin",
                                                                     "all", [], "2026-03-03"))
    for user_id in (a, b, c, d):
        await write(services, ENROL, (found.id, G, user_id, None, "button",
                                          "2026-03-02T00:00:00+00:00"))
    await write(services, "UPDATE campaigns SET state = 'running' WHERE id = ?", (found.id,))
    day = TODAY + timedelta(days=1)
    await record_checkins(services, G, [CheckinRow(a, day, 3), CheckinRow(b, day, 2.5),
                                        CheckinRow(c, day, 2.5), CheckinRow(d, day, 1)])
    board = await services.campaigns.board(await services.campaigns.get(G, found.id), d, 2)
    assert board.rows == [Row(1, a, 3.0), Row(2, min(b, c), 2.5)]
    assert board.me == Row(4, d, 1.0)
    tied = await services.campaigns.board(await services.campaigns.get(G, found.id),
                                          max(b, c), 2)
    assert tied.me == Row(2, max(b, c), 2.5)


async def test_kept_totals_follow_every_write(services, make_program, clock):
    made = await make_program("small")
    assert made.campaign_id is not None
    running = made.campaign_id
    creators = [p.user_id for p in made.creators]
    for metric in ("diamonds", "followers", "days", "streak"):  # beside the builder's hours
        await services.campaigns.create(G, made.manager_id, spec(
            f"Also {metric}", metric, "auto", "all", []))
    viewers = [*creators, 999_999]
    await assert_totals_are_the_live_sums(services)
    first = await assert_board_is_everyone_ranked(services, running, viewers)
    assert first  # the builder's campaign has people on its board
    ana, ben, cla = creators[:3]
    # a check-in, the same day's again with other figures, yesterday's
    await services.checkins.submit(G, ana, {"hours": "7.25", "diamonds": "300"})
    await assert_totals_are_the_live_sums(services)
    await services.checkins.submit(G, ana, {"hours": "0.5", "diamonds": "1"})
    await services.checkins.submit(G, ben, {"hours": "11"}, yesterday=True)
    await assert_totals_are_the_live_sums(services)
    await assert_board_is_everyone_ranked(services, running, viewers)
    # a day moved out of the campaign and one deleted (no service does either today: any
    # future path is covered by the triggers all the same)
    await write(services,
        "UPDATE checkins SET local_date = '2025-01-01' WHERE id = (SELECT min(id) FROM"
        " checkins WHERE user_id = ? AND local_date >= ?)", (cla, TODAY.isoformat()))
    await write(services,
        "DELETE FROM checkins WHERE id = (SELECT max(id) FROM checkins WHERE user_id = ?)",
        (ben,))
    await assert_totals_are_the_live_sums(services)
    await assert_board_is_everyone_ranked(services, running, viewers)
    # a member leaves (still enrolled: still on the board, as the live standings have it)
    await services.families.leave(G, ana, "personal")
    await assert_board_is_everyone_ranked(services, running, viewers)
    # /me delete: their check-ins and their kept totals go
    await services.privacy.delete(G, ben)
    assert await services.db.fetchval(
        "SELECT count(*) FROM campaign_totals WHERE user_id = ?", (ben,)) == 0
    await assert_totals_are_the_live_sums(services)
    await assert_board_is_everyone_ranked(services, running, viewers)
    # a draft moved to other days: its totals are those of its new days
    draft = await services.campaigns.create(G, made.manager_id, spec("Later", "hours", "auto",
                                                                     "all", []))
    await record_checkins(services, G, [CheckinRow(cla, TODAY + timedelta(days=9), 4)])
    await services.campaigns.update(G, made.manager_id, draft.id, Spec(
        name="Later", metric="hours", start=local("2026-03-05"), end=local("2026-03-12"),
        target_creator=5.0, audience="all", enrolment="auto"))
    await assert_totals_are_the_live_sums(services)
    assert await services.db.fetchval(
        "SELECT value FROM campaign_totals WHERE campaign_id = ? AND user_id = ?",
        (draft.id, cla)) == 4.0
    await assert_board_is_everyone_ranked(services, draft.id, viewers)
    for metric in ("days", "streak", "followers"):  # and to another metric
        await services.campaigns.update(G, made.manager_id, draft.id, Spec(
            name="Later", metric=metric, start=local("2026-03-05"), end=local("2026-03-12"),
            target_creator=5.0, audience="all", enrolment="auto"))
        await assert_totals_are_the_live_sums(services)
        await assert_board_is_everyone_ranked(services, draft.id, viewers)


@pytest.mark.parametrize("hours", [["0.1", "0.2", "0.3"], ["1.15", "2.35", "0.05", "3.45"]])
async def test_hours_kept_as_shown_after_float_sums(services, make_program, hours):
    """Hours like 0.1 + 0.2 are not exact in binary: the kept total is the rounded sum a live
    board shows (0.6, not 0.6000000000000001), edit after edit."""
    made = await make_program("small")
    user_id = made.creators[0].user_id
    await write(services, "DELETE FROM checkins WHERE user_id = ? AND local_date >= ?",
                              (user_id, (TODAY - timedelta(days=6)).isoformat()))
    for back, value in enumerate(hours):
        await record_checkins(services, G, [CheckinRow(user_id, TODAY - timedelta(days=back),
                                                       float(value))])
    await services.checkins.submit(G, user_id, {"hours": hours[0]})  # an edit, same figures
    await assert_totals_are_the_live_sums(services)
    kept = await services.db.fetchval(
        "SELECT value FROM campaign_totals WHERE campaign_id = ? AND user_id = ?",
        (made.campaign_id, user_id))
    assert kept == round(sum(float(v) for v in hours), 2)

