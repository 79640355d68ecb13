"""Buttons and selects with any custom_id, as a stale, copied or hand-made message would carry
them: a custom_id is data a stranger can type, so tests press forged ones."""

from __future__ import annotations

import logging

import discord

from emulator import Channel, Message, User


def forged(app, channel: Channel, custom_id: str, *, options: list[str] | None = None
           ) -> Message:
    """A message by Familia in ``channel`` (a guild channel or a DM) carrying one button, or
    a select with ``options``, whose custom_id is ``custom_id``."""
    if options is None:
        component = {"type": 2, "custom_id": custom_id, "label": "▶", "style": 2}
    else:
        component = {"type": 3, "custom_id": custom_id, "min_values": 1, "max_values": 1,
                     "options": [{"label": o, "value": o} for o in options]}
    return app.emu.add_message(channel, app.emu.app.bot, {
        "content": "…", "components": [{"type": 1, "components": [component]}]}, [],
        dispatch=False)


async def press(app, user: User, channel: Channel, custom_id: str, *,
                pick: str | None = None):
    """``user`` presses a forged button (or picks ``pick`` in a forged select); returns the
    interaction."""
    message = forged(app, channel, custom_id, options=None if pick is None else [pick])
    if pick is None:
        return await app.emu.click(user, message, custom_id)
    return await app.emu.select(user, message, custom_id, [pick])


class Outcomes(logging.Handler):
    """The bot's one line per interaction: ``outcome=…`` by user."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def of(self, user_id: int) -> str | None:
        for line in reversed(self.lines):
            if f" user={user_id} " in line:
                return line.split(" outcome=")[1].split()[0]
        return None


def persistent_classes() -> set[type]:
    """Every restart-proof item class of the cogs with a custom_id (read from the classes,
    not a list)."""
    found, todo = set(), [discord.ui.DynamicItem]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if getattr(sub, "custom_id_format", "") and sub.__module__.startswith("cogs."):
                found.add(sub)
    return found
