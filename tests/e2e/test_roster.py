"""The roster import through Discord, as a manager does it: upload a real file (the
attachment is stored by the emulator and downloaded by the bot), read the preview, press
Apply, upload it again (nothing to change); creators are placed, get their family role and
one DM asking them to accept the agreement; profiles are shown and set."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from tests.e2e._families import button, create, holds, roles_become

pytestmark = pytest.mark.slow


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(rows, encoding="utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows)
    return out.getvalue().encode(encoding)


async def _import(app, user, name, data, locale=None):
    it = await app.run(user, "creator", {"file": (name, data)}, subcommand="import",
                       locale=locale)
    text = await it.reply_text(10)
    return it, text


async def test_upload_preview_apply_and_again_nothing(app):
    sofia, ana, ben, outsider = (app.user(n) for n in ("sofia", "ana", "ben", "olga"))
    lobos = await create(app, "Lobos", sofia)
    rows = [["Discord user", "TikTok", "Family", "Position", "Country", "Shoe size"],
            ["ana", "@Ana.Live", "Lobos", "creator", "MX", "38"],
            [str(ben.id), "ben_games", "lobos", "", "", ""],
            ["nobody", "x", "Lobos", "", "", ""]]
    data = _xlsx(rows)
    it, text = await _import(app, app.owner, "roster.xlsx", data)
    assert "Roster preview: roster.xlsx" in text
    assert "Added: 2 · changed: 0 · unchanged: 0 · refused: 1" in text, text
    assert "Columns ignored (not understood): Shoe size" in text
    assert "line 4: No member of this server is “nobody”" in text
    assert await app.services.families.membership_of(app.guild.id, ana.id) is None
    preview = it.messages[-1]
    apply_id = button(preview, "familia:roster:apply:")
    # someone who is not a manager presses Apply: refused, nothing changes
    refused = await app.emu.click(ana, preview, apply_id)
    assert "managers" in (await refused.reply_text()).lower()
    assert await app.services.families.membership_of(app.guild.id, ana.id) is None
    done = await app.emu.click(app.owner, preview, apply_id)
    text = await done.reply_text(10)
    assert "Roster applied: roster.xlsx" in text
    assert "2 creators were asked by DM to accept the program agreement." in text
    assert (await app.services.families.membership_of(app.guild.id, ana.id)).family_name == (
        "Lobos")
    await roles_become(app, ana, has=lobos.role)
    await roles_become(app, ben, has=lobos.role)
    await app.emu.wait_for(lambda: app.emu.dms(ana), what="the DM to ana")
    [dm] = app.emu.dms(ana)
    assert "placed you in the family **Lobos**" in dm.content
    roster = await app.reply(sofia, "family", subcommand="roster")
    assert f"<@{ana.id}> (@ana.live)" in roster and "agreement not accepted" in roster
    accepted = await app.emu.click(ana, dm, button(dm, "familia:agree:"))
    assert "you accepted version 1" in await accepted.reply_text()
    # pressed again: already applied
    again = await app.emu.click(app.owner, preview, apply_id)
    assert "already applied" in await again.reply_text()
    # the same file again: nothing to change, no Apply button
    it, text = await _import(app, app.owner, "roster.xlsx", data)
    assert "Added: 0 · changed: 0 · unchanged: 2 · refused: 1" in text
    assert not [c for c in it.messages[-1].custom_ids if c.startswith("familia:roster:")]
    assert len(app.emu.dms(ana)) == 1
    assert not holds(app, outsider, lobos.role)
    audit = [e for e in await app.services.audit.recent(app.guild.id)
             if e.action == "roster.import"]
    assert len(audit) == 1


async def test_a_spanish_manager_uploads_an_excel_csv(app):
    sofia, leo, ana = app.user("sofia"), app.user("leo"), app.user("ana")
    await create(app, "Lobos", sofia)
    await create(app, "Osos", leo)
    data = _csv([["Usuario de Discord", "Usuario de TikTok", "Familia", "Puesto", "País"],
                 ["ana", "@ana", "Lobos", "creadora", "México"],
                 ["ana", "@ana", "Osos", "", ""]], "cp1252")
    _, text = await _import(app, app.owner, "equipo.csv", data, locale="es-ES")
    assert "Vista previa del equipo: equipo.csv" in text
    assert "rechazados: 2" in text
    assert f"<@{ana.id}> está en dos familias" in text


@pytest.mark.parametrize(("name", "data", "says"), [
    ("notes.pdf", b"%PDF-1.4", "not a spreadsheet"),
    ("empty.csv", b"", "empty"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Excel file"),
    ("cols.csv", b"handle,shoe\nana,3\n", "lacks these columns: Discord user, Family"),
])
async def test_bad_files_get_a_clear_answer_and_change_nothing(app, name, data, says):
    _, text = await _import(app, app.owner, name, data)
    assert says in text
    assert await app.services.db.fetchval("SELECT count(*) FROM roster_uploads") == 0


async def test_the_template_downloads_and_profiles_are_set_and_shown(app):
    it = await app.run(app.owner, "creator", {"format": "xlsx"}, subcommand="template")
    message = await it.wait_message()
    [attachment] = message.attachments
    assert attachment.filename == "roster-template.xlsx"
    header = next(load_workbook(io.BytesIO(attachment.data)).active.iter_rows(
        values_only=True))
    assert header[:3] == ("Discord user", "Platform handle", "Family")
    ana, ben = app.user("ana"), app.user("ben")
    text = await app.reply(ana, "creator", {"handle": "@Ana.Live"}, subcommand="set")
    assert "Profile saved." in text and "@ana.live" in text
    text = await app.reply(ana, "creator", {"region": "MX"}, subcommand="set")
    assert "set your own handle" in text
    text = await app.reply(ben, "creator", {"handle": "ana.live"}, subcommand="set")
    assert f"already belongs to <@{ana.id}>" in text
    await app.reply(app.owner, "creator", {"member": ana, "notes": "Great start"},
                    subcommand="set")
    assert "Great start" in await app.reply(app.owner, "creator", {"member": ana},
                                            subcommand="profile")
    mine = await app.reply(ana, "creator", subcommand="profile")
    assert "@ana.live" in mine and "Great start" not in mine
    assert "own profile" in await app.reply(ben, "creator", {"member": ana},
                                            subcommand="profile")
