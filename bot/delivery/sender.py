"""The one Discord sender: drains the ``deliveries`` queue, exactly once.

One owned task per bot, woken when a service queues something (:meth:`DeliveryQueue.notify`)
and at least every minute. It claims a small batch of due rows under a lease and works a few
at a time: a channel post or DM is sent part by part, each part with a nonce derived from the
row and the part (discord.py's ``send(nonce=…)`` also sets ``enforce_nonce``: Discord answers
a repeat within minutes with the first message), and each part is recorded with its message
id as soon as Discord accepted it; a role change is applied to the member.

Exactly-once rule, one for every kind: a row claimed back from a lease that ran out (its
process died between Discord accepting and the mark; at start-up the sender takes over every
lease of a previous process) is *read back* before anything is sent again:
- a post or DM: the target channel's history since the claim (minus a minute of clock slack);
  a message from the bot is the next unsent part when it carries that part's nonce, or, when
  Discord does not return nonces in history (real Discord does not), when its content is the
  part's content. Found parts are recorded; only the rest is sent (with the same nonces).
- an edit (``edit``: the payload's ``message_id`` gets its ``content`` and ``components``):
  the message as Discord has it; already saying so, it is done (an edit is idempotent). Of
  the edits of one message, only the last one queued is made.
- a role change: the member's roles; a role already there (or already gone) is done. A role
  found in place on a first attempt is recorded as ``already`` (a campaign's "already had
  it"); on a resumed one it may be our own change, so it counts as done.

Requests are paced client-side (a gap of 1/``rate`` s between request starts, default 48/s,
under Discord's 50/s global limit) with a few requests in flight, so the global limit is not
hit; per-route limits are left to discord.py, which waits on the rate-limit headers, and a
channel gets one delivery at a time, so those headers are known before its next request.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import timedelta
from typing import Any

import aiohttp
import discord

from bot import limits
from bot.delivery.queue import (
    MAX_ATTEMPTS,
    RATE_LIMITED_ATTEMPTS,
    RATE_LIMITED_MAX_WAIT,
    RATE_LIMITED_WAIT,
    Delivery,
    DeliveryQueue,
)
from bot.leases import LeaseLost
from bot.text import fit

log = logging.getLogger(__name__)

RESOLVE_SLACK = timedelta(seconds=60)
RESOLVE_MESSAGES = 500
POLL_SECONDS = 60.0
DM_OPEN_RATE = 8.0


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
        return {10007: "member_gone", 10008: "message_gone", 10011: "role_gone",
                10013: "user_gone"}.get(
            error.code, "channel_gone")
    if isinstance(error, discord.DiscordServerError) or rate_limited(error):
        return None
    if isinstance(error, discord.HTTPException):
        return f"rejected_{error.status}"
    if isinstance(error, aiohttp.ClientError | OSError | asyncio.TimeoutError):
        return None
    return "unexpected"


def rate_limited(error: Exception) -> bool:
    """Discord still said 429 once discord.py's own waits were spent: worth a later try."""
    return isinstance(error, discord.RateLimited) or (
        isinstance(error, discord.HTTPException) and error.status == 429)


def allowed_mentions(payload: dict[str, Any]) -> discord.AllowedMentions:
    """Nothing pings unless the payload says so: ``everyone`` (bool), ``users`` and
    ``roles`` (ids)."""
    wanted = payload.get("mentions") or {}
    users = wanted.get("users") or []
    roles = wanted.get("roles") or []
    return discord.AllowedMentions(
        everyone=bool(wanted.get("everyone")), replied_user=False,
        roles=[discord.Object(r) for r in roles] if roles else False,
        users=[discord.Object(u) for u in users] if users else False)


