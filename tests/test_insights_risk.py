"""Risk flags (#19 must-have 4) on real SQLite with time travel: each kind raised with its
figures, once per episode across sweeps and a restart, acted on (acknowledged, resolved with a
note, dismissed and staying dismissed for the episode), a new episode raised again; no
mismatch without imported stats; the leader's summary and the managers' channel told once."""

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.delivery.queue import Send
from bot.errors import NotAllowed, UserError
from bot.program import CheckinRow, record_checkins
from bot.services import Services, risk
from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER = 1, 10, 20
STEADY, DROPPER, QUIET, STREAKER, SPIKER, NEWCOMER = 31, 32, 33, 34, 35, 36
START = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)  # the sweep's day (UTC program): window Mar 3..9


async def _program(services, clock):
    clock.set(START)
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    for user in (STEADY, DROPPER, QUIET, STREAKER, SPIKER):
        request = await services.families.request_join(G, user, lobos.id, AGREEMENT_VERSION)
        await services.families.decide(G, LEADER, request.id, True)
    clock.set(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    request = await services.families.request_join(G, NEWCOMER, lobos.id, AGREEMENT_VERSION)
    await services.families.decide(G, LEADER, request.id, True)
    rows = []
    first = date(2026, 1, 11)
    for i in range((TODAY - first).days):
        day = first + timedelta(days=i)
        recent = day >= TODAY - timedelta(days=7)
        rows.append(CheckinRow(STEADY, day, 3.0, 1000, family_id=lobos.id))
        if i % 7 != 6:  # six days a week
            rows.append(CheckinRow(DROPPER, day, 0.2 if recent else 4.0, 100 if recent else 2000,
                                   family_id=lobos.id))
        if day < TODAY - timedelta(days=6):
            rows.append(CheckinRow(QUIET, day, 2.0, 500, family_id=lobos.id))
        if day < TODAY - timedelta(days=4) and i % 3 == 0:
            rows.append(CheckinRow(STREAKER, day, 1.0, 50, family_id=lobos.id))
        if i % 2 == 0:
            spike = day == TODAY - timedelta(days=2)
            rows.append(CheckinRow(SPIKER, day, 2.0, 90_000 if spike else 1500,
                                   family_id=lobos.id))
    rows.append(CheckinRow(NEWCOMER, date(2026, 3, 6), 1.0, 10, family_id=lobos.id))
    await record_checkins(services, G, rows)
    # a 20-day streak that ended on Mar 4 (stored as the check-ins left it)
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE checkin_streaks SET current = 20, last_date = '2026-03-04'"
                         " WHERE guild_id = ? AND user_id = ?", (G, STREAKER))
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    return lobos


def _kinds(flags):
    return sorted((f.kind, f.user_id) for f in flags)


async def test_each_kind_is_raised_once_with_its_figures(services, clock, settings):
    lobos = await _program(services, clock)
    assert await services.risk.due(G)
    new = await services.risk.sweep(G)
    flags, total = await services.risk.open_flags(G, limit=50)
    assert total == len(new) == len(flags)
    kinds = _kinds(flags)
    assert ("sudden_drop", DROPPER) in kinds
    assert ("gone_quiet", QUIET) in kinds
    assert ("streak_broken", STREAKER) in kinds
    assert ("unusual_earnings", SPIKER) in kinds
    assert all(user not in (STEADY, NEWCOMER) for _, user in kinds)  # steady; a newcomer
    assert not any(k == "mismatch" for k, _ in kinds)  # no imported stats yet (#18)
    drop = next(f for f in flags if f.kind == "sudden_drop" and f.user_id == DROPPER)
    assert drop.figures["hours"]["baseline_median"] == 4.0
    assert drop.figures["hours"]["recent_mean"] < 1
    spike = next(f for f in flags if f.kind == "unusual_earnings")
    assert spike.figures["diamonds"] == 90_000 and spike.figures["creator_median"] == 1500
    assert spike.figures["day"] == "2026-03-08"
    assert not await services.risk.due(G)

    # a second sweep, and one after a restart (services built again): nothing new
    assert await services.risk.sweep(G) == []
    again = Services.build(services.db, settings, clock)
    assert await again.risk.sweep(G) == []
    assert (await services.risk.open_flags(G, limit=50))[1] == total
    assert lobos.id == drop.family_id


