"""A manager adopts Familia with a spreadsheet: she exports the program's roster, adds three
new creators to it in Excel, uploads it, reads the preview (three to add, the rest unchanged)
and applies it; a new creator is asked by DM to accept the agreement; the same file uploaded
again changes nothing."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

TITLE = "Roster import"
NEWCOMERS = (("nora", "@Nora.Live", "MX"), ("omar", "omar_plays", "CO"),
             ("pia", "https://www.tiktok.com/@pia.cooks", "AR"))


async def play(demo) -> None:
    maria = demo.people["maria"]
    exported = await demo.command(maria, "export", {"format": "xlsx"}, subcommand="roster")
    message = await exported.wait_message(15)
    if not message.attachments:
        return
    rows = list(load_workbook(io.BytesIO(message.attachments[0].data)).worksheets[0].iter_rows(
        values_only=True))
    family = next((r[2] for r in rows[1:] if r[2] == "Soles"), rows[1][2])
    demo.narrate(f"the roster has {len(rows) - 1} rows; maria adds three new creators to "
                 f"{family} in Excel and uploads it")
    newcomers = [demo.person(name) for name, _, _ in NEWCOMERS]
    book = Workbook()
    sheet = book.worksheets[0]
    for row in rows:
        sheet.append(list(row))
    for user, (_, handle, country) in zip(newcomers, NEWCOMERS, strict=True):
        sheet.append([user.name, handle, family, "creator", None, country])
    data = io.BytesIO()
    book.save(data)
    preview = await demo.command(maria, "creator", {"file": ("roster.xlsx", data.getvalue())},
                                 subcommand="import")
    shown = await preview.wait_message(15)
    apply = next((c for c in shown.custom_ids if c.startswith("familia:roster:apply:")), None)
    if apply is None:
        return
    await demo.click(maria, shown, apply, "Apply")
    nora = newcomers[0]
    await demo.emu.wait_for(lambda: demo.emu.messages(demo.emu.dm_channel(nora)), 5,
                            "the agreement DM")
    for dm in demo.dms(nora):
        accept = next((c for c in dm.custom_ids if c.startswith("familia:agree:")),
                      None)
        if accept is not None:
            await demo.click(nora, dm, accept, "I accept")
    demo.narrate("the same file again: nothing left to change")
    await demo.command(maria, "creator", {"file": ("roster.xlsx", data.getvalue())},
                       subcommand="import")
    await demo.command(nora, "creator", subcommand="profile")
