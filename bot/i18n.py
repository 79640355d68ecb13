"""Translations: gettext catalogs (``locales/<lang>/*.po``) read with Babel, and the one place
numbers are written for a reader (Babel, per locale).

English is the source language: msgids are the English text, so English needs no catalog.
Every ``.po`` file of a language is merged, so each feature can keep its own file.

Numbers (templates reach these through the filters of ``bot/templating.py`` only; a test
keeps raw formatting out of templates):

- a **count** is a whole number with the locale's separators ("12,345" / "12.345");
- **hours** and other amounts show at most one decimal ("2.5", "3");
- a **percentage** (given as a fraction, 0.268) is whole ("27%"), with one decimal under
  10 % ("5.3%"), the locale's sign and spacing ("27 %" in Spanish);
- a **whole** number (``|whole``) is a count that stays a number: a template may pass it
  to ``ngettext`` (the plural follows the number shown) or do arithmetic with it;
- a **change** carries an arrow only when the shown figure is not zero ("▲ 27%"; none for
  what would read "▲ 0%"); a **signed** figure reads "+27%" / "−27%", **points** "+5" / "−46".
"""

from __future__ import annotations

import functools
import gettext
from datetime import time
from decimal import ROUND_HALF_UP, Decimal, localcontext
from importlib import resources
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_time
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.config import SUPPORTED_LOCALES

SOURCE_LOCALE = "en"


class Catalog(gettext.NullTranslations):
    """One language's messages, keyed by (context, msgid)."""

    def __init__(self, locale: str, messages: dict[tuple[str | None, str], Any]) -> None:
        super().__init__()
        self.locale = locale
        self.messages = messages

    def _lookup(self, context: str | None, msgid: str) -> Any:
        return self.messages.get((context, msgid))

    def gettext(self, message: str) -> str:
        found = self._lookup(None, message)
        return found if isinstance(found, str) and found else message

    def pgettext(self, context: str, message: str) -> str:
        found = self._lookup(context, message)
        return found if isinstance(found, str) and found else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.npgettext(None, msgid1, msgid2, n)

    def npgettext(self, context: str | None, msgid1: str, msgid2: str, n: int) -> str:
        found = self._lookup(context, msgid1)
        if isinstance(found, tuple | list) and all(found):
            # Spanish and English: two forms, singular for exactly one.
            return found[0] if n == 1 else found[1]
        return msgid1 if n == 1 else msgid2

    def has(self, msgid: str, context: str | None = None) -> bool:
        found = self._lookup(context, msgid)
        if isinstance(found, tuple | list):
            return all(found)
        return bool(found)


def load_catalogs(folder: Path | None = None) -> dict[str, Catalog]:
    """A catalog per supported locale (English empty: its msgids are the text)."""
    catalogs = {SOURCE_LOCALE: Catalog(SOURCE_LOCALE, {})}
    for locale in SUPPORTED_LOCALES:
        if locale == SOURCE_LOCALE:
            continue
        messages: dict[tuple[str | None, str], Any] = {}
        base = resources.files("locales") / locale if folder is None else folder / locale
        for entry in sorted(base.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".po"):
                continue
            with entry.open("rb") as handle:
                po = read_po(handle, locale=locale)
            for message in po:
                if not message.id or message.fuzzy:
                    continue
                key = message.id[0] if isinstance(message.id, tuple | list) else message.id
                messages[(message.context, key)] = message.string
        catalogs[locale] = Catalog(locale, messages)
    return catalogs


def normalise(locale: str | None) -> str | None:
    """``"es-419"`` → ``"es"``; unsupported or empty → None."""
    if not locale:
        return None
    short = str(locale).split("-")[0].split("_")[0].lower()
    return short if short in SUPPORTED_LOCALES else None


def pick_locale(chosen: str | None, discord_locale: str | None, guild_default: str) -> str:
    """Reply language: the member's choice, else their Discord locale, else the guild's."""
    return normalise(chosen) or normalise(discord_locale) or guild_default


# -- numbers -------------------------------------------------------------------------------

def _pattern(locale: str, kind: str = "percent") -> str:
    found = Locale.parse(locale)
    formats = found.percent_formats if kind == "percent" else found.decimal_formats
    return str(formats[None].pattern)


def _with_decimal(pattern: str) -> str:
    """``#,##0%`` → ``#,##0.#%``: one optional decimal after the last integer digit."""
    last = pattern.rfind("0")
    return f"{pattern[:last + 1]}.#{pattern[last + 1:]}"


