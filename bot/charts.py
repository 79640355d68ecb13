"""Charts as PNG bytes (matplotlib, Agg, no pyplot state), readable in Discord's dark theme.

Every label and title comes in translated from the caller: no sentences here. Rendering is
CPU-bound; cogs call these through ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 1000, 500, 100
BACKGROUND = "#313338"  # Discord dark theme
TEXT = "#DBDEE1"
GRID = "#4E5058"
BLURPLE = "#5865F2"
YELLOW = "#FEE75C"
GREEN = "#57F287"


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    _style(ax)
    return fig, ax


def _style(ax: Axes) -> None:
    ax.set_facecolor(BACKGROUND)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.tick_params(colors=TEXT, labelsize=10)
    ax.yaxis.label.set_color(TEXT)
    ax.xaxis.label.set_color(TEXT)
    ax.title.set_color(TEXT)
    ax.grid(axis="y" if ax.name == "rectilinear" else "both", color=GRID, linewidth=0.6,
            alpha=0.7)
    ax.set_axisbelow(True)


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, facecolor=BACKGROUND)
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
    ax.grid(axis="x", color=GRID, linewidth=0.6, alpha=0.7)
    positions = list(range(len(values)))
    colors = [YELLOW if i == highlight else BLURPLE for i in positions]
    bars = ax.barh(positions, values, color=colors)
    ax.set_yticks(positions, [_short(n) for n in names])
    ax.invert_yaxis()
    ax.set_xlabel(value_label)
    ax.set_title(title, fontsize=14, loc="left", color=TEXT)
    ax.bar_label(bars, labels=[(number or _number)(v) for v in values], color=TEXT, padding=3,
                 fontsize=9)
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
    ax.bar(positions, bars, color=BLURPLE, label=bar_label)
    ax.set_ylabel(bar_label)
    ax.set_xticks(positions[::every], list(labels)[::every], rotation=0)
    right = ax.twinx()
    right.plot(positions, line, color=YELLOW, marker="o", markersize=3, linewidth=2,
               label=line_label)
    right.set_ylabel(line_label)
    right.tick_params(colors=TEXT, labelsize=10)
    right.yaxis.label.set_color(TEXT)
    for side in ("top", "left", "bottom"):
        right.spines[side].set_visible(False)
    right.spines["right"].set_color(GRID)
    right.set_ylim(bottom=0)
    ax.set_title(title, fontsize=14, loc="left", color=TEXT)
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    legend = ax.legend(handles=handles, loc="upper left", facecolor=BACKGROUND,
                       edgecolor=GRID, labelcolor=TEXT, fontsize=9)
    legend.get_frame().set_alpha(0.9)
    fig.subplots_adjust(left=0.07, right=0.92, top=0.9, bottom=0.08)
    return _png(fig)


def week_chart(labels: Sequence[str], this_week: Sequence[float], last_week: Sequence[float],
               *, title: str, this_label: str, last_label: str) -> bytes:
    """Seven days of a value as bars, the same days a week before as a line (one axis)."""
    fig, ax = _figure()
    positions = list(range(len(labels)))
    ax.bar(positions, this_week, color=BLURPLE, label=this_label)
    ax.plot(positions, last_week, color=YELLOW, marker="o", markersize=4, linewidth=2,
            label=last_label)
    ax.set_xticks(positions, list(labels))
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=14, loc="left", color=TEXT)
    legend = ax.legend(loc="upper left", facecolor=BACKGROUND, edgecolor=GRID, labelcolor=TEXT,
                       fontsize=9)
    legend.get_frame().set_alpha(0.9)
    fig.subplots_adjust(left=0.07, right=0.97, top=0.9, bottom=0.08)
    return _png(fig)


def _number(value: float) -> str:
    return f"{value:,.1f}" if value % 1 else f"{int(value):,}"
