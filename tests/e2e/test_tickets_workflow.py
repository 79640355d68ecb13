"""The ticket workflow end to end (#21): staff Assign a ticket to a member of the support role
(added to the thread and pinged there, nobody else); "Waiting on creator" stops the clock and
the creator's message in the thread ends the wait; a ticket left waiting the desk's days
closes itself with one notice and its thread is archived and locked, whatever how often the
sweep runs; the creator reopens it with /ticket reopen (the thread opens again, or a new
one when it was deleted); /ticket list pages hundreds of tickets; /ticket days."""

from __future__ import annotations

from emulator.models import PRIVATE_THREAD
from tests.e2e import test_tickets
from tests.e2e._buttons import press
from tests.e2e.test_tickets import _open

desk = test_tickets.desk  # the support desk fixture: channels, the Helpers role, people


async def _ticket(app, people, subject="Gifts not showing"):
    chosen = await _open(app, people["ana"], "technical", "x", "y")
    done = await chosen.submit({"subject": subject, "description": "Since yesterday"})
    assert "is open" in await done.reply_text(timeout=10)
    thread = app.emu.channels(app.guild, PRIVATE_THREAD)[-1]
    question = (await app.emu.wait_for(lambda: app.emu.messages(thread), timeout=10))[0]
    return thread, question


def _button(message, prefix):
    return next(c for c in message.custom_ids if c.startswith(prefix))


async def test_assign_adds_the_member_and_pings_only_them(app, desk):
    people = desk[0]
    thread, question = await _ticket(app, people)
    helpers = app.emu.role_by_name(app.guild, "Helpers")
    tom = app.emu.create_user("tom")  # joins the role after the ticket opened
    app.emu.add_member(app.guild, tom, [helpers])
    cached = app.bot.get_guild(app.guild.id)
    await app.emu.wait_for(lambda: cached.get_member(tom.id), what="tom cached")
    assert tom.id not in thread.thread_members
    assign_id = _button(question, "familia:tk:assign:")
    refused = await app.emu.click(people["ana"], question, assign_id)
    assert "support team" in await refused.reply_text()
    picker = await (await app.emu.click(people["sam"], question, assign_id)).wait_message()
    assert picker.ephemeral and "Who takes ticket #1" in picker.content
    select_id = _button(picker, "familia:tk:assignto:")
    options = picker.components[0]["components"][0]["options"]
    assert {o["value"] for o in options} == {str(people["sam"].id), str(tom.id)}
    done = await app.emu.select(people["sam"], picker, select_id, [str(tom.id)])
    assert "assigned to" in await done.reply_text(timeout=10)
    assert tom.id in thread.thread_members
    told = await app.emu.wait_for(
        lambda: [m for m in app.emu.messages(thread) if "is yours now" in m.content], timeout=10)
    assert told[0].mentions == [tom.id]  # pinged: the assignee only, not the assigner
    ticket = await app.services.tickets.by_thread(app.guild.id, thread.id)
    assert ticket.assignee_id == tom.id
    # a forged pick of someone outside the role is refused, nothing changes
    forged = await press(app, people["sam"], thread, select_id, pick=str(people["bea"].id))
    assert "support role" in await forged.reply_text()
    assert people["bea"].id not in thread.thread_members
    ticket = await app.services.tickets.by_thread(app.guild.id, thread.id)
    assert ticket.assignee_id == tom.id


async def test_waiting_stops_the_clock_and_the_creator_ends_it(app, desk):
    people = desk[0]
    thread, question = await _ticket(app, people)
    wait_id = _button(question, "familia:tk:wait:")
    refused = await app.emu.click(people["ana"], question, wait_id)
    assert "support team" in await refused.reply_text()
    waiting = await app.emu.click(people["sam"], question, wait_id)
    assert "now waits on its creator" in await waiting.reply_text()
    notice = await app.emu.wait_for(
        lambda: [m for m in app.emu.messages(thread) if "waits on an answer" in m.content],
        timeout=10)
    assert "7 days" in notice[0].content and notice[0].mentions == []  # nobody pinged
    ticket = await app.services.tickets.by_thread(app.guild.id, thread.id)
    assert ticket.waiting and ticket.first_response_at is not None
    listed = await app.reply(people["sam"], "ticket", {"state": "waiting"}, subcommand="list")
    assert "#1" in listed and "waiting" in listed
    app.clock.advance(hours=30)
    app.emu.send_message(thread, people["ana"], "Here is the screenshot")

    async def resumed():
        found = await app.services.tickets.by_thread(app.guild.id, thread.id)
        return not found.waiting and found

    after = await app.emu.wait_for(resumed, timeout=10, what="the wait ended")
    assert after.paused_seconds == 30 * 3600
    # pressed while waiting, the button ends the wait too
    await (await app.emu.click(people["sam"], question, wait_id)).reply_text()
    again = await app.emu.click(people["sam"], question, wait_id)
    assert "clock runs again" in await again.reply_text()


