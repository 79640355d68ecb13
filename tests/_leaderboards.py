"""Helpers for the leaderboard and pace tests: a guild's people, a check-in, a family."""

from bot.program import CheckinRow, record_checkins
from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER, OTHER_LEADER = 1, 10, 20, 21
ANA, BEN, CLA, DAN, EVA = 30, 31, 32, 33, 34


async def stat(services, user, day, hours, diamonds=0, followers=0):
    """One check-in written as the check-ins feature does: the row, its running totals and
    the streak (the program builder's one path)."""
    await record_checkins(services, G, [CheckinRow(user, day, hours, diamonds, followers)])


async def family(services, name, leader, members):
    fam = await services.families.create(G, MANAGER, name, leader, channel_id=None)
    for user in members:
        request = await services.families.request_join(G, user, fam.id, AGREEMENT_VERSION)
        await services.families.decide(G, leader, request.id, True)
    return fam
