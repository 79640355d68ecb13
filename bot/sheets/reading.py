"""Reading an uploaded file: its bytes → a header match and a stream of rows.

What a reader gets is a :class:`Sheet`: the matched header (:class:`HeaderMatch`) and
:meth:`Sheet.rows`, a generator of :class:`Row` (the line number a person sees in Excel or a
text editor, and the raw cells by column key). Nothing is read twice and no list of all rows
is built: a 450,000-row stats file is decoded as it is read, never whole (CSV), or read
sheet row by sheet row (``.xlsx``, openpyxl's read-only mode), and each row is dropped once
consumed. :meth:`Sheet.records` is the lean way through a big file: a tuple of cells per row.

A CSV cell written with a leading ``'`` before a formula character (how
:mod:`bot.sheets.writing` and careful spreadsheets neutralise ``=…``, ``@…``) is read back
without it: an export imports again as it was.

Everything here is synchronous and CPU-bound: call it off the event loop —
:func:`open_sheet_async` opens in a thread, :func:`batches` hands rows over in chunks, each
chunk read in a thread, so the loop is free between chunks.

Refusals (:class:`~bot.sheets.errors.SheetError`, code ``sheets.<reason>``): ``wrong_type``
(not CSV or ``.xlsx``; an old ``.xls`` says so), ``empty``, ``too_big`` (``limit_mb``),
``too_many_rows`` (``limit``), ``bad_encoding`` (not UTF-8, UTF-8 with BOM, UTF-16 or
Latin-1/Windows-1252 text), ``unreadable`` (a damaged workbook), ``no_header``,
``duplicate_column``, ``missing_columns``.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
import zipfile
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from bot.sheets.errors import SheetError
from bot.sheets.headers import HeaderMatch, Schema
from bot.sheets.writing import FORMULA_START

KINDS = ("csv", "xlsx")
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
_DELIMITERS = (",", ";", "\t", "|")
# Control characters never found in a spreadsheet's text: their presence means the bytes
# were decoded with the wrong encoding (or are not text at all).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_PIECE = 1 << 20  # the text is checked a megabyte at a time (no copy of the whole file)


@dataclass(frozen=True)
class Limits:
    """The most a file may hold: bytes (checked before reading) and data rows."""

    max_bytes: int = 8 * 1024 * 1024
    max_rows: int = 5_000


@dataclass(frozen=True)
class Row:
    """One data row: its line number as a person sees it (the header is line 1) and its raw
    cells by column key (``None`` for an empty cell; str for CSV, str/int/float/datetime for
    ``.xlsx``)."""

    line: int
    cells: dict[str, Any]

    def get(self, key: str) -> Any:
        return self.cells.get(key)


def kind_of(filename: str, data: bytes) -> str:
    """``csv`` or ``xlsx``, from the content first (a renamed file is still read right), then
    the name; anything else is refused."""
    name = (filename or "").lower()
    if data.startswith(_XLSX_MAGIC):
        if name.endswith((".xlsx", ".xlsm")) or not name.endswith((".csv", ".txt")):
            return "xlsx"
        raise SheetError("sheets.wrong_type", name=filename)
    if data.startswith(_OLE_MAGIC) or name.endswith(".xls"):
        raise SheetError("sheets.old_excel", name=filename)
    if name.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    raise SheetError("sheets.wrong_type", name=filename)


def _candidates(data: bytes) -> list[str]:
    if data.startswith(codecs.BOM_UTF8):
        return ["utf-8-sig"]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    head = data[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if len(head) >= 4 and odd > len(head) // 4 and even == 0:
        return ["utf-16-le"]
    if len(head) >= 4 and even > len(head) // 4 and odd == 0:
        return ["utf-16-be"]
    return ["utf-8", "cp1252", "latin-1"]


def _checked(data: bytes, encoding: str) -> str | None:
    """The first line of ``data`` read as ``encoding``, after checking the whole of it a
    piece at a time; None if it does not decode; :class:`SheetError` if it holds control
    characters (it was not text)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    first: str | None = None
    try:
        for start in range(0, max(len(data), 1), _PIECE):
            piece = decoder.decode(view[start:start + _PIECE], start + _PIECE >= len(data))
            if _CONTROL.search(piece):
                raise SheetError("sheets.bad_encoding")
            if first is None:
                first = piece.lstrip("\ufeff").split("\n", 1)[0]
    except (UnicodeDecodeError, UnicodeError):
        return None
    return first or ""