async def test_a_stale_ticket_closes_itself_once_and_the_creator_reopens_it(app, desk):
    people = desk[0]
    thread, question = await _ticket(app, people)
    waited = await app.emu.click(people["sam"], question, _button(question, "familia:tk:wait:"))
    await waited.reply_text()
    cog = app.bot.get_cog("Tickets")
    app.clock.advance(days=6, hours=23)
    assert await cog.stale_sweep() == 0
    app.clock.advance(hours=1)
    assert await cog.stale_sweep() == 1
    assert await cog.stale_sweep() == 0  # once, however often the sweep runs
    closed_notices = [m for m in app.emu.messages(thread) if "closed itself" in m.content]
    assert len(closed_notices) == 1 and "/ticket reopen" in closed_notices[0].content
    assert thread.archived and thread.locked
    ticket = await app.services.tickets.by_thread(app.guild.id, thread.id)
    assert (ticket.state, ticket.close_reason) == ("closed", "no_reply")
    # only the creator, the support team or a manager reopens it
    refused = await app.run(people["bea"], "ticket", {"number": 1}, subcommand="reopen")
    assert "may reopen it" in await refused.reply_text()
    reopened = await app.run(people["ana"], "ticket", {"number": 1}, subcommand="reopen")
    assert "open again" in await reopened.reply_text(timeout=10)
    assert not thread.archived and not thread.locked
    await app.emu.wait_for(
        lambda: [m for m in app.emu.messages(thread) if "was reopened by" in m.content],
        timeout=10)
    twice = await app.run(people["ana"], "ticket", {"number": 1}, subcommand="reopen")
    assert "nothing to reopen" in await twice.reply_text()
    # closed again and its thread deleted by hand: a reopen makes a new thread
    await app.services.tickets.close(app.guild.id, app.owner.id, ticket.id, "resolved",
                                     staff=True)
    app.emu.delete_channel(thread)

    async def gone():
        return await app.services.tickets.by_thread(app.guild.id, thread.id) is None

    await app.emu.wait_for(gone, what="the deletion noticed")
    again = await app.run(app.owner, "ticket", {"number": 1}, subcommand="reopen")
    assert "open again" in await again.reply_text(timeout=10)
    threads = app.emu.channels(app.guild, PRIVATE_THREAD)
    assert len(threads) == 1 and threads[0].id != thread.id
    assert people["ana"].id in threads[0].thread_members
    # past the desk's days: refused with the way forward
    await app.services.tickets.close(app.guild.id, app.owner.id, ticket.id, "resolved",
                                     staff=True)
    app.clock.advance(days=8)
    late = await app.run(people["ana"], "ticket", {"number": 1}, subcommand="reopen")
    assert "/ticket open" in await late.reply_text()


async def test_list_pages_hundreds_of_tickets_in_both_languages(app, desk):
    people = desk[0]
    tickets = app.services.tickets
    for n in range(120):
        opened = await tickets.open(app.guild.id, 10_000 + n, "technical", f"Subject {n}",
                                    "Body")
        await tickets.attach_thread(app.guild.id, opened.ticket.id, 20_000 + n, "q", "c",
                                    desk[2].id)
    first = await app.run(people["sam"], "ticket", subcommand="list")
    text = await first.reply_text()
    assert first.ephemeral and "(120)" in text and "page 1 of 15" in text
    assert "#120" in text and len(text) <= 2000
    message = first.messages[0]
    (next_id,) = message.custom_ids
    turned = await app.emu.click(people["sam"], message, next_id)
    two = await turned.reply_text()
    assert "page 2 of 15" in two and "#112" in two and "#120" not in two
    # the page's id is data: a creator pressing it is refused
    refused = await press(app, people["ana"], app.emu.default_channel(app.guild), next_id)
    assert "support team" in await refused.reply_text()
    spanish = await app.run(people["sam"], "ticket", subcommand="list", locale="es-ES")
    assert "Tickets abiertos" in await spanish.reply_text() and "página 1 de 15" in (
        spanish.content)
    mine = await app.reply(people["sam"], "ticket", {"assignee": people["sam"]},
                           subcommand="list")
    assert "No open tickets" in mine


async def test_days_are_for_managers(app, desk):
    people = desk[0]
    text = await app.reply(app.owner, "ticket", {"waiting_days": 3, "reopen_days": 14},
                           subcommand="days")
    assert "after 3 days" in text and "for 14 days" in text
    assert "managers" in await app.reply(people["sam"], "ticket", {"waiting_days": 3},
                                         subcommand="days")


async def test_a_restart_between_the_close_and_the_archive_sends_nothing_twice(app, desk):
    """The stale close is written (with its notice) but the bot stops before the thread is
    archived: the next sweep archives it and queues no second notice."""
    people = desk[0]
    thread, question = await _ticket(app, people)
    waited = await app.emu.click(people["sam"], question, _button(question, "familia:tk:wait:"))
    await waited.reply_text()
    tickets = app.services.tickets
    app.clock.advance(days=7)
    [stale] = await tickets.stale(app.guild.id)
    await tickets.close_stale(stale, "🔒 closed itself (before the restart)", None)
    await app.emu.wait_for(lambda: [m for m in app.emu.messages(thread)
                                    if "before the restart" in m.content], timeout=10)
    assert not thread.archived  # what the stop left
    cog = app.bot.get_cog("Tickets")
    assert await cog.stale_sweep() == 0  # nothing closed again
    assert thread.archived and thread.locked
    assert not [m for m in app.emu.messages(thread) if "closed itself:" in m.content]
    assert await app.services.db.fetchval(
        "SELECT count(*) FROM deliveries WHERE kind = 'ticket_closed'") == 1
