"""Broadcasts service on the real SQLite file: audiences, bad input, the send queue."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from bot.cogkit.options import Refused, SendAtOption
from bot.errors import UserError
from bot.services.families import AGREEMENT_VERSION
from bot.text import PART_LIMIT, split_text

G, MANAGER = 1, 900


async def _join(services, family, user):
    # invited and accepted: their own decision, so no message tells them (these tests
    # count the queue's rows)
    invite = await services.families.invite(G, family.leader_user_id, family.id, user,
                                            as_manager=False)
    await services.families.decide(G, user, invite.id, True,
                                   agreement_version=AGREEMENT_VERSION)


@pytest.fixture
async def program(services):
    """Two families with channels (leaders 10, 20; creators 11, 12 and 21), one without."""
    red = await services.families.create(G, MANAGER, "Red", 10, channel_id=5001)
    blue = await services.families.create(G, MANAGER, "Blue", 20, channel_id=5002)
    bare = await services.families.create(G, MANAGER, "Bare", 30)
    for family, user in ((red, 11), (red, 12), (blue, 21)):
        await _join(services, family, user)
    for user in (11, 21, 10):
        await services.broadcasts.set_optin(G, user, True, 7000 + user)
    return red, blue, bare


async def _code(coro) -> str:
    with pytest.raises(UserError) as caught:
        await coro
    return caught.value.code


async def test_all_reaches_every_family_channel_and_opted_in_people(services, program):
    found = await services.broadcasts.check(G, "all", [], ("channel", "dm"))
    assert sorted(cid for _, cid in found.channels) == [5001, 5002]
    assert found.no_channel == 1
    assert sorted(found.dms) == [(10, 7010), (11, 7011), (21, 7021)]
    assert found.not_opted_in == found.people - 3


async def test_families_leaders_and_opting_out(services, program):
    red, _, _ = program
    found = await services.broadcasts.check(G, "families", [red.id], ("channel", "dm"))
    assert found.channels == [(red.id, 5001)]
    assert sorted(u for u, _ in found.dms) == [10, 11]
    leaders = await services.broadcasts.check(G, "leaders", [], ("dm",))
    assert [u for u, _ in leaders.dms] == [10]
    await services.broadcasts.set_optin(G, 10, False)
    assert await _code(services.broadcasts.check(G, "leaders", [], ("dm",))) == (
        "broadcasts.empty_audience")


async def test_bad_input_is_refused_and_nothing_is_stored(services, program, clock):
    b = services.broadcasts
    assert await _code(b.check(G, "leaders", [], ("channel",))) == (
        "broadcasts.channels_need_families")
    assert await _code(b.check(G, "families", [], ("dm",))) == "broadcasts.ids_needed"
    assert await _code(b.check(G, "all", [], ("email",))) == "broadcasts.empty_audience"
    assert await _code(b.draft(G, MANAGER, "x" * 4001, "all", [], ("channel",), False, None)
                       ) == "broadcasts.too_long"
    assert await _code(b.draft(G, MANAGER, "   ", "all", [], ("channel",), False, None)
                       ) == "broadcasts.empty_text"

    async def parse_when(guild_id, user_id, text):
        """``at`` as /broadcast new reads it: the option (its refusal), the service's check."""
        author = SimpleNamespace(guild_id=guild_id, user=SimpleNamespace(id=user_id),
                                 client=SimpleNamespace(services=services))
        try:
            when = await SendAtOption().transform(author, text)
        except Refused as refused:
            raise refused.original from None
        return await b.check_send_at(guild_id, user_id, when)

    assert await _code(parse_when(G, MANAGER, "2026-03-02 14:59")) == "broadcasts.in_past"
    assert await _code(parse_when(G, MANAGER, "tomorrow 5pm")) == "broadcasts.bad_time"
    assert await _code(parse_when(G, MANAGER, "2026-02-30 10:00")) == "broadcasts.bad_time"
    assert await services.db.fetchval("SELECT count(*) FROM broadcasts") == 0
    when = await parse_when(G, MANAGER, "2026-03-02 15:30")
    assert when == clock.now() + timedelta(minutes=30)


def test_long_text_splits_on_paragraphs_then_lines():
    para = "word " * 300  # 1,500 characters
    parts = split_text(f"{para}\n\n{para}\n{para}")
    assert len(parts) == 3 and all(len(p) <= PART_LIMIT for p in parts)
    assert parts[0] == para.strip()
    assert split_text("x" * 2500) == ["x" * 2000, "x" * 500]


