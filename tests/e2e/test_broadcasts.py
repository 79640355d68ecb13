"""/broadcast end to end: modal, preview, confirm, fan-out, mentions, report, opt-in, errors,
and the exactly-once rule after a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.delivery.queue import DeliveryQueue
from bot.delivery.sender import DeliverySender
from bot.services.families import AGREEMENT_VERSION


@pytest.fixture
async def program(app):
    """Two families with channels; ana (red) opts in to DMs, ben (blue) does not."""
    s = app.services
    people = {n: app.user(n) for n in ("lena", "leo", "ana", "ben")}
    families = {}
    for name, leader, member in (("Red", "lena", "ana"), ("Blue", "leo", "ben")):
        channel = app.emu.create_channel(app.guild, f"family-{name.lower()}")
        family = await s.families.create(app.guild.id, app.owner.id, name,
                                         people[leader].id, channel_id=channel.id)
        # invited and accepted: their own decision, nobody is told (DMs are counted)
        invite = await s.families.invite(app.guild.id, people[leader].id, family.id,
                                         people[member].id, as_manager=False)
        await s.families.decide(app.guild.id, people[member].id, invite.id, True,
                                agreement_version=AGREEMENT_VERSION)
        families[name] = channel
    text = await app.reply(people["ana"], "broadcast", {"enabled": True}, subcommand="optin")
    assert "as direct messages" in text
    return people, families


def _button(message, prefix):
    return next(c for c in message.custom_ids if c.startswith(prefix))


async def _finished(app):
    async def done():
        await app.services.broadcasts.finish()
        return not await app.services.db.fetchval(
            "SELECT count(*) FROM broadcasts WHERE state = 'sending'")
    rows = await app.services.db.fetchall("SELECT * FROM deliveries")
    await app.emu.wait_for(done, what=f"broadcast done {[dict(r) for r in rows]}")


async def _draft(app, text, options=None):
    it = await app.run(app.owner, "broadcast",
                       {"audience": "all", "routes": "channel,dm", **(options or {})},
                       subcommand="new")
    return await it.submit({"text": text})


async def test_preview_confirm_fan_out_and_report(app, program):
    people, channels = program
    body = "Live marathon this Saturday! @everyone bring your best."
    preview = await _draft(app, body)
    msgs = await preview.wait_followups(1)
    head = preview.messages[0]
    assert preview.ephemeral and "2 family channels" in head.content
    assert "1 person who opted in" in head.content and "will not notify anyone" in head.content
    assert msgs[-1].content == body  # the message exactly as it will be posted
    assert not app.emu.messages(channels["Red"])  # nothing sent before confirming
    done = await app.emu.click(app.owner, head, _button(head, "familia:bc:confirm:"))
    assert "is being sent" in await done.reply_text()
    for channel in channels.values():
        posts = await app.emu.wait_for(lambda c=channel: app.emu.messages(c))
        assert [p.content for p in posts] == [body]
        assert posts[0].mention_everyone is False
    dms = await app.emu.wait_for(lambda: app.emu.dms(people["ana"]))
    assert [m.content for m in dms] == [body]
    assert app.emu.dms(people["ben"]) == []  # did not opt in
    await _finished(app)
    report = await app.reply(app.owner, "broadcast", subcommand="report")
    assert "finished" in report and "2 sent, 0 failed" in report and "1 sent, 0 failed" in report


async def test_everyone_pings_only_when_ticked_and_closed_dms_are_reported(app, program):
    people, channels = program
    app.emu.close_dms(people["ana"])
    preview = await _draft(app, "@everyone we are live", {"everyone": True})
    head = (await preview.wait_message())
    assert "will notify people" in head.content
    await (await app.emu.click(app.owner, head, _button(head, "familia:bc:confirm:"))
           ).reply_text()
    posts = await app.emu.wait_for(lambda: app.emu.messages(channels["Blue"]))
    assert posts[0].mention_everyone is True
    await _finished(app)
    report = await app.reply(app.owner, "broadcast", subcommand="report")
    assert "does not accept DMs" in report and "0 sent, 1 failed" in report


async def test_long_text_is_split_and_bad_input_refused(app, program):
    _, channels = program
    para = "Schedule details. " * 100  # 1,800 characters
    preview = await _draft(app, f"{para}\n\n{para}")
    head = await preview.wait_message()
    assert "2 messages exactly as they will be posted" in head.content
    await (await app.emu.click(app.owner, head, _button(head, "familia:bc:confirm:"))
           ).reply_text()
    posts = await app.emu.wait_for(lambda: len(app.emu.messages(channels["Red"])) == 2
                                   and app.emu.messages(channels["Red"]))
    assert [p.content for p in posts] == [para.strip(), para.strip()]
    refused = await app.reply(app.owner, "broadcast",
                              {"audience": "all", "routes": "dm", "at": "2020-01-01 10:00"},
                              subcommand="new")
    assert "is in the past" in refused
    refused = await app.reply(app.owner, "broadcast", {"audience": "leaders", "routes": "dm"},
                              subcommand="new")
    assert "Nobody would receive this broadcast" in refused
    refused = await app.reply(app.owner, "broadcast", {"audience": "leaders", "routes": "dm"},
                              subcommand="new", locale="es-419")
    assert "Nadie recibiría este anuncio" in refused
    opened = await app.run(app.owner, "broadcast", {"audience": "all", "routes": "dm"},
                           subcommand="new")
    too_long = await opened.submit({"text": "x" * 4001})
    assert "at most 4,000" in await too_long.reply_text()
    creator = program[0]["ben"]
    refused = await app.reply(creator, "broadcast", {"audience": "all", "routes": "dm"},
                              subcommand="new")
    assert "Only program managers" in refused
    assert await app.services.db.fetchval("SELECT count(*) FROM broadcasts") == 1


async def test_scheduled_broadcast_waits_for_its_time(app, program):
    _, channels = program
    when = (app.clock.now() + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    preview = await _draft(app, "Later news", {"at": when})
    head = await preview.wait_message()
    confirmed = await app.emu.click(app.owner, head, _button(head, "familia:bc:confirm:"))
    assert "is scheduled for" in await confirmed.reply_text()
    assert await app.services.broadcasts.start_due() == []
    assert app.emu.messages(channels["Red"]) == []


async def test_a_delivery_left_claimed_by_a_crash_is_not_sent_twice(app, program):
    """A previous process claimed two rows and posted one of them before dying."""
    _, channels = program
    b = app.services.broadcasts
    draft = (await b.draft(app.guild.id, app.owner.id, "Exactly once", "all", [],
                             ("channel",), False, None)).broadcast
    app.bot.delivery_sender.stop()  # the running sender plays no part here
    await b.confirm(app.guild.id, app.owner.id, draft.id)
    red, _ = sorted(await app.services.deliveries.claim(10),
                    key=lambda d: d.target_id != channels["Red"].id)
    dead = app.bot.get_partial_messageable(red.channel_id)
    await dead.send("Exactly once", nonce=red.nonce(0))  # then it died
    fresh = DeliverySender(app.bot, DeliveryQueue(app.services.db, app.bot.clock))
    assert await fresh.queue.take_over() == 2
    assert await fresh.drain() == 2
    assert [p.content for p in app.emu.messages(channels["Red"])] == ["Exactly once"]
    assert [p.content for p in app.emu.messages(channels["Blue"])] == ["Exactly once"]
    report = await b.report(app.guild.id, draft.id)
    assert report.count("sent") == 2


async def test_enforce_nonce_returns_the_first_message(app, program):
    _, channels = program
    channel = app.bot.get_partial_messageable(channels["Red"].id)
    first = await channel.send("once", nonce="b9p0")  # discord.py sets enforce_nonce
    again = await channel.send("once", nonce="b9p0")
    assert first.id == again.id
    other = await channel.send("once", nonce="b9p1")
    assert other.id != first.id
    assert len(app.emu.messages(channels["Red"])) == 2


async def test_email_route_through_a_real_smtp_server(app, program, smtp):
    from bot.mail.smtp import Connection
    from tests._email import body, smtp_config

    sender = app.bot.email_sender
    sender.config = smtp_config(smtp)
    sender.connections = [Connection(sender.config)]
    people, channels = program
    async with app.services.db.transaction() as tx:  # ben verified his address earlier
        await tx.execute(
            "INSERT INTO email_addresses (guild_id, user_id, address, verified_at, created_at,"
            " updated_at) VALUES (?, ?, 'ben@example.org', 'x', 'x', 'x')",
            (app.guild.id, people["ben"].id))
    preview = await _draft(app, "Marathon **Saturday**.", {"routes": "email"})
    await preview.wait_followups(1)
    head = preview.messages[0]
    assert "Email: 1 address (3 have no verified address with broadcasts on)" in head.content
    done = await app.emu.click(app.owner, head, _button(head, "familia:bc:confirm:"))
    assert "is being sent" in await done.reply_text()
    [msg] = await app.emu.wait_for(lambda: smtp.to("ben@example.org"), what="the email")
    assert msg["Subject"] == "Marathon Saturday." and "Marathon **Saturday**." in body(
        msg, "plain")
    assert not app.emu.messages(channels["Red"]) and app.emu.dms(people["ana"]) == []
    await _finished(app)
    report = await app.reply(app.owner, "broadcast", subcommand="report")
    assert "Email: 1 sent, 0 failed, 0 waiting" in report
