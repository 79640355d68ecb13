"""The one Discord sender against the emulator: a process killed between Discord accepting a
message (or a role change) and the row being marked settles exactly once after a restart,
by reading Discord back; the sender keeps to its pace."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from bot.delivery.queue import DeliveryQueue, Send
from bot.delivery.sender import DeliverySender


class DiesAfterDiscord(DeliveryQueue):
    """A queue whose process is killed right after Discord accepted something: the mark
    that would have recorded it never happens."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, owner="dead", **kwargs)
        self.accepted = asyncio.Event()

    async def _killed(self) -> None:
        self.accepted.set()
        await asyncio.Event().wait()  # cancelled here, as by the kill

    async def part_sent(self, delivery, part, message_id):
        await self._killed()

    async def done(self, delivery, **_):
        await self._killed()


@pytest.fixture
def queue(app):
    app.bot.delivery_sender.stop()  # the running sender plays no part here
    return app.services.deliveries


async def _queue(app, *sends: Send) -> None:
    async with app.services.db.transaction() as tx:
        await app.services.deliveries.add(tx, app.guild.id, list(sends))


async def _crash_then_restart(app) -> DeliverySender:
    dead = DeliverySender(app.bot, DiesAfterDiscord(app.services.db, app.bot.clock))
    task = asyncio.create_task(dead.drain())
    await asyncio.wait_for(dead.queue.accepted.wait(), 10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    fresh = DeliverySender(app.bot, DeliveryQueue(app.services.db, app.bot.clock))
    assert await fresh.queue.take_over() == 1  # the dead process's lease runs out at once
    assert await fresh.drain() == 1
    return fresh


async def _row(app):
    return await app.services.db.fetchone("SELECT * FROM deliveries")


async def test_a_post_killed_after_discord_accepted_its_first_part_is_finished_once(app, queue):
    channel = app.emu.create_channel(app.guild, "news")
    text = ("First paragraph. " * 100).strip() + "\n\n" + ("Second paragraph. " * 100).strip()
    await _queue(app, Send("test", "post:1", "channel", channel.id, {"content": text},
                           channel_id=channel.id))
    await _crash_then_restart(app)
    posts = [m.content for m in app.emu.messages(channel)]
    assert len(posts) == 2 and "\n\n".join(posts) == text  # part 1 read back, part 2 sent
    row = await _row(app)
    assert row["state"] == "sent" and row["parts_sent"] == 2 and row["attempts"] == 2
    assert len(set(__import__("json").loads(row["message_ids"]))) == 2


async def test_a_dm_killed_after_discord_accepted_it_is_not_sent_again(app, queue):
    ana = app.user("ana")
    await _queue(app, Send("test", "dm:1", "dm", ana.id, {"content": "Hello once"}))
    await _crash_then_restart(app)
    assert [m.content for m in app.emu.dms(ana)] == ["Hello once"]
    row = await _row(app)
    assert row["state"] == "sent" and row["channel_id"] == app.emu.dm_channel(ana).id


async def test_a_role_change_killed_after_discord_applied_it_settles_by_the_roles(app, queue):
    ana = app.user("ana")
    role = app.emu.create_role(app.guild, "Gold")
    await _queue(app, Send("test", "role:1", "role_add", ana.id, role_id=role.id,
                           payload={"reason": "test"}))
    fresh = await _crash_then_restart(app)
    assert role.id in app.emu.member(app.guild, ana.id).roles
    assert (await _row(app))["state"] == "sent"
    # and taking it away goes the same way
    await _queue(app, Send("test", "role:2", "role_remove", ana.id, role_id=role.id))
    await fresh.drain()
    assert role.id not in app.emu.member(app.guild, ana.id).roles


async def test_an_edit_killed_after_discord_applied_it_settles_by_reading_the_message(
        app, queue):
    channel = app.emu.create_channel(app.guild, "news")
    await _queue(app, Send("test", "post:1", "channel", channel.id, {"content": "Before"},
                           channel_id=channel.id))
    fresh = DeliverySender(app.bot, queue)
    await fresh.drain()
    [post] = app.emu.messages(channel)
    await _queue(app, Send("test", "edit:1", "edit", channel.id,
                           {"message_id": post.id, "content": "After"}, channel_id=channel.id))
    await _crash_then_restart(app)
    assert [m.content for m in app.emu.messages(channel)] == ["After"]  # edited, nothing new
    edit = await app.services.db.fetchone(
        "SELECT state, attempts FROM deliveries WHERE dedupe_key = 'edit:1'")
    assert (edit["state"], edit["attempts"]) == ("sent", 2)
    # a message gone is a failed edit, not a new post
    await _queue(app, Send("test", "edit:2", "edit", channel.id,
                           {"message_id": post.id + 999, "content": "Lost"},
                           channel_id=channel.id))
    await fresh.drain()
    assert await app.services.db.fetchval(
        "SELECT error FROM deliveries WHERE dedupe_key = 'edit:2'") == "message_gone"
    assert [m.content for m in app.emu.messages(channel)] == ["After"]
    # of two edits of one message in flight together, the last one queued is what it says
    await _queue(app, Send("test", "edit:3", "edit", channel.id,
                           {"message_id": post.id, "content": "Third"}, channel_id=channel.id),
                 Send("test", "edit:4", "edit", channel.id,
                      {"message_id": post.id, "content": "Fourth"}, channel_id=channel.id))
    await fresh.drain()
    assert [m.content for m in app.emu.messages(channel)] == ["Fourth"]
    assert [tuple(r) for r in await app.services.db.fetchall(
        "SELECT state, outcome FROM deliveries WHERE dedupe_key IN ('edit:3', 'edit:4')"
        " ORDER BY id")] == [("sent", "already"), ("sent", "done")]  # edit:3 not made


async def test_a_closed_dm_with_a_fallback_queues_it_once(app, queue):
    ana = app.user("ana")
    channel = app.emu.create_channel(app.guild, "family")
    app.emu.close_dms(ana)
    fallback = {"kind": "test", "dedupe_key": "dm:1:fallback", "target": "channel",
                "target_id": channel.id, "channel_id": channel.id,
                "payload": {"content": f"<@{ana.id}> instead", "mentions": {"users": [ana.id]}}}
    await _queue(app, Send("test", "dm:1", "dm", ana.id,
                           {"content": "Hi", "fallback": fallback}))
    sender = DeliverySender(app.bot, queue)
    await sender.drain()
    [post] = app.emu.messages(channel)
    assert post.mentions == [ana.id]
    states = {r["dedupe_key"]: (r["state"], r["error"]) for r in await app.services.db.fetchall(
        "SELECT dedupe_key, state, error FROM deliveries")}
    assert states == {"dm:1": ("failed", "dms_closed"), "dm:1:fallback": ("sent", None)}


async def test_the_sender_keeps_to_its_pace(app, queue):
    channel = app.emu.create_channel(app.guild, "paced")
    await _queue(app, *(Send("test", f"p:{i}", "channel", channel.id, {"content": f"n{i}"},
                             channel_id=channel.id) for i in range(6)))
    sender = DeliverySender(app.bot, queue, rate=10)  # one request start per 100 ms
    started = time.monotonic()
    assert await sender.drain() == 6
    assert time.monotonic() - started >= 0.5 * 0.95
    assert sorted(m.content for m in app.emu.messages(channel)) == [f"n{i}" for i in range(6)]


@pytest.mark.slow
async def test_a_channel_gets_one_delivery_at_a_time(app, queue):
    """Eight posts queued at once for one channel, the first split in three parts: sent one
    delivery at a time, so discord.py knows the channel's 5 per 5 s from the answers' headers
    before each request (no 429, where eight at once would meet three), and the three parts
    arrive together, not interleaved with the other posts."""
    channel = app.emu.create_channel(app.guild, "busy")
    long = "\n\n".join(f"paragraph {i} " + "x" * 900 for i in range(5))  # 3 parts
    await _queue(app, Send("test", "long", "channel", channel.id, {"content": long},
                           channel_id=channel.id),
                 *(Send("test", f"b:{i}", "channel", channel.id, {"content": f"n{i}"},
                        channel_id=channel.id) for i in range(7)))
    app.emu.stats.reset()
    assert await DeliverySender(app.bot, queue).drain() == 8
    assert app.emu.stats.rate_limited == 0, app.emu.stats.rate_limited_by_route
    contents = [m.content for m in app.emu.messages(channel)]
    assert len(contents) == 10
    first = next(i for i, c in enumerate(contents) if c.startswith("paragraph 0"))
    assert all(c.startswith("paragraph") for c in contents[first:first + 3]), contents


async def test_a_post_still_rate_limited_after_discord_py_s_tries_waits_and_goes_out(app, queue):
    """A 429 storm longer than discord.py's five tries: the post is not failed ("Discord
    refused it") but waits 2 s, then 4 s …, and goes out once the storm is over."""
    channel = app.emu.create_channel(app.guild, "stormy")
    await _queue(app, Send("test", "storm:1", "channel", channel.id, {"content": "Hi"},
                           channel_id=channel.id))
    app.emu.inject_429(count=12, route="/channels/", retry_after=0.01)
    sender = DeliverySender(app.bot, queue)
    await sender.drain()
    row = await _row(app)
    assert (row["state"], row["error"]) == ("queued", "rate_limited")
    assert app.emu.messages(channel) == []
    assert await sender.drain() == 0  # not due again before its wait
    app.bot.clock.advance(seconds=2)
    await sender.drain()  # the storm's last 429s: discord.py's tries spent once more
    app.bot.clock.advance(seconds=4)
    await sender.drain()
    assert (await _row(app))["state"] == "sent"
    assert [m.content for m in app.emu.messages(channel)] == ["Hi"]


class DiskFailsOnce(DeliveryQueue):
    """A queue whose first write after Discord accepted a post fails (a full disk, an I/O
    error: faults that cannot be made to happen here, so the write raises as SQLite would)."""

    failed_writes = 0

    async def part_sent(self, delivery, part, message_id):
        if not self.failed_writes:
            self.failed_writes += 1
            import sqlite3
            raise sqlite3.OperationalError("disk I/O error")
        await super().part_sent(delivery, part, message_id)


async def test_a_post_discord_accepted_whose_record_failed_is_not_reported_refused(app, queue):
    from datetime import timedelta

    channel = app.emu.create_channel(app.guild, "news")
    await _queue(app, Send("test", "post:1", "channel", channel.id, {"content": "Once"},
                           channel_id=channel.id, source="broadcast:1"))
    sender = DeliverySender(app.bot, DiskFailsOnce(app.services.db, app.bot.clock))
    assert await sender.drain() == 1
    assert [m.content for m in app.emu.messages(channel)] == ["Once"]
    # Discord has it; only the note of it is missing: not a failure, still on its way.
    assert await sender.queue.failures("broadcast:1") == []
    assert await sender.queue.counts("broadcast:1") == {"channel": {"sending": 1}}
    # When its lease runs out it is read back, found, and recorded: sent, once.
    app.clock.set(app.clock.now() + timedelta(minutes=3))
    assert await sender.drain() == 1
    assert [m.content for m in app.emu.messages(channel)] == ["Once"]
    row = await _row(app)
    assert row["state"] == "sent" and row["error"] is None
    assert __import__("json").loads(row["message_ids"]) == [app.emu.messages(channel)[0].id]


def test_an_error_of_familia_is_not_called_a_refusal_by_discord(templates):
    def reason(locale, code):
        return templates.macro(locale, "discord/broadcasts/labels.j2", "reason", code)

    assert reason("en", "unexpected") == "an error in Familia stopped it (the log has the details)"
    assert "Discord" not in reason("es", "unexpected")
    assert reason("en", "rejected_400") == "Discord refused it (rejected_400)"
