"""/ticket stats' figures (#21 must-have 6) on real SQLite with time travel: volume of the
period, open now whatever the period, median first answer and resolution, SLA met share of
the clocks decided, by category and by assignee; a bad period is refused with a clear code."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import UserError

G, MANAGER, STAFFER, ANA, BEN, CAROL = 1, 10, 11, 31, 32, 33
SUPPORT, STAFF = 500, 501


async def _desk(services, clock):
    clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    await services.tickets.configure(G, MANAGER, SUPPORT, STAFF)


async def test_figures_of_a_month_with_time_travel(services, clock):
    tickets = services.tickets
    await _desk(services, clock)
    # an old ticket (60 days back), closed: outside the last 30 days
    old = (await tickets.open(G, CAROL, "other", "Old", "Long ago")).ticket
    await tickets.close(G, MANAGER, old.id, "resolved", staff=True)
    clock.advance(days=60)
    start = clock.now()
    # technical: SLA 8 h first answer, 72 h resolution
    a = (await tickets.open(G, ANA, "technical", "Key", "Fails")).ticket
    b = (await tickets.open(G, BEN, "technical", "Gifts", "Missing")).ticket
    await tickets.open(G, ANA, "money", "Payout", "Late")  # 24 h / 120 h
    clock.set(start + timedelta(hours=2))
    await tickets.claim(G, STAFFER, a.id)  # answered in 2 h: on time
    clock.set(start + timedelta(hours=10))
    await tickets.claim(G, STAFFER, b.id)  # 10 h: late (8 h)
    clock.set(start + timedelta(hours=12))
    await tickets.close(G, STAFFER, a.id, "resolved", staff=True)  # resolved in 12 h: on time
    clock.set(start + timedelta(hours=20))

    stats = await tickets.stats(G, "30d")
    assert stats.total.volume == 3  # the old one is outside the period
    assert stats.total.open_now == 2
    assert stats.total.first_response_hours == pytest.approx(6)  # median of 2 h and 10 h
    assert stats.total.resolution_hours == pytest.approx(12)
    # decided clocks: a's two (met), b's first answer (late); c's 24 h not due yet
    assert stats.total.sla_met == pytest.approx(2 / 3)
    assert stats.reopen_rate == 0
    by_key = {s.key: s for s in stats.categories}
    assert set(by_key) == {"technical", "money"}
    assert by_key["technical"].volume == 2 and by_key["technical"].open_now == 1
    assert by_key["money"].first_response_hours is None and by_key["money"].sla_met is None
    assert stats.assignees == [(STAFFER, 2)]

    # a day later the payout's first answer is late too
    clock.set(start + timedelta(hours=30))
    money = await tickets.stats(G, "7d", "money")
    assert money.total.volume == 1 and money.total.sla_met == 0
    assert [s.key for s in money.categories] == ["money"]

    every = await tickets.stats(G, "all")
    assert every.total.volume == 4


async def test_a_bad_period_is_refused(services, clock):
    await _desk(services, clock)
    with pytest.raises(UserError) as refused:
        await services.tickets.stats(G, "year")
    assert refused.value.code == "tickets.bad_period"


async def test_stats_render_in_one_message_in_both_languages(services, clock, templates):
    await _desk(services, clock)
    t = (await services.tickets.open(G, ANA, "technical", "Key", "Fails")).ticket
    clock.advance(hours=1.5)
    await services.tickets.claim(G, STAFFER, t.id)
    stats = await services.tickets.stats(G, "30d")
    en = templates.render("en", "discord/tickets/stats.md.j2", stats=stats, period="30d",
                          category=None)
    es = templates.render("es", "discord/tickets/stats.md.j2", stats=stats, period="30d",
                          category=None)
    assert "1.5 h" in en and "100%" in en and "<@11>: 1" in en and "Technical" in en
    assert "1,5 h" in es and "Técnico" in es and "100\u00a0%" in es
    assert "opened: 1 · open now: 1" in en and "nuevos: 1 · abiertos ahora: 1" in es
    assert "the share reopened" in en and "Satisfaction is not measured" in en
    assert len(en) <= 2000 and len(es) <= 2000


async def test_the_busiest_desk_still_fits_one_discord_message(services, clock, templates):
    """Every category with tickets and five assignees: the longest answer, in Spanish too."""
    await _desk(services, clock)
    staff = [100 + i for i in range(1, 7)]
    for n, key in enumerate(["safety", "technical", "money", "operations", "other"] * 2):
        ticket = (await services.tickets.open(G, 10_000_000_000_000_000 + n, key,
                                              "Subject", "Text")).ticket
        clock.advance(hours=1.25)
        await services.tickets.claim(G, 900_000_000_000_000_000 + staff[n % 6], ticket.id)
        if n % 2:
            await services.tickets.close(G, MANAGER, ticket.id, "resolved", staff=True)
    stats = await services.tickets.stats(G, "all")
    assert len(stats.categories) == 5 and len(stats.assignees) == 5
    for locale in ("en", "es"):
        text = templates.render(locale, "discord/tickets/stats.md.j2", stats=stats,
                                period="all", category=None)
        assert len(text) <= 2000, (locale, len(text))
