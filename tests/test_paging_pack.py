"""bot.paging.pack: items shown whole across messages within the limit, each message with
the items it completes (what is marked shown once Discord took that message)."""

from __future__ import annotations

from bot.paging import pack


def render(items: list[str]) -> str:
    return "\n".join(["Feedback", *items])


def first(items: list[str]) -> str:
    return "\n".join(["Checked in.", *items])


def test_what_fits_goes_under_the_answer_the_rest_in_more_messages():
    items = ["a" * 900, "b" * 900, "c" * 900]
    messages = pack(items, render, first=first)
    assert [done for _, done in messages] == [items[:2], items[2:]]
    assert messages[0][0].startswith("Checked in.") and messages[1][0].startswith("Feedback")
    assert all(len(text) <= 2000 for text, _ in messages)


def test_an_item_too_long_for_one_message_is_complete_with_its_last_part():
    messages = pack(["x " * 1500, "y"], render, first=first)
    assert all(len(text) <= 2000 for text, _ in messages)
    # the answer alone, then the long one in parts (marked with its last), then the next
    assert messages[0] == ("Checked in.", [])
    assert [done for _, done in messages][-2:] == [["x " * 1500], ["y"]]
    assert all(done == [] for _, done in messages[:-2])
    assert "".join(text for text, _ in messages).count("x") == 1500


def test_nothing_waiting_is_the_answer_alone_and_without_an_answer_nothing():
    assert pack([], render, first=first) == [("Checked in.", [])]
    assert pack([], render) == []