def _signed(pattern: str) -> str:
    return f"+{pattern};−{pattern}"


def rounded(value: float, digits: int = 0) -> Decimal:
    """``value`` to ``digits`` decimals, halves away from zero as people round (2.25 → 2.3,
    0.5 → 1), not to the even neighbour as ``round()`` does."""
    exact = Decimal(str(value))
    if not exact.is_finite():  # nan, ±inf: shown as they are (a refusal may repeat one)
        return exact
    with localcontext() as context:  # enough digits for any size (1e30 has 31)
        context.prec = _precision(exact, digits)
        return exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _precision(value: Decimal, digits: int) -> int:
    """Decimal digits to hold ``value`` to ``digits`` decimals (the default context has 28:
    a number typed past that, such as 1e30, would not round; Babel may add 3 decimals)."""
    return max(28, value.adjusted() + digits + 8) if value.is_finite() else 28


def _format(value: Decimal | int, digits: int = 0, **options: Any) -> str:
    """Babel's ``format_decimal`` with the precision ``value`` needs (it rounds again)."""
    with localcontext() as context:
        context.prec = _precision(Decimal(value), digits)
        return format_decimal(value, **options)


@functools.lru_cache(maxsize=4096)
def count(value: float, locale: str) -> str:
    """A whole number with the locale's separators. Remembered: Babel takes ~30 µs a call,
    and a digest run prints the same small counts (every ``ngettext`` count, through
    :class:`Count`) tens of thousands of times."""
    return _format(rounded(value), locale=locale)


def whole(value: float, locale: str) -> Count:
    """``value`` rounded to a whole :class:`Count`: a number for plural choice and
    arithmetic that prints with the locale's separators."""
    return Count(int(rounded(value)), locale)


def amount(value: float, locale: str, digits: int = 1) -> str:
    """A figure to at most ``digits`` decimals (hours: one), with the locale's separators."""
    pattern = "#,##0." + "#" * digits if digits else "#,##0"
    return _format(rounded(value, digits), digits, format=pattern, locale=locale)


def _percent(fraction: float, locale: str) -> tuple[Decimal, str]:
    """The fraction rounded as it will show, and the locale's pattern for it."""
    digits = 1 if abs(fraction) < 0.0995 else 0  # 9.95 % rounds to 10 %: whole from there
    pattern = _pattern(locale)
    shown = rounded(fraction * 100, digits).scaleb(-2)  # the pattern multiplies by 100
    return shown, _with_decimal(pattern) if digits else pattern


def percent(fraction: float, locale: str) -> str:
    """0.268 → "27%" ("27 %" in Spanish); under 10 % one decimal: 0.053 → "5.3%"."""
    shown, pattern = _percent(fraction, locale)
    return format_decimal(shown, format=pattern, locale=locale)


def shows_zero(fraction: float) -> bool:
    """Whether :func:`percent` writes ``fraction`` as zero (a change nobody would see)."""
    return rounded(abs(fraction) * 100, 1) == 0


def signed_percent(fraction: float, locale: str) -> str:
    """+27% / −27% (zero: "0%", no sign)."""
    if shows_zero(fraction):
        return percent(0, locale)
    shown, pattern = _percent(fraction, locale)
    return format_decimal(shown, format=_signed(pattern), locale=locale)


def change(fraction: float, locale: str) -> str:
    """▲ 27% / ▼ 27%, or "" when the change would show as zero: an arrow only for a real
    change (the template says "no change" in words)."""
    if shows_zero(fraction):
        return ""
    return ("▲ " if fraction > 0 else "▼ ") + percent(abs(fraction), locale)


def points(difference: float, locale: str) -> str:
    """A difference of two fractions in percentage points, whole and signed: 0.05 → "+5",
    −0.464 → "−46" (zero: "0")."""
    value = int(rounded(difference * 100))
    if value == 0:
        return format_decimal(0, locale=locale)
    return format_decimal(value, format=_signed("#,##0"), locale=locale)


def clock(hour: int, locale: str) -> str:
    """An hour of the day on the 24-hour clock Familia's settings are typed in: "18:00"."""
    return format_time(time(hour), format="HH:mm", locale=locale)


class Count(int):
    """A count that stays a number (``%d``, plural choice, comparisons) and prints with the
    locale's separators (``%s``, ``{{ }}``): what ``ngettext`` gives its ``num``."""

    locale: str

    def __new__(cls, value: int, locale: str) -> Count:
        made = super().__new__(cls, value)
        made.locale = locale
        return made

    def __str__(self) -> str:
        return count(int(self), self.locale)
