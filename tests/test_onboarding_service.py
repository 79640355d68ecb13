"""The onboarding checklist (#22, must-have 4) on real SQLite with time travel: started by a
first family join or an accepted application (the shared event, published here as the
applications service does), each step read from the facts the other features keep, the
leader's stuck list in their daily summary, and the time-to-onboard KPI."""

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import to_db
from bot.delivery.queue import Send
from bot.errors import UserError
from bot.events import ApplicationAccepted
from bot.localtime import parse_local
from bot.services.campaigns import Spec
from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER, ANA, BEN, CARLA = 1, 10, 20, 30, 40, 50
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STATS = {"hours": "3", "diamonds": "1200", "followers": "15", "peak_viewers": "80",
         "notes": ""}


async def _join(services, family, user):
    request = await services.families.request_join(G, user, family.id, AGREEMENT_VERSION)
    await services.families.decide(G, LEADER, request.id, True)


async def _accept_application(services, user, applied_at, application_id=7):
    """What the applications service does when it accepts someone: publish the event in the
    transaction that places them."""
    async with services.db.transaction() as tx:
        await services.events.publish(ApplicationAccepted(
            tx, G, user, application_id, "creator", to_db(applied_at),
            to_db(services.clock.now()), None))


async def test_a_first_join_starts_a_checklist_whose_steps_follow_the_facts(services, clock):
    clock.set(NOW)
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    await _join(services, lobos, ANA)
    onboarding = services.onboarding
    first = await onboarding.checklist(G, ANA)
    assert first.source == "join" and first.started_at == NOW
    # joining through /family join accepted the agreement; no document asks to be read
    assert first.left == ["profile", "checkin", "feedback", "campaign"]
    assert "email" not in first.steps  # optional per program: off by default

    await services.members.set_timezone(G, ANA, "America/Bogota")
    assert "profile" in (await onboarding.checklist(G, ANA)).left  # a language too
    await services.members.set_locale(G, ANA, "es")
    clock.set(NOW + timedelta(days=1))
    done = await services.checkins.submit(G, ANA, STATS)
    await services.checkins.give_feedback(G, LEADER, done.checkin.id, "Great start!")
    assert (await onboarding.checklist(G, ANA)).left == ["feedback", "campaign"]
    # feedback counts once it reached the creator
    pending = await services.checkins.pending_feedback(G, ANA)
    await services.checkins.feedback_delivered([f.id for f in pending], "dm")
    campaign = await services.campaigns.create(G, MANAGER, Spec(
        "March push", "hours", parse_local("2026-03-04"), parse_local("2026-03-20"),
        target_creator=10.0))
    await services.campaigns.schedule(G, MANAGER, campaign.id)
    await services.campaigns.enrol(G, ANA, campaign.id, "command")
    final = await onboarding.checklist(G, ANA)
    assert final.complete and final.left == []

    # the email step, once the program asks for it, is left until an address is verified
    await onboarding.set_settings(G, MANAGER, email_step=True)
    assert (await onboarding.checklist(G, ANA)).left == ["email"]


async def test_a_transfer_starts_nothing_and_an_application_owns_the_checklist(services, clock):
    clock.set(NOW)
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    osos = await services.families.create(G, MANAGER, "Osos", 21)
    await _join(services, lobos, ANA)
    ana = await services.onboarding.checklist(G, ANA)
    clock.set(NOW + timedelta(days=3))
    await services.families.request_transfer(G, MANAGER, ANA, osos.id, as_manager=True)
    assert await services.onboarding.checklist(G, ANA) == ana  # a second family: no restart

    with pytest.raises(UserError) as caught:  # never joined, never applied
        await services.onboarding.checklist(G, BEN)
    assert caught.value.code == "onboarding.no_checklist"

    # accepted and placed in one transaction: the join starts it, the application owns it
    applied = NOW - timedelta(days=10)
    async with services.db.transaction() as tx:
        await services.onboarding.start(tx, G, BEN)
        await services.events.publish(ApplicationAccepted(
            tx, G, BEN, 7, "creator", to_db(applied), to_db(clock.now()), osos.id))
    ben = await services.onboarding.checklist(G, BEN)
    assert ben.source == "application" and ben.applied_at == applied
    # a member who onboarded already and is accepted as a leader keeps their checklist
    await services.checkins.submit(G, ANA, STATS)
    await _accept_application(services, ANA, applied, application_id=8)
    assert (await services.onboarding.checklist(G, ANA)).source == "join"
    # an applicant not placed yet (a leader whose family comes later) has one too
    await _accept_application(services, CARLA, applied)
    assert (await services.onboarding.checklist(G, CARLA)).source == "application"


