"""Scheduled tier sweeps (#19 must-have 5): due on the 1st of the month in the program's zone
once the month is final, previewed once, changed per creator, held, approved once (roles
queued in the delivery queue, each creator's result recorded), shown as moves."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.queue import Send
from bot.services import Services
from bot.services.tiers import SweepDecided, recent_moves

G, MANAGER = 1, 10


async def _previewed(services, sweep, changes, total):
    return Send("tier_sweep", f"tier-sweep:{sweep.id}", "channel", 777,
                {"content": f"{sweep.period}: {total} changes"})


async def test_due_once_final_in_the_program_zone(services, clock, make_program):
    clock.set(datetime(2026, 6, 20, 15, 0, tzinfo=UTC))
    await make_program("small", timezone="America/Mexico_City")
    # 1 July 03:00 UTC is still 30 June in Mexico City: June is not over (and May was swept
    # by hand when the program was made)
    clock.set(datetime(2026, 7, 1, 3, 0, tzinfo=UTC))
    assert await services.sweeps.due(G) is None
    # 1 July in Mexico, before the last check-in window of 30 June closed: not final
    clock.set(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert await services.sweeps.due(G) is None
    final = await services.tiers.final_at(G, "2026-06")
    clock.set(final + timedelta(minutes=1))
    assert await services.sweeps.due(G) == "2026-06"


async def test_preview_change_hold_approve_once(services, clock, make_program, settings):
    clock.set(datetime(2026, 6, 20, 15, 0, tzinfo=UTC))
    made = await make_program("program")
    clock.set(datetime(2026, 7, 2, 0, 0, tzinfo=UTC))
    period = await services.sweeps.due(G)
    assert period == "2026-06"

    async def preview(sweep, changes, total):
        return await _previewed(services, sweep, changes, total)

    sweep = await services.sweeps.open(G, period, preview, 10)
    assert sweep is not None and sweep.state == "preview"
    assert await services.sweeps.open(G, period, preview, 10) is None  # once
    assert await services.sweeps.due(G) is None
    plan = await services.sweeps.changes(G, sweep)
    assert plan
    # a manager keeps one creator where they are and gives another Gold
    kept, lifted = plan[0], next(c for c in made.creators if c.user_id != plan[0].user_id)
    gold = await services.tiers.get(G, "Gold")
    await services.sweeps.override(G, sweep.id, MANAGER, kept.user_id, kept.old)
    await services.sweeps.override(G, sweep.id, MANAGER, lifted.user_id, gold)
    held = await services.sweeps.hold(G, sweep.id, MANAGER)
    assert held.state == "held"
    changes = await services.sweeps.changes(G, held)
    assert kept.user_id not in {c.user_id for c in changes}
    assert next(c for c in changes if c.user_id == lifted.user_id).new == gold

    roles_before = await services.db.fetchval(
        "SELECT count(*) FROM deliveries WHERE kind = 'tier_role'")
    applied, done = await services.sweeps.approve(G, sweep.id, MANAGER)
    assert applied.state == "applied" and len(done) == len(changes)
    # after a restart, a second approval (another manager, a second click) does nothing
    again = Services.build(services.db, settings, clock)
    with pytest.raises(SweepDecided):
        await again.sweeps.approve(G, sweep.id, MANAGER)
    with pytest.raises(SweepDecided):
        await again.sweeps.override(G, sweep.id, MANAGER, lifted.user_id, None)
    results = await services.db.fetchall(
        "SELECT user_id, old_tier_id, new_tier_id, overridden, hours FROM tier_sweep_results"
        " WHERE sweep_id = ?", (sweep.id,))
    assert len(results) == len(done)
    mine = next(r for r in results if r["user_id"] == lifted.user_id)
    assert (mine["new_tier_id"], mine["overridden"]) == (gold.id, 1)
    progress = await services.progress.totals(G, lifted.user_id, "month", "2026-06")
    assert mine["hours"] == progress.hours
    assert (await services.tiers.tier_of(G, lifted.user_id)) == gold
    roles = await services.db.fetchval(
        "SELECT count(*) FROM deliveries WHERE kind = 'tier_role'")
    assert roles >= roles_before  # tiers of the small program have no roles: none queued
    moves = await recent_moves(services.db, G, clock.now() - timedelta(days=1),
                               user_id=lifted.user_id)
    assert moves and moves[0].new == "Gold" and moves[0].promotion == (
        moves[0].old != "Gold")
    family_moves = await recent_moves(services.db, G, clock.now() - timedelta(days=1),
                                      family_id=lifted.family_id)
    assert lifted.user_id in {m.user_id for m in family_moves}


async def test_the_leader_digest_shows_the_weeks_tier_changes(services, smtp, clock):
    """On a real SMTP server: the approved sweep's promotion in the family leader's digest."""
    from bot.services.families import AGREEMENT_VERSION
    from tests._email import body, make_sender, verified

    clock.set(datetime(2026, 2, 20, 12, 0, tzinfo=UTC))
    family = await services.families.create(G, MANAGER, "Lobos", 20)
    for user in (21, 22):
        request = await services.families.request_join(G, user, family.id, AGREEMENT_VERSION)
        await services.families.decide(G, 20, request.id, True)
    await services.tiers.define(G, MANAGER, "Bronze", 1, min_hours=1.0)
    await verified(services, 20, "lena@example.org")
    from datetime import date

    from bot.program import CheckinRow, record_checkins
    await record_checkins(services, G, [CheckinRow(21, date(2026, 2, 25), 2.0, 10,
                                                   family_id=family.id)])
    clock.set(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    sweep = await services.sweeps.open(G, "2026-02", lambda *a: _none(), 5)
    bronze = await services.tiers.get(G, "Bronze")
    await services.sweeps.override(G, sweep.id, MANAGER, 21, bronze)
    await services.sweeps.approve(G, sweep.id, MANAGER)
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))  # Monday: the digests go out
    assert await services.digests.sweep(names=lambda g, u: {21: "Bea"}.get(u)) == 1
    await make_sender(services, smtp).drain()
    [msg] = smtp.to("lena@example.org")
    text = body(msg, "plain")
    assert "Tier changes:" in text and "Bea: promoted to Bronze" in text
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "<li>Bea: promoted to Bronze</li>" in html


async def _none():
    return None
