"""The weekly review (issue 19, must-haves 1, 2 and 6) on a real SQLite file with time travel:
a program with known figures, the review's numbers against them and against the services the
boards, the digests, /family stats and /progress risk use, in both languages; the schedule
across a DST change; action items, their history and their due-day DM (once)."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.delivery.queue import Send
from bot.errors import NotAllowed, UserError
from bot.program import CheckinRow, record_checkins
from bot.services.families import AGREEMENT_VERSION
from bot.services.leaderboards import Period
from bot.services.reviews import DueReview
from cogs.review import review_parts
from tests._email import body, make_sender, verified
from tests.test_charts import png_size

G, MANAGER, LENA = 1, 10, 20
A, B, C, D, E = 40, 41, 42, 43, 44
# The reviewed week: Monday 2 – Sunday 8 March 2026 (2026-W10); the week before is W09.
W10 = [date(2026, 3, 2) + timedelta(days=i) for i in range(7)]
W09 = [date(2026, 2, 23) + timedelta(days=i) for i in range(7)]


async def days(services, user, dates, hours, diamonds=0, followers=0, mood=None, notes=None):
    family = await services.families.membership_of(G, user)
    await record_checkins(services, G, [
        CheckinRow(user, d, hours, diamonds, followers, family_id=family.family_id, mood=mood,
                   notes=notes if i == 0 else None) for i, d in enumerate(dates)])


@pytest.fixture
async def program(services, clock):
    """Lobos (Lena leads; she never streams) joined on 1 February by A, E (Gold), B, D
    (Bronze) and C (no tier). Gold needs 40 hours a month, Bronze 10.

    W10: A 5 days × 6 h (💎 100, 2 followers, mood 4 each; a note), B 6 × 2.5 h (💎 50),
    C 1 × 1 h (mood 2; a note), E 1 × 1 h, D nothing. W09: A 4 × 5 h, B 3 × 2 h, D 3 × 3 h.
    The clock ends on Monday 9 March, 15:00 UTC: the week is final (the guild is in UTC)."""
    clock.set(datetime(2026, 2, 1, 12, 0, tzinfo=UTC))
    families = services.families
    lobos = await families.create(G, MANAGER, "Lobos", LENA)
    for user in (A, B, C, D, E):
        request = await families.request_join(G, user, lobos.id, AGREEMENT_VERSION)
        await families.decide(G, LENA, request.id, True)
    tiers = services.tiers
    gold = await tiers.define(G, MANAGER, "Gold", 2, min_hours=40)
    bronze = await tiers.define(G, MANAGER, "Bronze", 1, min_hours=10)
    for user, tier in ((A, gold), (E, gold), (B, bronze), (D, bronze)):
        await tiers.set_manual(G, MANAGER, user, tier, "2026-02")
    await days(services, A, W10[:5], 6, 100, 2, mood=4, notes="Need a better mic")
    await days(services, B, W10[:6], 2.5, 50)
    await days(services, C, W10[2:3], 1, mood=2, notes="=HYPERLINK(\"x\") sad week")
    await days(services, E, W10[:1], 1)
    await days(services, A, W09[:4], 5)
    await days(services, B, W09[:3], 2)
    await days(services, D, W09[1:4], 3)
    clock.set(datetime(2026, 3, 9, 15, 0, tzinfo=UTC))
    return SimpleNamespace(lobos=lobos, gold=gold, bronze=bronze)


def section(review, name):
    return next(s for s in review.sections
                if (s.tier.name if s.tier else None) == name)


async def test_the_review_figures_are_the_known_ones(services, program):
    review = await services.reviews.review(G)
    assert (review.week, review.first, review.last) == ("2026-W10", W10[0], W10[-1])
    gold, bronze, none, total = (section(review, "Gold"), section(review, "Bronze"),
                                 section(review, None), review.total)
    assert [s.tier.name if s.tier else None for s in review.sections] == ["Gold", "Bronze",
                                                                          None]
    assert (gold.creators, gold.active, gold.checkin_days, gold.possible_days) == (2, 2, 6, 14)
    assert (gold.week.hours, gold.before.hours, gold.average.hours) == (31, 20, 5)
    assert (gold.week.diamonds, gold.week.followers) == (500, 10)
    assert (bronze.creators, bronze.active, bronze.checkin_days) == (2, 1, 6)
    assert (bronze.week.hours, bronze.before.hours, bronze.average.hours) == (15, 15, 3.75)
    assert (none.creators, none.active, none.week.hours) == (1, 1, 1)
    # Lena leads and did not stream: not counted (the default rule)
    assert (total.creators, total.active, total.checkin_days, total.possible_days) == (
        5, 4, 13, 35)
    assert (total.week.hours, total.before.hours, total.average.hours) == (47, 35, 8.75)
    # month-end pace on Sunday 8 March: B (15 h → 58 h) reaches Gold, E (1 h) nothing
    assert [p.user_id for p in bronze.up] == [B] and [p.user_id for p in gold.down] == [E]
    assert {p.user_id for p in total.at_risk} == {C, D, E}
    assert [(p.user_id, p.change) for p in gold.movers_up] == [(A, 10), (E, 1)]
    assert [(p.user_id, p.change) for p in bronze.movers_up + bronze.movers_down] == [
        (B, 9), (D, -9)]
    assert total.mood == pytest.approx(22 / 6) and gold.mood == 4 and gold.mood_before is None
    assert [(n.user_id, n.text) for n in total.notes] == [
        (A, "Need a better mic"), (C, "=HYPERLINK(\"x\") sad week")]
    assert total.flags == [] and all(not s.flags for s in review.sections)  # none raised


async def test_the_review_agrees_with_boards_digests_stats_and_risk(services, clock, program):
    review = await services.reviews.review(G)
    first, last = review.first, review.last
    # the digests' check-in rate of the program over the same local days
    assert review.total.rate == await services.digests._rate(G, None, first, last)
    # the weekly boards: each tier's board of the week sums to the tier's hours
    for name in ("Gold", "Bronze"):
        tier = section(review, name)
        board = await services.leaderboards.board(G, "hours", Period("week", review.week),
                                                  "tier", tier.tier.id, size=100)
        assert sum(row.value for row in board.rows) == tier.week.hours
    # /family stats: the counted members at the week's end are the review's creators
    start = datetime(2026, 3, 2, tzinfo=UTC)
    stats = await services.kpis.family_stats(G, program.lobos.id, start,
                                             start + timedelta(days=7))
    assert stats.members == review.total.creators
    # /progress risk on the week's last day names the same creators
    clock.set(datetime(2026, 3, 8, 20, 0, tzinfo=UTC))
    risks = await services.pace.at_risk(G, program.lobos.id)
    assert {r.user_id for r in risks} == {p.user_id for p in review.total.at_risk}


@pytest.mark.parametrize(("locale", "expected"), [
    ("en", ["31 hours", "4-week average 5 hours", "check-in rate: 43%", "▲ 55%",
            "Creators: 5 · active: 4", "💎 500", "+10 hours", "−9 hours",
            "3 creators at risk", "would move up"]),
    ("es", ["31 horas", "media de 4 semanas 5 horas", "tasa de check-in: 43\xa0%", "▲ 55\xa0%",
            "Creadores: 5 · activos: 4", "💎 500", "+10 horas", "−9 horas",
            "3 creadores en riesgo", "subirían"]),
])
async def test_the_review_reads_the_same_numbers_in_both_languages(services, program,
                                                                    templates, locale,
                                                                    expected):
    review = await services.reviews.review(G)
    bot = SimpleNamespace(templates=templates, services=services)
    text = "\n".join(review_parts(bot, locale, review))
    for piece in expected:
        assert piece in text, piece
    assert all(len(part) <= 2000 for part in review_parts(bot, locale, review))
    assert f"<@{B}>" in text and "Need a better mic" in text


async def test_the_csv_has_every_creator_and_no_formula(services, program):
    review = await services.reviews.review(G)
    rows = list(csv.DictReader(io.StringIO(services.reviews.csv(review))))
    assert [int(r["user_id"]) for r in rows] == [A, B, C, D, E]
    b = next(r for r in rows if int(r["user_id"]) == B)
    assert (b["tier"], b["hours"], b["hours_before"], b["tier_at_pace"], b["movement"]) == (
        "Bronze", "15", "6", "Gold", "up")
    family = (await services.families.get(G, program.lobos.id)).name
    assert {r["family"] for r in rows} == {family}


async def test_one_tier_and_a_week_by_name(services, program):
    review = await services.reviews.review(G, "2026-W09", program.bronze.id)
    assert [s.tier.name for s in review.sections] == ["Bronze"]
    assert review.sections[0].week.hours == 15  # B 6 h + D 9 h
    for bad in ("2026-W60", "week 9", "2026-13"):
        with pytest.raises(UserError):
            await services.reviews.review(G, bad)
    with pytest.raises(UserError):  # not begun yet
        await services.reviews.review(G, "2026-W12")


# -- actions ---------------------------------------------------------------------------------

async def test_actions_follow_through_with_history_and_one_due_dm(services, clock, program):
    reviews = services.reviews
    due = date(2026, 3, 11)
    first = await reviews.add_action(G, MANAGER, True, LENA, due, "Coach D on streaming",
                                     about_user_id=D)
    assert (first.family_id, first.week, first.state) == (program.lobos.id, "2026-W10", "open")
    second = await reviews.add_action(G, LENA, False, LENA, date(2026, 3, 10), "Family call")
    assert second.family_id == program.lobos.id  # a leader's: their family
    with pytest.raises(NotAllowed):  # a creator leads nothing
        await reviews.add_action(G, A, False, A, due, "Me")
    with pytest.raises(UserError):
        await reviews.add_action(G, MANAGER, True, LENA, date(2026, 3, 1), "In the past")
    with pytest.raises(UserError):
        await reviews.add_action(G, MANAGER, True, LENA, due, "Both", about_user_id=A,
                                 family_id=program.lobos.id)
    with pytest.raises(NotAllowed):  # the owner, the family's leader or a manager only
        await reviews.set_state(G, A, False, first.id, "done")

    # the due-day DM: not before the day, once on it, never again
    assert await reviews.due_actions() == []
    clock.set(datetime(2026, 3, 10, 0, 1, tzinfo=UTC))
    [found] = await reviews.due_actions()
    dm = Send("review_due", f"review-action-due:{found.id}", "dm", LENA, {"content": "due"})
    assert await reviews.queue_due(found, dm) is True
    assert await reviews.queue_due(found, dm) is False
    assert await reviews.due_actions() == []
    queued = await services.db.fetchall(
        "SELECT target, target_id FROM deliveries WHERE kind = 'review_due'")
    assert [tuple(r) for r in queued] == [("dm", LENA)]

    # done, reopened, dropped: each in the audit log; the next review shows them
    clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=UTC))
    await reviews.set_state(G, LENA, False, first.id, "done")
    await reviews.set_state(G, MANAGER, True, first.id, "open")
    await reviews.set_state(G, LENA, False, first.id, "done")
    await reviews.set_state(G, MANAGER, True, second.id, "dropped")
    with pytest.raises(UserError):
        await reviews.set_state(G, MANAGER, True, second.id, "dropped")
    steps = [s.what for s in await reviews.history(G, first.id)]
    assert steps == ["create", "done", "reopen", "done"]
    third = await reviews.add_action(G, MANAGER, True, MANAGER, date(2026, 3, 13), "Tiers")
    clock.set(datetime(2026, 3, 16, 15, 0, tzinfo=UTC))
    review = await reviews.review(G)
    assert review.week == "2026-W11"
    assert ([a.id for a in review.actions.done], [a.id for a in review.actions.dropped],
            [a.id for a in review.actions.overdue]) == ([first.id], [second.id], [third.id])
    page = await reviews.open_actions(G, LENA, False, None, 0)
    assert [a.id for a in page.items] == []  # Lena's family has none open; third is not hers
    assert [a.id for a in (await reviews.open_actions(G, MANAGER, True, None, 0)).items] == [
        third.id]


# -- the schedule across a DST change --------------------------------------------------------

async def test_the_scheduled_review_waits_for_final_figures_across_dst(services, clock,
                                                                        program):
    """New York springs forward on Sunday 8 March 2026. The review of W10 is due on Monday
    9 March at 09:00 EDT (13:00 UTC), and final only once the check-in window of Sunday
    closed: 12:00 EDT (16:00 UTC)."""
    reviews = services.reviews
    await services.guilds.set_timezone(G, MANAGER, "America/New_York")
    channel = 900
    await services.guilds.set_channel(G, MANAGER, "managers", channel)
    clock.set(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    await reviews.set_schedule(G, MANAGER, 0, 9)
    clock.set(datetime(2026, 3, 9, 12, 59, tzinfo=UTC))
    assert await reviews.due_reviews() == []  # 08:59 EDT: not yet the moment
    clock.set(datetime(2026, 3, 9, 15, 59, tzinfo=UTC))
    assert await reviews.due_reviews() == []  # the moment passed, the figures not final
    clock.set(datetime(2026, 3, 9, 16, 0, tzinfo=UTC))
    [(guild, due)] = await reviews.due_reviews()
    assert (guild, due.week, due.channel_id, due.late) == (G, "2026-W10", channel, False)
    post = Send("review", "review:2026-W10", "channel", channel, {"parts": ["review"]},
                source="review:2026-W10", channel_id=channel)
    assert await reviews.claim(G, due, post, []) is True
    assert await reviews.claim(G, due, post, []) is False  # a second sweep, a restart
    assert await reviews.due_reviews() == []
    assert await services.db.fetchval(
        "SELECT count(*) FROM deliveries WHERE kind = 'review'") == 1
    # a week later the next one; found two days late (the bot was down): marked late
    clock.set(datetime(2026, 3, 18, 16, 0, tzinfo=UTC))
    [(_, due)] = await reviews.due_reviews()
    assert (due.week, due.late) == ("2026-W11", True)


async def test_the_review_email_reaches_managers_on_a_real_smtp_server(services, clock, smtp,
                                                                        program):
    """The review by email to managers with the weekly digest on: HTML and text in their
    language, the tiers' chart inline, an unsubscribe link; never to a creator."""
    await verified(services, MANAGER, "boss@example.org", locale="es")
    await verified(services, A, "ana@example.org")
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE email_addresses SET manager = 1 WHERE user_id = ?", (MANAGER,))
    reviews = services.reviews
    review = await reviews.review(G)
    emails = await reviews.render_emails(G, review.week, {
        "review": dataclasses.replace(review, people=[]), "names": {A: "Ana <b>", E: "Eva"}})
    assert [e.recipient for e in emails] == ["boss@example.org"]
    due = DueReview(review.week, None, False)
    assert await reviews.claim(G, due, None, emails) is True
    assert await reviews.claim(G, due, None, emails) is False  # never twice
    await make_sender(services, smtp).drain()
    [msg] = smtp.to("boss@example.org")
    assert msg["Subject"].startswith("Revisión semanal · semana 2026-W10")
    text, html = body(msg, "plain"), body(msg, "html")
    for piece in ("Todo el programa", "31 horas", "tasa de check-in: 37\xa0%",
                  "3 creadores en riesgo de no alcanzar su nivel: miembro 42, miembro 43, Eva"):
        assert piece in text, piece
    assert "cid:tiers" in html and "=HYPERLINK(&#34;x&#34;) sad week" in html
    assert "▲ Ana &lt;b&gt; +10 horas" in html and "▲ Ana <b> +10 horas" in text
    [chart] = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert png_size(chart.get_payload(decode=True))[0] > 1000
    assert msg["List-Unsubscribe"].startswith("<http")
    assert smtp.to("ana@example.org") == []
