"""The file layer: spreadsheets in and out (CSV and ``.xlsx``), shared by every import and
export. Pure and synchronous (no database, no Discord); the async helpers only move the work
to a thread so the event loop is never blocked.

* :mod:`bot.sheets.reading` — an upload's bytes → type, size and row limits, encoding
  (UTF-8, UTF-8 with BOM, UTF-16, Windows-1252/Latin-1), the header matched against a
  :class:`Schema`, rows streamed once;
* :mod:`bot.sheets.headers` — columns with English/Spanish aliases, folded matching;
* :mod:`bot.sheets.values` — numbers by locale, durations, dates (ambiguous ones refused),
  handles, platform ids;
* :mod:`bot.sheets.writing` — CSV with BOM and ``.xlsx``, formula-looking cells neutralised.

Every refusal is a :class:`SheetError` whose code ``sheets.<reason>`` the caller localises
(``templates/discord/errors/sheets.j2``).
"""

from bot.sheets.errors import SheetError
from bot.sheets.headers import Column, HeaderMatch, Schema, fold
from bot.sheets.reading import (
    KINDS,
    Limits,
    Row,
    Sheet,
    batches,
    cell,
    decode,
    encoding_of,
    kind_of,
    open_sheet,
    open_sheet_async,
)
from bot.sheets.values import (
    blank,
    normalise_handle,
    parse_date,
    parse_decimal,
    parse_hours,
    parse_int,
    parse_month,
    parse_platform_id,
)
from bot.sheets.writing import (
    FORMATS,
    MEDIA_TYPES,
    neutralise,
    to_bytes,
    write,
    write_async,
    write_csv,
    write_xlsx,
)

__all__ = [
    "FORMATS", "KINDS", "MEDIA_TYPES", "Column", "HeaderMatch", "Limits", "Row", "Schema",
    "Sheet", "SheetError", "batches", "blank", "cell", "decode", "encoding_of", "fold",
    "kind_of", "neutralise",
    "normalise_handle", "open_sheet", "open_sheet_async", "parse_date", "parse_decimal",
    "parse_hours", "parse_int", "parse_month", "parse_platform_id", "to_bytes", "write",
    "write_async", "write_csv", "write_xlsx",
]
