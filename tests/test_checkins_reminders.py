"""Reminder sweeps on a real SQLite file: roll-calls, DMs, summaries, catch-up, no doubles."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.queue import Send
from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER, ANA, BEN = 1, 10, 20, 30, 40
CHANNEL = 500
STATS = {"hours": "2", "diamonds": "0", "followers": "0", "peak_viewers": "0"}


class Recorder:
    """A fake rendering: roll-calls go to the channel, the rest by DM."""

    def __init__(self):
        self.sent = []

    async def __call__(self, due):
        self.sent.append(due)
        await asyncio.sleep(0)
        if due.kind == "rollcall":
            return [Send(due.kind, f"reminder:{due.id}", "channel", CHANNEL, {"content": "."})]
        return [Send(due.kind, f"reminder:{due.id}", "dm", due.recipient_id, {"content": "."})]


@pytest.fixture
async def lobos(services, clock):
    await services.guilds.set_timezone(G, MANAGER, "America/Mexico_City")
    family = await services.families.create(G, MANAGER, "Lobos", LEADER, channel_id=CHANNEL)
    for user in (ANA, BEN):
        request = await services.families.request_join(G, user, family.id, AGREEMENT_VERSION)
        await services.families.decide(G, LEADER, request.id, True)
    await services.checkins.update_settings(G, MANAGER, rollcall_time="20:00",
                                            summary_time="22:00")
    return family


def mexico(day, hour, minute=0):
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) + timedelta(hours=6)  # UTC-6


async def test_rollcall_names_only_who_has_not_checked_in_once(services, clock, lobos):
    clock.set(mexico(2, 12))
    await services.checkins.submit(G, ANA, STATS)
    deliver = Recorder()
    clock.set(mexico(2, 19, 59))
    assert await services.reminders.sweep(deliver) == []
    clock.set(mexico(2, 20, 0))
    done = await services.reminders.sweep(deliver)
    assert [(d.kind, d.recipient_id, d.users, d.late) for d, _ in done] == [
        ("rollcall", CHANNEL, [LEADER, BEN], False)]
    clock.advance(minutes=1)
    assert await services.reminders.sweep(deliver) == []
    assert len(deliver.sent) == 1


async def test_overlapping_sweeps_send_once(services, clock, lobos):
    clock.set(mexico(2, 20, 1))
    deliver = Recorder()
    results = await asyncio.gather(*(services.reminders.sweep(deliver) for _ in range(5)))
    assert sum(len(r) for r in results) == 1 and len(deliver.sent) == 1


async def test_catch_up_after_downtime_once_and_late_within_grace(services, clock, lobos,
                                                                  caplog):
    deliver = Recorder()
    clock.set(mexico(2, 23, 30))  # the bot was down at 20:00 and 22:00
    done = await services.reminders.sweep(deliver)
    assert sorted(d.kind for d, _ in done) == ["rollcall", "summary"]
    assert all(d.late for d, _ in done) and "late reminder" in caplog.text
    assert await services.reminders.sweep(deliver) == []
    # down for longer than the grace (6 h): that day's reminders are dropped
    clock.set(mexico(4, 4, 30))
    assert [d.local_date.day for d, _ in await services.reminders.sweep(deliver)] == []


async def test_crash_mid_sweep_is_taken_over_later_not_skipped(services, clock, lobos):
    clock.set(mexico(2, 20, 0))

    async def crash(due):
        raise asyncio.CancelledError  # the process died while sending

    with pytest.raises(asyncio.CancelledError):
        await services.reminders.sweep(crash)
    deliver = Recorder()
    clock.advance(minutes=1)
    assert await services.reminders.sweep(deliver) == []  # claim still fresh: not doubled
    clock.advance(minutes=10)
    done = await services.reminders.sweep(deliver)
    assert [d.kind for d, _ in done] == ["rollcall"] and done[0][0].late
    state = await services.db.fetchval("SELECT state FROM reminders")
    assert state == "sent"


async def test_dm_reminder_skips_who_checked_in_and_why_explains(services, clock, lobos):
    await services.members.set_timezone(G, ANA, "Asia/Jakarta")
    await services.reminders.set_dm(G, ANA, "20:30")
    await services.reminders.set_dm(G, BEN, "20:30")
    clock.set(mexico(2, 10))
    await services.checkins.submit(G, BEN, STATS)
    deliver = Recorder()
    clock.set(datetime(2026, 3, 2, 13, 30, tzinfo=UTC))  # 20:30 in Jakarta
    done = await services.reminders.sweep(deliver)
    assert [(d.kind, d.recipient_id) for d in deliver.sent] == [("dm", ANA)]
    assert len(done) == 1
    clock.set(mexico(2, 20, 30))  # 20:30 Mexico: Ben already checked in, nothing sent
    done = await services.reminders.sweep(deliver)
    assert [(d.kind, o.route) for d, o in done if d.recipient_id == BEN] == [("dm", "none")]
    assert len(deliver.sent) == 2  # the roll-call at 20:00, nobody else
    why = await services.reminders.why(G, ANA)
    assert {(w.kind, w.route) for w in why} == {("dm", "dm"), ("rollcall", "channel")}


async def test_leader_summary_lists_checked_in_and_missed(services, clock, lobos):
    clock.set(mexico(2, 12))
    await services.checkins.submit(G, ANA, STATS)
    clock.set(mexico(5, 12))
    await services.checkins.submit(G, BEN, STATS)
    clock.set(mexico(5, 22))
    done = await services.reminders.sweep(Recorder())
    summary = next(d for d, _ in done if d.kind == "summary")
    assert summary.recipient_id == LEADER and summary.users == [BEN]
    assert dict(summary.missed) == {LEADER: None, ANA: 2}


async def test_email_reminder_for_a_verified_address_with_reminders_on(services, clock, lobos,
                                                                        smtp):
    from tests._email import body, make_sender, verified

    await services.reminders.set_dm(G, ANA, "21:00")
    await services.reminders.set_dm(G, BEN, "21:00")
    await verified(services, ANA, "ana@example.org", locale="es")
    await services.email.set_preferences(G, ANA, reminders=True)
    await verified(services, BEN, "ben@example.org")  # email reminders are off by default
    clock.set(mexico(2, 21))
    done = await services.reminders.sweep(Recorder())
    assert sorted((d.kind, d.recipient_id, o.route) for d, o in done if d.kind != "rollcall"
                  ) == [("dm", ANA, "dm"), ("dm", BEN, "dm"), ("email", ANA, "email")]
    assert not [d for d, _ in await services.reminders.sweep(Recorder()) if d.kind == "email"]
    await make_sender(services, smtp).drain()
    [msg] = smtp.messages
    assert msg["To"] == "ana@example.org" and msg["Subject"] == "Hora de tu reporte diario"
    assert "2 de marzo de 2026" in body(msg, "plain")
    why = await services.reminders.why(G, ANA)
    assert {(w.kind, w.route) for w in why} >= {("email", "email"), ("dm", "dm")}


async def test_bad_dm_time_is_refused(services, lobos):
    from bot.errors import UserError

    with pytest.raises(UserError):
        await services.reminders.set_dm(G, ANA, "25:00")
    assert await services.reminders.dm_time(G, ANA) is None
    assert timedelta(hours=6) == services.reminders.grace


async def test_one_rollcall_per_local_day_across_the_london_dst_change(services, clock, lobos):
    await services.guilds.set_timezone(G, MANAGER, "Europe/London")
    clock.set(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    sent = []
    while clock.now() < datetime(2026, 3, 31, 12, 0, tzinfo=UTC):
        sent += [(d.local_date.day, clock.now().hour) for d, _ in
                 await services.reminders.sweep(Recorder()) if d.kind == "rollcall"]
        clock.advance(minutes=30)
    # 20:00 local: 20:00 UTC before the change, 19:00 UTC after it.
    assert sent == [(27, 20), (28, 20), (29, 19), (30, 19)]
