"""The ticket workflow (#21) on real SQLite with time travel: Assign (only to a member of the
category's support role, the assignee pinged once), waiting on the creator (the resolution
clock stands still, the creator's message ends the wait), the stale sweep closing a ticket
that waited the desk's days once with its notices, reopening within the desk's days (the
closed days paused, the reopen rate counted), and /ticket list's pages."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import NotAllowed, NotFound, UserError
from bot.services.tickets import LIST_PAGE, closed_key

G, MANAGER, ANA, BEN, SAM = 1, 10, 31, 32, 40
SUPPORT, STAFF, THREAD, ROLE = 500, 501, 900, 600
START = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def _desk(services, clock):
    clock.set(START)
    await services.tickets.configure(G, MANAGER, SUPPORT, STAFF)
    await services.tickets.set_category(G, MANAGER, "technical", role_id=ROLE)


async def _ticket(services, user=ANA, key="technical", thread=THREAD, via="command"):
    opened = await services.tickets.open(G, user, key, "Stream key", "Rejected", via=via)
    await services.tickets.attach_thread(G, opened.ticket.id, thread, "q", "c", STAFF)
    return await services.tickets.get(G, opened.ticket.id)


async def _sent(services, kind):
    rows = await services.db.fetchall(
        "SELECT target, target_id, payload FROM deliveries WHERE kind = ? ORDER BY id", (kind,))
    return [(r[0], r[1], json.loads(r[2])) for r in rows]


async def _sweep(services):
    alerts = await services.tickets.sla_alerts(G)
    await services.tickets.queue_alerts(G, [(a, a.key) for a in alerts], None, {})
    return sorted(f"{a.kind}:{a.stage}" for a in alerts)


async def test_assign_only_to_the_support_role_and_ping_the_assignee_once(services, clock):
    await _desk(services, clock)
    ticket = await _ticket(services)
    with pytest.raises(UserError) as refused:  # Ben does not hold the role
        await services.tickets.assign(G, MANAGER, ticket.id, BEN, {777}, 1, "n")
    assert refused.value.code == "tickets.not_support_member"
    for request in (2, 2):  # the same select twice (a retry): one notice
        assigned = await services.tickets.assign(G, MANAGER, ticket.id, SAM, {ROLE}, request,
                                                 "Sam: yours")
    assert assigned.assignee_id == SAM
    assert assigned.first_response_at is None  # assigning is not an answer to the creator
    assert await _sent(services, "ticket_assigned") == [
        ("channel", THREAD, {"content": "Sam: yours", "mentions": {"users": [SAM]}})]
    await services.tickets.close(G, MANAGER, ticket.id, "resolved", staff=True)
    with pytest.raises(UserError) as closed:
        await services.tickets.assign(G, MANAGER, ticket.id, SAM, {ROLE}, 3, "n")
    assert closed.value.code == "tickets.already_closed"
    other = await services.tickets.open(G, BEN, "other", "x", "y")  # a category without role
    with pytest.raises(UserError):
        await services.tickets.assign(G, MANAGER, other.ticket.id, SAM, {ROLE}, 4, "n")


async def test_waiting_on_the_creator_stops_the_resolution_clock(services, clock):
    await _desk(services, clock)
    ticket = await _ticket(services)  # Technical: first answer 8 h, resolution 72 h
    clock.set(START + timedelta(hours=2))
    waiting = await services.tickets.wait_on_creator(G, SAM, ticket.id, 1, "waits", "dm")
    assert waiting.waiting and waiting.first_response_at == START + timedelta(hours=2)
    with pytest.raises(UserError) as twice:
        await services.tickets.wait_on_creator(G, SAM, ticket.id, 2, "waits", "dm")
    assert twice.value.code == "tickets.already_waiting"
    assert [t for t, _, _ in await _sent(services, "ticket_waiting")] == ["channel"]
    assert await _sent(services, "ticket_waiting_dm") == []  # opened in the server: no DM
    # 100 hours of waiting: past 72 h on the wall clock, no alert (the clock stands still)
    clock.set(START + timedelta(hours=102))
    assert await _sweep(services) == []
    # someone else writing in the thread changes nothing; the creator does
    assert await services.tickets.creator_wrote(G, THREAD, BEN) is None
    resumed = await services.tickets.creator_wrote(G, THREAD, ANA)
    assert not resumed.waiting and resumed.paused_seconds == 100 * 3600
    assert await services.tickets.creator_wrote(G, THREAD, ANA) is None  # once
    # 2 h worked before the wait; 54 h in all is 75 % of 72 h: 52 h after the wait ended
    clock.set(START + timedelta(hours=102 + 51))
    assert await _sweep(services) == []
    clock.set(START + timedelta(hours=102 + 52))
    assert await _sweep(services) == ["resolution:soon"]
    clock.set(START + timedelta(hours=102 + 70))
    assert await _sweep(services) == ["resolution:breached"]
    alert = (await services.db.fetchall(
        "SELECT dedupe_key FROM deliveries WHERE kind = 'ticket_sla' ORDER BY id"))[-1][0]
    assert alert == f"ticket:{ticket.id}:sla:resolution:breached"


async def test_a_dm_ticket_is_told_by_dm_and_its_relayed_answer_ends_the_wait(services, clock):
    await _desk(services, clock)
    ticket = await _ticket(services, via="dm")
    await services.tickets.wait_on_creator(G, SAM, ticket.id, 1, "waits", "dm waits")
    assert await _sent(services, "ticket_waiting_dm") == [("dm", ANA, {"content": "dm waits"})]
    clock.advance(hours=5)
    await services.tickets.relay_in(await services.tickets.get(G, ticket.id), 99, "here")
    after = await services.tickets.get(G, ticket.id)
    assert not after.waiting and after.paused_seconds == 5 * 3600


async def test_the_stale_sweep_closes_once_after_the_desks_days(services, clock):
    await _desk(services, clock)
    await services.tickets.set_days(G, MANAGER, waiting_days=3)
    ana = await _ticket(services, via="dm")
    ben = await _ticket(services, user=BEN, thread=THREAD + 1)
    for t in (ana, ben):
        await services.tickets.wait_on_creator(G, SAM, t.id, t.id, "waits", "dm")
    clock.advance(days=2, hours=23)
    assert await services.tickets.stale(G) == []
    await services.tickets.creator_wrote(G, THREAD + 1, BEN)  # Ben answered in time
    clock.advance(hours=1)
    stale = await services.tickets.stale(G)
    assert [t.id for t in stale] == [ana.id]
    closed = await services.tickets.close_stale(stale[0], "closed itself", "dm closed")
    assert (closed.state, closed.close_reason, closed.closed_by) == ("closed", "no_reply", None)
    assert closed.paused_seconds == 3 * 86400 and closed.waiting_since is None
    # a second sweep, or the same ticket read before a restart: nothing again
    assert await services.tickets.close_stale(stale[0], "closed itself", "dm closed") is None
    assert await services.tickets.stale(G) == []
    assert await _sent(services, "ticket_closed") == [
        ("channel", THREAD, {"content": "closed itself"})]
    assert await _sent(services, "ticket_closed_dm") == [("dm", ANA, {"content": "dm closed"})]
    assert [t.id for t in await services.tickets.closed_unarchived(G, timedelta(days=2))] == [
        ana.id]
    # a ticket whose creator wrote between the read and the close stays open
    await services.tickets.wait_on_creator(G, SAM, ben.id, 77, "waits", "dm")
    clock.advance(days=3)
    late = (await services.tickets.stale(G))[0]
    await services.tickets.creator_wrote(G, THREAD + 1, BEN)
    assert await services.tickets.close_stale(late, "x", "y") is None
    assert (await services.tickets.get(G, ben.id)).open


async def test_reopen_within_the_days_by_the_creator_or_staff(services, clock):
    await _desk(services, clock)
    ticket = await _ticket(services)
    await services.tickets.claim(G, SAM, ticket.id)
    clock.advance(hours=10)
    closed = await services.tickets.close(G, SAM, ticket.id, "resolved", staff=True)
    first_key = closed_key(closed)
    clock.advance(days=2)
    with pytest.raises(NotAllowed) as stranger:
        await services.tickets.reopen(G, BEN, ticket.id, staff=False, request_id=1, notice="n")
    assert stranger.value.code == "tickets.reopen_not_yours"
    again = await services.tickets.reopen(G, ANA, ticket.id, staff=False, request_id=2,
                                          notice="reopened", dm_notice="dm")
    assert again.open and again.reopens == 1 and again.closed_at is None
    assert again.paused_seconds == 2 * 86400  # the days it stood closed do not count
    assert again.first_response_at == START  # its first answer stays
    with pytest.raises(UserError) as open_one:  # a double click
        await services.tickets.reopen(G, ANA, ticket.id, staff=False, request_id=3, notice="n")
    assert open_one.value.code == "tickets.not_closed"
    assert [p["content"] for _, _, p in await _sent(services, "ticket_reopened")] == [
        "reopened"]
    assert await _sent(services, "ticket_reopened_dm") == []  # not opened by DM
    clock.advance(hours=5)
    closed = await services.tickets.close(G, SAM, ticket.id, "resolved", staff=True)
    assert closed_key(closed) != first_key  # the second close has its own notice
    assert closed.worked(clock.now()) == timedelta(hours=15)
    # past the window (7 days by default): refused, pointed to /ticket open
    clock.advance(days=7, minutes=1)
    with pytest.raises(UserError) as late:
        await services.tickets.reopen(G, SAM, ticket.id, staff=True, request_id=4, notice="n")
    assert late.value.code == "tickets.reopen_too_late" and late.value.params["days"] == 7
    stats = await services.tickets.stats(G, "30d")
    assert stats.reopen_rate == 1.0
    assert (await services.tickets.find(G, ticket.number)).id == ticket.id
    for number in (0, 2**63):  # a raw API call's number past the option's bounds
        with pytest.raises(NotFound):
            await services.tickets.find(G, number)
    assert stats.total.resolution_hours == 15  # net of the two days it stood closed


async def test_reopen_points_to_another_open_ticket_of_the_category(services, clock):
    await _desk(services, clock)
    first = await _ticket(services)
    await services.tickets.close(G, ANA, first.id, "resolved", staff=False)
    second = await _ticket(services, thread=THREAD + 1)
    with pytest.raises(UserError) as duplicate:
        await services.tickets.reopen(G, ANA, first.id, staff=False, request_id=1, notice="n")
    assert duplicate.value.code == "tickets.duplicate"
    assert duplicate.value.params == {"number": second.number, "thread_id": THREAD + 1}


async def test_stats_reopen_rate_and_resolution_net_of_waiting(services, clock):
    await _desk(services, clock)
    kept = await _ticket(services)
    again = await _ticket(services, user=BEN, thread=THREAD + 1)
    await services.tickets.wait_on_creator(G, SAM, kept.id, 1, "w")
    clock.advance(hours=100)
    await services.tickets.close(G, SAM, kept.id, "resolved", staff=True)
    await services.tickets.close(G, SAM, again.id, "resolved", staff=True)
    await services.tickets.reopen(G, BEN, again.id, staff=False, request_id=2, notice="n")
    stats = await services.tickets.stats(G, "30d")
    assert stats.reopen_rate == 0.5  # one of the two closed tickets came back
    # kept: 100 h on the wall, all of it waiting: resolved in 0 h, within its 72 h
    line = next(c for c in stats.categories if c.key == "technical")
    assert line.resolution_hours == 0 and line.sla_met == 0.5
    # (decided: kept's first answer and resolution met; again's first answer missed (8 h),
    # its resolution open at 100 h on the clock: missed)


async def test_days_bounds_and_defaults(services, clock):
    await _desk(services, clock)
    settings = await services.tickets.settings(G)
    assert (settings.waiting_days, settings.reopen_days) == (7, 7)
    for bad in (0, 91):
        with pytest.raises(UserError) as refused:
            await services.tickets.set_days(G, MANAGER, waiting_days=bad)
        assert refused.value.code == "tickets.bad_days"
    changed = await services.tickets.set_days(G, MANAGER, reopen_days=14)
    assert (changed.waiting_days, changed.reopen_days) == (7, 14)


async def test_list_pages_hundreds_of_tickets_by_state_and_assignee(services, clock):
    await _desk(services, clock)
    ids = []
    for n in range(300):
        ids.append((await services.tickets.open(G, 1000 + n, "technical", f"T{n}",
                                                "d")).ticket.id)
    for n, ticket_id in enumerate(ids):
        if n % 3 == 0:
            await services.tickets.assign(G, MANAGER, ticket_id, SAM, {ROLE}, n, "n")
        if n % 10 == 0:
            await services.tickets.wait_on_creator(G, SAM, ticket_id, n, "w")
    seen = []
    page = await services.tickets.listing(G)
    while True:
        assert len(page.items) <= LIST_PAGE
        seen += [t.id for t in page.items]
        if not page.has_next:
            break
        page = await services.tickets.listing(G, page=page.number + 1)
    assert seen == sorted(ids, reverse=True) and page.pages == -(-300 // LIST_PAGE)
    waiting = await services.tickets.listing(G, state="waiting")
    assert waiting.total == 30 and all(t.waiting for t in waiting.items)
    mine = await services.tickets.listing(G, assignee_id=SAM, page=10_000)  # past the end
    assert mine.total == 100 and mine.number == mine.pages - 1
    assert all(t.assignee_id == SAM for t in mine.items)
    with pytest.raises(UserError):
        await services.tickets.listing(G, state="pending")
