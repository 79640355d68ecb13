"""The broadcast sender: drains ``broadcast_deliveries`` to Discord, exactly once.

One owned task (``bot.spawn``) per bot, woken on confirm and by the sweep. It claims a small
batch of pending rows (``claimed`` + ``claimed_at`` in one transaction), sends each part with
a nonce derived from the delivery and part and ``enforce_nonce`` (Discord deduplicates a repeat
within minutes), and marks the part sent with its message id in its own transaction.

Exactly-once rule, after a process died: a row still ``claimed`` when the sender starts is
ambiguous. For each such row, the target channel's history since ``claimed_at`` (minus a
minute of clock slack) is read; a message from the bot whose content is exactly the next
unsent part counts as that part sent (its id is recorded). Only parts not found there are sent
again (still with the same nonce). A row that never got a DM channel was never sent.

Requests are paced client-side (a gap of 1/``rate`` s between request starts, default 48/s,
under Discord's 50/s global limit) with a few requests in flight, so the global limit is not
hit; per-route limits are left to discord.py, which waits on the rate-limit headers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.http import Route

from bot.services.broadcasts import Delivery

if TYPE_CHECKING:
    from bot.app import FamiliaBot

log = logging.getLogger(__name__)

RESOLVE_SLACK = timedelta(seconds=60)
RESOLVE_PAGES = 5
MAX_ATTEMPTS = 3


class Pacer:
    """At most ``rate`` request starts per second, evenly spaced (no bursts)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
            self._next = max(now, self._next) + self.interval


def failure_reason(error: Exception) -> str | None:
    """A short reason for the report, or None when the error is worth retrying."""
    if isinstance(error, discord.Forbidden):
        return "dms_closed" if error.code == 50007 else "missing_permissions"
    if isinstance(error, discord.NotFound):
        return "channel_gone"
    if isinstance(error, discord.DiscordServerError):
        return None
    if isinstance(error, discord.HTTPException):
        return f"rejected_{error.status}"
    if isinstance(error, aiohttp.ClientError | OSError | asyncio.TimeoutError):
        return None
    return "unexpected"


class BroadcastSender:
    def __init__(self, bot: FamiliaBot, rate: float = 48.0, concurrency: int = 10) -> None:
        self.bot = bot
        self.pacer = Pacer(rate)
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._task: asyncio.Task[object] | None = None

    @property
    def queue(self):
        return self.bot.services.broadcasts

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = self.bot.spawn(self._run(), "broadcast-sender")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        resolved = False
        while True:
            self._wake.clear()
            try:
                if not resolved:  # nothing new is claimed before the last run's rows settle
                    await self.resolve_ambiguous()
                    resolved = True
                await self.drain()
                await self.queue.finish()
            except Exception:  # keep the loop alive; the rows stay in the queue
                log.exception("broadcast sender pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=60)
            except TimeoutError:
                pass

    async def drain(self) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task[None]] = set()

        async def one(delivery: Delivery) -> None:
            try:
                await self.deliver(delivery)
            finally:
                slots.release()

        try:
            while batch := await self.queue.claim():
                for delivery in batch:
                    await slots.acquire()
                    task = asyncio.create_task(one(delivery))
                    running.add(task)
                    task.add_done_callback(running.discard)
            if running:
                await asyncio.gather(*running)
        finally:  # cancelled (shutdown): the rows in flight stay claimed, resolved next start
            for task in list(running):
                task.cancel()

    async def deliver(self, delivery: Delivery) -> None:
        try:
            channel_id = delivery.channel_id
            if channel_id is None:
                await self.pacer.wait()
                data = await self.bot.http.start_private_message(delivery.target_id)
                channel_id = int(data["id"])
                await self.queue.set_channel(delivery, channel_id)
            parts = delivery.parts
            for index in range(delivery.parts_sent, len(parts)):
                await self.pacer.wait()
                sent = await self.post(channel_id, parts[index], f"b{delivery.id}p{index}",
                                       delivery.allow_everyone)
                await self.queue.part_sent(delivery, index, int(sent["id"]))
        except Exception as exc:
            reason = failure_reason(exc)
            if reason is None and await self._attempts(delivery) < MAX_ATTEMPTS:
                log.warning("delivery %s will be retried (%s)", delivery.id, exc)
                await self.queue.release(delivery)
            else:
                if reason == "unexpected":
                    log.exception("delivery %s failed", delivery.id)
                await self.queue.failed(delivery, reason or "discord_unavailable")

    async def _attempts(self, delivery: Delivery) -> int:
        return int(await self.bot.db.fetchval(
            "SELECT attempts FROM broadcast_deliveries WHERE id = ?", (delivery.id,)) or 0)

    async def post(self, channel_id: int, content: str, nonce: str,
                   allow_everyone: bool) -> dict[str, Any]:
        mentions = discord.AllowedMentions(everyone=allow_everyone, users=False, roles=False,
                                           replied_user=False)
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        return await self.bot.http.request(route, json={
            "content": content, "nonce": nonce, "enforce_nonce": True,
            "allowed_mentions": mentions.to_dict(),
        })

    # -- after a crash -----------------------------------------------------------------------

    async def resolve_ambiguous(self) -> int:
        """Settle rows a dead process left ``claimed`` (see the module docstring)."""
        settled = 0
        for delivery in await self.queue.ambiguous():
            try:
                found = await self._already_sent(delivery)
            except discord.HTTPException as exc:
                await self.queue.failed(delivery, failure_reason(exc) or "discord_unavailable")
                continue
            for offset, message_id in enumerate(found):
                await self.queue.part_sent(delivery, delivery.parts_sent + offset, message_id)
            if delivery.parts_sent + len(found) < len(delivery.parts):
                await self.queue.release(delivery)
            settled += 1
        if settled:
            log.info("resolved %d broadcast deliveries left claimed by a previous run", settled)
        return settled

    async def _already_sent(self, delivery: Delivery) -> list[int]:
        """Ids of the delivery's unsent parts already on Discord, in order (maybe none)."""
        if delivery.channel_id is None or delivery.claimed_at is None:
            return []
        wanted = delivery.parts[delivery.parts_sent:]
        me = self.bot.user.id if self.bot.user else 0
        after = discord.utils.time_snowflake(delivery.claimed_at - RESOLVE_SLACK)
        mine: list[tuple[int, str]] = []
        for _ in range(RESOLVE_PAGES):
            await self.pacer.wait()
            route = Route("GET", "/channels/{channel_id}/messages",
                          channel_id=delivery.channel_id)
            page = await self.bot.http.request(route, params={"after": after, "limit": 100})
            if not page:
                break
            mine += [(int(m["id"]), m.get("content", "")) for m in page
                     if int(m["author"]["id"]) == me]
            after = max(int(m["id"]) for m in page)
            if len(page) < 100:
                break
        found: list[int] = []
        for message_id, content in sorted(mine):
            if len(found) < len(wanted) and content == wanted[len(found)]:
                found.append(message_id)
        return found
