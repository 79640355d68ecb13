"""#18's "done when", at its size, through Discord: a manager with 10 families goes from a
spreadsheet of 200 creators and a month of the platform's stats (30 days: 6,000 rows) to a
running program in two uploads — /creator import → Apply, /stats import → Apply — with real
attachments (stored by the emulator, downloaded by the bot). The files are the ones README
shows (its example blocks are these files' first lines), and a roster import that takes a
while edits its answer with a progress bar."""

from __future__ import annotations

import csv
import io
import re
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.services.leaderboards import Period
from tests.e2e._families import button

pytestmark = pytest.mark.slow
README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
FAMILIES = ("Aurora", "Boreal", "Cumbre", "Delta", "Estrella", "Fénix", "Galaxia",
            "Horizonte", "Índigo", "Jade")
PER_FAMILY = 20
MAY = date(2026, 5, 1)
DAYS = 30


def name(i: int) -> str:
    return f"creator{i:03d}"


def roster_csv() -> bytes:
    """200 creators, 20 a family, the first of each its leader (README's roster file)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Discord user", "Platform handle", "Family", "Position", "Country",
                     "Joined the program"])
    for i in range(1, len(FAMILIES) * PER_FAMILY + 1):
        family = FAMILIES[(i - 1) // PER_FAMILY]
        leader = (i - 1) % PER_FAMILY == 0
        writer.writerow([name(i), f"@{name(i)}.live", family, "leader" if leader else "creator",
                         ("MX", "CO", "AR", "ES")[i % 4], "2026-05-01"])
    return out.getvalue().encode()


def hours(i: int, day: int) -> tuple[int, int]:
    """Creator ``i``'s LIVE minutes and diamonds on day ``day`` of May (0: a day off)."""
    if (i + day) % 7 == 0:
        return 0, 0
    return 60 + (i * 7 + day * 11) % 120, 100 * ((i + day) % 15)


def duration(minutes: int) -> str:
    return f"{minutes // 60}h {minutes % 60}m" if minutes % 60 else f"{minutes // 60}h"


def stats_csv() -> bytes:
    """A month of the platform's daily stats for the 200 (README's stats file)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Creator", "Date", "LIVE duration", "Diamonds", "New followers",
                     "Valid days"])
    for i in range(1, len(FAMILIES) * PER_FAMILY + 1):
        for day in range(1, DAYS + 1):
            minutes, diamonds = hours(i, day)
            writer.writerow([f"@{name(i)}.live", (MAY + timedelta(days=day - 1)).isoformat(),
                             duration(minutes), f"{diamonds:,}", (i + day) % 9,
                             int(minutes >= 60)])
    return out.getvalue().encode()


def readme_block(title: str) -> str:
    """The csv block README shows after ``title`` (the section that tells this story)."""
    section = README.split("### From a spreadsheet to a running program", 1)[1]
    part = section.split(title, 1)[1]
    return re.search(r"```csv\n(.*?)```", part, re.S).group(1)


def test_readme_shows_the_files_this_test_uploads():
    for title, data in (("The roster", roster_csv()), ("The month of stats", stats_csv())):
        shown = readme_block(title).splitlines()
        assert data.decode().splitlines()[:len(shown)] == shown, title
        assert len(shown) >= 3


async def test_two_uploads_make_a_running_program_of_200_creators(app, monkeypatch):
    monkeypatch.setattr(sys.modules["cogs.creators"], "PROGRESS_EVERY", 0.0)  # every step
    people = {name(i): app.user(name(i)) for i in range(1, len(FAMILIES) * PER_FAMILY + 1)}
    for f, family in enumerate(FAMILIES):  # the families, each with its leader
        it = await app.run(app.owner, "family", {
            "name": family, "leader": people[name(f * PER_FAMILY + 1)]}, subcommand="create")
        assert "Family created" in await it.reply_text(30)
    edits: list[str] = []

    def seen(exchange) -> None:
        if exchange.method == "PATCH" and exchange.path.endswith("/messages/@original"):
            edits.append((exchange.request or {}).get("content") or "")

    # Upload 1: the roster
    app.emu.observers.append(seen)
    try:
        it = await app.run(app.owner, "creator", {"file": ("roster.csv", roster_csv())},
                           subcommand="import")
        preview = await app.emu.wait_for(lambda: next(
            (m for m in it.messages if any(c.startswith("familia:roster:apply:")
                                           for c in m.custom_ids)), None),
            what="the roster preview", timeout=60)
        text = "\n".join(m.content for m in it.messages)
        assert "Added: 190 · changed: 10 · unchanged: 0 · refused: 0" in text, text
        done = await app.emu.click(app.owner, preview, button(preview, "familia:roster:apply:"))
        await app.emu.wait_for(lambda: any("Roster applied: roster.csv" in m.content
                                           for m in done.messages), what="applied", timeout=90)
    finally:
        app.emu.observers.remove(seen)
    assert any("Applying the import…" in e and "▰" in e and "of 200 rows" in e
               for e in edits), edits[:5]
    assert any("100%" in e and "200 of 200 rows" in e for e in edits)  # then the summary
    g = app.guild.id
    services = app.services
    placed = await services.db.fetchval(
        "SELECT count(*) FROM family_members WHERE guild_id = ? AND left_at IS NULL", (g,))
    assert placed == 200
    assert await services.db.fetchval(
        "SELECT count(*) FROM creator_profiles WHERE guild_id = ? AND handle LIKE 'creator%'",
        (g,)) == 200

    # Upload 2: the month of stats
    it = await app.run(app.owner, "stats", {"file": ("may.csv", stats_csv())},
                       subcommand="import")
    preview = await app.emu.wait_for(lambda: next(
        (m for m in it.messages if any(c.startswith("familia:st:apply:")
                                       for c in m.custom_ids)), None),
        what="the stats preview", timeout=120)
    assert "To add: 6,000" in preview.content, preview.content
    done = await app.emu.click(app.owner, preview, button(preview, "familia:st:apply:"))
    await app.emu.wait_for(lambda: any("applied" in m.content for m in done.messages),
                           what="the stats applied", timeout=120)

    # A running program: everyone's month follows the platform, the boards say so
    first = people[name(1)]
    expected = round(sum(hours(1, d)[0] for d in range(1, DAYS + 1)) / 60, 2)
    month_hours = await services.db.fetchval(
        "SELECT hours FROM progress_totals WHERE guild_id = ? AND user_id = ?"
        " AND period_kind = 'month' AND period = '2026-05'", (g, first.id))
    assert month_hours == pytest.approx(expected, abs=0.01)
    board = await services.leaderboards.board(g, "hours", Period("month", "2026-05"),
                                              viewer_id=first.id)
    assert board.total == 200 and first.id in board.imported
    day = await services.leaderboards.board(g, "hours", Period("day", "2026-05-02"))
    assert day.rows and day.rows[0].user_id in day.imported  # a day board follows it too
