"""The file layer (bot/sheets): real files in both formats and both languages, every
encoding Excel writes, every refusal with its reason, and what goes back out."""

from __future__ import annotations

import asyncio
import codecs
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from bot.sheets import (
    Column,
    Limits,
    Schema,
    SheetError,
    batches,
    normalise_handle,
    open_sheet,
    open_sheet_async,
    parse_date,
    parse_decimal,
    parse_hours,
    parse_int,
    parse_month,
    parse_platform_id,
    to_bytes,
)

SCHEMA = Schema((
    Column("user", ("discord user", "usuario", "usuario de discord", "miembro"), required=True,
           titles={"en": "Discord user", "es": "Usuario de Discord"}),
    Column("handle", ("tiktok", "usuario de tiktok", "platform handle", "@"),
           titles={"en": "Handle", "es": "Usuario de la plataforma"}),
    Column("diamonds", ("diamantes",), titles={"en": "Diamonds", "es": "Diamantes"}),
    Column("hours", ("duracion live", "live duration", "horas"),
           titles={"en": "Hours", "es": "Horas"}),
))

EN = [["Discord user", "TikTok", "Diamonds", "LIVE duration (h)", "Favourite colour"],
      ["ana", "@Ana.Star", "1,234", "1h 30m", "red"],
      ["", "", "", "", ""],
      ["bea", "bea_live", "56", "90 min", "blue"]]
ES = [["Usuario de Discord", "Usuario de TikTok", "Diamantes", "Duración LIVE"],
      ["José", "@josé", "1.234", "1,5"]]


def _csv(rows, encoding="utf-8", delimiter=","):
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode(encoding)


def _xlsx(rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _read(data, name, **kw):
    sheet = open_sheet(data, name, SCHEMA, **kw)
    return sheet, list(sheet.rows())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "utf-16-le"])
def test_a_csv_in_every_encoding_excel_writes_reads_the_same(encoding):
    _, rows = _read(_csv(ES, encoding), "equipo.csv", locale="es")
    assert rows[0].cells["user"] == "José" and rows[0].line == 2
    assert parse_int(rows[0].cells["diamonds"], ",") == 1234
    assert parse_hours(rows[0].cells["hours"], ",") == 1.5


def test_english_csv_headers_with_units_and_unknown_columns_listed():
    sheet, rows = _read(_csv(EN), "roster.csv")
    assert sheet.header.unknown == ("Favourite colour",)
    assert [r.line for r in rows] == [2, 4]  # the blank line is skipped, lines stay true
    assert normalise_handle(rows[0].cells["handle"]) == "ana.star"
    assert parse_int(rows[0].cells["diamonds"]) == 1234
    assert parse_hours(rows[1].cells["hours"]) == 1.5


def test_a_spanish_excel_csv_with_semicolons():
    data = _csv(ES, "cp1252", delimiter=";")
    _, rows = _read(data, "equipo.csv")
    assert rows[0].cells["handle"] == "@josé"


@pytest.mark.parametrize("rows", [EN, ES])
def test_xlsx_reads_like_csv_with_native_cell_types(rows):
    data = _xlsx([*rows, ["cy", None, 7, dt.time(2, 15), None]])
    sheet, read = _read(data, "roster.xlsx")
    assert sheet.kind == "xlsx"
    assert read[-1].cells["diamonds"] == 7 and parse_hours(read[-1].cells["hours"]) == 2.25


def test_a_renamed_workbook_is_still_read_as_one():
    sheet, _ = _read(_xlsx(EN), "roster")
    assert sheet.kind == "xlsx"


@pytest.mark.parametrize(("data", "name", "code"), [
    (b"", "a.csv", "sheets.empty"),
    (b"\n\n  \n", "a.csv", "sheets.empty"),
    (b"%PDF-1.4 hello", "a.pdf", "sheets.wrong_type"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "a.xls", "sheets.old_excel"),
    (b"PK\x03\x04 broken zip", "a.xlsx", "sheets.unreadable"),
    (b"usuario,tiktok\n\x00\x01\x02\x03garbage\x00", "a.csv", "sheets.bad_encoding"),
    (b"tiktok,diamonds\nana,1\n", "a.csv", "sheets.missing_columns"),
    (b"user,usuario\n1,2\n", "a.csv", "sheets.duplicate_column"),
    (b"x" * 2_000_000, "a.csv", "sheets.too_big"),
])
def test_bad_files_are_refused_with_a_reason(data, name, code):
    with pytest.raises(SheetError) as caught:
        sheet = open_sheet(data, name, SCHEMA, Limits(max_bytes=1_000_000))
        list(sheet.rows())
    assert caught.value.code == code


