"""Helpers for the leaderboard and pace tests: a guild's people, a check-in, a family."""

from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER, OTHER_LEADER = 1, 10, 20, 21
ANA, BEN, CLA, DAN, EVA = 30, 31, 32, 33, 34


async def stat(services, user, day, hours, diamonds=0, followers=0):
    """One check-in written as the check-ins feature does: the row and its running totals."""
    async with services.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO checkins (guild_id, user_id, local_date, timezone, hours, diamonds,"
            " followers, peak_viewers, created_at, updated_at)"
            " VALUES (?, ?, ?, 'UTC', ?, ?, ?, 0, 'x', 'x')",
            (G, user, day.isoformat(), hours, diamonds, followers),
        )
        await services.progress.apply(tx, G, user, day, None, {
            "hours": hours, "diamonds": diamonds, "followers": followers})


async def family(services, name, leader, members):
    fam = await services.families.create(G, MANAGER, name, leader, channel_id=None)
    for user in members:
        request = await services.families.request_join(G, user, fam.id, AGREEMENT_VERSION)
        await services.families.decide(G, leader, request.id, True)
    return fam
