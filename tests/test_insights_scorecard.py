"""The family scorecard (#19 must-have 3): every figure agrees with the service the other
reports read it from (``/family stats``, the digests' check-in rate, the family board), the
score follows the documented weights, ranks and the change against the period before; time
travel over month ends and a DST change."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.services import population
from bot.services.leaderboards import Period
from bot.services.scorecard import components, csv_rows, score

G, MANAGER = 1, 10


async def test_every_card_agrees_with_family_stats_rates_and_boards(services, clock,
                                                                    make_program):
    clock.set(datetime(2026, 6, 17, 15, 0, tzinfo=UTC))
    made = await make_program("program")
    card = await services.scorecard.scorecard(G, "last_month")
    assert card.span.key == "2026-05" and card.previous.key == "2026-04"
    assert len(card.cards) == len(made.families)
    hours = {r.family_id: r.average for r in await services.leaderboards.family_board(
        G, "hours", Period("month", "2026-05"))}
    counted = await population.population(services.db, G, card.span.first, card.span.last,
                                          days=True)
    for c in card.cards:
        stats = await services.kpis.family_stats(G, c.family_id, card.span.start, card.span.end)
        assert c.stats == stats
        quality = await services.kpis.quality(G, c.family_id, card.span.start, card.span.end)
        assert c.quality == quality
        possible = await population.possible_days(services.db, G, c.family_id,
                                                  card.span.first, card.span.last, counted)
        done = await services.digests._rate(G, c.family_id, card.span.first, card.span.last,
                                            await services.db.fetchall(
            "SELECT user_id, 1 AS this_week, count(*) AS days FROM checkins WHERE family_id = ?"
            " AND local_date BETWEEN ? AND ? GROUP BY user_id",
            (c.family_id, card.span.first.isoformat(), card.span.last.isoformat())))
        assert c.checkin_rate == pytest.approx(done) and possible > 0
        assert c.hours_avg == pytest.approx(hours[c.family_id])
        assert c.score == score(components(c), card.weights)
        assert 0 <= c.score <= 100
        assert c.prev_score is not None
    counts = await services.kpis.quality_by_family(G, card.span.start, card.span.end,
                                                    medians=False)
    for c in card.cards:  # the risk sweep's counts without medians: the same counts
        found = counts.get(c.family_id)
        assert (found.checkins, found.with_feedback) == (c.quality.checkins,
                                                         c.quality.with_feedback)
    ranks = [c.rank for c in card.cards]
    assert ranks == sorted(ranks) and ranks[0] == 1
    scores = [c.score for c in card.cards]
    assert scores == sorted(scores, reverse=True)
    rows = csv_rows(card)
    assert rows[0][:3] == ["rank", "family", "score"] and len(rows) == len(card.cards) + 1


async def test_weights_change_the_score_and_are_refused_out_of_bounds(services, clock,
                                                                      make_program):
    clock.set(datetime(2026, 6, 17, 15, 0, tzinfo=UTC))
    await make_program("small")
    first = await services.scorecard.scorecard(G)
    for name in ("weight_checkin_rate", "weight_feedback_rate", "weight_feedback_speed",
                 "weight_growth", "weight_campaigns"):
        await services.insight_settings.set(G, MANAGER, name, 0)
    only_retention = await services.scorecard.scorecard(G)
    for c in only_retention.cards:
        retention = c.components.get("retention")
        assert c.score == (round(100 * retention) if retention is not None else 0)
    assert only_retention.weights["checkin_rate"] == 0
    from bot.errors import UserError
    with pytest.raises(UserError):
        await services.insight_settings.set(G, MANAGER, "weight_retention", 0)  # all zero
    with pytest.raises(UserError):
        await services.insight_settings.set(G, MANAGER, "weight_retention", 101)
    await services.insight_settings.set(G, MANAGER, "weight_checkin_rate", None)  # default
    assert (await services.insight_settings.all(G))["weight_checkin_rate"] == 25
    assert first.cards


@pytest.mark.parametrize("now, key, previous", [
    (datetime(2026, 4, 1, 5, 30, tzinfo=UTC), "2026-03", "2026-02"),  # Mexico: still Mar 31
    (datetime(2026, 3, 1, 6, 30, tzinfo=UTC), "2026-02", "2026-01"),
    (datetime(2026, 11, 2, 12, 0, tzinfo=UTC), "2026-10", "2026-09"),  # after DST ends (US)
])
async def test_periods_follow_the_program_zone_at_month_ends_and_dst(services, clock, now,
                                                                      key, previous):
    async with services.db.transaction() as tx:
        await services.guilds.ensure(tx, G)
        await tx.execute("UPDATE guilds SET timezone = 'America/New_York' WHERE guild_id = ?",
                         (G,))
    clock.set(now)
    span, before = await services.scorecard.span(G, "this_month")
    local = now - timedelta(hours=5)  # New York is 4-5 hours behind
    assert span.first.day == 1
    last, prior = await services.scorecard.span(G, "last_month")
    if local.month == now.month:
        assert last.key == key and prior.key == previous
    else:  # 1 April 05:30 UTC is still 31 March in New York
        assert span.key == key and before.key == previous
    # a month's instants start at local midnight: 04:00 or 05:00 UTC by DST
    assert last.start.hour in (4, 5) and last.end.hour in (4, 5)


async def test_the_manager_digest_has_each_familys_score_and_rank(services, clock,
                                                                  make_program, templates):
    clock.set(datetime(2026, 6, 17, 15, 0, tzinfo=UTC))
    made = await make_program("small")
    end = clock.now()
    start, before = end - timedelta(days=7), end - timedelta(days=14)
    first = (end - timedelta(days=7)).date()
    base = {"start": first, "end": first + timedelta(days=6)}
    content = await services.digests._manager(G, start, end, before, base)
    cards = await services.scorecard.week_cards(G, base["start"], base["end"], start, end)
    assert len(content["families"]) == len(made.families)
    for f in content["families"]:
        card = next(c for c in cards.values() if c.name == f["name"])
        assert (f["score"], f["rank"]) == (card.score, card.rank)
    for locale, word in (("en", "score"), ("es", "puntuación")):
        text = templates.render(locale, "email/digest_manager.txt", unsubscribe_url=None,
                                **content)
        assert all(f"{word} {f['score']} (#{f['rank']})" in text for f in content["families"])


async def test_every_scorecard_and_flags_message_fits_discord(services, clock, make_program,
                                                              templates):
    from bot.cogkit.scorecard import scorecard_text

    class Bot:
        pass

    bot = Bot()
    bot.templates = templates
    clock.set(datetime(2026, 6, 17, 15, 0, tzinfo=UTC))
    await make_program("program")
    async with services.db.transaction() as tx:  # the longest names a family may have
        await tx.execute("UPDATE families SET name = substr(name || ' ' || hex(randomblob(40)),"
                         " 1, 100)")
    card = await services.scorecard.scorecard(G)
    await services.risk.sweep(G)
    for locale in ("en", "es"):
        text = scorecard_text(bot, locale, card)
        assert len(text) <= 2000 and "CSV" in text
        assert card.cards[0].name in text
        for c in card.cards[:3]:
            assert len(scorecard_text(bot, locale, card, c, everyone=False)) <= 2000
