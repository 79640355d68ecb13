"""The support desk end to end (#21): /ticket setup refuses a support channel without the
permissions to make private threads (naming the one missing); /ticket open and the "Get
help" panel (a category select, then a modal) open a ticket with a private thread that only
the creator, the category's support role and (per category) the leader are in; the
creator's context goes to the staff channel, never the thread; a duplicate is pointed to
the open ticket; Claim is for staff only; Close (reason select) posts a notice, archives and
locks the thread, and a second close is refused."""

from __future__ import annotations

import discord
import pytest

from bot.services.families import AGREEMENT_VERSION
from emulator.models import BOT_DEFAULT, PRIVATE_THREAD

MANAGE_THREADS = discord.Permissions(manage_threads=True).value


@pytest.fixture
async def desk(app):
    s = app.services
    app.emu.set_bot_permissions(app.guild, BOT_DEFAULT | MANAGE_THREADS)
    support = app.emu.create_channel(app.guild, "support")
    staff = app.emu.create_channel(app.guild, "staff")
    helpers = app.emu.create_role(app.guild, "Helpers")
    people = {"lena": app.user("lena"), "ana": app.user("ana"), "bea": app.user("bea")}
    # the support role's member joins while the bot runs: its member cache knows her role
    people["sam"] = app.emu.create_user("sam")
    app.emu.add_member(app.guild, people["sam"], [helpers])
    cached = app.bot.get_guild(app.guild.id)
    await app.emu.wait_for(lambda: cached.get_member(people["sam"].id), what="sam cached")
    family = await s.families.create(app.guild.id, app.owner.id, "Lobos", people["lena"].id)
    request = await s.families.request_join(app.guild.id, people["ana"].id, family.id,
                                            AGREEMENT_VERSION)
    await s.families.decide(app.guild.id, people["lena"].id, request.id, True)
    await s.profiles.set(app.guild.id, app.owner.id, people["ana"].id, {"handle": "ana.live"},
                         as_manager=True)
    text = await app.reply(app.owner, "ticket", {"channel": support, "staff_channel": staff},
                           subcommand="setup")
    assert "private thread" in text
    text = await app.reply(app.owner, "ticket", {"category": "technical", "role": helpers},
                           subcommand="category")
    assert "Helpers" in text or str(helpers.id) in text
    return people, support, staff


async def _open(app, user, category, subject, description, *, message=None):
    """Through the select and the modal; ``message``: the panel (else /ticket open)."""
    if message is None:
        picker = await (await app.run(user, "ticket", subcommand="open")).wait_message()
    else:
        help_id = next(c for c in message.custom_ids if c.startswith("familia:tk:help"))
        picker = await (await app.emu.click(user, message, help_id)).wait_message()
    select_id = next(c for c in picker.custom_ids if c.startswith("familia:tk:pick:"))
    chosen = await app.emu.select(user, picker, select_id, [category])
    return chosen


