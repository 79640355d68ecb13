"""Bulk roster import and creator profiles on a real SQLite file, with real files (CSV and
.xlsx, English and Spanish headers): preview, apply, re-apply (nothing changes), refusals."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import Workbook

from bot.delivery.queue import Send
from bot.errors import NotAllowed, UserError
from bot.services.families import AGREEMENT_VERSION
from bot.services.roster import Directory, agreement_key
from bot.sheets import SheetError

G, MANAGER, LEADER, LEADER2 = 1, 10, 20, 21
ANA, BEN, CARLA, DANI, EVA = 101, 102, 103, 104, 105
NAMES = {ANA: "Ana", BEN: "Ben", CARLA: "Carla", DANI: "Dani", EVA: "Eva", LEADER: "Lia",
         LEADER2: "Leo", MANAGER: "Mara"}
DIRECTORY = Directory.of((uid, (name, name.lower() + "_user")) for uid, name in NAMES.items())


def _csv(rows, encoding="utf-8-sig", delimiter=","):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


EN = [["Discord user", "TikTok handle", "Family", "Position", "Country", "Joined program"],
      ["Ana", "@Ana.Live", "Lobos", "creator", "MX", "2026-03-01"],
      [str(BEN), "ben_games", "lobos", "", "", ""],
      ["carla_user", "carla", "Osos", "co-leader", "CO", "1 Mar 2026"]]
ES = [["Usuario de Discord", "Usuario de TikTok", "Familia", "Puesto", "País"],
      ["Ana", "@Ana.Live", "Lobos", "creadora", "MX"],
      [str(BEN), "ben_games", "Lobos", "", ""],
      ["carla_user", "carla", "Osos", "colíder", "CO"]]


def _ask(user_id, family, locale):
    return Send("roster_agreement", agreement_key(user_id), "dm", user_id,
                {"content": f"join {family.name} ({locale})"})


@pytest.fixture
async def families(services):
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER, channel_id=500,
                                           role_id=600)
    osos = await services.families.create(G, MANAGER, "Osos", LEADER2, channel_id=501,
                                          role_id=601, capacity=3)
    return lobos, osos


async def _preview(services, data, name="roster.csv", locale="en"):
    return await services.roster.preview(G, MANAGER, name, data, DIRECTORY, locale)


async def _apply(services, plan):
    return await services.roster.apply(G, MANAGER, plan.upload_id, DIRECTORY, _ask)


async def _state(services):
    rows = await services.db.fetchall(
        "SELECT fm.user_id, f.name FROM family_members fm JOIN families f ON f.id ="
        " fm.family_id WHERE fm.left_at IS NULL ORDER BY fm.user_id")
    return {r["user_id"]: r["name"] for r in rows}


@pytest.mark.parametrize(("rows", "name", "make"), [
    (EN, "roster.csv", _csv), (ES, "equipo.csv", _csv), (EN, "roster.xlsx", _xlsx),
    (ES, "equipo.xlsx", _xlsx)])
async def test_preview_apply_and_apply_again_changes_nothing(services, families, rows, name,
                                                             make):
    data = make(rows)
    before = await _state(services)
    plan = await _preview(services, data, name)
    assert plan.counts == {"add": 3, "change": 0, "same": 0, "refused": 0}
    assert await _state(services) == before, "a preview changes nothing"
    done = await _apply(services, plan)
    assert done.counts == plan.counts
    assert await _state(services) == before | {ANA: "Lobos", BEN: "Lobos", CARLA: "Osos"}
    osos = await services.families.get(G, families[1].id)
    assert osos.co_leader_user_id == CARLA
    profile = await services.profiles.get(G, ANA)
    assert (profile.handle, profile.region) == ("ana.live", "MX")
    # placed directly, agreement pending: one DM each through the delivery queue
    agreement = await services.families.agreement_of(G, ANA)
    assert agreement is None
    keys = {r["dedupe_key"] for r in await services.db.fetchall(
        "SELECT dedupe_key FROM deliveries WHERE target = 'dm'")}
    assert keys == {agreement_key(u) for u in (ANA, BEN, CARLA)}
    roles = await services.db.fetchval(
        "SELECT count(*) FROM deliveries WHERE target = 'role_add'")
    assert roles == 3
    audit = [e for e in await services.audit.recent(G) if e.action == "roster.import"]
    assert audit and audit[0].target == plan.file_hash
    # the same file again: every row the same, nothing changes, nothing more is queued
    again = await _preview(services, data, name)
    assert again.counts == {"add": 0, "change": 0, "same": 3, "refused": 0}
    deliveries = await services.db.fetchval("SELECT count(*) FROM deliveries")
    redone = await _apply(services, again)
    assert redone.counts["same"] == 3 and redone.asked == 0
    assert await services.db.fetchval("SELECT count(*) FROM deliveries") == deliveries
    # an applied upload cannot be applied twice
    with pytest.raises(UserError) as caught:
        await _apply(services, plan)
    assert caught.value.code == "roster.already_applied"


async def test_refused_rows_with_their_line_and_reason(services, families):
    await services.profiles.set(G, DANI, DANI, {"handle": "taken"}, as_manager=False)
    rows = [["user", "handle", "family", "position", "joined platform"],
            ["Nobody", "x1", "Lobos", "", ""],                     # 2 unknown member
            ["Ana", "x2", "Atlantis", "", ""],                     # 3 unknown family
            ["Ben", "x3", "Lobos", "", ""],                        # 4 two families (with 5)
            ["Ben", "x3b", "Osos", "", ""],                        # 5
            ["Carla", "@Taken", "Lobos", "", ""],                  # 6 handle of Dani
            ["Eva", "bad handle!", "Lobos", "", ""],               # 7 bad value
            ["Eva", "eva", "Lobos", "boss", ""],                   # 8 bad position
            [str(EVA), "eva", "Lobos", "", "03/04/2026"],          # 9 ambiguous date
            ["Dani", "", "Lobos", "", ""],                         # 10 fine
            ["Dani", "", "Lobos", "", ""]]                         # 11 duplicate row
    plan = await _preview(services, _csv(rows))
    refused = {r.line: r.reason for r in plan.of("refused")}
    assert refused == {2: "roster.unknown_member", 3: "roster.unknown_family",
                       4: "roster.two_families", 5: "roster.two_families",
                       6: "roster.duplicate_handle", 7: "sheets.bad_handle",
                       8: "roster.bad_position", 9: "sheets.ambiguous_date",
                       11: "roster.duplicate_row"}
    assert [r.user_id for r in plan.of("add")] == [DANI]
    done = await _apply(services, plan)
    assert await _state(services) == {LEADER: "Lobos", LEADER2: "Osos", DANI: "Lobos"}
    assert done.counts["refused"] == 9


async def test_a_full_family_refuses_rows_past_its_capacity(services, families):
    rows = [["user", "family"], ["Ana", "Osos"], ["Ben", "Osos"], ["Carla", "Osos"]]
    plan = await _preview(services, _csv(rows))  # Osos: capacity 3, its leader inside
    assert [(r.line, r.outcome) for r in plan.rows] == [(2, "add"), (3, "add"),
                                                        (4, "refused")]
    assert plan.rows[2].reason == "roster.family_full"


async def test_moves_positions_and_the_old_leader(services, families):
    _, osos = families
    first = await _preview(services, _csv([["user", "family"], ["Ana", "Lobos"]]))
    await _apply(services, first)
    rows = [["user", "family", "position"], ["Ana", "Osos", "leader"],
            ["Leo", "Osos", "creator"]]
    plan = await _preview(services, _csv(rows))
    assert [(r.outcome, r.changes) for r in plan.rows] == [
        ("change", ("family", "position")), ("change", ("position",))]
    await _apply(services, plan)
    osos = await services.families.get(G, osos.id)
    assert osos.leader_user_id == ANA and (await _state(services))[ANA] == "Osos"
    assert (await services.members.get(G, LEADER2)).program_role == "creator"
    assert (await services.members.get(G, ANA)).program_role == "leader"
    # the role diff: Lobos's role came off Ana, Osos's went on
    targets = [(r["target"], r["role_id"]) for r in await services.db.fetchall(
        "SELECT target, role_id FROM deliveries WHERE target_id = ? AND target LIKE 'role%'"
        " ORDER BY id", (ANA,))]
    assert targets == [("role_add", 600), ("role_remove", 600), ("role_add", 601)]


async def test_a_leader_of_another_family_must_hand_over(services, families):
    plan = await _preview(services, _csv([["user", "family"], ["Lia", "Osos"]]))
    assert plan.rows[0].reason == "roster.leader_must_hand_over"


async def test_an_accepted_agreement_asks_nothing(services, families):
    async with services.db.transaction() as tx:
        await services.families._accept(tx, G, ANA, AGREEMENT_VERSION)
    plan = await _preview(services, _csv([["user", "family"], ["Ana", "Lobos"]]))
    done = await _apply(services, plan)
    assert done.asked == 0
    membership = await services.families.membership_of(G, ANA)
    assert membership.agreement_version == AGREEMENT_VERSION


@pytest.mark.parametrize(("data", "name", "code"), [
    (b"", "a.csv", "sheets.empty"),
    (b"%PDF", "a.pdf", "sheets.wrong_type"),
    (b"handle,family\nana,Lobos\n", "a.csv", "sheets.missing_columns"),
    (b"user,family\n", "a.csv", "sheets.empty"),
])
async def test_a_refused_file_changes_nothing(services, families, data, name, code):
    with pytest.raises(SheetError) as caught:
        await _preview(services, data, name)
    assert caught.value.code == code
    assert await services.db.fetchval("SELECT count(*) FROM roster_uploads") == 0


async def test_too_many_rows_is_refused_whole(services, families):
    rows = [["user", "family"], *[["Ana", "Lobos"]] * 5001]
    with pytest.raises(SheetError) as caught:
        await _preview(services, _csv(rows))
    assert caught.value.code == "sheets.too_many_rows"


async def test_templates_read_back_in_both_languages(services):
    for locale in ("en", "es"):
        for fmt in ("csv", "xlsx"):
            data = services.roster.template(locale, fmt)
            names = {"ana_live": 1, "beto": 2}
            directory = Directory(frozenset({1, 2, 123456789012345678}),
                                  {k: (v,) for k, v in names.items()})
            plan = await services.roster.preview(G, MANAGER, f"t.{fmt}", data, directory,
                                                 locale)
            # the sample's families do not exist here: each row is read, then refused for it
            assert {r.reason for r in plan.rows} == {"roster.unknown_family"}


async def test_profiles_set_view_and_rules(services, families):
    assert (await services.profiles.set(G, ANA, ANA, {"handle": "@Ana.Live"},
                                        as_manager=False)).handle == "ana.live"
    with pytest.raises(NotAllowed):
        await services.profiles.set(G, ANA, ANA, {"region": "MX"}, as_manager=False)
    with pytest.raises(NotAllowed):
        await services.profiles.set(G, ANA, BEN, {"handle": "x"}, as_manager=False)
    with pytest.raises(UserError) as caught:
        await services.profiles.set(G, BEN, BEN, {"handle": "ANA.live"}, as_manager=False)
    assert caught.value.code == "profiles.handle_taken"
    await services.profiles.set(G, MANAGER, ANA, {"manager_notes": "watch", "region": "MX",
                                                  "platform_joined_on": "3 Nov 2025"},
                                as_manager=True)
    mine = await services.profiles.view(G, ANA, ANA, as_manager=False)
    assert mine.manager_notes is None and mine.region == "MX"
    assert mine.platform_joined_on == "2025-11-03"
    assert (await services.profiles.view(G, MANAGER, ANA, as_manager=True)).manager_notes == (
        "watch")
    with pytest.raises(NotAllowed):  # a leader of a family Ana is not in
        await services.profiles.view(G, LEADER, ANA, as_manager=False)
    cleared = await services.profiles.set(G, MANAGER, ANA, {"region": "-"}, as_manager=True)
    assert cleared.region is None


async def test_profiles_are_exported_and_deleted_with_the_member(services, families):
    await services.profiles.set(G, MANAGER, ANA, {"handle": "ana", "manager_notes": "n"},
                                as_manager=True)
    exported = await services.privacy.export(G, ANA)
    assert exported["creator_profiles"][0]["handle"] == "ana"
    await services.privacy.delete(G, ANA)
    assert await services.profiles.get(G, ANA) is None
    assert json.dumps(await services.privacy.export(G, MANAGER), default=str)
