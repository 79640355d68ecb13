"""Sheet.records, the lean way through a big file (the stats import): the same rows, lines
and limit as Sheet.rows, cells as read (bot.sheets.cell makes them what rows gives); and the
encoding checked a piece at a time as decode() read it whole."""

from __future__ import annotations

import codecs

import pytest

from bot.sheets import Limits, SheetError, cell, decode, encoding_of, open_sheet
from tests.test_sheets import EN, SCHEMA, _csv, _xlsx

KEYS = ("user", "handle", "diamonds", "hours")
ROWS = [*EN, ["   ", " ", ""], ["cla"], ["'=dia", "'@cla", "7", ""]]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_records_are_the_rows_as_read(kind):
    data = _csv(ROWS) if kind == "csv" else _xlsx(ROWS)
    name = f"f.{kind}"
    rows = list(open_sheet(data, name, SCHEMA).rows())
    records = list(open_sheet(data, name, SCHEMA).records(KEYS))
    assert [line for line, _ in records] == [r.line for r in rows] == [2, 4, 6, 7]
    read = cell if kind == "csv" else (lambda value: value)
    assert [tuple(read(c) for c in cells) for _, cells in records] == [
        tuple(r.get(k) for k in KEYS) for r in rows]
    if kind == "csv":  # as written: a short row's missing cells empty, a neutralised one kept
        assert records[2][1] == ("cla", "", "", "") and records[3][1][0] == "'=dia"


def test_records_refuse_a_file_past_its_row_limit():
    sheet = open_sheet(_csv(ROWS), "f.csv", SCHEMA, Limits(max_rows=3))
    with pytest.raises(SheetError) as refused:
        list(sheet.records(KEYS))
    assert refused.value.code == "sheets.too_many_rows"


@pytest.mark.parametrize("data", [
    "Usuario;Duración\r\nJosé;1,5\r\n".encode("cp1252"),
    codecs.BOM_UTF8 + "Usuario,Horas\r\nJosé,1\r\n".encode(),
    "Usuario\tHoras\r\nJosé\t1\r\n".encode("utf-16"),
    "Usuario,Horas\r\nZoë,1\r\n".encode("utf-16-le"),
    ("Usuario,Horas\r\n" + "é" * 2_000_000 + ",1\r\n").encode(),  # past one piece
])
def test_the_encoding_checked_in_pieces_is_the_one_text_is_decoded_with(data):
    text, encoding = decode(data)
    assert encoding_of(data) == (encoding, text.split("\n", 1)[0])


def test_a_control_character_past_the_first_piece_refuses_the_file():
    data = ("Usuario,Horas\r\n" + "a" * 1_500_000 + "\x01,1\r\n").encode()
    with pytest.raises(SheetError) as refused:
        encoding_of(data)
    assert refused.value.code == "sheets.bad_encoding"
