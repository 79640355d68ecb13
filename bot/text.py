"""Text helpers shared by every feature (no discord import: services and cogs both use them).

Discord refuses a message over its limits (400, code 50035); :func:`split_text` splits a
long text into several messages and :func:`fit` cuts one to a limit with a marker ("… and 12
more"). Both cut at a line break, never inside a line unless one line alone is too long.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


def split_at_most(text: str, most: int) -> list[str]:
    """``text`` as at most ``most`` messages (:func:`split_text`), the last holding the rest
    (the send path cuts it with "… and N more")."""
    parts = split_text(text) or [text]
    if len(parts) > most:
        parts = [*parts[:most - 1], "\n".join(parts[most - 1:])]
    return parts


EXCERPT_LIMIT = 80  # characters of what someone typed that a message repeats


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """``text`` as a message repeats it: whole when short, else its first characters and
    "…" (``limit`` characters in all)."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _plain_more(left: int) -> str:
    return f"… (+{left})"


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with "…" (at a space when there is one)."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + "…"


def fit(text: str, limit: int = PART_LIMIT, more: Callable[[int], str] = _plain_more) -> str:
    """``text`` if it fits in ``limit`` characters; else its first lines that fit, then the
    line ``more(n)`` where n counts the non-blank lines left out (the marker: "… and n
    more", localised by the caller). A first line too long on its own is cut with "…"."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    reserve = len(more(len(lines))) + 1  # the longest marker this text can get, and its \n
    budget = limit - reserve
    kept: list[str] = []
    size = -1
    for line in lines:
        if size + 1 + len(line) > budget:
            break
        kept.append(line)
        size += 1 + len(line)
    if not kept and budget > 0:  # one line too long: a hard cut, still with the marker
        kept = [cut(lines[0], budget)]
        left = sum(1 for line in lines[1:] if line.strip()) + 1
    else:
        left = sum(1 for line in lines[len(kept):] if line.strip())
    head = "\n".join(kept).rstrip()
    marker = more(left)
    if budget <= 0:  # a limit smaller than the marker: plain cut
        return cut(text, limit)
    return f"{head}\n{marker}" if head else marker


# Discord Markdown in user text (notes, feedback, names, reasons): a backslash before any
# ASCII punctuation shows that character as it is. Escaped everywhere: emphasis, spoilers,
# code, quotes, masked links and angle-bracket mentions (``<@…>``, ``<#…>``, ``</cmd:…>``,
# ``<t:…>``); at the start of a line: headings (``#``, ``-#``), lists (``-``, ``+``,
# ``1.``). ``@`` gets a zero-width space after it, so ``@everyone`` reads as text even where
# allowed mentions are not set.
_MD_ANYWHERE = frozenset("\\*_~`|>[]()<")
_NEWLINES = ("\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c")
ZWSP = "\u200b"


_LINE_START = re.compile(r"^(\s*)([#+-]|\d+(?=\.(?:\s|$)))")


def _escape_line(line: str) -> str:
    body = "".join("\\" + char if char in _MD_ANYWHERE else "@" + ZWSP if char == "@" else char
                   for char in line)
    # a heading, "-# " subtext or list mark at the line's start ("*" and ">" are escaped
    # everywhere already); "1. item": the dot after the number
    found = _LINE_START.match(body)
    if found is None:
        return body
    blanks, mark = found.groups()
    if mark[0].isdigit():
        return f"{blanks}{mark}\\{body[found.end():]}"
    return f"{blanks}\\{body[len(blanks):]}"


def escape_markdown(text: object, *, quote: bool = False) -> str:
    """``text`` as Discord shows it literally: no formatting, link, heading, list, quote or
    mention comes out of it. Line breaks are kept (every kind, as ``\\n``); with ``quote``,
    each line after the first starts with ``> `` so that a line break stays inside the
    quote the template opened (``> {{ notes|md(quote=True) }}``)."""
    value = str(text)
    for newline in _NEWLINES:
        value = value.replace(newline, "\n")
    joiner = "\n> " if quote else "\n"
    return joiner.join(_escape_line(line) for line in value.split("\n"))