async def test_a_refused_event_handler_rolls_the_acceptance_back(services, clock):
    """The checklist starts inside the publisher's transaction: a failure rolls back both."""
    clock.set(NOW)
    with pytest.raises(RuntimeError):
        async with services.db.transaction() as tx:
            await services.events.publish(ApplicationAccepted(
                tx, G, BEN, 7, "creator", to_db(NOW), to_db(NOW), None))
            raise RuntimeError("the placement failed")
    assert await services.db.fetchval("SELECT count(*) FROM onboarding_checklists") == 0


class _Recorder:
    async def __call__(self, due):
        return [Send(due.kind, f"reminder:{due.id}", "dm", due.recipient_id, {"content": "."})]


async def test_stuck_members_are_in_their_leaders_daily_summary(services, clock, templates):
    clock.set(NOW)
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    await _join(services, lobos, ANA)
    await _join(services, lobos, BEN)
    await services.checkins.update_settings(G, MANAGER, summary_time="22:00")
    await services.onboarding.set_settings(G, MANAGER, stuck_days=3)

    async def summary(day):
        clock.set(datetime(2026, 3, day, 22, 0, tzinfo=UTC))
        done = await services.reminders.sweep(_Recorder())
        return next(d for d, _ in done if d.kind == "summary" and d.recipient_id == LEADER)

    page = await services.onboarding.family_page(G, lobos.id, 0)
    assert [c.user_id for c in page.items] == [ANA, BEN] and page.total == 2  # no leader
    assert (await summary(4)).stuck == []  # 2 days: not yet
    clock.set(datetime(2026, 3, 4, 23, 0, tzinfo=UTC))
    await services.checkins.submit(G, BEN, STATS)  # Ben moves on; Ana does not
    due = await summary(5)
    assert [(s.user_id, s.days) for s in due.stuck] == [(ANA, 3)]  # the leader: not theirs
    assert "checkin" in due.stuck[0].left
    for locale, words in (("en", "Stuck onboarding"), ("es", "Incorporación detenida")):
        text = templates.render(locale, "discord/checkins/summary.md.j2", due=due)
        assert words in text and f"<@{ANA}>" in text.split(words)[1]
        assert f"<@{BEN}>" not in text.split(words)[1]

    with pytest.raises(UserError):
        await services.onboarding.set_settings(G, MANAGER, stuck_days=0)


async def test_time_to_onboard_counts_from_the_application_else_the_join(services, clock):
    clock.set(NOW)
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    await _join(services, lobos, ANA)  # joined on day 0
    await _accept_application(services, BEN, NOW - timedelta(days=6))  # applied 6 days before
    await _join(services, lobos, BEN)
    week = (NOW, NOW + timedelta(days=7))
    assert await services.onboarding.time_to_onboard(G, *week) is None  # nobody checked in
    clock.set(NOW + timedelta(days=2))
    await services.checkins.submit(G, ANA, STATS)
    await services.checkins.submit(G, BEN, STATS)
    kpi = await services.onboarding.time_to_onboard(G, *week)
    assert (kpi.onboarded, kpi.median_days) == (2, 5.0)  # 2 days and 8 days
    assert (kpi.applied, kpi.applied_median_days) == (1, 8.0)
    clock.set(NOW + timedelta(days=3))
    await services.checkins.submit(G, ANA, STATS)  # a later check-in is not a first one
    assert (await services.onboarding.time_to_onboard(G, *week)).onboarded == 2
    assert await services.onboarding.time_to_onboard(
        G, NOW + timedelta(days=7), NOW + timedelta(days=14)) is None


def test_the_steps_are_the_issues_list():
    from bot.services.onboarding import STEPS

    assert STEPS == ("agreement", "profile", "email", "policies", "checkin", "feedback",
                     "campaign")
    assert date(2026, 3, 2).isoformat() == NOW.date().isoformat()
