"""Stats import on a real SQLite file with real files (CSV and .xlsx, English and Spanish):
preview, apply, re-apply (nothing changes), overlapping periods replaced, rollback; the
progress model following each metric's source; a check-in on an imported day; monthly
totals; reconciliation."""

from __future__ import annotations

import io
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.localtime import iso_week
from bot.services.platform_figures import _WEEK
from bot.sheets import SheetError
from tests._leaderboards import ANA, BEN, CLA, LEADER, MANAGER, G, family, stat

MARCH = date(2026, 3, 2)  # a Monday
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


async def profiles(services, **handles):
    """Creator profiles as /creator set leaves them (handle normalised; an id for BEN)."""
    users = {"ana": ANA, "ben": BEN, "cla": CLA}
    async with services.db.transaction() as tx:
        for name, handle in handles.items():
            await tx.execute(
                "INSERT INTO creator_profiles (guild_id, user_id, handle, platform_user_id,"
                " updated_at) VALUES (?, ?, ?, ?, '2026-03-01')",
                (G, users[name], handle, "7001" if name == "ben" else None))


@pytest.fixture
async def program(services):
    fam = await family(services, "Lobos", LEADER, [ANA, BEN, CLA])
    await profiles(services, ana="ana.live", ben="benstreams", cla="cla")
    return fam


