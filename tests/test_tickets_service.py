"""The support desk's service (#21) on real SQLite: default categories (Trust & Safety never
adds the leader), opening with bounds, one open ticket per category (pointed to), the thread
recorded with its two posts queued once, the creator's context for staff, closing once."""

from datetime import UTC, date, datetime

import pytest

from bot.errors import NotAllowed, UserError
from bot.program import CheckinRow, record_checkins
from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER, ANA, BEN = 1, 10, 20, 31, 32
SUPPORT, STAFF, THREAD = 500, 501, 900


async def _desk(services, clock):
    clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    request = await services.families.request_join(G, ANA, lobos.id, AGREEMENT_VERSION)
    await services.families.decide(G, LEADER, request.id, True)
    await services.tickets.configure(G, MANAGER, SUPPORT, STAFF)
    return lobos


async def test_not_set_up_is_refused_with_a_clear_code(services):
    with pytest.raises(UserError) as refused:
        await services.tickets.open(G, ANA, "technical", "Stream key", "It fails")
    assert refused.value.code == "tickets.not_set_up"


async def test_defaults_and_trust_and_safety_never_adds_the_leader(services, clock):
    await _desk(services, clock)
    categories = {c.key: c for c in await services.tickets.categories(G)}
    assert list(categories) == ["safety", "technical", "money", "operations", "other"]
    assert categories["safety"].add_leader is False
    assert categories["technical"].add_leader is True
    safety = await services.tickets.open(G, ANA, "safety", "Harassed", "In my LIVE")
    assert safety.leader_id is None
    tech = await services.tickets.open(G, ANA, "technical", "Stream key", "It fails")
    assert tech.leader_id == LEADER
    assert (tech.ticket.number, safety.ticket.number) == (2, 1)


async def test_bounds_and_one_open_ticket_per_category(services, clock):
    await _desk(services, clock)
    for subject, description, code in (("", "x", "tickets.bad_subject"),
                                       ("x" * 101, "x", "tickets.bad_subject"),
                                       ("ok", " ", "tickets.bad_description"),
                                       ("ok", "x" * 1501, "tickets.bad_description")):
        with pytest.raises(UserError) as refused:
            await services.tickets.open(G, ANA, "money", subject, description)
        assert refused.value.code == code
    with pytest.raises(UserError) as unknown:
        await services.tickets.open(G, ANA, "nope", "a", "b")
    assert unknown.value.code == "tickets.unknown_category"
    first = await services.tickets.open(G, ANA, "money", "Payout", "Late")
    await services.tickets.attach_thread(G, first.ticket.id, THREAD, "q", "c", STAFF)
    with pytest.raises(UserError) as duplicate:
        await services.tickets.check_open(G, ANA, "money")
    assert duplicate.value.code == "tickets.duplicate"
    assert duplicate.value.params == {"number": 1, "thread_id": THREAD}
    await services.tickets.open(G, BEN, "money", "Payout", "Late too")  # someone else may
    await services.tickets.set_category(G, MANAGER, "money", allow_multiple=True)
    again = await services.tickets.open(G, ANA, "money", "Bonus", "Missing")
    assert again.ticket.number == 3


async def test_thread_recorded_and_posts_queued_once(services, clock):
    await _desk(services, clock)
    opened = await services.tickets.open(G, ANA, "technical", "Gifts", "Not showing")
    assert [t.id for t in await services.tickets.without_thread(G)] == [opened.ticket.id]
    for _ in range(2):  # a retry after a crash queues nothing twice
        await services.tickets.attach_thread(G, opened.ticket.id, THREAD, "question",
                                             "context", STAFF)
    rows = await services.db.fetchall(
        "SELECT kind, target_id FROM deliveries WHERE source = 'tickets' ORDER BY id")
    assert [tuple(r) for r in rows] == [("ticket_question", THREAD), ("ticket_context", STAFF)]
    assert await services.tickets.without_thread(G) == []
    assert (await services.tickets.by_thread(G, THREAD)).id == opened.ticket.id