def test_missing_columns_are_named_in_the_readers_language():
    with pytest.raises(SheetError) as caught:
        open_sheet(b"tiktok\nana\n", "a.csv", SCHEMA, locale="es")
    assert caught.value.params["columns"] == "Usuario de Discord"


def test_the_row_limit_refuses_the_file():
    data = _csv([["user"], *[[f"u{i}"] for i in range(11)]])
    sheet = open_sheet(data, "a.csv", SCHEMA, Limits(max_rows=10))
    with pytest.raises(SheetError) as caught:
        list(sheet.rows())
    assert caught.value.code == "sheets.too_many_rows" and caught.value.params["limit"] == 10


async def test_rows_come_in_batches_read_off_the_loop():
    data = _csv([["user"], *[[f"u{i}"] for i in range(25)]])
    sheet = await open_sheet_async(data, "a.csv", SCHEMA)
    sizes = [len(chunk) async for chunk in batches(sheet, 10)]
    assert sizes == [10, 10, 5]
    await asyncio.sleep(0)


@pytest.mark.parametrize(("text", "decimal", "value"), [
    ("1,234", ".", Decimal(1234)), ("1.234", ",", Decimal(1234)), ("1 234,5", ",",
                                                                      Decimal("1234.5")),
    ("1,234,567.25", ".", Decimal("1234567.25")), ("12.5", ".", Decimal("12.5")),
    ("12,5", ",", Decimal("12.5")), (" 7 ", ".", Decimal(7)), (12.0, ".", Decimal(12)),
    ("-3", ".", Decimal(-3)), ("1\u00a0234", ".", Decimal(1234)),
])
def test_numbers_by_locale(text, decimal, value):
    assert parse_decimal(text, decimal) == value


@pytest.mark.parametrize(("text", "decimal"), [
    ("1,5", "."), ("1.5", ","), ("12,34", "."), ("abc", "."), ("1..2", "."), ("", "."),
    ("=1+1", "."), ("1e5", "."), (float("nan"), "."),
])
def test_numbers_refused(text, decimal):
    with pytest.raises(SheetError) as caught:
        parse_decimal(text, decimal)
    assert caught.value.code == "sheets.bad_number"


def test_whole_numbers_and_ranges():
    assert parse_int("1.234", ",") == 1234
    for text, code in (("1.234", "sheets.not_whole"), ("-1", "sheets.negative")):
        with pytest.raises(SheetError) as caught:
            parse_int(text)
        assert caught.value.code == code
    with pytest.raises(SheetError) as caught:
        parse_int("11", maximum=10)
    assert caught.value.code == "sheets.out_of_range"


@pytest.mark.parametrize(("text", "hours"), [
    ("1h 30m", 1.5), ("1 h 30 min", 1.5), ("90 min", 1.5), ("90m", 1.5), ("1.5", 1.5),
    ("1:30", 1.5), ("01:30:00", 1.5), ("2 horas 15 minutos", 2.25), ("2 horas y 15 minutos",
                                                                      2.25),
    ("5400 s", 1.5), ("1,5 h", 1.5), ("2H", 2.0), (3, 3.0), (dt.timedelta(minutes=45), 0.75),
])
def test_durations(text, hours):
    assert parse_hours(text) == hours


def test_a_bare_duration_follows_the_locale():
    assert parse_hours("1,5", ",") == 1.5


@pytest.mark.parametrize("text", ["soon", "1h 30x", "-2", "1:75", "h", ""])
def test_durations_refused(text):
    with pytest.raises(SheetError) as caught:
        parse_hours(text)
    assert caught.value.code == "sheets.bad_duration"


