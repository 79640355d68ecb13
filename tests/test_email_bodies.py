"""An email's bodies live apart from its outbox row (``email_bodies``): written with the row,
read when the message is built, deleted with the row, carried over from databases written
before the split."""

from __future__ import annotations

import json

from bot.db import Database, load_migrations
from bot.mail import outbox
from bot.services import Services
from tests._email import body, make_sender, verified

ANA = "ana@example.org"
BEA = "bea@example.org"


async def bodies(services) -> list[dict]:
    return [dict(r) for r in await services.db.fetchall(
        "SELECT outbox_id, subject, body_text FROM email_bodies ORDER BY outbox_id")]


def email(key: str, subject: str, recipient: str = ANA, user: int = 2) -> outbox.Email:
    return outbox.Email(recipient, "broadcast", key, subject, f"{subject} (text)",
                        f"<p>{subject}</p>", {"X-Test": "1"}, guild_id=1, user_id=user)


async def test_a_batch_queues_each_body_once_and_a_repeat_keeps_the_first(services, smtp):
    async with services.db.transaction() as tx:
        await services.members.ensure(tx, 1, 2)
        assert await outbox.enqueue_many(tx, [email("a", "First"), email("b", "Second"),
                                              email("a", "First again")], services.clock.now()) == 2
    async with services.db.transaction() as tx:  # a sweep repeated: nothing new
        assert await outbox.enqueue_many(tx, [email("b", "Changed")], services.clock.now()) == 0
    assert [b["subject"] for b in await bodies(services)] == ["First", "Second"]
    assert await make_sender(services, smtp).drain() == 2
    assert sorted(m["Subject"] for m in smtp.to(ANA)) == ["First", "Second"]
    assert {m["X-Test"] for m in smtp.to(ANA)} == {"1"}
    texts = sorted(body(m, "plain").strip() for m in smtp.to(ANA))  # any order: 4 connections
    assert texts == ["First (text)", "Second (text)"]


async def test_one_email_queued_writes_its_body_in_the_same_transaction(services):
    async with services.db.transaction() as tx:
        await services.members.ensure(tx, 1, 2)
        assert await outbox.enqueue(tx, email("one", "Hello"), services.clock.now())
        assert not await outbox.enqueue(tx, email("one", "Hello again"), services.clock.now())
        assert await tx.fetchval("SELECT count(*) FROM email_bodies") == 1
    [row] = await bodies(services)
    assert row["subject"] == "Hello"
    assert row["outbox_id"] == await services.db.fetchval("SELECT id FROM email_outbox")


async def test_an_email_deleted_between_its_claim_and_its_body_is_not_sent(services, smtp):
    """The claim and the read of the bodies are two steps; /me delete may run between them.
    The race cannot be timed from outside, so the holder's claim is wrapped to run the
    deletion right after it (a stand-in for that moment, not a mock of the database)."""
    await verified(services, 2, ANA)
    await verified(services, 3, BEA)
    async with services.db.transaction() as tx:
        await outbox.enqueue_many(tx, [email("to-ana", "For Ana"),
                                       email("to-bea", "For Bea", BEA, 3)], services.clock.now())
    sender = make_sender(services, smtp)
    claim = sender.leases.claim

    async def claim_then_delete(queue, limit):
        claimed = await claim(queue, limit)
        if claimed:
            await services.privacy.delete(1, 2)
        return claimed

    sender.leases.claim = claim_then_delete  # type: ignore[method-assign]
    await sender.drain()
    assert [m["To"] for m in smtp.messages] == [BEA]
    assert await services.db.fetchval("SELECT count(*) FROM email_outbox") == 1
    assert not sender.leases.in_hand


async def test_me_export_and_delete_take_the_members_bodies(services):
    await verified(services, 2, ANA)
    await verified(services, 3, BEA)
    async with services.db.transaction() as tx:
        await outbox.enqueue_many(tx, [email("to-ana", "For Ana"),
                                       email("to-bea", "For Bea", BEA, 3)], services.clock.now())
    exported = await services.privacy.export(1, 2)
    assert [b["subject"] for b in exported["email_bodies"]] == ["For Ana"]
    await services.privacy.delete(1, 2)
    assert [b["subject"] for b in await bodies(services)] == ["For Bea"]
    assert await services.privacy.unhandled() == []


async def test_bodies_that_would_outlive_their_email_are_reported(services):
    async with services.db.transaction() as tx:
        await tx.execute("DROP TABLE email_bodies")
        await tx.execute("CREATE TABLE email_bodies (outbox_id INTEGER PRIMARY KEY"
                         " REFERENCES email_outbox (id), subject TEXT)")
    assert await services.privacy.unhandled() == [
        "email_bodies", "email_bodies: not deleted with email_outbox"]


async def test_mail_queued_before_the_split_keeps_its_bodies_and_is_sent(
        tmp_path, settings, clock, smtp):
    migrations = load_migrations()
    split = next(i for i, m in enumerate(migrations) if m.name == "bodies_email_bodies")
    db = await Database.open(tmp_path / "old.db")
    try:
        await db.migrate(migrations[:split])
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO email_outbox (guild_id, user_id, recipient, kind, dedupe_key,"
                " subject, body_text, body_html, headers, images, next_attempt_at, created_at)"
                " VALUES (1, 2, ?, 'broadcast', 'old', 'Queued before', 'Old text',"
                " '<p>Old html</p>', ?, NULL, '2026-03-02T14:00:00+00:00',"
                " '2026-03-02T14:00:00+00:00')", (ANA, json.dumps({"X-Old": "yes"})))
        await db.migrate(migrations)
        columns = {r["name"] for r in await db.fetchall("PRAGMA table_info(email_outbox)")}
        assert not columns & {"subject", "body_text", "body_html", "headers", "images"}
        services = Services.build(db, settings, clock)
        assert await make_sender(services, smtp).drain() == 1
    finally:
        await db.close()
    [message] = smtp.to(ANA)
    assert message["Subject"] == "Queued before" and message["X-Old"] == "yes"
    assert body(message, "plain").strip() == "Old text"
    assert "<p>Old html</p>" in body(message, "html")
