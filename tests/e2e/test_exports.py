"""/export through Discord: a manager downloads the roster, check-ins, progress and KPIs as
.xlsx or CSV (UTF-8 with BOM, formulas neutralised), headers in their language; a leader
exports their own family only; the exported roster imports again with nothing to change."""

from __future__ import annotations

import codecs
import csv
import importlib
import io

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.slow


async def _file(app, user, kind, options=None, locale=None):
    it = await app.run(user, "export", options or {}, subcommand=kind, locale=locale)
    message = await it.wait_message(15)
    return message, (message.attachments[0] if message.attachments else None)


def _sheet(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def test_manager_exports_each_table(app):
    made = await app.program("small")
    members = sum(len(f.member_ids) for f in made.families)
    _, roster = await _file(app, app.owner, "roster")
    rows = _sheet(roster.data)
    assert rows[0][:4] == ("Discord user", "Platform handle", "Family", "Position")
    assert len(rows) - 1 == members
    message, checkins = await _file(app, app.owner, "checkins",
                                    {"period": "all", "format": "csv"})
    table = _csv(checkins.data)
    assert table[0][:3] == ["Date", "Discord user", "Platform handle"]
    assert len(table) - 1 == made.checkins
    assert f"is ready: {made.checkins:,} rows" in message.content
    _, progress = await _file(app, app.owner, "progress", {"period": "this_month"})
    assert len(_sheet(progress.data)) - 1 == members
    _, kpis = await _file(app, app.owner, "kpis", {"period": "last_month"})
    kpi_rows = _sheet(kpis.data)
    assert [r[0] for r in kpi_rows[1:]] == [*sorted(f.name for f in made.families), None]


async def test_a_leader_exports_their_family_only_in_spanish(app):
    made = await app.program("small")
    family, other = made.families[:2]
    leader = made.extra["users"][family.leader_id]
    _, data = await _file(app, leader, "roster", {"format": "csv"}, locale="es-ES")
    rows = _csv(data.data)
    assert rows[0][:3] == ["Usuario de Discord", "Usuario en la plataforma", "Familia"]
    assert {r[2] for r in rows[1:]} == {family.name}
    assert "Notas de los managers" in rows[0] and not any(r[-3] for r in rows[1:])
    message, none = await _file(app, leader, "roster", {"family": other.name})
    assert none is None and "su propia familia" in message.content
    creator = made.extra["users"][family.creator_ids[0]]
    message, none = await _file(app, creator, "checkins")
    assert none is None


async def test_formulas_go_out_neutralised_and_the_roster_round_trips(app):
    made = await app.program("small")
    family = made.families[0]
    creator = made.extra["users"][family.creator_ids[0]]
    await app.reply(app.owner, "creator", {"member": creator, "notes": "=HYPERLINK(\"x\")",
                                           "handle": "@Round.Trip"}, subcommand="set")
    _, data = await _file(app, app.owner, "roster", {"format": "csv"})
    text = data.data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@round.trip" in text
    it = await app.run(app.owner, "creator", {"file": ("roster.csv", data.data)},
                       subcommand="import")
    preview = await it.reply_text(15)
    members = sum(len(f.member_ids) for f in made.families)
    assert f"Added: 0 · changed: 0 · unchanged: {members} · refused: 0" in preview, preview
    assert "Columns ignored (not understood): Joined the family, Agreement" in preview


async def test_a_long_export_edits_its_progress_then_delivers(app, monkeypatch):
    exports = importlib.import_module("cogs.exports")  # the module the bot loaded
    made = await app.program("small")
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 0.0)  # an edit at every turn of the loop
    it = await app.run(app.owner, "export", {"period": "all"}, subcommand="checkins")
    await it.wait_followups(1, 15)  # the progress edited the answer; the file follows it
    [done] = [m for m in it.messages if m.attachments]
    assert "rows" in it.messages[0].content  # the last progress line, kept above the file
    assert len(_sheet(done.attachments[0].data)) - 1 == made.checkins
    assert exports.bar(5, 10) == "█" * 10 + "░" * 10
    assert exports.bar(0, 0) == "█" * 20
