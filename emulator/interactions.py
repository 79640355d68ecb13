"""Interactions a test user starts, and what the bot answered to them.

:class:`Interaction` is the handle tests hold; :class:`Responses` (a mixin of the emulator)
implements the interaction callback and the follow-up webhook the way Discord does: 3 s to
answer (404 / 10062 after; the interaction is then recorded as failed, what the user sees as
"This interaction failed": :meth:`Responses.failed_interactions`), one answer only (400 /
40060), follow-ups for 15 minutes, and the first follow-up after a "thinking" defer replaces
the placeholder.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from emulator import limits
from emulator import models as m
from emulator.http import ApiError, unknown
from emulator.world import World

if TYPE_CHECKING:
    from emulator.server import Emulator

EPHEMERAL = 64
T = TypeVar("T")

# Callback types (Discord's numbering).
PONG, MESSAGE, DEFER, DEFER_UPDATE, UPDATE, AUTOCOMPLETE, MODAL = 1, 4, 5, 6, 7, 8, 9


@dataclass
class Interaction:
    """A handle on one interaction: the response, follow-ups and the visible text.

    ``response_type`` is the callback type the bot used (4 reply, 5 defer, 6 deferred update,
    7 update, 8 autocomplete, 9 modal); ``original`` the message it created or (for 6 and 7)
    the message the component is on; ``followups`` what it sent after; ``modal`` the modal
    it opened; ``choices`` the autocomplete choices.
    """

    emu: Emulator
    id: int
    token: str
    type: int
    user: m.User
    guild_id: int | None
    channel_id: int
    app: m.Application | None = None
    created: float = field(default_factory=time.monotonic)
    response_type: int | None = None
    response: dict[str, Any] | None = None
    original: m.Message | None = None
    followups: list[m.Message] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    loading: bool = False  # "thinking…" (type 5) until the first follow-up or edit
    awaiting_update: bool = False  # type 6 until the component's message is edited
    source_message: m.Message | None = None
    data: dict[str, Any] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    acked_after: float | None = None  # seconds from creation to the accepted callback
    late: bool = False  # a callback came after the window and was refused (10062)

    @property
    def responded(self) -> bool:
        return self.response_type is not None

    @property
    def failed(self) -> bool:
        """What Discord shows as "This interaction failed": not acknowledged within the window
        (3 s): answered too late (refused), or not at all and the window is over."""
        if self.late:
            return True
        return not self.responded and (
            time.monotonic() - self.created > self.emu.interaction_timeout)

    @property
    def messages(self) -> list[m.Message]:
        """The original response (if any) then the follow-ups."""
        return ([self.original] if self.original else []) + self.followups

    @property
    def ephemeral(self) -> bool:
        """Whether the first response message is only visible to the user."""
        first = self.messages[0] if self.messages else None
        return bool(first and first.flags & EPHEMERAL)

    @property
    def content(self) -> str:
        """The first response's content ('' if none)."""
        return self.original.content if self.original else ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.original.embeds if self.original else []

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.original.components if self.original else []

    def touch(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def _until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        while True:
            found = check()
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what} "
                                     f"(interaction {self.describe()})")
            event = self.changed
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    def describe(self) -> str:
        name = self.data.get("name") or self.data.get("custom_id") or "?"
        return f"{name!r} by {self.user.name}, response type {self.response_type}"

    async def wait_response(self, timeout: float = 5.0) -> Interaction:
        """Wait until the bot acknowledged the interaction (any callback type)."""
        await self._until(lambda: self.responded, timeout, "an interaction response")
        return self

    def _visible(self) -> m.Message | None:
        for message in self.messages:
            if message is self.original and (self.loading or self.awaiting_update):
                continue
            if message.content or message.embeds or message.attachments:
                return message
        return None

    async def wait_message(self, timeout: float = 5.0) -> m.Message:
        """The first visible message (after a defer, the follow-up or edit that replaced it)."""
        return await self._until(self._visible, timeout, "a visible reply")

    async def reply_text(self, timeout: float = 5.0) -> str:
        """All visible text the bot answered with (original, then follow-ups). Embeds count
        through their title and description when a message has no content."""
        await self.wait_message(timeout)
        texts = []
        for message in self.messages:
            if message.content:
                texts.append(message.content)
            else:
                texts.extend("\n".join(filter(None, (e.get("title"), e.get("description"))))
                             for e in message.embeds)
        return "\n".join(t for t in texts if t)

    async def wait_followups(self, count: int, timeout: float = 5.0) -> list[m.Message]:
        """Wait until the bot sent ``count`` follow-ups."""
        await self._until(lambda: len(self.followups) >= count, timeout,
                          f"{count} follow-up(s)")
        return self.followups

    async def wait_modal(self, timeout: float = 5.0) -> dict[str, Any]:
        """The modal the bot opened (type 9 response data)."""
        return await self._until(lambda: self.modal, timeout, "a modal")

    async def submit(self, values: dict[str, str], user: m.User | None = None) -> Interaction:
        """Submit the modal this interaction opened, filling text inputs by custom_id."""
        modal = await self.wait_modal()
        return await self.emu.submit_modal(self, values, modal=modal, user=user)


