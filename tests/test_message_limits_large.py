"""Every listing over the ``large`` program (200 families, 5,000 creators, 365 days): what it
sends fits Discord. Building that program takes a minute or two, so this runs only when asked:
``FAMILIA_LARGE=1 pytest tests/test_message_limits_large.py`` (``make test-large``); the
suite runs the same listings at the ``program`` size (tests/test_message_limits.py) and
bench/views.py counts what the first pages of the large program would send.

Every family's listings are read whole (list, roster, risk, family boards); the per-person
ones (memberships, 90 days of check-ins) for a seeded sample of 300 people; the creators
board's first, a middle and its last page; the tier sweep's preview and promotion posts and
the campaign board as they are sent."""

from __future__ import annotations

import os
import random

import pytest

from bot import limits
from bot.interactions import SPLIT_MAX
from bot.text import split_at_most, split_text
from cogs.tiers import SWEEP_SHOWN
from tests._listings import family_listings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("FAMILIA_LARGE") != "1",
                       reason="the large program takes minutes to build: FAMILIA_LARGE=1"),
]
LOCALES = ("en", "es")


async def test_every_listing_over_the_large_program_fits(services, templates, make_program):
    made = await make_program("large")
    g, counts = made.guild_id, {}

    def fits(name, text, locale):
        assert len(text) <= limits.CONTENT, f"{name} ({locale}): {len(text)} characters"
        counts[name] = counts.get(name, 0) + 1

    async def pages(name, fetch, **context):
        number, page = 0, None
        while page is None or page.has_next:
            page = await fetch(number)
            for locale in LOCALES:
                fits(name, templates.render(locale, name, page=page, **context), locale)
            number += 1

    families = services.families
    await family_listings(services, g, made.families, pages)
    for user_id in random.Random(15).sample(sorted(made.people), 300):
        await pages("discord/families/history.md.j2",
                    lambda n, u=user_id: families.history_page(g, u, n), user_id=user_id)
        history = await services.checkins.history(g, user_id, user_id, 90)

        async def days(n, u=user_id):
            return (await services.checkins.history(g, u, u, 90, page=n)).page

        await pages("discord/checkins/history.md.j2", days, user_id=user_id,
                    streak=history.streak, best=history.best, days=90, own=True)
    boards = services.leaderboards
    for period_name in ("this_week", "last_month", "all", "today"):
        period = await boards.resolve_period(g, period_name)
        for metric in ("hours", "diamonds", "followers", "days", "streak"):
            first = await boards.open(g, made.creators[0].user_id, metric, period_name)
            for number in (0, first.pages // 2, first.pages - 1):
                board = await boards.page(g, made.creators[1].user_id, metric, period,
                                          "program", 0, number)
                assert board.rows and board.page == number
                for locale in LOCALES:
                    fits("discord/leaderboards/board.md.j2", templates.render(
                        locale, "discord/leaderboards/board.md.j2", board=board, final=False,
                        left=False), locale)
            if metric != "streak":
                for by in ("average", "total"):
                    await pages("discord/leaderboards/families.md.j2",
                                lambda n, m=metric, b=by, p=period: boards.family_board_page(
                                    g, m, p, b, n), metric=metric, period=period, by=by)
    for manager in (True, False):
        states = ("draft", "scheduled", "running", "finished")[0 if manager else 1:]
        await pages("discord/campaigns/list.md.j2",
                    lambda n, s=states: services.campaigns.campaigns_page(g, s, n),
                    manager=manager)
    campaign = await services.campaigns.get(g, made.campaign_id)
    for viewer in random.Random(16).sample(made.creators, 50):
        board = await services.campaigns.board(campaign, viewer.user_id, 15)
        for locale in LOCALES:
            fits("discord/campaigns/board.md.j2", templates.render(
                locale, "discord/campaigns/board.md.j2", campaign=campaign, rows=board.rows,
                me=board.me, viewer_id=viewer.user_id), locale)
    # the tier sweep of the month so far: its preview (split into at most five messages, the
    # last cut as the send path cuts) and each family's promotions post (split in parts)
    period = made.now.strftime("%Y-%m")
    shown, total = await services.tiers.plan_page(g, period, SWEEP_SHOWN)
    changes = await services.tiers.plan(g, period)
    assert total == len(changes) > SWEEP_SHOWN
    for locale in LOCALES:
        text = templates.render(locale, "discord/families/sweep.md.j2", changes=shown,
                                more=total - len(shown), applied=False, period=period)
        for part in split_at_most(text, SPLIT_MAX):
            fits("discord/families/sweep.md.j2",
                 limits.fit_content(part, limits.marker(templates, locale)), locale)
        by_family: dict[int, list] = {}
        for change in changes:
            if change.promotion:
                by_family.setdefault(change.family_id, []).append(change)
        for promoted in by_family.values():
            text = templates.render(locale, "discord/families/promotions.md.j2",
                                    changes=promoted)
            for part in split_text(text):
                fits("discord/families/promotions.md.j2", part, locale)
    # every family's listings were read, and the sample's
    assert counts["discord/families/roster.md.j2"] >= 2 * len(made.families)
    assert counts["discord/families/list.md.j2"] >= 2 * 2 * 200 // 15
    assert counts["discord/checkins/history.md.j2"] >= 2 * 300