def csv_file(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_file(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def month_row(services, user, period="2026-03"):
    row = await services.db.fetchone(
        "SELECT checkins, valid_days, hours, diamonds, followers FROM progress_totals"
        " WHERE guild_id = ? AND user_id = ? AND period_kind = 'month' AND period = ?",
        (G, user, period))
    return None if row is None else dict(row)


async def week_row(services, user, day=MARCH):
    row = await services.db.fetchone(
        "SELECT checkins, hours, diamonds FROM progress_totals WHERE guild_id = ?"
        " AND user_id = ? AND period_kind = 'week' AND period = ?", (G, user, iso_week(day)))
    return None if row is None else dict(row)


async def alltime(services, user):
    row = await services.db.fetchone(
        "SELECT hours, diamonds FROM progress_alltime WHERE guild_id = ? AND user_id = ?",
        (G, user))
    return None if row is None else (row["hours"], row["diamonds"])


ENGLISH = csv_file(
    "Creator,Date,LIVE duration,Diamonds,New followers,Valid days,Region",
    "@Ana.Live,2026-03-02,1h 30m,\"1,234\",10,1,MX",
    "ana.live,2026-03-03,90 min,500,5,1,MX",
    "https://www.tiktok.com/@benstreams,2026-03-02,2.5,20,1,1,CO",
    "nobody_here,2026-03-02,1,1,1,1,CO",
    "cla,03/04/2026,1,1,1,1,CO",
    "ana.live,2026-03-02,3,3,3,1,MX",
    "cla,2026-03-04,lots,1,1,1,CO",
)


async def test_a_preview_changes_nothing_and_names_every_refused_line(services, program):
    await stat(services, ANA, MARCH, 1.0, diamonds=100)
    before = await month_row(services, ANA)
    preview = await services.stats.stage(G, MANAGER, "march.csv", ENGLISH)
    record = preview.record
    assert (record.added, record.changed, record.unchanged) == (3, 0, 0)
    assert record.rows_refused == 4 and record.creators == 2
    assert (record.first_period, record.last_period) == ("2026-03-02", "2026-03-03")
    assert {(r.line, r.reason) for r in preview.refused} == {
        (5, "stats.unknown_creator"), (6, "sheets.ambiguous_date"),
        (7, "stats.duplicate_row"), (8, "sheets.bad_duration")}
    assert preview.unknown_columns == ("Region",)
    assert preview.columns == ("hours", "diamonds", "followers", "valid_days")
    assert await month_row(services, ANA) == before
    assert await services.db.fetchval("SELECT count(*) FROM platform_stats") == 0
    assert record.file_hash == __import__("hashlib").sha256(ENGLISH).hexdigest()


async def test_apply_replaces_figures_by_the_platforms_and_reapply_changes_nothing(
        services, program):
    await stat(services, ANA, MARCH, 1.0, diamonds=100, followers=2)
    first = await services.stats.stage(G, MANAGER, "march.csv", ENGLISH)
    applied = await services.stats.apply(G, first.record.id, MANAGER)
    assert applied.state == "applied"
    # ANA checked in 1 h and 100 diamonds on the 2nd; the platform says 1.5 h and 1,234
    assert await month_row(services, ANA) == {
        "checkins": 1, "valid_days": 2, "hours": 3.0, "diamonds": 1734, "followers": 15}
    assert await week_row(services, ANA) == {"checkins": 1, "hours": 3.0, "diamonds": 1734}
    assert await alltime(services, ANA) == (3.0, 1734)
    assert (await month_row(services, BEN))["hours"] == 2.5  # matched by its profile link
    # the same file again: a preview of nothing new, and applying it changes nothing
    again = await services.stats.stage(G, MANAGER, "march.csv", ENGLISH)
    assert (again.record.added, again.record.changed, again.record.unchanged) == (0, 0, 3)
    assert again.duplicate_of == first.record.id
    await services.stats.apply(G, again.record.id, MANAGER)
    assert await month_row(services, ANA) == {
        "checkins": 1, "valid_days": 2, "hours": 3.0, "diamonds": 1734, "followers": 15}
    assert await services.db.fetchval("SELECT count(*) FROM platform_stats") == 3
    entries = await services.audit.recent(G)
    assert [e.action for e in entries[:2]] == ["stats.import", "stats.import"]
    assert entries[0].details["file_hash"] == first.record.file_hash


async def test_an_overlapping_period_is_replaced_never_added_and_rollback_restores(
        services, program):
    first = await services.stats.stage(G, MANAGER, "a.csv", csv_file(
        "Handle,Date,Hours,Diamonds", "ana.live,2026-03-02,2,200", "ana.live,2026-03-03,1,100"))
    await services.stats.apply(G, first.record.id, MANAGER)
    second = await services.stats.stage(G, MANAGER, "b.csv", csv_file(
        "Handle,Date,Hours,Diamonds", "ana.live,2026-03-03,4,400", "ana.live,2026-03-04,1,10"))
    assert (second.record.added, second.record.changed, second.record.unchanged) == (1, 1, 0)
    await services.stats.apply(G, second.record.id, MANAGER)
    assert (await month_row(services, ANA))["hours"] == 7.0  # 2 + 4 + 1, not 2 + 1 + 4 + 1
    await services.stats.rollback(G, second.record.id, MANAGER)
    assert (await month_row(services, ANA))["hours"] == 3.0  # the 3rd is back at 1 h
    assert await alltime(services, ANA) == (3.0, 300)
    await services.stats.rollback(G, first.record.id, MANAGER)
    assert await month_row(services, ANA) is None
    assert await services.db.fetchval("SELECT count(*) FROM platform_stats") == 0
    with pytest.raises(Exception) as refused:
        await services.stats.rollback(G, first.record.id, MANAGER)
    assert refused.value.code == "stats.already_rolled_back"
    listed = await services.stats.imports(G)
    assert [(i.id, i.state) for i in listed] == [(second.record.id, "rolled_back"),
                                                 (first.record.id, "rolled_back")]


async def test_a_spanish_workbook_reads_its_decimal_comma_and_thousands_dot(services, program):
    data = xlsx_file([
        ["Usuario", "Fecha", "Duración del LIVE", "Diamantes", "Nuevos seguidores"],
        ["@ana.live", "02/03/2026", "1,5", "1.234", "7"],
        ["benstreams", date(2026, 3, 3), "2 horas 15 minutos", 2500, 3],
    ])
    preview = await services.stats.stage(G, MANAGER, "marzo.xlsx", data, "es")
    assert preview.refused == []  # 02/03/2026 in a Spanish file is the 2nd of March
    await services.stats.apply(G, preview.record.id, MANAGER)
    ana = await month_row(services, ANA)
    assert (ana["hours"], ana["diamonds"], ana["followers"]) == (1.5, 1234, 7)
    assert (await month_row(services, BEN))["hours"] == 2.25


async def test_files_familia_cannot_read_are_refused_whole(services, program):
    with pytest.raises(SheetError) as wrong:
        await services.stats.stage(G, MANAGER, "stats.pdf", b"%PDF-1.4")
    assert wrong.value.code == "sheets.wrong_type"
    with pytest.raises(SheetError) as no_creator:
        await services.stats.stage(G, MANAGER, "s.csv", csv_file("Date,Hours", "2026-03-02,1"))
    assert no_creator.value.code == "sheets.missing_columns"
    latin = csv_file("Usuario;Fecha;Duración;Diamantes", "ana.live;2026-03-02;1,5;1.000",
                     encoding="cp1252")
    preview = await services.stats.stage(G, MANAGER, "s.csv", latin, "es")
    assert preview.record.added == 1
    assert await services.db.fetchval("SELECT count(*) FROM stat_imports") == 1


async def test_sources_choose_per_metric_and_a_checkin_on_an_imported_day_keeps_it(
        services, program, clock):
    await stat(services, ANA, MARCH, 1.0, diamonds=100)
    preview = await services.stats.stage(G, MANAGER, "a.csv", csv_file(
        "Handle,Date,Hours,Diamonds", "ana.live,2026-03-02,2,200"))
    await services.stats.apply(G, preview.record.id, MANAGER)
    assert (await month_row(services, ANA))["hours"] == 2.0
    await services.sources.set(G, MANAGER, metric="hours", source="checkins")
    row = await month_row(services, ANA)
    assert (row["hours"], row["diamonds"]) == (1.0, 200)
    assert await alltime(services, ANA) == (1.0, 200)
    await services.sources.set(G, MANAGER, metric="hours", source="imported")
    assert (await month_row(services, ANA))["hours"] == 2.0
    # a check-in for the same day (sent again): the imported figures stay, the count too
    clock.set(clock.now().replace(hour=20))
    done = await services.checkins.submit(G, ANA, {"hours": "5", "diamonds": "9",
                                                   "followers": "0", "peak_viewers": "0"})
    assert done.week.hours == 2.0 and done.week.diamonds == 200 and done.week.checkins == 1
    # a check-in on a day without import adds its figures as usual
    clock.set(clock.now() + timedelta(days=1))
    await services.checkins.submit(G, ANA, {"hours": "1", "diamonds": "1", "followers": "0",
                                            "peak_viewers": "0"})
    assert await month_row(services, ANA) == {
        "checkins": 2, "valid_days": 2, "hours": 3.0, "diamonds": 201, "followers": 0}
    board = await services.leaderboards.board(G, "hours", __import__(
        "bot.services.leaderboards", fromlist=["Period"]).Period("month", "2026-03"),
        viewer_id=ANA)
    assert [(r.user_id, r.value) for r in board.rows] == [(ANA, 3.0)]
    assert board.imported == {ANA}  # shown with 📥: the figure holds the platform's
    await services.sources.set(G, MANAGER, metric="hours", source="checkins")
    board = await services.leaderboards.board(G, "hours", board.period, viewer_id=ANA)
    assert board.imported == frozenset()


async def test_a_monthly_file_replaces_the_months_totals_not_the_weeks(services, program):
    await stat(services, ANA, MARCH, 1.0, diamonds=100)
    preview = await services.stats.stage(G, MANAGER, "m.csv", csv_file(
        "Creator ID,Month,Diamonds,Valid days", "7001,2026-03,50000,20",
        "handle-missing,2026-03,1,1"))
    assert preview.record.granularity == "month" and preview.record.rows_refused == 1
    bad = await services.stats.stage(G, MANAGER, "m.csv", csv_file(
        "Handle,Month,Valid days", "ana.live,2026-03,40"))
    assert [r.reason for r in bad.refused] == ["stats.too_high"]
    preview = await services.stats.stage(G, MANAGER, "m.csv", csv_file(
        "Creator ID,Month,Diamonds,Valid days", "7001,2026-03,50000,20",
        "handle-missing,2026-03,1,1"))
    await services.stats.apply(G, preview.record.id, MANAGER)
    assert await month_row(services, BEN) == {
        "checkins": 0, "valid_days": 20, "hours": 0.0, "diamonds": 50000, "followers": 0}
    assert await week_row(services, BEN) is None
    assert (await month_row(services, ANA))["diamonds"] == 100


async def test_reconciliation_flags_what_differs_past_the_tolerance(services, program):
    await stat(services, ANA, MARCH, 2.0, diamonds=1000, followers=10)
    await stat(services, BEN, MARCH, 2.0, diamonds=1000, followers=10)
    await stat(services, CLA, MARCH, 1.0, diamonds=10, followers=1)
    preview = await services.stats.stage(G, MANAGER, "a.csv", csv_file(
        "Handle,Date,Hours,Diamonds,New followers",
        "ana.live,2026-03-02,2,1050,10",   # 5 % off: within 10 %
        "benstreams,2026-03-02,1.5,500,10"))  # hours 33 % and diamonds 100 % off
    await services.stats.apply(G, preview.record.id, MANAGER)
    report = await services.reconcile.report(G, "2026-03")
    by_user = {line.user_id: line for line in report.lines}
    assert by_user[ANA].status == "ok" and by_user[BEN].status == "differs"
    assert by_user[CLA].status == "no_import"
    assert report.lines[0].user_id == BEN  # flagged first
    assert by_user[BEN].figures["diamonds"].difference == 500
    assert by_user[BEN].figures["hours"].flagged and not by_user[BEN].figures["followers"].flagged
    await services.sources.set(G, MANAGER, tolerance=5)
    strict = await services.reconcile.report(G, "2026-03", program.id)
    assert {line.user_id for line in strict.flagged} == {BEN}  # 50 of 1,000 is not over 5 %
    await services.sources.set(G, MANAGER, tolerance=4)
    assert {line.user_id for line in (await services.reconcile.report(G, "2026-03")).flagged
            } == {ANA, BEN}
    data = await services.reconcile.csv(report, {BEN: "Ben"}, [str(i) for i in range(17)],
                                        {"ok": "ok", "differs": "DIFF", "no_import": "-",
                                         "no_checkins": "-", "no_data": "-"})
    assert data.startswith(b"\xef\xbb\xbf") and b"Ben," in data and b"DIFF" in data


def test_the_iso_week_written_in_sql_is_pythons():
    conn = sqlite3.connect(":memory:")
    day = date(2015, 12, 20)
    for _ in range(12 * 366):
        found = conn.execute(f"SELECT {_WEEK.format(d='?')}", (day.isoformat(),) * 2
                             ).fetchone()[0]
        assert found == iso_week(day), day
        day += timedelta(days=1)


async def test_the_readme_examples_read_as_documented(services, program):
    """README's two example files: every row read, the figures as written."""
    section = README.split("## Platform stats", 1)[1]
    blocks = [b.split("```", 1)[0] for b in section.split("```csv\n")[1:3]]
    files = ["\r\n".join(line.strip() for line in b.strip().splitlines()).encode()
             for b in blocks]
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE creator_profiles SET platform_user_id = '7301958841'"
                         " WHERE user_id = ?", (BEN,))
    daily = await services.stats.stage(G, MANAGER, "daily.csv", files[0])
    assert daily.refused == [] and daily.record.rows == 3 and daily.record.creators == 2
    await services.stats.apply(G, daily.record.id, MANAGER)
    row = await month_row(services, ANA, "2026-05")
    assert (row["hours"], row["diamonds"], row["valid_days"]) == (3.83, 2034, 2)
    monthly = await services.stats.stage(G, MANAGER, "mensual.csv", files[1], "es")
    assert monthly.refused == [] and monthly.record.granularity == "month"
    await services.stats.apply(G, monthly.record.id, MANAGER)
    row = await month_row(services, ANA, "2026-05")
    assert (row["hours"], row["diamonds"], row["followers"], row["valid_days"]) == (
        62.5, 48210, 315, 22)


async def test_a_file_read_in_many_small_chunks_has_the_same_outcome(
        services, program, settings, clock):
    """A big file is read and staged a chunk at a time (the next read while the one before
    is written): chunks of two rows give the same preview, refusals (with their words and
    the first line of a duplicate) and rows as the whole file at once."""
    from bot.services.platform_stats import PlatformStatsService

    here = await services.stats.stage(G, MANAGER, "march.csv", ENGLISH)
    small = PlatformStatsService(services.db, clock, settings.checkin_valid_day_hours,
                                 chunk=2)
    there = await small.stage(G, MANAGER, "march.csv", ENGLISH)
    for field in ("added", "changed", "unchanged", "rows_read", "rows_refused", "creators",
                  "first_period", "last_period"):
        assert getattr(there.record, field) == getattr(here.record, field), field
    assert [(r.line, r.reason, r.error.params) for r in there.refused] == [
        (r.line, r.reason, r.error.params) for r in here.refused]
    with pytest.raises(SheetError) as refused:
        await small.stage(G, MANAGER, "s.csv", csv_file("Date,Hours", "2026-03-02,1"))
    assert refused.value.code == "sheets.missing_columns" and refused.value.params["columns"]
    await small.apply(G, there.record.id, MANAGER)
    assert (await month_row(services, ANA))["hours"] == 3.0