async def test_context_names_family_leader_handle_checkins_and_other_tickets(services, clock):
    lobos = await _desk(services, clock)
    await services.profiles.set(G, MANAGER, ANA, {"handle": "@ana.live"},
                                as_manager=True)
    await record_checkins(services, G, [CheckinRow(ANA, date(2026, 2, d), 2.0, 100 * d,
                                                   family_id=lobos.id) for d in (1, 2, 3)])
    first = await services.tickets.open(G, ANA, "money", "Payout", "Late")
    second = await services.tickets.open(G, ANA, "technical", "Key", "Broken")
    context = await services.tickets.context(G, ANA, exclude=second.ticket.id)
    assert (context.family, context.leader_id, context.handle) == ("Lobos", LEADER, "ana.live")
    assert [c.local_date for c in context.checkins] == ["2026-02-03", "2026-02-02", "2026-02-01"]
    assert context.other_open == [first.ticket.number]


async def test_close_once_and_only_by_staff_or_the_creator(services, clock):
    await _desk(services, clock)
    opened = await services.tickets.open(G, ANA, "technical", "Key", "Broken")
    with pytest.raises(NotAllowed):
        await services.tickets.close(G, BEN, opened.ticket.id, "resolved", staff=False)
    closed = await services.tickets.close(G, MANAGER, opened.ticket.id, "resolved", staff=True)
    assert (closed.state, closed.closed_by, closed.close_reason) == ("closed", MANAGER,
                                                                     "resolved")
    with pytest.raises(UserError) as twice:  # a double click on Close
        await services.tickets.close(G, MANAGER, opened.ticket.id, "resolved", staff=True)
    assert twice.value.code == "tickets.already_closed"
    # closed: a new one of that category may be opened
    await services.tickets.check_open(G, ANA, "technical")


async def test_dm_ticket_relays_queue_once_each_way(services, clock):
    await _desk(services, clock)
    assert await services.tickets.dm_ticket(G, ANA) is None
    opened = await services.tickets.open(G, ANA, "money", "Payout", "Late", via="dm")
    assert await services.tickets.dm_ticket(G, ANA) is None  # no thread yet: nothing to relay
    await services.tickets.attach_thread(G, opened.ticket.id, THREAD, "q", "c", STAFF)
    ticket = await services.tickets.dm_ticket(G, ANA)
    for _ in range(2):  # the same DM, the same /ticket reply: one delivery each
        await services.tickets.relay_in(ticket, 77, "from ana")
        await services.tickets.relay_out(G, MANAGER, ticket, 88, "from staff")
    rows = await services.db.fetchall(
        "SELECT kind, target, target_id FROM deliveries WHERE kind LIKE 'ticket_relay%'"
        " ORDER BY id")
    assert [tuple(r) for r in rows] == [("ticket_relay_in", "channel", THREAD),
                                        ("ticket_relay_out", "dm", ANA)]
    await services.tickets.close(G, MANAGER, ticket.id, "resolved", staff=True)
    with pytest.raises(UserError):
        await services.tickets.relay_out(G, MANAGER, ticket, 89, "late")
    assert await services.tickets.dm_ticket(G, ANA) is None


async def test_notes_listing_and_deletion_with_the_creator(services, clock):
    await _desk(services, clock)
    first = (await services.tickets.open(G, ANA, "money", "Payout", "Late")).ticket
    second = (await services.tickets.open(G, BEN, "technical", "Key", "Broken")).ticket
    with pytest.raises(UserError):
        await services.tickets.add_note(G, MANAGER, first, " ", STAFF, "post")
    await services.tickets.add_note(G, MANAGER, first, "Checked payouts", STAFF, "post")
    assert await services.tickets.notes(G, first.id) == [(MANAGER, "Checked payouts")]
    found = await services.tickets.listing(G)
    assert [t.number for t in found.items] == [2, 1] and found.total == 2
    money = (await services.tickets.category(G, "money")).id
    found = await services.tickets.listing(G, category_ids={money})
    assert [t.id for t in found.items] == [first.id]
    found = await services.tickets.listing(G, key="technical")
    assert [t.id for t in found.items] == [second.id]
    exported = await services.privacy.export(G, ANA)
    assert [r["subject"] for r in exported["tickets"]] == ["Payout"]
    await services.privacy.delete(G, ANA)
    assert await services.db.fetchval("SELECT count(*) FROM tickets WHERE user_id = ?",
                                      (ANA,)) == 0
    assert await services.db.fetchval("SELECT count(*) FROM ticket_notes") == 0


