"""Cell values: numbers with a locale's separators, durations, dates, platform handles.

Each parser takes a raw cell (text from a CSV, or the int/float/datetime a workbook holds) and
returns a typed value or raises :class:`~bot.sheets.errors.SheetError` with a reason code
(``sheets.bad_number``, ``sheets.not_whole``, ``sheets.negative``, ``sheets.bad_duration``,
``sheets.bad_date``, ``sheets.ambiguous_date``, ``sheets.bad_handle``, ``sheets.bad_id``)
and the value, which the caller reports with the row's line number.

Numbers: ``decimal`` is the file's decimal mark (``"."`` in English, ``","`` in Spanish); the
other mark, spaces, no-break spaces and ``'`` group thousands, and a group must have three
digits — ``1,234`` is 1234 in English, ``1.234`` is 1234 in Spanish, ``1,5`` in English is
refused rather than guessed.

Durations (hours): ``1h 30m``, ``1 h 30 min``, ``90 min``, ``90m``, ``1:30`` (h:mm),
``1:30:00``, ``2 horas 15 minutos``, ``5400 s``, and a bare number meaning hours (``1.5`` or,
in Spanish, ``1,5``); a workbook's time or duration cell too.

Dates: ISO ``2026-11-03`` (and ``/``, ``.`` between), ``20261103``, ``3 Nov 2026``,
``Nov 3, 2026``, ``3 de noviembre de 2026``, and ``03/11/2026`` — the last is ambiguous
unless one part is above 12 (or both are equal) or the caller says the file's order
(``day_first``): refused with ``sheets.ambiguous_date`` rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.sheets.errors import SheetError
from bot.sheets.headers import fold

_SPACES = re.compile(r"[\s\u00a0\u202f']+")


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    return str(value).strip()


def parse_decimal(value: Any, decimal: str = ".") -> Decimal:
    """A number written with ``decimal`` as its decimal mark (see the module's docstring)."""
    if isinstance(value, bool):
        raise SheetError("sheets.bad_number", value=str(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise SheetError("sheets.bad_number", value=str(value))
        return Decimal(repr(value))
    raw = _text(value)
    text = raw.replace("\u2212", "-")
    sign = ""
    if text[:1] in "+-" and text:
        sign, text = text[0], text[1:].strip()
    group = "," if decimal == "." else "."
    text = _SPACES.sub(" ", text)
    if " " in text:  # groups separated by spaces: 1 234 567,5
        parts = text.split(" ")
        if not all(len(p) == 3 for p in parts[1:-1]) or not parts[-1][:3].isdigit():
            raise SheetError("sheets.bad_number", value=raw)
        text = "".join(parts)
    if group in text:
        whole, _, fraction = text.partition(decimal)
        groups = whole.split(group)
        if not (groups[0].isdigit() and 1 <= len(groups[0]) <= 3
                and all(len(g) == 3 and g.isdigit() for g in groups[1:])):
            raise SheetError("sheets.bad_number", value=raw)
        text = "".join(groups) + ("." + fraction if fraction or decimal in text else "")
    elif decimal != ".":
        if "." in text:
            raise SheetError("sheets.bad_number", value=raw)
        text = text.replace(decimal, ".")
    if not re.fullmatch(r"\d+(\.\d*)?|\.\d+", text):
        raise SheetError("sheets.bad_number", value=raw)
    try:
        return Decimal(sign + text)
    except InvalidOperation as exc:
        raise SheetError("sheets.bad_number", value=raw) from exc


def parse_int(value: Any, decimal: str = ".", *, minimum: int | None = 0,
              maximum: int | None = None) -> int:
    """A whole number (``1,234`` / ``1.234`` by locale); ``12.0`` from a workbook is 12."""
    number = parse_decimal(value, decimal)
    if number != number.to_integral_value():
        raise SheetError("sheets.not_whole", value=_text(value))
    whole = int(number)
    if minimum is not None and whole < minimum:
        raise SheetError("sheets.negative" if minimum == 0 else "sheets.out_of_range",
                         value=_text(value), minimum=minimum, maximum=maximum)
    if maximum is not None and whole > maximum:
        raise SheetError("sheets.out_of_range", value=_text(value), minimum=minimum or 0,
                         maximum=maximum)
    return whole


_UNITS = {
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "hora": 3600,
    "horas": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "minuto": 60,
    "minutos": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "seg": 1, "segundo": 1,
    "segundos": 1,
}
_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(r"(\d+):([0-5]\d)(?::([0-5]\d))?")


def parse_hours(value: Any, decimal: str = ".") -> float:
    """A duration in hours (see the module's docstring); negative durations are refused."""
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
    elif isinstance(value, dt.datetime | dt.date):
        raise SheetError("sheets.bad_duration", value=str(value))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(parse_decimal(value)) * 3600
    else:
        raw = _text(value)
        text = raw.casefold().strip()
        clock = _CLOCK.fullmatch(text)
        if clock:
            hours, minutes, secs = clock.groups()
            seconds = int(hours) * 3600 + int(minutes) * 60 + int(secs or 0)
        elif re.search(r"[a-z]", text):
            compact = re.sub(r"\s+y\s+|\s+and\s+", " ", text)
            parts = _PART.findall(compact)
            rest = _PART.sub("", compact).strip()
            if not parts or rest or any(unit not in _UNITS for _, unit in parts):
                raise SheetError("sheets.bad_duration", value=raw)
            # in a duration with units a comma is a decimal mark ("1,5 h"), never a group
            seconds = sum(float(number.replace(",", ".")) * _UNITS[unit]
                          for number, unit in parts)
        else:
            try:
                seconds = float(parse_decimal(raw, decimal)) * 3600
            except SheetError as exc:
                raise SheetError("sheets.bad_duration", value=raw) from exc
    if seconds < 0:
        raise SheetError("sheets.bad_duration", value=_text(value))
    return round(seconds / 3600, 4)


_MONTHS = {
    "jan": 1, "january": 1, "ene": 1, "enero": 1,
    "feb": 2, "february": 2, "febrero": 2,
    "mar": 3, "march": 3, "marzo": 3,
    "apr": 4, "april": 4, "abr": 4, "abril": 4,
    "may": 5, "mayo": 5,
    "jun": 6, "june": 6, "junio": 6,
    "jul": 7, "july": 7, "julio": 7,
    "aug": 8, "august": 8, "ago": 8, "agosto": 8,
    "sep": 9, "sept": 9, "september": 9, "septiembre": 9, "setiembre": 9,
    "oct": 10, "october": 10, "octubre": 10,
    "nov": 11, "november": 11, "noviembre": 11,
    "dec": 12, "december": 12, "dic": 12, "diciembre": 12,
}
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_NUMERIC = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})")
_DAY_NAME = re.compile(r"(\d{1,2}) (?:de )?([a-z]+)(?: de| del)? (\d{4})")
_NAME_DAY = re.compile(r"([a-z]+) (\d{1,2})(?:st|nd|rd|th)? (\d{4})")
_TIME_TAIL = re.compile(r"[ t]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?( ?(z|[+-]\d{2}:?\d{2}))?$")


def _make(raw: str, year: int, month: int, day: int) -> dt.date:
    if year < 100:
        year += 2000
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise SheetError("sheets.bad_date", value=raw) from exc


def parse_date(value: Any, *, day_first: bool | None = None) -> dt.date:
    """A calendar date (see the module's docstring)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = _text(value)
    text = _TIME_TAIL.sub("", raw.casefold().strip())
    if m := _ISO.fullmatch(text):
        return _make(raw, int(m[1]), int(m[2]), int(m[3]))
    if m := _COMPACT.fullmatch(text):
        return _make(raw, int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC.fullmatch(text):
        first, second, year = int(m[1]), int(m[2]), int(m[3])
        if first > 12 or (day_first is True and second <= 12):
            return _make(raw, year, second, first)
        if second > 12 or day_first is False:
            return _make(raw, year, first, second)
        if first == second:
            return _make(raw, year, first, second)
        raise SheetError("sheets.ambiguous_date", value=raw)
    words = re.sub(r"[,.]", " ", fold(text) if text else "")
    words = re.sub(r"\s+", " ", words).strip()
    if (m := _DAY_NAME.fullmatch(words)) and m[2] in _MONTHS:
        return _make(raw, int(m[3]), _MONTHS[m[2]], int(m[1]))
    if (m := _NAME_DAY.fullmatch(words)) and m[1] in _MONTHS:
        return _make(raw, int(m[3]), _MONTHS[m[1]], int(m[2]))
    raise SheetError("sheets.bad_date", value=raw)


def parse_month(value: Any) -> dt.date:
    """A month (its first day): ``2026-11``, ``11/2026``, ``Nov 2026``, ``noviembre de
    2026``, or a full date (its month)."""
    if isinstance(value, dt.datetime | dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        return day.replace(day=1)
    raw = _text(value)
    text = fold(raw)
    if m := re.fullmatch(r"(\d{4}) (\d{1,2})", text):
        return _make(raw, int(m[1]), int(m[2]), 1)
    if m := re.fullmatch(r"(\d{1,2}) (\d{4})", text):
        return _make(raw, int(m[2]), int(m[1]), 1)
    if (m := re.fullmatch(r"([a-z]+)(?: de| del)? (\d{4})", text)) and m[1] in _MONTHS:
        return _make(raw, int(m[2]), _MONTHS[m[1]], 1)
    try:
        return parse_date(value).replace(day=1)
    except SheetError as exc:
        raise SheetError("sheets.bad_date", value=raw) from exc


HANDLE_MAX = 30  # TikTok 24, Instagram and YouTube 30, Twitch 25
_HANDLE = re.compile(r"[\w.\-]{1,30}")
_HANDLE_URL = re.compile(r"(?:https?://)?(?:www\.|m\.)?[a-z0-9.\-]+\.[a-z]{2,}/@?([^/?#\s]+)",
                         re.IGNORECASE)


def normalise_handle(value: Any) -> str:
    """A platform handle as stored: no ``@``, no profile link around it, lower case."""
    raw = _text(value)
    text = raw
    if m := _HANDLE_URL.fullmatch(text.rstrip("/")):
        text = m[1]
    text = text.strip().lstrip("@").strip().casefold()
    if not _HANDLE.fullmatch(text):
        raise SheetError("sheets.bad_handle", value=raw)
    return text


def parse_platform_id(value: Any) -> str:
    """A platform's numeric user id (kept as text: it can pass 2**63)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return str(int(value))
    raw = _text(value)
    if not re.fullmatch(r"\d{1,30}", raw):
        raise SheetError("sheets.bad_id", value=raw)
    return raw.lstrip("0") or "0"
