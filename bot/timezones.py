"""IANA time zones: validation with a helpful error, and autocomplete search."""

from __future__ import annotations

import difflib
import zoneinfo
from functools import cache

from bot.errors import UserError

EXAMPLE = "America/Mexico_City"


@cache
def all_zones() -> tuple[str, ...]:
    """Canonical zone names a person would pick (Area/City, plus UTC), sorted."""
    names = {
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/"))
        and name.split("/")[0][0].isupper()
        and not name.startswith(("US/", "Canada/", "Brazil/", "Mexico/", "Chile/"))
    }
    names.add("UTC")
    return tuple(sorted(names))


@cache
def _lower_index() -> dict[str, str]:
    index = {name.lower(): name for name in zoneinfo.available_timezones()}
    index.update({name.lower(): name for name in all_zones()})
    return index


def search(query: str, limit: int = 25) -> list[str]:
    """Zones matching what was typed: prefix of any part first, then substrings."""
    needle = query.strip().lower().replace(" ", "_")
    if not needle:
        return list(all_zones()[:limit])
    starts, contains = [], []
    for name in all_zones():
        lowered = name.lower()
        parts = lowered.replace("/", " ").split()
        if lowered.startswith(needle) or any(p.startswith(needle) for p in parts):
            starts.append(name)
        elif needle in lowered:
            contains.append(name)
        if len(starts) >= limit:
            break
    return (starts + contains)[:limit]


def validate(value: str) -> str:
    """The canonical zone name for ``value``, or a UserError naming an example."""
    cleaned = value.strip().replace(" ", "_")
    found = _lower_index().get(cleaned.lower())
    if found:
        return found
    close = difflib.get_close_matches(cleaned, all_zones(), n=1, cutoff=0.6)
    raise UserError(
        "common.unknown_timezone", value=value, suggestion=close[0] if close else None,
        example=EXAMPLE,
    )
