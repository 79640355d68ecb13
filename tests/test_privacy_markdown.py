"""User text shows literally in Discord: no link, heading, quote, list or mention comes out of
it (``bot.text.escape_markdown``, the templates' ``md`` filter)."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.templating import Templates
from bot.text import ZWSP, escape_markdown

# Discord's Markdown: what may stand anywhere, and what only at the start of a line.
ANYWHERE = set("\\*_~`|>[]()<")
PUNCTUATION = {chr(c) for c in range(33, 127) if not chr(c).isalnum()}
LINE_START = re.compile(r"\s*(#|-|\+|\d+\.(\s|$))")
NEWLINES = "\r\n\u2028\u2029\x85\x0b\x0c"

# Text as people type it, rich in what Discord reads as Markdown.
pieces = st.sampled_from(["[", "](", ")", "https://evil.example/x", "# ", "## ", "-# ", "> ",
                          ">>> ", "- ", "* ", "+ ", "1. ", "12) ", "**", "__", "~~", "||", "`",
                          "```", "<@123>", "<@&45>", "<#67>", "</cmd:89>", "<t:0:R>",
                          "@everyone", "@here", "\\", "\n", "\r\n", "\r", "\u2028", " ", "  ",
                          "claim prize", "ok", "2.5", "é", "🙂", "\u200b"])
user_text = st.one_of(st.lists(pieces, max_size=30).map("".join), st.text(max_size=200))


def _normalised(text: str) -> str:
    return re.sub("\r\n|[\r\u2028\u2029\x85\x0b\x0c]", "\n", text)


def _unescaped(line: str) -> str:
    """What Discord shows of an escaped line: the character after a backslash as it is."""
    out, i = [], 0
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line) and line[i + 1] in PUNCTUATION:
            out.append(line[i + 1])
            i += 2
            continue
        out.append(char)
        if char == "@" and line[i + 1: i + 2] == ZWSP:
            i += 1  # the zero-width space Familia put after it
        i += 1
    return "".join(out)


def _plain(line: str) -> bool:
    """No Markdown character of Discord's stands unescaped in the line."""
    i = 0
    while i < len(line):
        if line[i] == "\\":
            if i + 1 >= len(line) or line[i + 1] not in PUNCTUATION:
                return False  # a lone backslash would escape what follows it
            i += 2
            continue
        if line[i] in ANYWHERE:
            return False
        if line[i] == "@" and line[i + 1: i + 2] != ZWSP:
            return False
        i += 1
    return not LINE_START.match(line)


@settings(max_examples=500, deadline=None)
@given(user_text)
@example("[claim prize](https://evil.example/claim)")
@example("fine\n# BIG\n> quoted\n- item\n1. first\n-# small")
@example("<@123> <@&4> @everyone @here")
def test_escaped_text_is_plain_and_loses_nothing(text):
    escaped = escape_markdown(text)
    lines = escaped.split("\n")
    assert all(_plain(line) for line in lines)
    assert "\n".join(_unescaped(line) for line in lines) == _normalised(text)
    assert not any(n in escaped for n in NEWLINES if n != "\n")


@settings(max_examples=300, deadline=None)
@given(user_text)
@example("ok\n# BIG\n\n[claim prize](https://evil.example)")
def test_quoted_text_stays_in_its_quote(text):
    """``> {{ notes|md(quote=True) }}``: every line of the note is a quote line."""
    shown = "> " + escape_markdown(text, quote=True)
    lines = shown.split("\n")
    assert all(line.startswith("> ") for line in lines)
    assert len(lines) == _normalised(text).count("\n") + 1
    assert all(_plain(line[2:]) for line in lines)


def test_a_feedback_dm_keeps_the_leaders_text_in_the_quote():
    feedback = SimpleNamespace(leader_id=5, local_date=date(2026, 3, 2),
                               text="great\n# BIG\n[claim prize](https://evil.example)\n@everyone")
    text = Templates().render("en", "discord/checkins/feedback_dm.md.j2", feedback=[feedback],
                              guild=None)
    quoted = text.split("\n")[1:]
    assert len(quoted) == 4 and all(line.startswith("> ") for line in quoted)
    assert "\\# BIG" in text and "\\[claim prize\\]\\(https://evil.example\\)" in text
    assert "@everyone" not in text
