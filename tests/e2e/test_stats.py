"""/stats end to end: a manager uploads the platform's export as a slash command attachment,
reads the preview, applies it (the month's progress follows the imported figures), uploads
the same file again (nothing changes), rolls it back; a Spanish workbook; the sources; the
reconciliation with its CSV, for a manager and a leader; refusals."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import Workbook

from bot.program import CheckinRow, record_checkins
from bot.services.families import AGREEMENT_VERSION

MAY = "2026-05"


@pytest.fixture
async def program(app):
    """Lobos (leader lena) with ana and ben, who have profiles and check-ins in May."""
    s, g = app.services, app.guild.id
    people = {n: app.user(n) for n in ("lena", "ana", "ben", "tom")}
    family = await s.families.create(g, app.owner.id, "Lobos", people["lena"].id,
                                     channel_id=None)
    for name in ("ana", "ben"):
        invite = await s.families.invite(g, people["lena"].id, family.id, people[name].id,
                                         as_manager=False)
        await s.families.decide(g, people[name].id, invite.id, True,
                                agreement_version=AGREEMENT_VERSION)
        await s.profiles.set(g, app.owner.id, people[name].id, {"handle": f"@{name}.live"},
                             as_manager=True)
    await record_checkins(s, g, [
        CheckinRow(people["ana"].id, date(2026, 5, 4), 2.0, 1000, 10),
        CheckinRow(people["ana"].id, date(2026, 5, 5), 2.0, 1000, 10),
        CheckinRow(people["ben"].id, date(2026, 5, 4), 1.0, 100, 1),
    ])
    return people


CSV = (b"Creator,Date,LIVE duration,Diamonds,New followers\r\n"
       b"ana.live,2026-05-04,2h,\"1,000\",10\r\n"
       b"ana.live,2026-05-05,1h 30m,500,10\r\n"
       b"@ben.live,2026-05-04,3,900,4\r\n"
       b"ghost,2026-05-04,1,1,1\r\n")


async def month_hours(app, user):
    return await app.services.db.fetchval(
        "SELECT hours FROM progress_totals WHERE guild_id = ? AND user_id = ?"
        " AND period_kind = 'month' AND period = ?", (app.guild.id, user.id, MAY))


async def upload(app, name, data, user=None):
    """/stats import with the file attached; returns the preview message."""
    it = await app.run(user or app.owner, "stats", {"file": (name, data)}, subcommand="import")
    return await it.wait_message()


def button(message, prefix):
    return next(c for c in message.custom_ids if c.startswith(prefix))


async def test_preview_apply_reapply_and_rollback(app, program):
    ana, ben = program["ana"], program["ben"]
    preview = await upload(app, "may.csv", CSV)
    text = preview.content
    assert "preview" in text and "To add: 3" in text and "Refused: 1" in text
    assert "Line 5:" in text and "ghost" in text
    assert await month_hours(app, ana) == 4.0  # nothing changed before Apply
    done = await app.emu.click(app.owner, preview, button(preview, "familia:st:apply:"))
    assert "applied" in await done.reply_text()
    assert await month_hours(app, ana) == 3.5 and await month_hours(app, ben) == 3.0
    board = await app.reply(ana, "leaderboard", {"metric": "hours", "period": "last_month"},
                            subcommand="creators")
    assert re.search(r"3\.5 \w+ 📥", board), board  # the platform's figure, marked
    assert "the platform's imported figures" in board
    # the same file again: nothing to add or change, and applying it changes nothing
    again = await upload(app, "may.csv", CSV)
    assert "To add: 0" in again.content and "To change: 0" in again.content
    assert "already imported" in again.content
    done = await app.emu.click(app.owner, again, button(again, "familia:st:apply:"))
    assert "Added 0, changed 0, left alone 3" in await done.reply_text()
    assert await month_hours(app, ana) == 3.5
    listed = await app.reply(app.owner, "stats", subcommand="imports")
    first, second = (r.id for r in reversed(await app.services.stats.imports(app.guild.id)))
    assert f"#{first}" in listed and f"#{second}" in listed and "applied" in listed
    # rolling both back: the check-ins' figures are back
    for number in (second, first):
        text = await app.reply(app.owner, "stats", {"number": number}, subcommand="rollback")
        assert "rolled back" in text
    assert await month_hours(app, ana) == 4.0 and await month_hours(app, ben) == 1.0
    again = await app.reply(app.owner, "stats", {"number": first}, subcommand="rollback")
    assert "already rolled back" in again


async def test_a_spanish_workbook_and_discard(app, program):
    book = Workbook()
    sheet = book.active
    sheet.append(["Usuario", "Fecha", "Duración del LIVE", "Diamantes"])
    sheet.append(["ana.live", "04/05/2026", "1,5", "1.500"])
    out = io.BytesIO()
    book.save(out)
    maria = app.user("maria", locale="es-ES")
    await app.services.families.invite(app.guild.id, app.owner.id, 1, maria.id,
                                       as_manager=True)
    preview = await upload(app, "mayo.xlsx", out.getvalue())
    assert "To add: 1" in preview.content
    gone = await app.emu.click(app.owner, preview, button(preview, "familia:st:discard:"))
    assert "discarded" in await gone.reply_text()
    assert await app.services.db.fetchval("SELECT count(*) FROM platform_staging") == 0
    # in Spanish, for a manager who reads Spanish
    es = await app.run(app.owner, "stats", {"file": ("mayo.xlsx", out.getvalue())},
                       subcommand="import", locale="es-ES")
    assert "Por añadir: 1" in (await es.wait_message()).content


async def test_refusals_change_nothing(app, program):
    creator = await app.reply(program["ana"], "stats", {"file": ("may.csv", CSV)},
                              subcommand="import")
    assert "managers" in creator.lower()
    wrong = await app.reply(app.owner, "stats", {"file": ("may.pdf", b"%PDF-1.4")},
                            subcommand="import")
    assert "CSV" in wrong
    no_column = await app.reply(app.owner, "stats", {"file": ("s.csv", b"Date,Hours\n1,2\n")},
                                subcommand="import")
    assert "missing" in no_column.lower() or "Handle" in no_column
    assert await app.services.db.fetchval("SELECT count(*) FROM stat_imports") == 0


async def test_sources_and_reconciliation_with_its_csv(app, program):
    ana, ben, lena = program["ana"], program["ben"], program["lena"]
    preview = await upload(app, "may.csv", CSV)
    await (await app.emu.click(app.owner, preview, button(preview, "familia:st:apply:"))
           ).reply_text()
    shown = await app.reply(app.owner, "stats", subcommand="sources")
    assert "Hours live: imported where present" in shown and "10%" in shown
    changed = await app.reply(app.owner, "stats", {"metric": "hours", "source": "checkins",
                                                   "tolerance": 20}, subcommand="sources")
    assert "Hours live: check-ins only" in changed and "20%" in changed
    assert await month_hours(app, ana) == 4.0
    it = await app.run(app.owner, "stats", {"month": MAY}, subcommand="reconcile")
    text = await it.reply_text()
    assert "Reconciliation of 2026-05" in text and "2 differ" in text  # ana: diamonds +33 %
    message = next(m for m in it.messages if m.attachments)
    csv = message.attachments[0]
    assert csv.filename == "reconcile-2026-05.csv"
    rows = csv.data.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("Member,Discord ID,Family")
    assert any(f",{ben.id}," in r and r.endswith("differs") for r in rows)
    # ben reported 1 h and 100 diamonds, the platform 3 h and 900: the largest share off first
    assert text.index(f"<@{ben.id}>") < text.index(f"<@{ana.id}>")
    led = await app.reply(lena, "stats", {"month": MAY}, subcommand="reconcile")
    assert "Lobos" in led
    refused = await app.reply(ana, "stats", {"month": MAY}, subcommand="reconcile")
    assert "leader" in refused.lower() or "manager" in refused.lower()


async def test_a_long_import_edits_its_answer_with_a_progress_bar(app, program, monkeypatch):
    """Every step shown (no 2 s wait): the "thinking…" answer is edited with the bar and the
    counts while the file is read and applied, then replaced by the preview and the summary."""
    import sys

    monkeypatch.setattr(sys.modules["cogs.stats"], "PROGRESS_EVERY", 0.0)  # the loaded cog
    monkeypatch.setattr("bot.services.platform_stats.CHUNK", 1)
    edits: list[str] = []

    def seen(exchange) -> None:
        if exchange.method == "PATCH" and exchange.path.endswith("/messages/@original"):
            edits.append((exchange.request or {}).get("content") or "")

    app.emu.observers.append(seen)
    try:
        it = await app.run(app.owner, "stats", {"file": ("may.csv", CSV)}, subcommand="import")
        preview = await app.emu.wait_for(lambda: next(
            (m for m in it.messages if any(c.startswith("familia:st:apply:")
                                           for c in m.custom_ids)), None), what="the preview")
        assert "To add: 3" in preview.content and len(it.messages) == 1  # the bar's message
        done = await app.emu.click(app.owner, preview, button(preview, "familia:st:apply:"))
        # the summary replaces the bar in the same message
        await app.emu.wait_for(lambda: "applied" in done.content, what="the summary")
        assert len(done.messages) == 1
    finally:
        app.emu.observers.remove(seen)
    assert any("Reading the file…" in e and "▰" in e and "of 4 rows" in e for e in edits), edits
    assert any("Applying the import…" in e for e in edits)
    assert any("Recomputing the creators' totals…" in e and "of 2 creators" in e
               for e in edits)
