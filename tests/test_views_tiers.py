"""The tier sweep's reads at size (bench/views.py): the preview's page of the plan."""

from __future__ import annotations

from bot.services.tiers import Progress

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


async def test_the_plan_gives_each_member_the_highest_tier_reached(services, make_program):
    """The plan's tier reached (a CASE written from the guild's tiers) is Tier.reached's:
    every threshold the tier sets met (an empty one is met, a tier without any is reached by
    everyone, a value equal to a threshold meets it), the highest rank first."""
    made = await make_program("program")
    period = "2026-02"
    progress = {r["user_id"]: Progress(r["hours"], r["diamonds"], r["valid_days"],
                                       r["followers"])
                for r in await services.db.fetchall(
                    "SELECT p.* FROM progress_totals p JOIN family_members fm ON fm.guild_id ="
                    " p.guild_id AND fm.user_id = p.user_id AND fm.left_at IS NULL WHERE"
                    " p.guild_id = ? AND p.period_kind = 'month' AND p.period = ?", (G, period))}
    held = {r["user_id"]: r["tier_id"] for r in await services.db.fetchall(
        "SELECT user_id, tier_id FROM member_tiers WHERE guild_id = ?", (G,))}
    some = sorted(progress.values(), key=lambda p: p.hours)[len(progress) // 2]
    for thresholds in (
        {},  # the builder's tiers as they are
        {"Bronze": dict(min_hours=None, min_diamonds=None, min_valid_days=None,
                        min_followers=None)},  # a tier everyone reaches
        {"Gold": dict(min_hours=some.hours, min_diamonds=some.diamonds, min_valid_days=None,
                      min_followers=None)},  # the median creator exactly on the threshold
        {"Silver": dict(min_hours=None, min_diamonds=None, min_valid_days=None,
                        min_followers=some.followers)},
    ):
        tiers = {t.name: t for t in await services.tiers.list_tiers(G)}
        for name, values in thresholds.items():
            found = tiers[name]
            await services.tiers.define(G, made.manager_id, found.name, found.rank,
                                        found.role_id, **values)
        tiers_now = await services.tiers.list_tiers(G)
        expected = []
        for user_id in sorted(progress):
            reached = [t for t in tiers_now if t.reached(progress[user_id])]
            best = max(reached, key=lambda t: t.rank) if reached else None
            if (best.id if best else None) != held.get(user_id):
                expected.append((user_id, best.name if best else None))
        plan = await services.tiers.plan(G, period)
        assert [(c.user_id, c.new.name if c.new else None) for c in plan] == expected
        assert expected or thresholds == {}