@pytest.mark.parametrize(("text", "day"), [
    ("2026-11-03", dt.date(2026, 11, 3)), ("2026/11/03", dt.date(2026, 11, 3)),
    ("20261103", dt.date(2026, 11, 3)), ("3 Nov 2026", dt.date(2026, 11, 3)),
    ("Nov 3, 2026", dt.date(2026, 11, 3)), ("3 de noviembre de 2026", dt.date(2026, 11, 3)),
    ("25/11/2026", dt.date(2026, 11, 25)), ("11/25/2026", dt.date(2026, 11, 25)),
    ("03/03/26", dt.date(2026, 3, 3)), ("2026-11-03 14:00:00", dt.date(2026, 11, 3)),
    ("3 sept. 2026", dt.date(2026, 9, 3)), (dt.datetime(2026, 11, 3, 5), dt.date(2026, 11, 3)),
])
def test_dates(text, day):
    assert parse_date(text) == day


def test_an_ambiguous_date_is_refused_unless_the_order_is_known():
    with pytest.raises(SheetError) as caught:
        parse_date("03/11/2026")
    assert caught.value.code == "sheets.ambiguous_date"
    assert parse_date("03/11/2026", day_first=True) == dt.date(2026, 11, 3)
    assert parse_date("03/11/2026", day_first=False) == dt.date(2026, 3, 11)


@pytest.mark.parametrize("text", ["2026-02-30", "tomorrow", "32/13/2026", "3 Foo 2026"])
def test_bad_dates(text):
    with pytest.raises(SheetError) as caught:
        parse_date(text)
    assert caught.value.code == "sheets.bad_date"


def test_months():
    assert parse_month("2026-11") == parse_month("noviembre 2026") == parse_month(
        "Nov 2026") == parse_month("11/2026") == parse_month("2026-11-17") == dt.date(2026,
                                                                                      11, 1)


@pytest.mark.parametrize(("text", "handle"), [
    ("@Ana.Star", "ana.star"), ("  ana_star ", "ana_star"),
    ("https://www.tiktok.com/@Ana.Star", "ana.star"), ("tiktok.com/@ana/", "ana"),
])
def test_handles_are_normalised(text, handle):
    assert normalise_handle(text) == handle


@pytest.mark.parametrize("text", ["@", "two words", "=cmd()", "a" * 31])
def test_bad_handles(text):
    with pytest.raises(SheetError):
        normalise_handle(text)


def test_platform_ids():
    assert parse_platform_id("0068123") == "68123"
    assert parse_platform_id(7.0) == "7"
    with pytest.raises(SheetError):
        parse_platform_id("12a")


DANGER = ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "plain", "Año"]


def test_csv_out_has_a_bom_and_neutralises_formulas():
    data = to_bytes("csv", ["Nombre", "Valor"], [[d, -5] for d in DANGER])
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Nombre", "Valor"]
    assert [r[0] for r in rows[1:]] == ["'" + d for d in DANGER[:5]] + ["plain", "Año"]
    assert {r[1] for r in rows[1:]} == {"-5"}  # a number is not text: not touched


def test_xlsx_out_keeps_formula_looking_text_as_text():
    data = to_bytes("xlsx", ["Name", "Day", "Hours"],
                    [[d, dt.date(2026, 11, 3), Decimal("1.5")] for d in DANGER])
    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    values = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [v[0] for v in values] == DANGER
    assert all(sheet.cell(row=i, column=1).data_type == "s" for i in range(2, 9))
    assert values[0][2] == 1.5


def test_what_is_written_reads_back():
    data = to_bytes("xlsx", SCHEMA.titles("es"), [["José", "@josé", 1234, 1.5]])
    _, rows = _read(data, "export.xlsx")
    assert rows[0].cells == {"user": "José", "handle": "@josé", "diamonds": 1234,
                             "hours": 1.5}


def test_a_neutralised_csv_cell_reads_back_as_written():
    data = to_bytes("csv", ["Discord user", "Handle"], [["=1+1", "@ana"]])
    _, rows = _read(data, "export.csv")
    assert rows[0].cells["user"] == "=1+1" and rows[0].cells["handle"] == "@ana"
