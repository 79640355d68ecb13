"""Writing a table out: CSV (UTF-8 with a BOM, so Excel opens accents right) or ``.xlsx``.

Rows are consumed as an iterable, one at a time, into a binary file (a spooled temporary file
keeps a small export in memory and a big one on disk): nothing builds the whole table twice.

**Formula injection.** A cell that a spreadsheet would run as a formula — text starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP's list) — is written as text: in
CSV with a leading ``'`` (Excel shows the text, runs nothing), in ``.xlsx`` as a string cell
(openpyxl would otherwise store ``=…`` as a formula). Numbers stay numbers (``-5`` as an int
is not text); dates are written as dates (ISO in CSV).

Both writers are synchronous: call :func:`write_async` (a thread) from the event loop.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_SPOOL = 4 * 1024 * 1024


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run, made plain text; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return neutralise(value) if isinstance(value, str) else value


def write_csv(out: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a CSV (UTF-8 with BOM, ``\\r\\n`` lines) into ``out``; the number of data rows."""
    out.write(codecs.BOM_UTF8)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
        count += 1
    text.flush()
    text.detach()  # leave ``out`` open for the caller
    return count


def write_xlsx(out: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]],
               title: str = "Familia") -> int:
    """Write a one-sheet workbook (openpyxl's write-only mode: rows are streamed) into
    ``out``; the number of data rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "Familia")

    def cells(values: Sequence[Any]) -> list[Any]:
        written: list[Any] = []
        for value in values:
            if isinstance(value, Decimal):
                value = float(value)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever it starts with
            written.append(cell)
        return written

    sheet.append(cells(header))
    count = 0
    for row in rows:
        sheet.append(cells(row))
        count += 1
    book.save(out)
    return count


def write(fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
          title: str = "Familia") -> tuple[IO[bytes], int, int]:
    """Write ``rows`` in ``fmt`` (``csv`` or ``xlsx``) to a spooled temporary file, rewound:
    (file, data rows, size in bytes). The caller closes the file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL)
    try:
        count = (write_csv(out, header, rows) if fmt == "csv"
                 else write_xlsx(out, header, rows, title))
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out, count, size


async def write_async(fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
                      title: str = "Familia") -> tuple[IO[bytes], int, int]:
    """:func:`write` in a thread. ``rows`` is consumed in that thread: give it data already
    read from the database (a list, or a generator over fetched rows), never a coroutine."""
    return await asyncio.to_thread(write, fmt, header, rows, title)


def to_bytes(fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
             title: str = "Familia") -> bytes:
    """The whole file as bytes (templates, tests, small exports)."""
    out, _, _ = write(fmt, header, rows, title)
    with out:
        return out.read()