class Responses(World):
    """Interaction callback and follow-up webhook handling (part of the emulator)."""

    interaction_timeout: float
    followup_ttl: float
    _interactions: dict[int, Interaction]
    _by_token: dict[str, Interaction]

    def failed_interactions(self) -> list[Interaction]:
        """Every interaction so far that the user saw fail: not acknowledged within
        ``interaction_timeout`` (Discord's 3 s), answered late or not at all."""
        return [record for record in self._interactions.values() if record.failed]

    def _interaction(self, iid: int, token: str) -> Interaction:
        record = self._interactions.get(iid)
        if record is None or record.token != token:
            raise unknown("interaction", 10062)
        return record

    def interaction_callback(self, iid: int, token: str,
                             payload: dict[str, Any], files: list[m.Attachment]
                             ) -> tuple[Any, int]:
        """``POST /interactions/{id}/{token}/callback``."""
        record = self._interaction(iid, token)
        if record.responded:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - record.created > self.interaction_timeout:
            record.late = True
            raise unknown("interaction", 10062)
        kind = int(payload.get("type") or 0)
        data = payload.get("data") or {}
        allowed = {2: {MESSAGE, DEFER, MODAL}, 3: {MESSAGE, DEFER, DEFER_UPDATE, UPDATE, MODAL},
                   4: {AUTOCOMPLETE}, 5: {MESSAGE, DEFER, DEFER_UPDATE, UPDATE}}
        if kind not in allowed.get(record.type, set()):
            raise ApiError(400, 40043 if kind else 50035,
                           "Interaction callback type not allowed for this interaction")
        channel = self._channels.get(record.channel_id)
        message = None
        if kind == MESSAGE:
            limits.check_message(data, files, at="data")
            message = self._response_message(record, channel, data, files)
        elif kind == DEFER:
            message = self._response_message(record, channel, {"flags": data.get("flags")}, [])
            record.loading = True
        elif kind in (DEFER_UPDATE, UPDATE):
            message = record.source_message
            if message is None:
                raise ApiError(400, 40043, "This interaction has no message to update")
            if kind == UPDATE:
                limits.check_message(data, files, edit=True, at="data")
                self.edit_message(message, data, files)
            else:
                record.awaiting_update = True
        elif kind == AUTOCOMPLETE:
            limits.check_autocomplete(data)
            record.choices = list(data.get("choices") or [])
        elif kind == MODAL:
            limits.check_modal(data)
            record.modal = data
        record.original = message
        record.response_type = kind
        record.acked_after = time.monotonic() - record.created
        record.response = payload
        record.touch()
        return self._callback_body(record, kind, message), 200

    def _callback_body(self, record: Interaction, kind: int, message: m.Message | None
                       ) -> dict[str, Any]:
        """The ``with_response`` answer: the interaction, and the message as the resource
        only for a reply (4) or an update (7); a defer (5) names its "thinking" message; a
        deferred update (6), autocomplete (8) or modal (9) creates no resource."""
        interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
        body: dict[str, Any] = {"interaction": interaction}
        if message is not None and kind in (MESSAGE, DEFER, UPDATE):
            interaction.update({
                "response_message_id": str(message.id),
                "response_message_loading": kind == DEFER,
                "response_message_ephemeral": message.ephemeral,
            })
        if message is not None and kind in (MESSAGE, UPDATE):
            body["resource"] = {"type": kind, "message": self.payload(message)}
        return body

    def _response_message(self, record: Interaction,
                          channel: m.Channel | None, data: dict[str, Any],
                          files: list[m.Attachment]) -> m.Message:
        target = channel or self.dm_channel(record.user, record.app)
        return self.add_message(target, (record.app or self.app).bot, data, files,
                                webhook=record.app or self.app, interaction_id=record.id)

    def _token_record(self, app_id: int, token: str
                      ) -> Interaction:
        record = self._by_token.get(token)
        if record is None or (record.app is not None and record.app.id != app_id):
            raise unknown("Webhook", 10015)
        if time.monotonic() - record.created > self.followup_ttl:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if not record.responded:
            raise unknown("Webhook", 10015)
        return record

    def interaction_followup(self, app_id: int, token: str,
                             payload: dict[str, Any], files: list[m.Attachment]
                             ) -> m.Message:
        """``POST /webhooks/{app}/{token}``: a follow-up (the first after a "thinking" defer
        replaces the placeholder)."""
        record = self._token_record(app_id, token)
        limits.check_message(payload, files)
        if record.loading and record.original is not None:
            self.edit_message(record.original, payload, files)
            record.loading = False
            record.touch()
            return record.original
        channel = self._channels.get(record.channel_id)
        message = self.add_message(channel or self.dm_channel(record.user, record.app),
                                   (record.app or self.app).bot, payload, files,
                                   webhook=record.app or self.app, interaction_id=record.id)
        record.followups.append(message)
        record.touch()
        return message

    def interaction_message(self, app_id: int, token: str,
                            mid: str) -> tuple[Interaction, m.Message]:
        """The message ``@original`` or ``{id}`` of an interaction's webhook."""
        record = self._token_record(app_id, token)
        if mid == "@original":
            if record.original is None:
                raise unknown("Message", 10008)
            return record, record.original
        for message in record.messages:
            if message.id == int(mid):
                return record, message
        raise unknown("Message", 10008)

    def edit_interaction_message(self, app_id: int, token: str,
                                 mid: str, payload: dict[str, Any], files: list[m.Attachment]
                                 ) -> m.Message:
        record, message = self.interaction_message(app_id, token, mid)
        if message.deleted:
            raise unknown("Message", 10008)
        limits.check_message(payload, files, edit=True)
        self.edit_message(message, payload, files)
        if message is record.original:
            record.loading = False
            record.awaiting_update = False
        record.touch()
        return message

    def delete_interaction_message(self, app_id: int, token: str,
                                   mid: str) -> None:
        record, message = self.interaction_message(app_id, token, mid)
        self.delete_message(message)
        if message is record.original:
            record.loading = False
        record.touch()