def buttons(payload: dict[str, Any]) -> discord.ui.View | None:
    """The payload's ``components`` (as ``View.to_components()`` wrote them when the row was
    queued) as buttons and string selects; their custom ids are handled by the bot's
    persistent items."""
    rows = payload.get("components") or []
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for number, row in enumerate(rows):
        for item in row.get("components", []):
            if item.get("type") == 3:  # a string select (a DM's category picker)
                view.add_item(discord.ui.Select(
                    custom_id=item["custom_id"], placeholder=item.get("placeholder"),
                    min_values=item.get("min_values", 1), max_values=item.get("max_values", 1),
                    options=[discord.SelectOption(label=o["label"], value=o["value"])
                             for o in item.get("options", [])], row=number))
                continue
            emoji = item.get("emoji")
            view.add_item(discord.ui.Button(
                style=discord.ButtonStyle(item.get("style", 2)), label=item.get("label"),
                custom_id=item.get("custom_id"), url=item.get("url"),
                emoji=discord.PartialEmoji.from_dict(emoji) if emoji else None,
                disabled=item.get("disabled", False), row=number))
    return view


def files(payload: dict[str, Any]) -> list[discord.File]:
    """The payload's ``files``: [{"filename", "data" (base64)}]."""
    return [discord.File(io.BytesIO(base64.b64decode(f["data"])), filename=f["filename"])
            for f in payload.get("files") or []]