async def test_acting_on_flags_and_a_new_episode(services, clock):
    await _program(services, clock)
    await services.risk.sweep(G)
    flags, _ = await services.risk.open_flags(G, limit=50)
    quiet = next(f for f in flags if f.kind == "gone_quiet" and f.user_id == QUIET)
    drop = next(f for f in flags if f.kind == "sudden_drop" and f.user_id == DROPPER)
    with pytest.raises(NotAllowed):  # a creator is no leader of the family
        await services.risk.act(G, STEADY, quiet.id, "dismiss", None, manager=False)
    with pytest.raises(UserError):  # resolving needs a note
        await services.risk.act(G, LEADER, drop.id, "resolve", "  ", manager=False)
    acked = await services.risk.act(G, LEADER, drop.id, "acknowledge", None, manager=False)
    assert acked.state == "acknowledged" and acked.acted_by == LEADER
    resolved = await services.risk.act(G, MANAGER, drop.id, "resolve", "Talked: exams",
                                       manager=True)
    assert (resolved.state, resolved.note) == ("resolved", "Talked: exams")
    await services.risk.act(G, LEADER, quiet.id, "dismiss", "On holiday", manager=False)
    with pytest.raises(UserError):
        await services.risk.act(G, LEADER, quiet.id, "acknowledge", None, manager=False)
    # the next day, still quiet: the dismissed episode stays dismissed, nothing new
    clock.advance(days=1)
    assert [f for f in await services.risk.sweep(G)] == []
    listed = _kinds((await services.risk.open_flags(G, limit=50))[0])
    assert ("gone_quiet", QUIET) not in listed and ("sudden_drop", DROPPER) not in listed
    # QUIET comes back (the episode ends), then goes quiet again: a new flag
    await record_checkins(services, G, [CheckinRow(QUIET, date(2026, 3, 10), 2.0, 500,
                                                   family_id=drop.family_id)])
    clock.advance(days=1)
    await services.risk.sweep(G)
    assert await services.db.fetchval(
        "SELECT cleared_at IS NOT NULL FROM risk_flags WHERE id = ?", (quiet.id,))
    clock.advance(days=6)
    await services.risk.sweep(G)
    quiet_again = [f for f in (await services.risk.open_flags(G, kind="gone_quiet",
                                                               limit=50))[0]
                   if f.user_id == QUIET]
    assert len(quiet_again) == 1 and quiet_again[0].id != quiet.id


async def test_mismatch_is_raised_from_imported_stats_only(services, clock):
    await _program(services, clock)
    # the platform's own figures, imported as a manager would (/stats import): the last
    # seven days, 21 hours and 20,000 diamonds for STEADY, 8 hours (no diamonds) for SPIKER
    for user, handle in ((STEADY, "steady"), (SPIKER, "spiker")):
        await services.profiles.set(G, MANAGER, user, {"handle": handle}, as_manager=True)
    today = await services.risk.today(G)
    lines = ["Handle,Date,Hours,Diamonds"]
    lines += [f"steady,{today - timedelta(days=i)},3,{20_000 if i == 1 else 0}"
              for i in range(1, 8)]
    lines.append(f"spiker,{today - timedelta(days=1)},8,")
    staged = await services.stats.stage(G, MANAGER, "platform.csv",
                                        "\n".join(lines).encode())
    await services.stats.apply(G, staged.record.id, MANAGER)
    await services.risk.sweep(G)
    flags, _ = await services.risk.open_flags(G, kind="mismatch", limit=50)
    steady = next(f for f in flags if f.user_id == STEADY)
    assert steady.figures["diamonds"]["reported"] == 7000
    assert "hours" not in steady.figures  # 21 reported = 21 imported
    # SPIKER (no drop: read only for its imported stats) streamed 6 hours, 8 imported
    spiker = next(f for f in flags if f.user_id == SPIKER)
    assert spiker.figures == {"hours": {"reported": 6.0, "imported": 8.0}}
    assert len(flags) == 2