async def test_confirm_queues_every_delivery_once(services, program):
    b = services.broadcasts
    made = await b.draft(G, MANAGER, "Hello families", "all", [], ("channel", "dm"),
                                 False, None)
    draft, found = made.broadcast, made.recipients
    assert draft.state == "draft"
    assert await services.db.fetchval("SELECT count(*) FROM deliveries") == 0
    sent = await b.confirm(G, MANAGER, draft.id)
    assert sent.state == "sending"
    rows = await services.db.fetchall("SELECT target, target_id, channel_id, state FROM"
                                      " deliveries ORDER BY target, target_id")
    assert len(rows) == found.total == 5
    assert await _code(b.confirm(G, MANAGER, draft.id)) == "broadcasts.not_draft"
    assert await services.db.fetchval("SELECT count(*) FROM deliveries") == 5


async def test_claim_send_fail_and_report(services, program):
    b = services.broadcasts
    draft = (await b.draft(G, MANAGER, "One\n\n" + "y" * 2500, "families",
                             [program[1].id], ("channel", "dm"), False, None)).broadcast
    await b.confirm(G, MANAGER, draft.id)
    queue = services.deliveries
    claimed = await queue.claim(10)
    assert {d.target for d in claimed} == {"channel", "dm"}
    assert await queue.claim(10) == []  # nothing is handed out twice
    channel, dm = sorted(claimed, key=lambda d: d.target)
    assert [len(p) for p in channel.parts] == [3, 2000, 500]
    assert channel.claimed_at is not None
    await queue.part_sent(channel, 0, 111)
    assert (await queue.get(channel.id)).parts_sent == 1  # half-sent stays claimed
    assert await queue.unfinished(f"broadcast:{draft.id}") == 2
    await queue.part_sent(channel, 1, 112)
    await queue.part_sent(channel, 2, 113)
    assert (await queue.get(channel.id)).message_ids == [111, 112, 113]
    await queue.failed(dm, "dms_closed")
    assert await b.finish() == [draft.id]
    report = await b.report(G, draft.id)
    assert report.broadcast.state == "done"
    assert report.count("sent") == 1 and report.count("failed") == 1
    assert report.failures == [("dm", "dms_closed", 1)]


async def test_scheduled_broadcast_starts_when_due_and_can_be_cancelled(services, program,
                                                                        clock):
    b = services.broadcasts
    later = clock.now() + timedelta(hours=1)
    draft = (await b.draft(G, MANAGER, "Later", "all", [], ("channel",), False, later)).broadcast
    assert (await b.confirm(G, MANAGER, draft.id)).state == "scheduled"
    assert await b.start_due() == []
    clock.advance(hours=1)
    assert await b.start_due() == [draft.id]
    assert await b.start_due() == []
    assert await services.db.fetchval("SELECT count(*) FROM deliveries") == 2
    other = (await b.draft(G, MANAGER, "Never", "all", [], ("channel",), False,
                             clock.now() + timedelta(hours=1))).broadcast
    await b.confirm(G, MANAGER, other.id)
    assert (await b.cancel(G, MANAGER, other.id)).state == "cancelled"
    clock.advance(hours=2)
    assert await b.start_due() == []
    assert await _code(b.cancel(G, MANAGER, draft.id)) == "broadcasts.not_cancellable"


async def test_email_route_mails_verified_addresses_with_broadcasts_on(services, program,
                                                                      smtp):
    from tests._email import body, make_sender, verified

    red, _, _ = program
    await verified(services, 11, "ana@example.org", locale="es")
    await verified(services, 12, "ben@example.org", broadcasts=False)  # opted out
    await verified(services, 21, "cruz@example.org")  # not in the audience
    found = await services.broadcasts.check(G, "families", [red.id], ("email",))
    assert [r.user_id for r in found.emails] == [11] and found.no_email == 2  # 10, 12
    text = "**Marathon** weekend <@12>!\n\nBring <#5001> friends."
    draft = (await services.broadcasts.draft(G, MANAGER, text, "families", [red.id],
                                               ("email",), False, None)).broadcast
    await services.broadcasts.confirm(G, MANAGER, draft.id)
    await make_sender(services, smtp).drain()
    [msg] = smtp.messages
    assert msg["To"] == "ana@example.org" and msg["Subject"] == "Marathon weekend @…!"
    assert "Un mensaje de los responsables del programa:" in body(msg, "plain")
    assert "Bring #… friends." in body(msg, "plain")
    html = body(msg, "html")
    assert "<strong>Marathon</strong> weekend" in html and "<p>Bring #… friends.</p>" in html
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    report = await services.broadcasts.report(G, draft.id)
    assert report.counts["email"] == {"sent": 1}
    # confirming again queues nothing more (the outbox dedupes per broadcast and person)
    with pytest.raises(UserError):
        await services.broadcasts.confirm(G, MANAGER, draft.id)
    assert await services.db.fetchval("SELECT count(*) FROM email_outbox WHERE kind ="
                                      " 'broadcast'") == 1


async def test_an_email_only_broadcast_nobody_can_receive_says_why(services, program):
    assert await _code(services.broadcasts.check(G, "all", [], ("email",))) == (
        "broadcasts.empty_audience")
