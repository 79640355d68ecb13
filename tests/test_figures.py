"""Figures a manager can trust (issue 16, must-haves 1-3), on a real SQLite file with time
travel: one rule for who is counted, results that wait for the last check-in window of every
creator's zone, and an honest uplift — each checked in the service's figures and in the text
a user reads."""

import csv
import io
from datetime import UTC, date, datetime

import pytest

from bot.errors import UserError
from bot.localtime import LocalMoment, parse_local
from bot.program import CheckinRow, record_checkins
from bot.services import population
from bot.services.campaigns import Spec
from bot.services.families import AGREEMENT_VERSION
from bot.services.leaderboards import Period

G, MANAGER, LENA, MARCO = 1, 10, 20, 21
BOGOTA, JOBURG, UTC_ONE, UTC_TWO = 30, 31, 32, 33  # UTC−5, UTC+2, and two in UTC
OSOS = (40, 41, 42, 43)


async def family(services, name, leader, members, channel_id=None):
    fam = await services.families.create(G, MANAGER, name, leader, channel_id=channel_id)
    for user in members:
        request = await services.families.request_join(G, user, fam.id, AGREEMENT_VERSION)
        await services.families.decide(G, leader, request.id, True)
    return fam


async def stat(services, user, day, hours):
    await record_checkins(services, G, [CheckinRow(user, day, hours, 0)])


def local(text: str) -> LocalMoment:
    found = parse_local(text)
    assert found is not None
    return found


def spec(**changes) -> Spec:
    fields = {"name": "Push", "metric": "hours", "start": "2026-03-03", "end": "2026-03-09",
              "target_creator": 10.0} | changes
    return Spec(**fields | {"start": local(fields["start"]), "end": local(fields["end"])})


@pytest.fixture
async def lobos(services):
    """Lobos, led by Lena, with creators in Bogotá (UTC−5), Johannesburg (UTC+2) and UTC.
    The guild's zone is UTC; the clock is Monday 2 March 2026, 15:00 UTC."""
    fam = await family(services, "Lobos", LENA, [BOGOTA, JOBURG, UTC_ONE, UTC_TWO], 500)
    await services.members.set_timezone(G, BOGOTA, "America/Bogota")
    await services.members.set_timezone(G, JOBURG, "Africa/Johannesburg")
    return fam


async def run(services, clock, c):
    await services.campaigns.schedule(G, MANAGER, c.id)
    clock.set(datetime(2026, 3, 3, 0, 1, tzinfo=UTC))
    await services.campaigns.sweep()


# -- 2. results final when they say so --------------------------------------------------------