async def test_family_at_risk_and_thresholds_from_settings(services, clock):
    lobos = await _program(services, clock)
    await services.insight_settings.set(G, MANAGER, "family_feedback", 0.9)
    await services.risk.sweep(G)
    flags, _ = await services.risk.open_flags(G, kind="family_at_risk", limit=50)
    assert [(f.family_id, f.figures["feedback_rate"]) for f in flags] == [(lobos.id, 0.0)]
    await services.insight_settings.set(G, MANAGER, "quiet_days", 30)
    clock.advance(days=1)
    await services.risk.sweep(G)
    assert not (await services.risk.open_flags(G, kind="gone_quiet", limit=50))[0]


async def test_new_flags_are_told_to_managers_and_leaders_once(services, clock):
    lobos = await _program(services, clock)
    await services.risk.sweep(G)
    untold = await services.risk.untold(G)
    assert untold
    post = Send("risk_flags", "risk-flags:test", "channel", 555, {"content": "flags"})
    assert await services.risk.tell_managers(G, untold, post)
    assert await services.risk.untold(G) == []
    assert not await services.risk.tell_managers(G, untold, post)  # told already: nothing
    assert await services.db.fetchval(
        "SELECT count(*) FROM deliveries WHERE kind = 'risk_flags'") == 1
    first = await risk.flags_for_summary(services.db, G, lobos.id, 900)
    assert {f.id for f in first} == {f.id for f in untold if f.family_id == lobos.id}
    assert [f.id for f in await risk.flags_for_summary(services.db, G, lobos.id, 900)] == [
        f.id for f in first]  # the same summary again (a retry): the same flags
    assert await risk.flags_for_summary(services.db, G, lobos.id, 901) == []  # next: none


class _Recorder:
    def __init__(self):
        self.sent = []

    async def __call__(self, due):
        self.sent.append(due)
        return [Send(due.kind, f"reminder:{due.id}", "dm", due.recipient_id, {"content": "."})]


async def test_the_leaders_daily_summary_lists_new_flags_once(services, clock, templates):
    lobos = await _program(services, clock)
    await services.checkins.update_settings(G, MANAGER, summary_time="22:00")
    await services.risk.sweep(G)
    raised = {f.id for f in (await services.risk.open_flags(G, limit=50))[0]
              if f.family_id == lobos.id}
    clock.set(datetime(2026, 3, 10, 22, 0, tzinfo=UTC))
    done = await services.reminders.sweep(_Recorder())
    summary = next(d for d, _ in done if d.kind == "summary")
    assert {f.id for f in summary.flags} == raised and summary.recipient_id == LEADER
    for locale, words in (("en", "New risk flags:"), ("es", "Nuevas alertas de riesgo:")):
        text = templates.render(locale, "discord/checkins/summary.md.j2", due=summary)
        assert words in text and f"<@{DROPPER}>" in text and len(text) <= 2000
    clock.set(datetime(2026, 3, 11, 22, 0, tzinfo=UTC))
    done = await services.reminders.sweep(_Recorder())
    assert next(d for d, _ in done if d.kind == "summary").flags == []  # told once


async def test_one_sweep_a_local_day_across_a_dst_change(services, clock):
    await _program(services, clock)
    await services.guilds.set_timezone(G, MANAGER, "America/New_York")
    # 8 March 2026: New York moves to summer time (UTC-5 -> UTC-4) at 02:00 local
    clock.set(datetime(2026, 3, 9, 3, 30, tzinfo=UTC))  # 23:30 on 8 March, summer time
    assert await services.risk.today(G) == date(2026, 3, 8)
    assert await services.risk.due(G)
    first = await services.risk.sweep(G)
    assert not await services.risk.due(G)
    clock.set(datetime(2026, 3, 9, 3, 59, tzinfo=UTC))  # still 8 March
    assert not await services.risk.due(G)
    clock.set(datetime(2026, 3, 9, 4, 0, tzinfo=UTC))  # midnight: 9 March
    assert await services.risk.due(G)
    second = await services.risk.sweep(G)  # a new window: maybe new flags, never twice
    assert not set(first) & set(second)
    assert await services.db.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM risk_flags WHERE cleared_at IS NULL"
        " GROUP BY kind, subject HAVING count(*) > 1)") == 0
    assert first and await services.db.fetchval("SELECT count(*) FROM risk_sweeps") == 2
