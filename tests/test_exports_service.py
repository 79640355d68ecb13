"""Exports on a real SQLite file: who may export what, and what each table holds."""

from __future__ import annotations

import pytest

from bot.errors import NotAllowed
from bot.services.exports import COLUMNS


@pytest.fixture
async def program(make_program):
    return await make_program("small")


async def test_a_leader_exports_their_family_and_no_notes(services, program):
    family, other = program.families[:2]
    creator = family.creator_ids[0]
    await services.profiles.set(program.guild_id, program.manager_id, creator,
                                {"handle": "@ana", "manager_notes": "secret"}, as_manager=True)
    table = await services.exports.table(program.guild_id, family.leader_id, "roster", None,
                                         None, None, as_manager=False)
    assert table.family.id == family.id
    rows = {r[0]: dict(zip(table.columns, r, strict=True)) for r in table.rows}
    assert set(rows) == {str(u) for u in family.member_ids}
    assert rows[str(creator)]["handle"] == "@ana" and rows[str(creator)]["manager_notes"] is None
    assert rows[str(family.leader_id)]["position"] == "leader"
    other_family = await services.families.get(program.guild_id, other.id)
    with pytest.raises(NotAllowed):
        await services.exports.table(program.guild_id, family.leader_id, "checkins", None,
                                     None, other_family, as_manager=False)
    with pytest.raises(NotAllowed):
        await services.exports.table(program.guild_id, creator, "roster", None, None, None,
                                     as_manager=False)
    managed = await services.exports.table(program.guild_id, program.manager_id, "roster",
                                           None, None, None, as_manager=True)
    notes = {r[0]: r[COLUMNS["roster"].index("manager_notes")] for r in managed.rows}
    assert notes[str(creator)] == "secret"


async def test_checkins_progress_and_kpis_agree(services, program):
    guild = program.guild_id
    checkins = await services.exports.table(guild, program.manager_id, "checkins", None, None,
                                            None, as_manager=True)
    assert len(checkins.rows) == program.checkins
    hours = round(sum(r[COLUMNS["checkins"].index("hours")] for r in checkins.rows
                      if r[COLUMNS["checkins"].index("family")] is not None), 1)
    progress = await services.exports.table(guild, program.manager_id, "progress", None, None,
                                            None, as_manager=True, period_kind="all")
    members = {str(u) for f in program.families for u in f.member_ids}
    assert {r[0] for r in progress.rows} == members
    # all time adds up the months: every check-in of a current member is in it
    current = round(sum(r[COLUMNS["checkins"].index("hours")] for r in checkins.rows
                        if r[1] in members), 1)
    assert round(sum(r[COLUMNS["progress"].index("hours")] for r in progress.rows), 1) == (
        current)
    assert hours >= current
    kpis = await services.exports.table(guild, program.manager_id, "kpis", None, None, None,
                                        as_manager=True)
    assert [r[0] for r in kpis.rows] == [*sorted(f.name for f in program.families), None]
    program_row = kpis.rows[-1]
    assert program_row[COLUMNS["kpis"].index("members")] == len(members)
