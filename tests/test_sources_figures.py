"""One truth per figure beyond the progress model (#18, must-have 4), on a real SQLite file with
real stats files: campaign totals, standings and results, day boards and the loose days of a
custom range follow the guild's per-metric source — the platform's daily figure where one was
imported, else the check-in — and change with each import, rollback and change of source;
boards mark the figures that are the platform's (📥), in both languages."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from bot.localtime import parse_local
from bot.services.campaigns import Spec
from bot.services.leaderboards import Period
from tests._leaderboards import ANA, BEN, CLA, LEADER, MANAGER, G, family, stat
from tests.test_stats_import import csv_file, profiles

MARCH = date(2026, 3, 2)  # a Monday; the clock is 2026-03-02 15:00 UTC, the zone UTC


@pytest.fixture
async def program(services):
    fam = await family(services, "Lobos", LEADER, [ANA, BEN, CLA])
    await profiles(services, ana="ana.live", ben="benstreams", cla="cla")
    return fam


def spec(**changes) -> Spec:
    fields = {"name": "March push", "metric": "hours", "start": "2026-03-03",
              "end": "2026-03-09", "target_creator": 5.0} | changes
    start, end = parse_local(fields.pop("start")), parse_local(fields.pop("end"))
    assert start is not None and end is not None
    return Spec(**fields, start=start, end=end)


async def imported(services, *lines: str) -> int:
    preview = await services.stats.stage(G, MANAGER, "stats.csv",
                                         csv_file("Handle,Date,Hours,Diamonds", *lines))
    return (await services.stats.apply(G, preview.record.id, MANAGER)).id


async def totals(services, campaign_id: int) -> dict[int, float]:
    rows = await services.db.fetchall(
        "SELECT user_id, value FROM campaign_totals WHERE campaign_id = ?", (campaign_id,))
    return {r["user_id"]: r["value"] for r in rows}


async def running(services, clock, **changes):
    c = await services.campaigns.create(G, MANAGER, spec(**changes))
    await services.campaigns.schedule(G, MANAGER, c.id)
    for user in (ANA, BEN):
        await services.campaigns.enrol(G, user, c.id, "button")
    clock.set(datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    return await services.campaigns.get(G, c.id)


async def test_campaign_totals_follow_imports_rollbacks_and_the_source(
        services, program, clock, templates):
    c = await running(services, clock)
    await stat(services, ANA, date(2026, 3, 4), 2, diamonds=10)
    await stat(services, BEN, date(2026, 3, 4), 3)
    await stat(services, ANA, date(2026, 3, 20), 9)  # outside the campaign
    assert await totals(services, c.id) == {ANA: 2.0, BEN: 3.0}
    # the platform says Ana streamed 6 h on the 4th and 1.5 h on the 5th (no check-in)
    first = await imported(services, "ana.live,2026-03-04,6,100", "ana.live,2026-03-05,1.5,0")
    assert await totals(services, c.id) == {ANA: 7.5, BEN: 3.0}
    progress = await services.campaigns.progress_of(G, ANA, c)
    assert (progress.value, progress.rank) == (7.5, 1)
    board = await services.campaigns.board(c, BEN, 10)
    assert [(r.user_id, r.value) for r in board.rows] == [(ANA, 7.5), (BEN, 3.0)]
    assert board.imported == {ANA}
    for locale, note in (("en", "📥 the platform's imported figures; the others are check-ins."),
                         ("es", "📥 cifras importadas de la plataforma; las demás son registros"
                                " diarios.")):
        text = templates.render(locale, "discord/campaigns/board.md.j2", campaign=c,
                                rows=board.rows, me=board.me, viewer_id=BEN,
                                imported=board.imported)
        assert f"<@{ANA}> — " in text and " 📥" in text.split(f"<@{ANA}>")[1].split("\n")[0]
        assert " 📥" not in text.split(f"<@{BEN}>")[1].split("\n")[0]
        assert note in text
    # a check-in on the imported day keeps the platform's figure; one on a plain day adds
    clock.set(datetime(2026, 3, 5, 20, 0, tzinfo=UTC))
    await services.checkins.submit(G, ANA, {"hours": "4", "diamonds": "0", "followers": "0",
                                            "peak_viewers": "0"})
    assert await totals(services, c.id) == {ANA: 7.5, BEN: 3.0}
    await services.checkins.submit(G, BEN, {"hours": "1", "diamonds": "0", "followers": "0",
                                            "peak_viewers": "0"})
    assert await totals(services, c.id) == {ANA: 7.5, BEN: 4.0}
    # the source set to check-ins: the check-ins as typed (2 + 4); back to imported
    await services.sources.set(G, MANAGER, metric="hours", source="checkins")
    assert await totals(services, c.id) == {ANA: 6.0, BEN: 4.0}
    assert (await services.campaigns.board(c, BEN, 10)).imported == frozenset()
    await services.sources.set(G, MANAGER, metric="hours", source="imported")
    assert await totals(services, c.id) == {ANA: 7.5, BEN: 4.0}
    # rolled back: the check-ins again
    await services.stats.rollback(G, first, MANAGER)
    assert await totals(services, c.id) == {ANA: 6.0, BEN: 4.0}
    # a campaign created over imported days starts from the rule, not from the check-ins
    await imported(services, "benstreams,2026-03-05,8,0")  # Ben checked in 1 h that day
    later = await services.campaigns.create(G, MANAGER, spec(name="Second", start="2026-03-05",
                                                             end="2026-03-10"))
    assert await totals(services, later.id) == {ANA: 4.0, BEN: 8.0}
    await services.campaigns.update(G, MANAGER, later.id, spec(
        name="Second", start="2026-03-06", end="2026-03-10"))
    assert await totals(services, later.id) == {}


async def test_results_say_what_they_are_final_against(services, program, clock, templates):
    c = await running(services, clock)
    await stat(services, ANA, date(2026, 3, 4), 2)
    await stat(services, BEN, date(2026, 3, 4), 3)
    import_id = await imported(services, "ana.live,2026-03-04,6,0")
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))  # the last check-in window closed
    await asyncio.gather(services.campaigns.sweep(), services.campaigns.sweep())
    results = await services.campaigns.results(G, c.id)
    assert (results.source, results.imports, results.later_imports) == (
        "imported", [import_id], [])
    assert results.reached == 1  # Ana's 6 imported hours reach the 5 h goal
    rows = await services.db.fetchall(
        "SELECT user_id, value FROM campaign_results WHERE campaign_id = ? AND participant = 1"
        " ORDER BY user_id", (c.id,))
    assert [tuple(r) for r in rows] == [(ANA, 6.0), (BEN, 3.0)]
    text = templates.render("en", "discord/campaigns/results.md.j2", results=results)
    assert (f"Counted with the platform's imported figures where a day has them (imports"
            f" #{import_id}), else the check-ins.") in text
    # an import after the results: the board follows it, the results say so and stay
    clock.set(datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    late = await imported(services, "benstreams,2026-03-04,7,0")
    assert await totals(services, c.id) == {ANA: 6.0, BEN: 7.0}
    results = await services.campaigns.results(G, c.id)
    assert results.later_imports == [late] and results.reached == 1
    text = templates.render("en", "discord/campaigns/results.md.j2", results=results)
    assert (f"Imports #{late} changed figures of the campaign's days after the results were"
            f" taken: the board follows them, these results stay as taken.") in text
    es = templates.render("es", "discord/campaigns/results.md.j2", results=results)
    assert f"Las importaciones #{late} cambiaron cifras de los días de la campaña" in es
    assert f"(importaciones #{import_id}); si no, con los registros diarios." in es


async def test_results_taken_on_check_ins_only_say_so(services, program, clock, templates):
    await services.sources.set(G, MANAGER, metric="hours", source="checkins")
    c = await running(services, clock)
    await stat(services, ANA, date(2026, 3, 4), 2)
    await imported(services, "ana.live,2026-03-04,6,0")
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    results = await services.campaigns.results(G, c.id)
    assert results.source == "checkins" and results.reached == 0
    assert "Counted from the check-ins only" in templates.render(
        "en", "discord/campaigns/results.md.j2", results=results)
    assert "Contado solo con los registros diarios" in templates.render(
        "es", "discord/campaigns/results.md.j2", results=results)


async def test_day_boards_and_a_ranges_loose_days_follow_the_source(services, program):
    await stat(services, ANA, MARCH, 1.0, diamonds=50)
    await stat(services, BEN, MARCH, 2.0)
    await stat(services, ANA, date(2026, 3, 11), 1.0)  # a loose day of the range below
    day = Period("day", MARCH.isoformat())
    rng = Period("range", "2026-03-02..2026-03-11")  # week 10 whole, then 9–11 March loose
    board = await services.leaderboards.board(G, "hours", day, viewer_id=ANA)
    assert [(r.user_id, r.value) for r in board.rows] == [(BEN, 2.0), (ANA, 1.0)]
    assert board.imported == frozenset()
    first = await imported(services, "ana.live,2026-03-02,3,70", "cla,2026-03-02,0.5,0",
                           "ana.live,2026-03-11,4,0")
    board = await services.leaderboards.board(G, "hours", day, viewer_id=ANA)
    assert [(r.user_id, r.value) for r in board.rows] == [(ANA, 3.0), (BEN, 2.0), (CLA, 0.5)]
    assert board.imported == {ANA, CLA}
    # the days metric stays the check-ins' (Cla has no check-in that day)
    days = await services.leaderboards.board(G, "days", day)
    assert {r.user_id for r in days.rows} == {ANA, BEN}
    ranged = await services.leaderboards.board(G, "hours", rng)
    assert [(r.user_id, r.value) for r in ranged.rows] == [(ANA, 7.0), (BEN, 2.0), (CLA, 0.5)]
    assert ranged.imported == {ANA, CLA}
    diamonds = await services.leaderboards.board(G, "diamonds", rng)
    assert [(r.user_id, r.value) for r in diamonds.rows] == [(ANA, 70)]
    await services.sources.set(G, MANAGER, metric="hours", source="checkins")
    ranged = await services.leaderboards.board(G, "hours", rng)
    assert [(r.user_id, r.value) for r in ranged.rows] == [(ANA, 2.0), (BEN, 2.0)]  # a tie
    assert ranged.imported == frozenset()
    assert [r.value for r in (await services.leaderboards.board(G, "diamonds", rng)).rows] \
        == [70]  # diamonds still follow the import
    await services.sources.set(G, MANAGER, metric="hours", source="imported")
    await services.stats.rollback(G, first, MANAGER)
    board = await services.leaderboards.board(G, "hours", day)
    assert [(r.user_id, r.value) for r in board.rows] == [(BEN, 2.0), (ANA, 1.0)]
    assert board.imported == frozenset()


async def test_a_creators_progress_report_shows_the_days_by_the_source(services, program,
                                                                       templates):
    await stat(services, ANA, date(2026, 2, 27), 1.0)
    await stat(services, ANA, MARCH, 2.0, diamonds=10)
    await imported(services, "ana.live,2026-03-02,5,900", "ana.live,2026-02-28,1.5,0")
    report = await services.pace.report(G, ANA)
    assert report.days[-1] == (MARCH, 5.0, 900)  # the platform's, not the 2 h checked in
    assert report.days[-3] == (date(2026, 2, 28), 1.5, 0)  # an imported day, no check-in
    week = {c.metric: c for c in report.changes}
    assert week["hours"].now == 7.5 and report.month.hours == 5.0  # March, as the model
    await services.sources.set(G, MANAGER, metric="hours", source="checkins")
    report = await services.pace.report(G, ANA)
    assert report.days[-1] == (MARCH, 2.0, 900)  # diamonds still follow the import