async def test_results_wait_for_the_late_check_ins_of_every_zone(services, clock, lobos,
                                                                  templates):
    c = await services.campaigns.create(G, MANAGER, spec(enrolment="auto"))
    await run(services, clock, c)
    for user in (BOGOTA, JOBURG, UTC_ONE):
        await stat(services, user, date(2026, 3, 4), 8)

    # The campaign's last day is 9 March. On the 10th, in the morning of each zone, two
    # creators enter "yesterday" late: Johannesburg at 11:00 local (09:00 UTC) ...
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    await services.checkins.submit(G, JOBURG, {"hours": "3"}, yesterday=True)
    assert (await services.campaigns.sweep())["finished"] == []
    # ... the UTC creators' window closed at 12:00 UTC, but Bogotá's is still open ...
    clock.set(datetime(2026, 3, 10, 13, 0, tzinfo=UTC))
    assert (await services.campaigns.sweep())["finished"] == []
    with pytest.raises(UserError) as caught:
        await services.campaigns.results(G, c.id)
    assert caught.value.code == "campaigns.results_pending"
    final = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # 12:00 in Bogotá, the latest zone
    assert caught.value.params["at"] == final
    message = templates.render_error("en", caught.value)
    assert "results come once the last check-in window closes: <t:1773162000:f>" in message
    # ... where it is 11:00 when the Bogotá creator enters the last day.
    clock.set(datetime(2026, 3, 10, 16, 0, tzinfo=UTC))
    await services.checkins.submit(G, BOGOTA, {"hours": "2.5"}, yesterday=True)
    clock.set(datetime(2026, 3, 10, 16, 59, tzinfo=UTC))
    assert (await services.campaigns.sweep())["finished"] == []

    clock.set(final)
    assert (await services.campaigns.sweep())["finished"] == [c.id]
    assert (await services.campaigns.sweep())["finished"] == []  # once
    results = await services.campaigns.results(G, c.id)
    assert results.final_at == final
    values = {r["user_id"]: r["hours"] for r in csv.DictReader(io.StringIO(
        await services.campaigns.results_csv(G, c.id)))}
    assert (values[str(BOGOTA)], values[str(JOBURG)]) == ("10.50", "11")  # late ones in
    assert results.families[0]["total"] == 29.5  # 10.5 + 11 + 8 + 0
    board = {r.user_id: r.value for r in await services.campaigns.board_rows(
        await services.campaigns.get(G, c.id))}
    assert board[BOGOTA] == 10.5 and board[JOBURG] == 11.0  # the live board agrees

    text = templates.render("en", "discord/campaigns/results.md.j2", results=results)
    assert "-# Figures final since <t:1773162000:f>, when the last check-in window of the" \
           " last day closed." in text
    assert "Reached the goal: 2 of 4 participants" in text
    post = templates.render("es", "discord/campaigns/announcement.md.j2", campaign=c,
                            stage="results", family=None, results=results,
                            family_id=lobos.id, late=False)
    assert "**Lobos**: 29,5 horas" in post
    assert "-# Cifras definitivas desde <t:1773162000:f>" in post
    assert "-# Se cuentan: creadores de una familia, y líderes y colíderes los días que" \
           " transmiten" in post


async def test_nobody_joins_a_campaign_that_is_over_and_waiting(services, clock, lobos):
    c = await services.campaigns.create(G, MANAGER, spec())
    await run(services, clock, c)
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    with pytest.raises(UserError) as caught:
        await services.campaigns.enrol(G, UTC_ONE, c.id, "button")
    assert caught.value.code == "campaigns.ended"


async def test_board_posts_wait_for_the_latest_zone(services, clock, lobos):
    lb = services.leaderboards
    # Monday 2 March, 15:00 UTC: it is 10:00 in Bogotá, who may still enter Sunday: the
    # week is not final (February is).
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    assert [k for k, _, _ in await lb.due_posts(G)] == ["month"]
    assert await population.final_at(services.db, G, date(2026, 3, 1), 12) == datetime(
        2026, 3, 2, 17, 0, tzinfo=UTC)
    clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=UTC))
    assert [(k, p.key) for k, p, _ in await lb.due_posts(G)] == [
        ("week", "2026-W09"), ("month", "2026-02")]


async def test_a_tier_month_is_applied_only_once_final(services, clock, lobos, templates):
    await services.tiers.define(G, MANAGER, "Bronce", 1, min_hours=5)
    await stat(services, BOGOTA, date(2026, 3, 31), 6)
    clock.set(datetime(2026, 4, 1, 13, 0, tzinfo=UTC))  # 08:00 in Bogotá
    assert [c.user_id for c in await services.tiers.plan(G, "2026-03")] == [BOGOTA]  # preview
    with pytest.raises(UserError) as caught:
        await services.tiers.sweep(G, MANAGER, "2026-03")
    assert "2026-03 is not final yet" in templates.render_error("en", caught.value)
    assert await services.tiers.tier_of(G, BOGOTA) is None
    clock.set(datetime(2026, 4, 1, 17, 0, tzinfo=UTC))
    assert [c.user_id for c in await services.tiers.sweep(G, MANAGER, "2026-03")] == [BOGOTA]


# -- 1. one definition of who is counted --------------------------------------------------------

