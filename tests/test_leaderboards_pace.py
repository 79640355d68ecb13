"""Tier pace and the at-risk list: month-end projections against tier thresholds."""

from datetime import date

import pytest

from bot.errors import NotAllowed
from tests._leaderboards import ANA, BEN, CLA, LEADER, MANAGER, G, family, stat


@pytest.fixture
async def lobos(services):
    return await family(services, "Lobos", LEADER, [ANA, BEN, CLA])


async def test_pace_projects_the_month_and_the_daily_need(services, lobos, templates):
    silver = await services.tiers.define(G, MANAGER, "Silver", 1, min_hours=10)
    await services.tiers.define(G, MANAGER, "Gold", 2, min_hours=60, min_diamonds=1000)
    await services.tiers.set_manual(G, MANAGER, ANA, silver, "2026-03")
    await stat(services, ANA, date(2026, 2, 20), 6, diamonds=50)
    await stat(services, ANA, date(2026, 3, 1), 1.5, diamonds=400)
    await stat(services, ANA, date(2026, 3, 2), 2, diamonds=400)
    report = await services.pace.report(G, ANA)
    assert report.today == date(2026, 3, 2) and report.next_tier.name == "Gold"
    assert len(report.days) == 30 and report.days[-1] == (date(2026, 3, 2), 2, 400)
    hours, diamonds = report.paces
    # 3.5 h in 2 of 31 days: 54.25 h by month end, 5.75 h short; 56.5 h over 30 days left.
    assert (hours.value, hours.projected, hours.short) == (3.5, 54.25, 5.75)
    assert hours.per_day == pytest.approx(56.5 / 30) and not hours.on_track
    assert diamonds.on_track and diamonds.projected == 12400
    week = {c.metric: c for c in report.changes}
    assert (week["hours"].now, week["hours"].before) == (3.5, 6)
    assert week["hours"].percent == pytest.approx(-41.67, abs=0.01)
    text = templates.render("en", "discord/leaderboards/progress.md.j2", report=report)
    assert "5.8 hours short of Gold at this pace — 1.9 hours a day needed" in text
    assert "on pace for Gold (💎 12,400 by month end)" in text
    text = templates.render("es", "discord/leaderboards/progress.md.j2", report=report)
    assert "a este ritmo te faltan 5,8 horas para Gold — necesitas 1,9 horas al día" in text


async def test_at_risk_lists_members_whose_pace_misses_their_tier(services, lobos, templates):
    assert await services.pace.at_risk(G, lobos.id) == []  # no tiers: nobody at risk
    await services.tiers.define(G, MANAGER, "Silver", 1, min_hours=40)
    gold = await services.tiers.define(G, MANAGER, "Gold", 2, min_hours=100)
    await services.tiers.set_manual(G, MANAGER, BEN, gold, "2026-03")
    await stat(services, ANA, date(2026, 3, 2), 5)   # 77.5 h projected: keeps to Silver
    await stat(services, BEN, date(2026, 3, 2), 5)   # holds Gold, 77.5 < 100: at risk
    risks = await services.pace.at_risk(G, lobos.id)
    # CLA has nothing yet: not on pace for Silver. The leader is not on their own list.
    assert [(r.user_id, r.tier.name, r.held) for r in risks] == [
        (BEN, "Gold", True), (CLA, "Silver", False)]
    page = await services.pace.at_risk_page(G, lobos.id, 0)
    assert page.items == risks and not page.paged
    text = templates.render("en", "discord/leaderboards/risk.md.j2", family=lobos, page=page,
                            has_tiers=True)
    assert f"<@{BEN}> (could lose Gold): Hours live: 22.5 hours short" in text


async def test_only_leaders_of_the_family_see_a_members_progress(services, lobos):
    other = await family(services, "Osos", 99, [])
    assert (await services.pace.report_for(G, LEADER, ANA, False)).user_id == ANA
    with pytest.raises(NotAllowed):
        await services.pace.report_for(G, BEN, ANA, False)
    with pytest.raises(NotAllowed):
        await services.pace.report_for(G, 99, ANA, False)
    with pytest.raises(NotAllowed):
        await services.pace.family_for(G, LEADER, other, False)
    osos = await services.families.resolve(G, "Osos")
    assert (await services.pace.family_for(G, MANAGER, osos, True)).id == other.id


async def test_weekly_nudge_only_for_opted_in_creators_at_risk_once_a_week(services, lobos,
                                                                         clock):
    pace = services.pace
    await services.tiers.define(G, MANAGER, "Silver", 1, min_hours=40)
    await stat(services, BEN, date(2026, 3, 2), 5)  # 77.5 h projected: on pace
    for user in (ANA, BEN):
        await pace.set_nudge(G, user, True)
    await pace.set_nudge(G, CLA, False)
    assert await pace.nudge_guilds() == [G]
    week, risks = await pace.nudges_due(G)
    assert week == "2026-W10" and [r.user_id for r in risks] == [ANA]
    nudge = await pace.claim_nudge(G, ANA, week)
    assert nudge and await pace.claim_nudge(G, ANA, week) is None
    await pace.finish_nudge(nudge, "sent")
    assert (await pace.nudges_due(G))[1] == []
    clock.advance(days=7)
    assert [r.user_id for r in (await pace.nudges_due(G))[1]] == [ANA, BEN]
    await pace.set_nudge(G, ANA, False)
    assert [r.user_id for r in (await pace.nudges_due(G))[1]] == [BEN]


def test_a_count_of_days_says_how_many_of_the_days_left_are_needed(templates):
    """Valid days are counted, not spread: "2 of the 10 days left", never "1 day a day"."""
    from types import SimpleNamespace

    from bot.paging import page_of
    from bot.services.pace import Pace

    # 12 of 20 valid days by the 22nd of a 31-day month: 16.9 projected, 3.1 short, 8 to go.
    days = Pace("valid_days", 12, 20, "Gold", 12 / 22 * 31, 8 / 10, 10)
    assert days.days_needed == 8
    risk = SimpleNamespace(user_id=7, tier=SimpleNamespace(name="Gold"), held=True,
                           shortfalls=[days])
    page = page_of([risk], 0, 5)
    lobos = SimpleNamespace(name="Lobos", id=1)
    text = templates.render("en", "discord/leaderboards/risk.md.j2", family=lobos, page=page,
                            has_tiers=True)
    assert "3 days short, needed on 8 of the 10 days left" in text
    assert "a day needed" not in text
    text = templates.render("es", "discord/leaderboards/risk.md.j2", family=lobos, page=page,
                            has_tiers=True)
    assert "necesita 8 de los 10 días que quedan" in text


def test_number_of_no_decimals_is_a_whole_number(templates):
    """``|number(0)``: 12.444 % shows as 12 %, not 12.444 (it used to skip rounding)."""
    env = templates.env("en")
    assert env.from_string("{{ 12.444|number(0) }} · {{ 103.846|number(0) }}").render() == (
        "12 · 104")
    # halves round away from zero, as people do (2.25 → 2.3), not to the even neighbour
    assert env.from_string("{{ 2.25|number }} · {{ 2.25|number(1) }}").render() == "2.25 · 2.3"
