"""The tier sweep's reads at size (bench/views.py): the preview's page of the plan."""

from __future__ import annotations

G = 1


async def test_a_sweep_preview_page_is_the_plans_first_changes_and_their_count(
        services, make_program):
    """/tier sweep's preview asks for its first page and the count of the rest: the same as
    the whole plan cut, for a month with changes and one without."""
    made = await make_program("program")
    for period in ("2026-02", "2026-03"):
        plan = await services.tiers.plan(G, period)
        for shown in (1, 5, 150):
            assert await services.tiers.plan_page(G, period, shown) == (plan[:shown], len(plan))
    assert await services.tiers.plan(G, "2026-03") and not await services.tiers.plan(
        G, "2026-02")
    assert made.tier_ids