class DeliverySender:
    def __init__(self, client: discord.Client, queue: DeliveryQueue, *, rate: float = 48.0,
                 concurrency: int = 16, batch: int = 16, new_dm_concurrency: int = 4,
                 role_concurrency: int = 2) -> None:
        self.client = client
        self.queue = queue
        self.pacer = Pacer(rate)
        # Opening DM channels has a tighter limit of its own (Discord: about 10 a second).
        self.dm_pacer = Pacer(min(rate, DM_OPEN_RATE))
        self.lanes = (concurrency, new_dm_concurrency, role_concurrency)  # see queue.LANES
        self.batch = batch
        self._task: asyncio.Task[None] | None = None
        # one delivery at a time per channel (see _one_channel): channel id → lock, users
        self._channels: dict[int, tuple[asyncio.Lock, int]] = {}

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Run until :meth:`stop` (a no-op while running). The task is kept and its failure
        logged; the rows stay in the queue."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="delivery-sender")
            self._task.add_done_callback(_log_end)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def close(self) -> None:
        """Stop and wait until the task has ended (rows in flight stay leased: the next
        start reads them back)."""
        self.stop()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def wake(self) -> None:
        self.queue.notify()

    async def run(self) -> None:
        await self.client.wait_until_ready()
        try:
            await self.queue.take_over()
            while True:
                try:
                    await self.drain()
                except Exception:  # keep the loop alive; the rows stay in the queue
                    log.exception("delivery sender pass failed")
                # a new row wakes it at once; a retry set later is tried when due (a row
                # due but not taken — its channel busy — is looked at again within 1 s)
                due = await self.queue.next_due_in()
                await self.queue.wait_queued(POLL_SECONDS if due is None
                                             else min(POLL_SECONDS, max(due + 0.05, 1.0)))
        finally:  # rows in flight keep their lease (no longer renewed): resumed next start
            await self.queue.stop()

    async def drain(self) -> int:
        """Deliver everything due now; returns how many rows were tried. Messages, DMs whose
        channel is still to open and role changes go in lanes, each a few at a time, all
        under the one pacer."""
        total = 0
        while tried := sum(await asyncio.gather(*(  # again: a refused DM queues its fallback
                self._drain(lane, concurrency) for lane, concurrency in enumerate(self.lanes)))):
            total += tried
        return total

    async def _drain(self, lane: int, concurrency: int) -> int:
        slots = asyncio.Semaphore(concurrency)
        running: set[asyncio.Task[None]] = set()
        tried = 0

        async def one(delivery: Delivery) -> None:
            try:
                await self.deliver(delivery)
            finally:
                self.queue.let_go(delivery)  # settled, or left to its lease (cancelled)
                slots.release()

        try:
            while True:
                while batch := await self.queue.claim(min(self.batch, concurrency),
                                                      lane=lane):
                    for delivery in batch:
                        await slots.acquire()
                        task = asyncio.create_task(one(delivery))
                        running.add(task)
                        task.add_done_callback(running.discard)
                        tried += 1
                if not running:
                    break
                # then look again: a row that just failed may have queued its fallback
                await asyncio.gather(*running)
        finally:  # cancelled (shutdown): rows in flight keep their lease, resumed next start
            for task in list(running):
                task.cancel()
        return tried

    # -- one row -----------------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> None:
        """Make one delivery and settle it; a row taken back meanwhile (its lease lost) is
        left to the one who has it now, which reads Discord back before sending."""
        try:
            await self._attempt(delivery)
        except LeaseLost:
            log.warning("delivery %s was taken back; left to its new holder", delivery.id)
        except NotRecorded as exc:
            # Discord has it (or part of it); only our note of it is missing. Not a failure:
            # left to its lease, the row is resumed and read back, and then recorded.
            log.error("delivery %s reached Discord but could not be recorded (%s); it will be"
                      " read back when its lease runs out", delivery.id, exc.__cause__)

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            if delivery.target in ("role_add", "role_remove"):
                await self._change_role(delivery)
            elif delivery.target == "edit":
                await self._edit(delivery)
            else:
                await self._post(delivery)
        except (LeaseLost, NotRecorded):
            raise
        except Exception as exc:
            reason = failure_reason(exc)
            if rate_limited(exc) and delivery.attempts < RATE_LIMITED_ATTEMPTS:
                wait = min(RATE_LIMITED_WAIT * 2 ** (delivery.attempts - 1),
                           RATE_LIMITED_MAX_WAIT)
                log.warning("delivery %s rate limited: retried in %s", delivery.id, wait)
                await self.queue.retry(delivery, "rate_limited", wait)
            elif reason is None and not rate_limited(exc) and delivery.attempts < MAX_ATTEMPTS:
                log.warning("delivery %s will be retried (%s)", delivery.id, exc)
                await self.queue.retry(delivery, type(exc).__name__)
            else:
                if reason == "unexpected":
                    log.exception("delivery %s failed", delivery.id)
                await self.queue.failed(delivery, reason or (
                    "rejected_429" if rate_limited(exc) else "discord_unavailable"))

    @staticmethod
    async def _recorded(write: Awaitable[None]) -> None:
        """Record what Discord accepted; a failure to write it is :class:`NotRecorded`, never
        taken for Discord's refusal."""
        try:
            await write
        except LeaseLost:
            raise
        except Exception as exc:
            raise NotRecorded(str(exc)) from exc

    @contextlib.asynccontextmanager
    async def _one_channel(self, channel_id: int) -> AsyncIterator[None]:
        """One delivery at a time in a channel. Discord allows a channel 5 messages per 5 s;
        discord.py learns a bucket from the first answer's headers, so requests sent to it
        at once before that meet 429s. One at a time, each waits on the headers of the one
        before; and the parts of a split message are never interleaved with another post."""
        lock, users = self._channels.get(channel_id, (asyncio.Lock(), 0))
        self._channels[channel_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._channels[channel_id]
            if users == 1:
                del self._channels[channel_id]
            else:
                self._channels[channel_id] = (lock, users - 1)

    async def _post(self, delivery: Delivery) -> None:
        channel_id = delivery.channel_id
        if channel_id is None:  # a DM never opened: nothing of it can be on Discord
            await self.dm_pacer.wait()
            await self.pacer.wait()
            channel_id = (await self.client.create_dm(discord.Object(delivery.target_id))).id
            await self._recorded(self.queue.set_channel(delivery, channel_id))
        async with self._one_channel(channel_id):
            await self._post_parts(delivery, channel_id)

    async def _post_parts(self, delivery: Delivery, channel_id: int) -> None:
        channel = self.client.get_partial_messageable(channel_id)
        parts = delivery.parts
        first = delivery.parts_sent
        if delivery.resumed:
            found = await self.read_back(delivery, channel)
            for offset, message_id in enumerate(found):
                await self._recorded(self.queue.part_sent(delivery, first + offset, message_id))
            first += len(found)
        mentions = allowed_mentions(delivery.payload)
        for index in range(first, len(parts)):
            last = index == len(parts) - 1  # files and buttons go with the last part
            view = buttons(delivery.payload) if last else None
            extra = await self._fitted(delivery, parts[index], view)
            if last and delivery.payload.get("files"):
                extra["files"] = files(delivery.payload)
            await self.pacer.wait()
            try:
                message = await channel.send(nonce=delivery.nonce(index),
                                             allowed_mentions=mentions, **extra)
            finally:
                if view is not None:
                    view.stop()  # clicks go to the bot's persistent (dynamic) items
            await self._recorded(self.queue.part_sent(delivery, index, message.id))

    async def _fitted(self, delivery: Delivery, content: str,
                      view: discord.ui.View | None) -> dict[str, Any]:
        """``content`` and ``view`` within Discord's limits (``bot.limits``), a cut marked
        in the guild's language."""
        fitted: dict[str, Any] = {"content": content}
        if view is not None:
            fitted["view"] = limits.fit_view(view)
        if len(content) > limits.CONTENT:
            templates = getattr(self.client, "templates", None)
            services = getattr(self.client, "services", None)
            if templates is None or services is None:  # a bare client (unit tests)
                fitted["content"] = fit(content, limits.CONTENT)
            else:
                locale = (await services.guilds.get(delivery.guild_id)).locale
                fitted["content"] = fit(content, limits.CONTENT,
                                        limits.marker(templates, locale))
        return fitted

    async def read_back(self, delivery: Delivery,
                        channel: discord.abc.Messageable) -> list[int]:
        """Ids of the delivery's unsent parts already on Discord, in order (maybe none)."""
        if delivery.claimed_at is None:
            return []
        parts = delivery.parts
        wanted = list(range(delivery.parts_sent, len(parts)))
        me = self.client.user.id if self.client.user else 0
        after = discord.Object(discord.utils.time_snowflake(
            delivery.claimed_at - RESOLVE_SLACK))
        found: list[int] = []
        seen = 0
        async for message in channel.history(limit=RESOLVE_MESSAGES, after=after,
                                             oldest_first=True):
            if seen % 100 == 0:
                await self.pacer.wait()  # one page of history per 100 messages
            seen += 1
            if len(found) == len(wanted) or message.author.id != me:
                continue
            index = wanted[len(found)]
            if message.nonce is not None:
                same = str(message.nonce) == delivery.nonce(index)
            else:
                same = message.content == parts[index]
            if same:
                found.append(message.id)
        return found

    async def _edit(self, delivery: Delivery) -> None:
        """Edit a message Familia posted (unless a later edit of it is queued: that one is
        made); resumed, read it back first."""
        if await self.queue.superseded(delivery):
            await self._recorded(self.queue.done(delivery, already=True))
            return
        channel = self.client.get_partial_messageable(delivery.channel_id or delivery.target_id)
        message = channel.get_partial_message(int(delivery.payload["message_id"]))
        content = delivery.payload.get("content", "")
        if delivery.resumed:
            await self.pacer.wait()
            if (await message.fetch()).content == content:
                await self._recorded(self.queue.done(delivery))
                return
        view = buttons(delivery.payload)
        extra = await self._fitted(delivery, content, view)
        await self.pacer.wait()
        try:
            await message.edit(**extra)
        finally:
            if view is not None:
                view.stop()  # clicks go to the bot's persistent (dynamic) items
        await self._recorded(self.queue.done(delivery))

    async def _change_role(self, delivery: Delivery) -> None:
        guild = self.client.get_guild(delivery.guild_id)
        if guild is None:
            raise discord.NotFound(_Gone(), {"code": 10004, "message": "Unknown Guild"})
        member = guild.get_member(delivery.target_id) if not delivery.resumed else None
        if member is None:  # the read-back: the member's roles as Discord has them now
            await self.pacer.wait()
            member = await guild.fetch_member(delivery.target_id)
        has = any(role.id == delivery.role_id for role in member.roles)
        wanted = delivery.target == "role_add"
        already = has == wanted and not delivery.resumed  # resumed: maybe our own change
        if has != wanted:
            role = discord.Object(delivery.role_id or 0)
            reason = delivery.payload.get("reason")
            await self.pacer.wait()
            if wanted:
                await member.add_roles(role, reason=reason)
            else:
                await member.remove_roles(role, reason=reason)
        await self._recorded(self.queue.done(delivery, already=already))


class NotRecorded(Exception):
    """Discord accepted a send (or a role change) but writing that down failed."""


def _log_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the delivery sender stopped", exc_info=task.exception())


class _Gone:
    """A stand-in response for a guild the bot is no longer in (no request was made)."""

    status = 404
    reason = "Not Found"
