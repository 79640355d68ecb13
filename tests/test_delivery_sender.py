"""The delivery sender's pacing and failure reasons (no Discord needed)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import discord

from bot.delivery.sender import Pacer, failure_reason


def _http_error(cls, status: int, code: int):
    response = SimpleNamespace(status=status, reason="x")
    return cls(response, {"code": code, "message": "x"})


async def test_pacer_spaces_requests_evenly_even_when_called_together():
    pacer = Pacer(rate=200)  # one start every 5 ms
    starts: list[float] = []

    async def one() -> None:
        await pacer.wait()
        starts.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(21)))
    assert starts[-1] - starts[0] >= 20 * 0.005 * 0.95
    # No burst: any 10 consecutive gaps span at least 10 intervals (a late wake-up is made
    # up by the next start, never by several at once).
    assert min(starts[i + 10] - starts[i] for i in range(11)) >= 10 * 0.005 * 0.8


def test_failure_reasons_for_the_report():
    assert failure_reason(_http_error(discord.Forbidden, 403, 50007)) == "dms_closed"
    assert failure_reason(_http_error(discord.Forbidden, 403, 50013)) == "missing_permissions"
    assert failure_reason(_http_error(discord.NotFound, 404, 10003)) == "channel_gone"
    assert failure_reason(_http_error(discord.HTTPException, 400, 50035)) == "rejected_400"
    assert failure_reason(_http_error(discord.DiscordServerError, 503, 0)) is None  # retried
    assert failure_reason(OSError("reset")) is None


# -- the queue on a real SQLite file ----------------------------------------------------------

async def test_a_lease_that_ran_out_is_claimed_again_as_resumed(services, clock):
    from bot.delivery.queue import DeliveryQueue, Send

    async with services.db.transaction() as tx:
        await services.deliveries.add(tx, 1, [Send("test", "k", "dm", 42, {"content": "x"})])
        assert await services.deliveries.add(tx, 1, [Send("test", "k", "dm", 42)]) == 0
    first = DeliveryQueue(services.db, clock, owner="first")
    other = DeliveryQueue(services.db, clock, owner="other")
    [claimed] = await first.claim()
    assert not claimed.resumed and claimed.attempts == 1
    assert await other.claim() == []  # leased
    clock.advance(minutes=3)  # the lease (2 minutes) ran out: its process died
    [again] = await other.claim()
    assert again.id == claimed.id and again.resumed and again.attempts == 2
    await other.release(again)
    [back] = await other.claim()
    assert back.attempts == 2 and not back.resumed


async def test_read_back_matches_by_nonce_or_else_by_content():
    """Discord returns a message's nonce when it is created, not in history: there, the
    content of the part decides (the emulator returns nonces, so this is checked here)."""
    from datetime import UTC, datetime

    from bot.delivery.queue import Delivery
    from bot.delivery.sender import DeliverySender

    me = SimpleNamespace(id=1)

    def message(mid, content, nonce=None, author=me):
        return SimpleNamespace(id=mid, content=content, nonce=nonce, author=author)

    class Channel:
        def __init__(self, messages):
            self.messages = messages

        def history(self, **_):
            async def pages():
                for m in self.messages:
                    yield m
            return pages()

    delivery = Delivery(7, 1, "test", None, "channel", 5, None, 5,
                        {"parts": ["one", "two", "three"]}, 1, 1, [100], datetime.now(UTC),
                        resumed=True)
    sender = DeliverySender(SimpleNamespace(user=me), None, rate=1000)  # type: ignore[arg-type]
    history = [message(200, "two"), message(201, "two", author=SimpleNamespace(id=2)),
               message(202, "other"), message(203, "three")]
    assert await sender.read_back(delivery, Channel(history)) == [200, 203]
    with_nonces = [message(300, "two", nonce="d7p2"), message(301, "changed", nonce="d7p1")]
    assert await sender.read_back(delivery, Channel(with_nonces)) == [301]


async def test_upgrade_moves_unfinished_broadcast_deliveries_into_the_queue(tmp_path):
    """A broadcast queued (or half-sent) at upgrade time is still sent once: its rows move
    to the delivery queue, a claimed one resumed with the nonce it was sent with."""
    import json

    from bot.db import Database, load_migrations

    migrations = load_migrations()
    db = await Database.open(tmp_path / "up.db")
    try:
        await db.migrate(migrations[:9])
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO broadcasts (id, guild_id, author_id, text, audience, routes,"
                " allow_everyone, state, created_at, started_at) VALUES (4, 1, 9, 'Hi all',"
                " 'all', 'channel,dm', 1, 'sending', 't0', 't1')")
            await tx.executemany(
                "INSERT INTO broadcast_deliveries (id, broadcast_id, guild_id, route,"
                " target_id, channel_id, state, parts_sent, attempts, message_id, claimed_at,"
                " sent_at) VALUES (?, 4, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(1, "channel", 30, 500, "sent", 1, 1, 900, "t1", "t2"),
                 (2, "channel", 31, 501, "claimed", 0, 1, None, "t1", None),
                 (3, "dm", 77, None, "pending", 0, 0, None, None, None)])
        await db.migrate(migrations)
        rows = {r["id"]: r for r in await db.fetchall("SELECT * FROM deliveries ORDER BY id")}
        assert {i: (r["target"], r["target_id"], r["state"]) for i, r in rows.items()} == {
            1: ("channel", 500, "sent"), 2: ("channel", 501, "sending"), 3: ("dm", 77, "queued")}
        assert json.loads(rows[1]["message_ids"]) == [900]
        assert json.loads(rows[2]["payload"]) == {
            "content": "Hi all", "mentions": {"everyone": True}, "nonce": "b2"}
        assert rows[2]["lease_until"] == "t1"  # long run out: resumed and read back
        assert {r["source"] for r in rows.values()} == {"broadcast:4"}
    finally:
        await db.close()


async def test_upgrade_hands_unfinished_campaign_posts_and_rewards_to_the_queue(tmp_path):
    """At upgrade time a post the old poster left claimed becomes pending again with its
    claim time (handed over, it is read back first); a reward role not given yet becomes a
    role addition in the queue; finished rows keep their record."""
    from bot.db import Database, load_migrations

    migrations = load_migrations()
    db = await Database.open(tmp_path / "up.db")
    try:
        await db.migrate(migrations[:10])
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO campaigns (id, guild_id, name, starts_at, ends_at, first_day,"
                " last_day, timezone, audience, metric, target_creator, reward_role_id,"
                " enrolment, state, created_by, created_at, updated_at, finished_at)"
                " VALUES (3, 1, 'Push', 't0', 't9', '2026-03-01', '2026-03-07', 'UTC', 'all',"
                " 'hours', 5, 77, 'optin', 'finished', 9, 't0', 't0', 't9')")
            await tx.executemany(
                "INSERT INTO campaign_posts (id, campaign_id, guild_id, stage, family_id,"
                " channel_id, state, attempts, message_id, queued_at, claimed_at, sent_at)"
                " VALUES (?, 3, 1, ?, 5, 500, ?, ?, ?, 't0', ?, ?)",
                [(1, "start", "sent", 1, 900, "t1", "t2"),
                 (2, "midway", "claimed", 1, None, "t4", None),
                 (3, "results", "pending", 0, None, None, None)])
            await tx.executemany(
                "INSERT INTO campaign_results (campaign_id, guild_id, user_id, participant,"
                " value, before, reached, reward_state) VALUES (3, 1, ?, 1, 6, 0, 1, ?)",
                [(30, "granted"), (31, "pending")])
        await db.migrate(migrations)
        posts = {r["id"]: (r["state"], r["claimed_at"]) for r in await db.fetchall(
            "SELECT id, state, claimed_at FROM campaign_posts")}
        assert posts == {1: ("sent", "t1"), 2: ("pending", "t4"), 3: ("pending", None)}
        [reward] = await db.fetchall("SELECT * FROM deliveries")
        assert (reward["target"], reward["target_id"], reward["role_id"], reward["state"],
                reward["dedupe_key"]) == ("role_add", 31, 77, "queued", "campaign-reward:3:31")
    finally:
        await db.close()


async def test_a_resumed_row_is_read_back_from_the_claim_that_may_have_landed(services, clock):
    """Claimed again after its lease ran out, a row keeps the time of the claim whose send
    may have reached Discord (the read-back looks from there), however late the restart; a
    row queued again after a failure is claimed afresh."""
    from datetime import timedelta

    from bot.delivery.queue import DeliveryQueue, Send

    async with services.db.transaction() as tx:
        await services.deliveries.add(tx, 1, [
            Send("test", "k", "channel", 5, {"content": "x"}, channel_id=5)])
    [dead] = await DeliveryQueue(services.db, clock, owner="dead").claim()
    clock.set(clock.now() + timedelta(minutes=10))  # the process died; restarted later
    fresh = DeliveryQueue(services.db, clock)
    await fresh.take_over()
    [resumed] = await fresh.claim()
    assert resumed.resumed and resumed.claimed_at == dead.claimed_at
    await fresh.retry(resumed, "TimeoutError")
    clock.set(clock.now() + timedelta(minutes=1))
    [again] = await fresh.claim()
    assert not again.resumed and again.claimed_at == clock.now()
