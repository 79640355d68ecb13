"""Interactions a test user starts, and what the bot answered to them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.models import Message, User
    from emulator.server import Emulator

EPHEMERAL = 64


@dataclass
class Interaction:
    """A handle on one interaction: the response, follow-ups and the visible text."""

    emu: Emulator
    id: int
    token: str
    type: int
    user: User
    guild_id: int | None
    channel_id: int
    created: float = field(default_factory=time.monotonic)
    response_type: int | None = None
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    loading: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def responded(self) -> bool:
        return self.response_type is not None

    @property
    def messages(self) -> list[Message]:
        return ([self.original] if self.original else []) + self.followups

    @property
    def ephemeral(self) -> bool:
        first = self.messages[0] if self.messages else None
        return bool(first and first.flags & EPHEMERAL)

    def touch(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def _until(self, check, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            found = check()
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            event = self.changed
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    async def wait_response(self, timeout: float = 5.0) -> Interaction:
        """Wait until the bot acknowledged the interaction (any callback type)."""
        await self._until(lambda: self.responded, timeout, "an interaction response")
        return self

    async def wait_message(self, timeout: float = 5.0) -> Message:
        """The first visible message (after a defer, the follow-up or edit that replaced it)."""
        def visible():
            for message in self.messages:
                if not self.loading or message is not self.original:
                    if message.content or message.embeds or message.attachments:
                        return message
            return None

        return await self._until(visible, timeout, "a visible reply")

    async def reply_text(self, timeout: float = 5.0) -> str:
        """All visible text the bot answered with (original, then follow-ups)."""
        await self.wait_message(timeout)
        return "\n".join(m.content for m in self.messages if m.content)

    async def wait_modal(self, timeout: float = 5.0) -> dict[str, Any]:
        return await self._until(lambda: self.modal, timeout, "a modal")

    async def submit(self, values: dict[str, str], user: User | None = None) -> Interaction:
        """Submit the modal this interaction opened, filling text inputs by custom_id."""
        modal = await self.wait_modal()
        return await self.emu.submit_modal(self, modal, values, user=user)
