"""Render an email kind in a language: ``templates/email/<kind>.txt`` (with a ``subject``
block) and ``templates/email/<kind>.html`` (autoescaped), both extending the shared layout.

:class:`Renderer` renders one email in this process, and a big batch (a digest run) in a
worker process: rendering is pure CPU (~0.3 ms an email), so thousands of them would hold the
event loop (Discord heartbeats, SMTP sends) for seconds and leave a second core idle.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from babel.dates import format_date

from bot.templating import Templates

log = logging.getLogger(__name__)

# Batches smaller than this render in the bot process: a trip to a worker costs more.
POOL_MIN = 32
# Seconds a batch may take in the workers (a digest chunk takes well under one) before they
# are taken for hung: stopped, and the batch rendered in the bot process. A sweep waits for
# its rendering, so this bounds how long a lost job can stall it.
POOL_TIMEOUT = 120.0


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    images: dict[str, bytes] | None = None  # content id → PNG (the HTML shows cid:<id>)


def render_email(templates: Templates, locale: str, kind: str, **context: Any) -> Rendered:
    env = templates.env(locale)
    text_template = env.get_template(f"email/{kind}.txt")
    html_template = env.get_template(f"email/{kind}.html")
    # One context for the subject block and the text body (the text layout has no use for
    # ``subject``; the HTML one puts it in <title>).
    text_context = text_template.new_context(context)
    subject = " ".join("".join(text_template.blocks["subject"](text_context)).split())
    text = "".join(text_template.root_render_func(text_context)).strip() + "\n"
    html = html_template.render(subject=subject, **context)
    return Rendered(subject, text, html, _charts(templates, locale, kind, context))


def _charts(templates: Templates, locale: str, kind: str, context: dict[str, Any]
            ) -> dict[str, bytes] | None:
    """The inline charts of an email, drawn with labels in the recipient's language and in
    the email theme (light, shown 560 px wide): a leader's digest shows the family's hours
    per day against the week before."""
    if kind == "review" and context.get("review") is not None:
        from bot.charts import EMAIL, review_chart  # matplotlib: only when a chart is drawn

        return {"tiers": review_chart(templates, locale, context["review"], EMAIL)}
    daily = context.get("daily") if kind == "digest_leader" else None
    if not daily:
        return None
    from bot.charts import EMAIL, week_chart  # matplotlib: imported only when a chart is drawn

    def label(name: str) -> str:
        return templates.macro(locale, "email/_labels.j2", name)

    days = [format_date(day, "EEE", locale=locale) for day in daily["days"]]
    return {"daily": week_chart(days, daily["hours"], daily["prev_hours"],
                                title=label("daily_title"), this_label=label("this_week"),
                                last_label=label("last_week"), theme=EMAIL)}


Job = tuple[str, str, dict[str, Any]]  # locale, kind, context


def default_processes(cpus: int | None = None) -> int:
    """Rendering workers for this machine: one per core but one (the bot process keeps a core
    for Discord and the SMTP sends), at least one, at most four."""
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, min(4, cpus - 1))


_worker_templates: Templates | None = None  # a worker process's own (see _start_worker)


def _start_worker() -> None:
    global _worker_templates
    _worker_templates = Templates()


def _render_in_worker(jobs: list[Job]) -> list[tuple]:
    assert _worker_templates is not None
    out = []
    for locale, kind, context in jobs:
        r = render_email(_worker_templates, locale, kind, **context)
        out.append((r.subject, r.text, r.html, r.images))
    return out


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's worker processes now, even one that hangs (then the pool is broken and
    its manager thread ends, so the interpreter can still exit). Killed (SIGKILL), not asked
    to end: a worker that hangs may never act on SIGTERM (a stopped process holds it until
    it runs again). Python 3.14 has ``kill_workers``; before it, the workers are only
    reachable through the pool's private ``_processes`` — the one private attribute used
    here."""
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:
        kill()
        return
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.kill()


class Renderer:
    """Renders emails; ``processes`` > 0 lets batches of :data:`POOL_MIN` or more go to that
    many worker processes (started on first use, stopped by :meth:`close`). A batch the
    workers do not answer within ``timeout`` seconds is rendered here instead (logged), so a
    sweep never waits forever."""

    def __init__(self, templates: Templates, processes: int = 0,
                 timeout: float = POOL_TIMEOUT) -> None:
        self.templates = templates
        self.processes = processes
        self.timeout = timeout
        self._pool: ProcessPoolExecutor | None = None

    def one(self, locale: str, kind: str, context: dict[str, Any]) -> Rendered:
        return render_email(self.templates, locale, kind, **context)

    def _here(self, jobs: list[Job]) -> list[Rendered]:
        return [self.one(*job) for job in jobs]

    async def many(self, jobs: list[Job]) -> list[Rendered]:
        if self.processes <= 0 or len(jobs) < POOL_MIN:
            # In a thread: a batch (or one chart) is tens of milliseconds of CPU that the
            # event loop (Discord's heartbeats and replies) should not wait for.
            return await asyncio.to_thread(self._here, jobs)
        loop = asyncio.get_running_loop()
        size = -(-len(jobs) // self.processes)
        slices = [jobs[i:i + size] for i in range(0, len(jobs), size)]
        try:
            pool = self.start()
            done = await asyncio.wait_for(asyncio.gather(
                *(loop.run_in_executor(pool, _render_in_worker, part) for part in slices)),
                self.timeout)
        except BrokenProcessPool:  # a worker died (killed, out of memory): render here
            log.exception("email rendering workers died; rendering in the bot process")
            self.close()
            return self._here(jobs)
        except TimeoutError:
            log.warning("email rendering workers gave no answer in %s s: stopping them and"
                        " rendering %d emails in the bot process", self.timeout, len(jobs))
            self.close(stop=True)
            return await asyncio.to_thread(self._here, jobs)
        return [Rendered(*r) for part in done for r in part]

    def start(self) -> ProcessPoolExecutor:
        """The worker pool, started now if it is not running (``spawn``: the bot process has
        threads, which must not be forked)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker)
        return self._pool

    async def warm(self) -> None:
        """Start the workers and wait until each has loaded its templates."""
        if self.processes > 0:
            loop = asyncio.get_running_loop()
            pool = self.start()
            await asyncio.gather(*(loop.run_in_executor(pool, _render_in_worker, [])
                                   for _ in range(self.processes)))

    def close(self, stop: bool = False) -> None:
        """Shut the workers down (when idle); ``stop``: now, even in the middle of a job."""
        pool, self._pool = self._pool, None
        if pool is not None:
            if stop:
                _stop_workers(pool)
            pool.shutdown(wait=False, cancel_futures=True)
