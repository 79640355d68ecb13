"""Charts as PNG bytes (matplotlib, Agg, no pyplot state) in two themes: :data:`DISCORD`
(readable in Discord's dark theme; the boards and progress charts) and :data:`EMAIL` (light,
for an email read on white, sized to be shown 560 px wide).

Every label and title comes in translated from the caller: no sentences here. Rendering is
CPU-bound; cogs call these through ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


@dataclass(frozen=True)
class Theme:
    width: int  # pixels of the PNG
    height: int
    dpi: int
    background: str
    text: str
    grid: str
    bar: str
    line: str  # the line (and the highlighted bar) against the bars
    ticks: float  # font sizes in points
    title: float
    legend: float
    value: float  # the numbers at the end of a bar

    def shown_px(self, points: float, width: int) -> float:
        """How tall a font of ``points`` looks when the image is shown ``width`` px wide."""
        return points * self.dpi / 72 * width / self.width


# Discord shows an attachment at up to about 550 px wide on a #313338 background.
DISCORD = Theme(1000, 500, 100, background="#313338", text="#DBDEE1", grid="#4E5058",
                bar="#5865F2", line="#FEE75C", ticks=10, title=14, legend=9, value=9)
# An email shows the chart 560 px wide (``width="560"``) on white; drawn at twice that for
# sharp screens, with fonts that are 12-15 px tall as shown.
EMAIL = Theme(1120, 640, 200, background="#FFFFFF", text="#2E3338", grid="#DDE1E6",
              bar="#5865F2", line="#D9480F", ticks=9, title=11, legend=8.5, value=8)
EMAIL_SHOWN_WIDTH = 560

WIDTH, HEIGHT, DPI = DISCORD.width, DISCORD.height, DISCORD.dpi
BACKGROUND = DISCORD.background  # Discord dark theme


def _figure(theme: Theme = DISCORD) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(theme.width / theme.dpi, theme.height / theme.dpi), dpi=theme.dpi,
                 facecolor=theme.background)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    _style(ax, theme)
    return fig, ax


def _style(ax: Axes, theme: Theme) -> None:
    ax.set_facecolor(theme.background)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(theme.grid)
    ax.tick_params(colors=theme.text, labelsize=theme.ticks)
    ax.yaxis.label.set_color(theme.text)
    ax.xaxis.label.set_color(theme.text)
    ax.title.set_color(theme.text)
    ax.grid(axis="y" if ax.name == "rectilinear" else "both", color=theme.grid, linewidth=0.6,
            alpha=0.7)
    ax.set_axisbelow(True)


def _png(fig: Figure, theme: Theme = DISCORD) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=theme.dpi, facecolor=theme.background)
    return out.getvalue()


def _short(name: str, limit: int = 18) -> str:
    # The bundled font has no emoji: drop them rather than draw empty boxes.
    name = "".join(c for c in name if ord(c) < 0x2600 or 0x3000 <= ord(c) < 0xFE00).strip()
    return name if len(name) <= limit else name[: limit - 1] + "…"


def bar_chart(names: Sequence[str], values: Sequence[float], *, title: str, value_label: str,
              highlight: int | None = None,
              number: Callable[[float], str] | None = None) -> bytes:
    """A ranked board as horizontal bars, first at the top; ``highlight`` marks one bar."""
    fig, ax = _figure()
    ax.grid(False)
    ax.grid(axis="x", color=DISCORD.grid, linewidth=0.6, alpha=0.7)
    positions = list(range(len(values)))
    colors = [DISCORD.line if i == highlight else DISCORD.bar for i in positions]
    bars = ax.barh(positions, values, color=colors)
    ax.set_yticks(positions, [_short(n) for n in names])
    ax.invert_yaxis()
    ax.set_xlabel(value_label)
    ax.set_title(title, fontsize=14, loc="left", color=DISCORD.text)
    ax.bar_label(bars, labels=[(number or _number)(v) for v in values], color=DISCORD.text,
                 padding=3, fontsize=9)
    if not values:
        ax.set_yticks([])
    # Fixed margins: tight_layout would draw the figure twice.
    fig.subplots_adjust(left=0.17, right=0.95, top=0.9, bottom=0.11)
    return _png(fig)


def dual_chart(labels: Sequence[str], bars: Sequence[float], line: Sequence[float], *,
               title: str, bar_label: str, line_label: str, every: int = 1) -> bytes:
    """Bars (e.g. hours) and a line on a second axis (e.g. diamonds) over the same x labels;
    ``every`` shows one x label in so many."""
    fig, ax = _figure()
    positions = list(range(len(labels)))
    ax.bar(positions, bars, color=DISCORD.bar, label=bar_label)
    ax.set_ylabel(bar_label)
    ax.set_xticks(positions[::every], list(labels)[::every], rotation=0)
    right = ax.twinx()
    right.plot(positions, line, color=DISCORD.line, marker="o", markersize=3, linewidth=2,
               label=line_label)
    right.set_ylabel(line_label)
    right.tick_params(colors=DISCORD.text, labelsize=10)
    right.yaxis.label.set_color(DISCORD.text)
    for side in ("top", "left", "bottom"):
        right.spines[side].set_visible(False)
    right.spines["right"].set_color(DISCORD.grid)
    right.set_ylim(bottom=0)
    ax.set_title(title, fontsize=14, loc="left", color=DISCORD.text)
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    legend = ax.legend(handles=handles, loc="upper left", facecolor=BACKGROUND,
                       edgecolor=DISCORD.grid, labelcolor=DISCORD.text, fontsize=9)
    legend.get_frame().set_alpha(0.9)
    fig.subplots_adjust(left=0.07, right=0.92, top=0.9, bottom=0.08)
    return _png(fig)


def week_chart(labels: Sequence[str], this_week: Sequence[float], last_week: Sequence[float],
               *, title: str, this_label: str, last_label: str,
               theme: Theme = EMAIL) -> bytes:
    """Seven days of a value as bars, the same days a week before as a line (one axis);
    drawn for an email (light) unless ``theme`` says otherwise."""
    fig, ax = _figure(theme)
    positions = list(range(len(labels)))
    bars = ax.bar(positions, this_week, color=theme.bar, label=this_label)
    [line] = ax.plot(positions, last_week, color=theme.line, marker="o", markersize=4,
                     linewidth=2, label=last_label)
    ax.set_xticks(positions, list(labels))
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=theme.title, loc="left", color=theme.text)
    # above the plot, right of the title: never over a bar
    ax.legend(handles=[bars, line], loc="lower right", bbox_to_anchor=(1, 1), ncols=2,
              frameon=False, labelcolor=theme.text, fontsize=theme.legend, borderaxespad=0.2)
    fig.subplots_adjust(left=0.08, right=0.97, top=0.88, bottom=0.1)
    return _png(fig, theme)


def review_chart(templates: Any, locale: str, review: Any, theme: Theme = EMAIL) -> bytes:
    """The weekly review's chart (``bot.services.reviews.Review``): hours live per tier this
    week as bars, the week before as a line; labels in ``locale``."""
    def label(name: str) -> str:
        return templates.macro(locale, "discord/reviews/labels.j2", name)

    sections = review.sections
    names = [s.tier.name if s.tier else label("no_tier") for s in sections]
    return week_chart(names, [s.week.hours for s in sections],
                      [s.before.hours for s in sections], title=label("chart_title"),
                      this_label=label("this_week"), last_label=label("week_before"),
                      theme=theme)


def _number(value: float) -> str:
    return f"{value:,.1f}" if value % 1 else f"{int(value):,}"
