"""Text helpers shared by every feature (no discord import: services and cogs both use them)."""

from __future__ import annotations

PART_LIMIT = 2000  # one Discord message


def split_text(text: str, limit: int = PART_LIMIT) -> list[str]:
    """``text`` as messages of at most ``limit`` characters, cut at the last paragraph break,
    else line break, else space before the limit (a hard cut only for a word that long)."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = next((i for i in (window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
                    if i > 0), limit)
        parts.append(text[:cut].rstrip())
        text = text[cut:].strip()
    if text:
        parts.append(text)
    return parts


EXCERPT_LIMIT = 80  # characters of what someone typed that a message repeats


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """``text`` as a message repeats it: whole when short, else its first characters and
    "…" (``limit`` characters in all)."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"