async def test_a_ticket_without_thread_is_taken_over_not_duplicated(services, clock):
    await _desk(services, clock)
    first = await services.tickets.open(G, ANA, "money", "Payout", "Late")  # thread refused
    await services.tickets.check_open(G, ANA, "money")  # not pointed to a ticket without thread
    again = await services.tickets.open(G, ANA, "money", "Payout again", "Still late")
    assert again.ticket.id == first.ticket.id and again.ticket.subject == "Payout again"
    await services.tickets.attach_thread(G, first.ticket.id, THREAD, "q", "c", STAFF)
    gone = await services.tickets.thread_gone(G, THREAD)  # deleted by hand: kept, open
    assert gone.thread_id is None and gone.open
    assert await services.tickets.thread_gone(G, THREAD) is None
    third = await services.tickets.open(G, ANA, "money", "Payout", "Thread vanished")
    assert third.ticket.number == 1
    assert await services.db.fetchval("SELECT count(*) FROM tickets") == 1


async def test_sla_alerts_with_time_travel_once_each_and_first_response_stops_one(
        services, clock):
    from datetime import timedelta
    await _desk(services, clock)
    start = clock.now()
    tech = (await services.tickets.open(G, ANA, "technical", "Key", "Broken")).ticket  # 8/72 h
    await services.tickets.attach_thread(G, tech.id, THREAD, "q", "c", STAFF)

    async def sweep():
        alerts = await services.tickets.sla_alerts(G)
        texts = [(a, f"{a.kind}:{a.stage}") for a in alerts]
        await services.tickets.queue_alerts(G, texts, 777, {a.key: "late" for a in alerts})
        return sorted(f"{a.kind}:{a.stage}" for a in alerts)

    assert await sweep() == []
    clock.set(start + timedelta(hours=6))  # 75 % of 8 h
    assert await sweep() == ["first_response:soon"]
    assert await sweep() == []  # once, whatever how often it runs
    clock.set(start + timedelta(hours=8))
    assert await sweep() == ["first_response:breached"]
    await services.tickets.claim(G, MANAGER, tech.id)  # staff answered: no more such alerts
    clock.set(start + timedelta(hours=54))
    assert await sweep() == ["resolution:soon"]
    clock.set(start + timedelta(hours=80))
    assert await sweep() == ["resolution:breached"]
    rows = await services.db.fetchall(
        "SELECT kind, target_id, payload FROM deliveries WHERE kind LIKE 'ticket_sla%'"
        " ORDER BY id")
    assert [(r[0], r[1]) for r in rows] == [
        ("ticket_sla", THREAD), ("ticket_sla", THREAD), ("ticket_sla_escalation", 777),
        ("ticket_sla", THREAD), ("ticket_sla", THREAD), ("ticket_sla_escalation", 777)]
    await services.tickets.close(G, MANAGER, tech.id, "resolved", staff=True)
    clock.set(start + timedelta(hours=200))
    assert await sweep() == []  # closed: no clock runs


async def test_priority_cycles_and_stops_when_closed(services, clock):
    await _desk(services, clock)
    ticket = (await services.tickets.open(G, ANA, "money", "Payout", "Late")).ticket
    assert ticket.priority == "normal"
    seen = [(await services.tickets.raise_priority(G, MANAGER, ticket.id)).priority
            for _ in range(3)]
    assert seen == ["high", "urgent", "normal"]
    await services.tickets.close(G, MANAGER, ticket.id, "resolved", staff=True)
    with pytest.raises(UserError):
        await services.tickets.raise_priority(G, MANAGER, ticket.id)


async def test_dm_intake_asks_a_person_at_most_once_in_half_an_hour(services, clock):
    await _desk(services, clock)

    async def prompts():
        return await services.db.fetchval(
            "SELECT count(*) FROM deliveries WHERE kind = 'ticket_intake' AND target_id = ?",
            (ANA,))

    for message_id in (501, 502, 503):  # three lines in a row, or a reply to a reminder
        await services.tickets.prompt_intake(G, ANA, message_id, "Pick a category", [])
    assert await prompts() == 1
    clock.advance(minutes=31)
    await services.tickets.prompt_intake(G, ANA, 504, "Pick a category", [])
    assert await prompts() == 2
