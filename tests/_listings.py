"""The family listings every limits test reads whole (tests/test_message_limits.py at the
``program`` size, tests/test_message_limits_large.py at ``large``): the family list (open and
archived), and each family's roster and at-risk list, page after page through ``pages``."""

from __future__ import annotations


async def family_listings(services, guild_id: int, families, pages) -> None:
    """``pages(template, fetch, **context)`` with every page of those listings."""
    g, service = guild_id, services.families
    for archived in (False, True):
        await pages("discord/families/list.md.j2",
                    lambda n, a=archived: service.families_page(g, n, archived=a))
    for family in families:
        found = await service.get(g, family.id)
        await pages("discord/families/roster.md.j2",
                    lambda n, f=family: service.roster_page(g, f.id, n), family=found)
        await pages("discord/leaderboards/risk.md.j2",
                    lambda n, f=family: services.pace.at_risk_page(g, f.id, n), family=found,
                    has_tiers=True)