async def test_open_by_command_thread_members_context_claim_close(app, desk):
    people, support, staff = desk
    chosen = await _open(app, people["ana"], "technical", "Gifts not showing",
                         "Since yesterday my gifts do not show.")
    done = await chosen.submit({"subject": "Gifts not showing",
                                "description": "Since yesterday my gifts do not show."})
    assert "Your ticket #1 is open" in await done.reply_text(timeout=10)
    threads = app.emu.channels(app.guild, PRIVATE_THREAD)
    assert len(threads) == 1 and threads[0].parent_id == support.id
    thread = threads[0]
    assert thread.thread_members == {people["ana"].id, people["lena"].id, people["sam"].id,
                                     app.bot.user.id}
    assert app.emu.can_view(app.guild, people["ana"], thread)
    assert not app.emu.can_view(app.guild, people["bea"], thread)
    question = (await app.emu.wait_for(lambda: app.emu.messages(thread), timeout=10))[0]
    assert "Gifts not showing" in question.content and "Lobos" not in question.content
    context = (await app.emu.wait_for(lambda: app.emu.messages(staff), timeout=10))[0]
    for shown in ("Lobos", f"<@{people['lena'].id}>", "ana.live", f"<#{thread.id}>"):
        assert shown in context.content
    claim_id = next(c for c in question.custom_ids if c.startswith("familia:tk:claim:"))
    refused = await app.emu.click(people["ana"], question, claim_id)
    assert "support team" in await refused.reply_text()
    claimed = await app.emu.click(people["sam"], question, claim_id)
    assert "is handling ticket #1" in await claimed.reply_text()
    priority_id = next(c for c in question.custom_ids if c.startswith("familia:tk:prio:"))
    assert "support team" in await (await app.emu.click(people["ana"], question,
                                                         priority_id)).reply_text()
    raised = await app.emu.click(people["sam"], question, priority_id)
    assert "priority of ticket #1 to high" in await raised.reply_text()
    # an internal note: kept, shown in the staff channel, never in the thread
    noted = await app.run(people["sam"], "ticket", {"text": "Known gifts bug, ask eng"},
                          subcommand="note", channel=thread)
    assert "Note kept on ticket #1" in await noted.reply_text() and noted.ephemeral
    await app.emu.wait_for(lambda: any("Known gifts bug" in m.content
                                       for m in app.emu.messages(staff)), timeout=10)
    assert not any("Known gifts bug" in m.content for m in app.emu.messages(thread))
    refused = await app.run(people["ana"], "ticket", {"text": "sneaky"}, subcommand="note",
                            channel=thread)
    assert "support team" in await refused.reply_text()
    listed = await app.reply(people["sam"], "ticket", subcommand="list")
    assert "#1" in listed and "Gifts not showing" in listed and "handled by" in listed
    assert "· high" in listed
    assert "support team" in await app.reply(people["ana"], "ticket", subcommand="list")
    close_id = next(c for c in question.custom_ids if c.startswith("familia:tk:close:"))
    assert "may close it" in await (await app.emu.click(people["bea"], question,
                                                         close_id)).reply_text()
    picker = await (await app.emu.click(people["sam"], question, close_id)).wait_message()
    reason_id = next(c for c in picker.custom_ids if c.startswith("familia:tk:reason:"))
    chosen = await app.emu.select(people["sam"], picker, reason_id, ["resolved"])
    closed = await chosen.submit({"note": "Fixed by the platform's update"})
    assert "is closed" in await closed.reply_text(timeout=15)
    assert thread.archived and thread.locked
    notice = app.emu.messages(thread)[-1].content
    assert "was closed by" in notice and "> Fixed by the platform's update" in notice
    again = await app.emu.select(people["sam"], picker, reason_id, ["resolved"])
    assert "already closed" in await again.reply_text()
    ticket = await app.services.tickets.by_thread(app.guild.id, thread.id)
    assert (ticket.state, ticket.assignee_id) == ("closed", people["sam"].id)
    assert ticket.close_note == "Fixed by the platform's update"


async def test_panel_opens_and_a_duplicate_is_pointed_to_the_open_one(app, desk):
    people, _support, _staff = desk
    lobby = app.emu.create_channel(app.guild, "lobby")
    text = await app.reply(app.owner, "ticket", {"channel": lobby}, subcommand="panel")
    assert "being posted" in text
    panel = (await app.emu.wait_for(lambda: app.emu.messages(lobby), timeout=10))[0]
    assert "Need help?" in panel.content
    chosen = await _open(app, people["bea"], "safety", "x", "y", message=panel)
    done = await chosen.submit({"subject": "Harassed in my LIVE", "description": "By a viewer"})
    assert "Your ticket #1 is open" in await done.reply_text(timeout=10)
    thread = app.emu.channels(app.guild, PRIVATE_THREAD)[0]
    assert people["bea"].id in thread.thread_members
    ticket = await app.services.tickets.by_thread(app.guild.id, thread.id)
    assert ticket.via == "panel"
    again = await _open(app, people["bea"], "safety", "x", "y", message=panel)
    assert f"#1 in <#{thread.id}>" in await again.reply_text()


async def test_setup_names_the_missing_permission_and_open_needs_setup(app):
    ana = app.user("ana")
    assert "not set up" in await app.reply(ana, "ticket", subcommand="open")
    support = app.emu.create_channel(app.guild, "support")
    staff = app.emu.create_channel(app.guild, "staff")
    text = await app.reply(app.owner, "ticket", {"channel": support, "staff_channel": staff},
                           subcommand="setup")
    assert "Manage Threads" in text
    assert await app.services.tickets.settings(app.guild.id) is None


