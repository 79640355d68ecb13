"""A creators board says "page 2 of 7": its count is the number of creators its pages hand
out, for every kind of period, and the last page is the one without a next."""

from __future__ import annotations

import pytest

G = 1


@pytest.mark.parametrize("period", ["this_week", "last_month", "all", "today"])
async def test_a_board_counts_the_creators_its_pages_show(services, templates, make_program,
                                                         period):
    made = await make_program("program")
    boards = services.leaderboards
    viewer = made.creators[0].user_id
    for metric in ("hours", "days", "streak"):
        first = await boards.open(G, viewer, metric, period)
        seen, board = [], first
        while True:
            seen += [r.user_id for r in board.rows]
            if not board.has_next:
                break
            board = await boards.page(G, viewer, metric, first.period, "program", 0,
                                      board.page + 1)
        assert first.total == len(seen) == len(set(seen)) and first.total > 10, metric
        assert board.page + 1 == first.pages == board.pages
        text = templates.render("en", "discord/leaderboards/board.md.j2", board=first,
                                final=False, left=False)
        assert f"page 1 of {first.pages}" in text
        last = templates.render("es", "discord/leaderboards/board.md.j2", board=board,
                                final=False, left=False)
        assert f"página {first.pages} de {first.pages}" in last
