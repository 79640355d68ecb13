"""Families: who leads which family, who belongs to it, and how people join and leave.

:class:`FamilyService` is one service made of three parts, each in its own module over the
shared :class:`~bot.services.families.store.FamilyStore`: the family records
(:mod:`.records`), the join/invite/transfer workflow (:mod:`.requests`) and memberships and
their endings (:mod:`.memberships`). Nothing here talks to Discord: the cog creates channels
and roles and hands their ids in.
"""

from __future__ import annotations

from bot.services.families.memberships import FamilyMemberships
from bot.services.families.records import FamilyRecords
from bot.services.families.requests import FamilyRequests


class FamilyService(FamilyRecords, FamilyRequests, FamilyMemberships):
    """Built as ``FamilyService(db, clock, audit, guilds, members, events, deliveries)`` (see
    FamilyStore)."""
