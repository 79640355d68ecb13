"""A refusal repeats what someone typed as a short excerpt: a 5,000-character value (Discord
lets a text option carry up to 6,000) still gets its short, private answer, where the whole
value used to make the message longer than Discord's 2,000 characters and leave no answer at
all ("This interaction failed")."""

from __future__ import annotations

import pytest

LONG = "Lobos" + "o" * 4995  # 5,000 characters

COMMANDS = [
    # (command, subcommand, options, words of the answer)
    ("family", "join", {"family": LONG}, "I can't find a family called “Lobosooo"),
    ("me", "timezone", {"zone": LONG}, "I don't know the time zone “Lobosooo"),
    ("settings", "timezone", {"zone": LONG}, "I don't know the time zone “Lobosooo"),
    ("checkins", "settings", {"roll-call": LONG}, "“Lobosooo"),
    ("tier", "sweep", {"month": LONG}, "“Lobosooo"),
    ("campaign", "cancel", {"campaign": LONG}, "“Lobosooo"),
]


@pytest.mark.parametrize(("name", "subcommand", "options", "words"), COMMANDS,
                         ids=[f"{c[0]}-{c[1]}" for c in COMMANDS])
async def test_a_refusal_repeats_a_long_value_as_an_excerpt(app, name, subcommand, options,
                                                           words):
    it = await app.run(app.owner, name, options, subcommand=subcommand)
    text = await it.reply_text()
    assert it.ephemeral and words in text, text
    assert "…" in text and len(text) < 400, text
    assert "Something went wrong" not in text