async def test_dm_intake_opens_a_ticket_and_relays_both_ways(app, desk):
    people, _support, staff = desk
    ana = people["ana"]
    app.emu.send_dm(ana, "Hello, I need help with my payout")
    prompt = (await app.emu.wait_for(
        lambda: [m for m in app.emu.dms(ana) if "support team" in m.content], timeout=10))[0]
    select_id = next(c for c in prompt.custom_ids if c.startswith("familia:tk:dm:"))
    chosen = await app.emu.select(ana, prompt, select_id, ["money"])
    done = await chosen.submit({"subject": "Payout late", "description": "Since May 1"})
    assert "Write here, in this conversation" in await done.reply_text(timeout=10)
    thread = app.emu.channels(app.guild, PRIVATE_THREAD)[0]
    assert ana.id not in thread.thread_members  # answered by relayed DMs instead
    assert not app.emu.can_view(app.guild, ana, thread)
    question = (await app.emu.wait_for(lambda: app.emu.messages(thread), timeout=10))[0]
    assert "Payout late" in question.content
    await app.emu.wait_for(lambda: app.emu.messages(staff), timeout=10)
    # staff answer with /ticket reply in the thread: the creator gets it by DM
    answer = await app.run(app.owner, "ticket", {"text": "We are checking it"},
                           subcommand="reply", channel=thread)
    assert "answered by DM" in await answer.reply_text()
    relayed = await app.emu.wait_for(
        lambda: [m for m in app.emu.dms(ana) if "We are checking it" in m.content], timeout=10)
    assert "ticket #1" in relayed[0].content
    # and the creator's DM comes back to the thread
    app.emu.send_dm(ana, "Thanks, here is the **receipt**")
    back = await app.emu.wait_for(
        lambda: [m for m in app.emu.messages(thread) if "receipt" in m.content], timeout=10)
    assert f"<@{ana.id}>" in back[0].content and "\\*\\*receipt\\*\\*" in back[0].content
    # a staff member outside the support role is refused; outside a ticket thread too
    refused = await app.run(people["bea"], "ticket", {"text": "hi"}, subcommand="reply",
                            channel=thread)
    assert "support team" in await refused.reply_text()
    elsewhere = await app.run(app.owner, "ticket", {"text": "hi"}, subcommand="reply")
    assert "not a ticket" in await elsewhere.reply_text()


async def test_a_thread_deleted_by_hand_is_detected_and_made_again(app, desk):
    people = desk[0]
    chosen = await _open(app, people["ana"], "money", "x", "y")
    done = await chosen.submit({"subject": "Bonus tier", "description": "Missing bonus"})
    assert "#1 is open" in await done.reply_text(timeout=10)
    thread = app.emu.channels(app.guild, PRIVATE_THREAD)[0]
    app.emu.delete_channel(thread)  # by hand, in Discord
    await app.emu.wait_for(lambda: app.services.tickets.without_thread(app.guild.id),
                           what="the deletion noticed")
    chosen = await _open(app, people["ana"], "money", "x", "y")
    done = await chosen.submit({"subject": "Bonus tier", "description": "Thread vanished"})
    assert "#1 is open" in await done.reply_text(timeout=10)  # the same ticket, a new thread
    threads = app.emu.channels(app.guild, PRIVATE_THREAD)
    assert len(threads) == 1 and threads[0].id != thread.id
    assert people["ana"].id in threads[0].thread_members


async def test_sla_sweep_warns_the_role_in_the_thread_and_escalates_once(app, desk):
    people, _support, _staff = desk
    managers = app.emu.create_channel(app.guild, "managers-log")
    await app.services.guilds.set_channel(app.guild.id, app.owner.id, "managers", managers.id)
    chosen = await _open(app, people["ana"], "technical", "x", "y")
    done = await chosen.submit({"subject": "Stream key", "description": "Rejected"})
    await done.reply_text(timeout=10)
    thread = app.emu.channels(app.guild, PRIVATE_THREAD)[0]
    await app.emu.wait_for(lambda: app.emu.messages(thread), timeout=10)
    cog = app.bot.get_cog("Tickets")
    app.clock.advance(hours=8)  # Technical: first answer within 8 h
    assert await cog.sla_sweep() == 2  # the breach in the thread, and the managers told
    assert await cog.sla_sweep() == 0
    helpers = app.emu.role_by_name(app.guild, "Helpers")
    late = await app.emu.wait_for(
        lambda: [m for m in app.emu.messages(thread) if "has had no answer" in m.content],
        timeout=10)
    assert late[0].content.startswith(f"🚨 <@&{helpers.id}>")
    told = await app.emu.wait_for(lambda: app.emu.messages(managers), timeout=10)
    assert "is late" in told[0].content and len(told) == 1