async def test_leaders_count_on_the_days_they_stream_unless_the_server_says_otherwise(
        services, clock, lobos, templates):
    osos = await family(services, "Osos", MARCO, [OSOS[0]])
    for user in (BOGOTA, JOBURG):
        await stat(services, user, date(2026, 3, 2), 4)
    await stat(services, OSOS[0], date(2026, 3, 2), 6)
    await stat(services, MARCO, date(2026, 3, 2), 2)  # Marco streams; Lena does not
    week = Period("week", "2026-W10")
    board = {f.name: f for f in await services.leaderboards.family_board(G, "hours", week)}
    assert (board["Lobos"].members, board["Lobos"].total) == (4, 8.0)  # no Lena
    assert (board["Osos"].members, board["Osos"].average) == (2, 4.0)  # Marco streamed

    await services.guilds.set_leaders_count(G, MANAGER, "never")
    board = {f.name: f for f in await services.leaderboards.family_board(G, "hours", week)}
    assert (board["Osos"].members, board["Osos"].total) == (1, 6.0)  # Marco's hours left out
    await services.guilds.set_leaders_count(G, MANAGER, "always")
    board = {f.name: f for f in await services.leaderboards.family_board(G, "hours", week)}
    assert board["Lobos"].members == 5 and board["Osos"].members == 2
    settings = await services.guilds.get(G)
    assert settings.leaders_count == "always"
    text = templates.render("en", "discord/settings/view.md.j2", settings=settings,
                            changed="figures")
    assert "Leaders and co-leaders count in the figures: always, like creators" in text
    with pytest.raises(UserError) as caught:
        await services.guilds.set_leaders_count(G, MANAGER, "sometimes")
    assert caught.value.code == "settings.unknown_leaders_rule"
    stats = await services.kpis.family_stats(G, osos.id, clock.now(), clock.now())
    page = templates.render("es", "discord/families/stats.md.j2", family=osos, days=7,
                            stats=stats, quality=await services.kpis.quality(
                                G, osos.id, clock.now(), clock.now()))
    assert page.endswith("-# Se cuentan: creadores de una familia, con líderes y colíderes;"
                         " altas y bajas son de creadores.")


async def test_a_leader_with_imported_platform_hours_streamed_that_day(services, clock, lobos):
    # "leaders count on the days they stream (they have a check-in or imported stats)"
    await stat(services, BOGOTA, date(2026, 3, 2), 4)
    week = Period("week", "2026-W10")
    board = {f.name: f for f in await services.leaderboards.family_board(G, "hours", week)}
    assert board["Lobos"].members == 4  # Lena has not streamed
    await services.profiles.set(G, MANAGER, LENA, {"handle": "lena"}, as_manager=True)
    staged = await services.stats.stage(G, MANAGER, "platform.csv",
                                        b"Handle,Date,Hours\nlena,2026-03-03,0\n"
                                        b"lena,2026-03-02,3\n")
    await services.stats.apply(G, staged.record.id, MANAGER)
    board = {f.name: f for f in await services.leaderboards.family_board(G, "hours", week)}
    assert board["Lobos"].members == 5  # the platform says she streamed on the 2nd
    async with services.db.transaction() as tx:
        counted = await population.population(tx, G, date(2026, 3, 2), date(2026, 3, 8),
                                              days=True)
    assert counted.leader_days(LENA, 7) == 1  # the 3rd's row has no hours: not a day


async def test_participation_counts_creators_and_the_leaders_who_streamed(services, clock,
                                                                         lobos, templates):
    await family(services, "Osos", MARCO, [])
    c = await services.campaigns.create(G, MANAGER, spec())
    await run(services, clock, c)
    for user in (BOGOTA, MARCO):
        await services.campaigns.enrol(G, user, c.id, "button")
    await stat(services, BOGOTA, date(2026, 3, 5), 12)
    await stat(services, MARCO, date(2026, 3, 5), 3)  # a leader who streams is counted
    clock.set(datetime(2026, 3, 11, tzinfo=UTC))
    await services.campaigns.sweep()
    results = await services.campaigns.results(G, c.id)
    # Four creators of Lobos and Marco (he streamed); Lena did not: not in the audience.
    assert (results.participants, results.audience) == (2, 5)
    text = templates.render("en", "discord/campaigns/results.md.j2", results=results)
    assert "Participation: 2 of 5 creators (40%)" in text


