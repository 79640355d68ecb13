"""A long job's answer with a progress bar: the "thinking…" answer of an import is edited with
a bar and counts once the job has run a couple of seconds, then replaced by its summary
(#18, must-have 7). Used by /stats import and /creator import."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import discord

from bot.interactions import edit, familia, reply
from bot.services.campaigns.arithmetic import bar
from bot.services.platform_stats import Step

log = logging.getLogger("familia.progress")
PROGRESS_EVERY = 2.0  # seconds between two edits of a long job's answer (and before one)
TEMPLATE = "discord/stats/progress.md.j2"  # reading / applying rows, recomputing creators


class ProgressShown:
    """Edits a long job's "thinking…" answer with a bar and counts, at most every ``every``
    seconds and only once the job has run that long."""

    def __init__(self, interaction: discord.Interaction, locale: str,
                 every: float = PROGRESS_EVERY) -> None:
        self.interaction = interaction
        self.locale = locale
        self.every = every
        self.started = time.monotonic()
        self.last = self.started
        self.shown = 0
        self.step: Step | None = None  # the last step shown

    async def __call__(self, step: Step) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        await self.show(step)

    async def show(self, step: Step) -> None:
        bot = familia(self.interaction)
        share = min(1.0, step.done / step.total) if step.total else None
        text = bot.templates.render(self.locale, TEMPLATE, step=step, share=share,
                                    bar=bar(share or 0.0))
        try:
            await edit(self.interaction, text)
            self.shown += 1
            self.step = step
        except discord.HTTPException:  # a progress edit is a courtesy: the job goes on
            log.warning("could not show a long job's progress", exc_info=True)


async def finish(interaction: discord.Interaction, progress: ProgressShown, template: str,
                 /, *, view: discord.ui.View | None = None, split: bool = False,
                 **context: Any) -> None:
    """The answer of a long job: it replaces the progress bar when one was shown (an edit of
    the same message), else it is the reply. A ``split`` answer (a report that may take
    several messages) follows the bar instead, which is shown complete."""
    if progress.shown and split and progress.step is not None:
        done = max(progress.step.total, progress.step.done)
        await progress.show(replace(progress.step, done=done, total=done))
    if not progress.shown or split:
        await reply(interaction, template, view=view, split=split, **context)
        return
    text = familia(interaction).templates.render(progress.locale, template, **context)
    await edit(interaction, text, **({"view": view} if view is not None else {}))