def encoding_of(data: bytes) -> tuple[str, str]:
    """The encoding ``data`` is read with and its first line: a BOM decides (UTF-8, UTF-16
    LE/BE); UTF-16 without a BOM is told by its zero bytes; else UTF-8, else Windows-1252
    (what Excel calls ANSI/Latin-1), else Latin-1. Text with control characters was not
    text: refused. The text is checked a piece at a time, never held whole."""
    for encoding in _candidates(data):
        first = _checked(data, encoding)
        if first is not None:
            return encoding, first
    raise SheetError("sheets.bad_encoding")


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with (see :func:`encoding_of`)."""
    encoding, _ = encoding_of(data)
    return data.decode(encoding).lstrip("\ufeff"), encoding


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _blank(cells: list[Any] | tuple[Any, ...]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def cell(text: Any) -> Any:
    """A CSV cell as :meth:`Sheet.records` gives it, as :meth:`Sheet.rows` would: None when
    blank; a cell Familia (or Excel) neutralised on the way out — ``'=…``, ``'@…`` — read
    back as it was written. (A workbook's cells come as :meth:`Sheet.rows` gives them.)"""
    return _cell(text) if isinstance(text, str) else text


def _cell(text: str) -> str | None:
    """A CSV cell: None when blank; a cell Familia (or Excel) neutralised on the way out —
    ``'=…``, ``'@…`` — read back as it was written."""
    if not text.strip():
        return None
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_START:
        return text[1:]
    return text


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    encoding, first = encoding_of(data)
    # decoded as it is read: no copy of the whole text (a StringIO of 21 MB holds 84)
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    reader = csv.reader(stream, delimiter=_delimiter(first))
    try:
        for cells in reader:  # as written: Sheet normalises them (cell) as it hands them on
            yield reader.line_num, cells
    except csv.Error as exc:
        raise SheetError("sheets.unreadable", line=reader.line_num) from exc


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook  # only a workbook pays for the import

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise SheetError("sheets.unreadable", line=0) from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            return
        line = 0
        try:
            for values in sheet.iter_rows(values_only=True):
                line += 1
                yield line, [None if (isinstance(v, str) and not v.strip()) else v
                             for v in values]
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
            raise SheetError("sheets.unreadable", line=line) from exc
    finally:
        book.close()


class Sheet:
    """An opened file: its kind, the matched header, and its data rows (read once)."""

    def __init__(self, kind: str, header: HeaderMatch, header_line: int,
                 source: Iterator[tuple[int, list[Any]]], limits: Limits) -> None:
        self.kind = kind
        self.header = header
        self.header_line = header_line
        self._source = source
        self._limits = limits
        self._taken = False
        self.rows_read = 0

    def rows(self) -> Iterator[Row]:
        """Each non-blank data row once; past ``limits.max_rows`` refuses the file
        (``sheets.too_many_rows``) — a caller applies nothing before the last row is read."""
        if self._taken:
            raise RuntimeError("a sheet's rows are read once")
        self._taken = True
        positions = list(self.header.positions.items())
        limit = self._limits.max_rows
        text = self.kind == "csv"
        for line, cells in self._source:
            if text:
                cells = [_cell(c) for c in cells]
            if _blank(cells):
                continue
            self.rows_read += 1
            if self.rows_read > limit:
                raise SheetError("sheets.too_many_rows", limit=limit)
            width = len(cells)
            yield Row(line, {key: cells[i] if i < width else None for key, i in positions})

    def records(self, keys: Sequence[str]) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """Each non-blank data row once, as :meth:`rows` (the same lines, the same limit),
        but lean, for a file of hundreds of thousands of rows: its line and a tuple of the
        cells of ``keys`` (each a column of the header), as read — a CSV cell is its text
        (``""`` when empty or missing: :func:`cell` makes it what :meth:`rows` gives), a
        workbook's cell what :meth:`rows` gives. No dict and no check per cell:
        a reader that remembers what each distinct cell means looks most of them up."""
        if self._taken:
            raise RuntimeError("a sheet's rows are read once")
        self._taken = True
        at = [self.header.positions[key] for key in keys]
        need = max(at, default=-1) + 1
        pick = itemgetter(*at) if len(at) > 1 else (lambda cells: (cells[at[0]],))
        limit = self._limits.max_rows
        text = self.kind == "csv"
        missing: Any = "" if text else None
        for line, cells in self._source:
            if not (cells and isinstance(cells[0], str) and cells[0].strip()) and _blank(
                    [_cell(c) for c in cells] if text else cells):
                continue
            self.rows_read += 1
            if self.rows_read > limit:
                raise SheetError("sheets.too_many_rows", limit=limit)
            if len(cells) < need:
                cells = [*cells, *[missing] * (need - len(cells))]
            yield line, pick(cells)


def open_sheet(data: bytes, filename: str, schema: Schema, limits: Limits = Limits(),
               locale: str = "en") -> Sheet:
    """Check the file's type and size, decode it, match its header (the first non-blank
    row) against ``schema``; the data rows are read as :meth:`Sheet.rows` is consumed."""
    if not data:
        raise SheetError("sheets.empty")
    if len(data) > limits.max_bytes:
        raise SheetError("sheets.too_big", limit_mb=max(1, limits.max_bytes // (1024 * 1024)))
    kind = kind_of(filename, data)
    source = _xlsx_rows(data) if kind == "xlsx" else _csv_rows(data)
    for line, cells in source:
        if kind == "csv":
            cells = [_cell(c) for c in cells]
        if not _blank(cells):
            header = schema.match(cells, locale)
            return Sheet(kind, header, line, source, limits)
    raise SheetError("sheets.empty")


async def open_sheet_async(data: bytes, filename: str, schema: Schema,
                           limits: Limits = Limits(), locale: str = "en") -> Sheet:
    """:func:`open_sheet` in a thread (decoding a big file takes a while)."""
    return await asyncio.to_thread(open_sheet, data, filename, schema, limits, locale)


def _take(rows: Iterator[Row], size: int) -> list[Row]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            break
    return chunk


async def batches(sheet: Sheet, size: int = 2000) -> AsyncIterator[list[Row]]:
    """The sheet's rows in chunks of ``size``, each chunk read in a thread: the event loop
    runs between chunks, and only one chunk is held at a time."""
    rows = sheet.rows()
    while True:
        chunk = await asyncio.to_thread(_take, rows, size)
        if not chunk:
            return
        yield chunk