async def test_an_appointed_leader_is_no_join_and_not_expected_to_check_in(services, clock):
    fam = await family(services, "Lobos", LENA, [BOGOTA, JOBURG])
    start = clock.now()
    clock.advance(days=7)
    stats = await services.kpis.family_stats(G, fam.id, start.replace(day=1), clock.now())
    assert (stats.members, stats.joins) == (2, 2)  # not Lena: appointed, no stream
    await services.families.appoint(G, MANAGER, fam.id, "co_leader", UTC_ONE)
    stats = await services.kpis.family_stats(G, fam.id, start.replace(day=1), clock.now())
    assert (stats.members, stats.joins) == (2, 2)  # an appointment is not a join


# -- 3. honest uplift ---------------------------------------------------------------------------

async def test_uplift_needs_a_baseline_and_says_so(services, clock, lobos, templates):
    """The issue's case: participants streamed more during the campaign, but there was
    little before it — no number, the plain figures, and why."""
    await family(services, "Osos", MARCO, OSOS)
    c = await services.campaigns.create(G, MANAGER, spec(start="2026-03-10", end="2026-03-16"))
    await services.campaigns.schedule(G, MANAGER, c.id)
    await stat(services, OSOS[0], date(2026, 3, 4), 10)  # one creator with a baseline
    clock.set(datetime(2026, 3, 10, 0, 1, tzinfo=UTC))
    await services.campaigns.sweep()
    for user in (BOGOTA, JOBURG, UTC_ONE):
        await services.campaigns.enrol(G, user, c.id, "button")
        await stat(services, user, date(2026, 3, 12), 15.5)
    await stat(services, OSOS[0], date(2026, 3, 12), 11)
    clock.set(datetime(2026, 3, 17, 17, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    results = await services.campaigns.results(G, c.id)
    assert results.uplift.difference is None
    text = templates.render("en", "discord/campaigns/results.md.j2", results=results)
    assert "Participants: 0 hours before → 15.5 hours during, on average per creator" in text
    assert "Others in the audience: 2 hours before → 2.2 hours during" in text
    assert "Not enough data before the campaign to measure uplift (it needs 3 creators on" \
           " each side with check-ins in the days before, and at least 7 days)." in text
    assert "Uplift:" not in text and "percentage points" not in text
    es = templates.render("es", "discord/campaigns/results.md.j2", results=results)
    assert "No hay datos suficientes antes de la campaña para medir la mejora" in es


async def test_uplift_is_a_difference_of_differences(services, clock, lobos, templates):
    await family(services, "Osos", MARCO, OSOS)
    c = await services.campaigns.create(G, MANAGER, spec(start="2026-03-10", end="2026-03-16"))
    await services.campaigns.schedule(G, MANAGER, c.id)
    participants, others = (BOGOTA, JOBURG, UTC_ONE), OSOS[:3]
    for user in (*participants, *others):  # everyone streamed 4 h in the week before
        await stat(services, user, date(2026, 3, 5), 4)
    clock.set(datetime(2026, 3, 10, 0, 1, tzinfo=UTC))
    await services.campaigns.sweep()
    for user in participants:  # participants went to 10 h (+6), the others to 5 h (+1)
        await services.campaigns.enrol(G, user, c.id, "button")
        await stat(services, user, date(2026, 3, 12), 10)
    for user in others:
        await stat(services, user, date(2026, 3, 12), 5)
    clock.set(datetime(2026, 3, 17, 17, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    results = await services.campaigns.results(G, c.id)
    assert results.uplift.difference == pytest.approx(5.0)
    text = templates.render("en", "discord/campaigns/results.md.j2", results=results)
    assert "Participants: 4 hours before → 10 hours during, on average per creator" in text
    # (UTC_TWO and OSOS[3] had nothing before: plain figures only, not compared)
    assert "Uplift: +5 hours per creator — participants changed by +6 hours, the others by" \
           " +1 hour (the 6 creators with check-ins before the campaign)" in text


def test_a_change_reads_with_its_sign(templates):
    def signed(v, locale="en"):
        return templates.macro(locale, "discord/_figures.j2", "signed", "hours", v)

    assert (signed(5.0), signed(-1.5), signed(0.001)) == ("+5 hours", "−1.5 hours", "0 hours")
    assert signed(-1.5, "es") == "−1,5 horas"
