"""Families: records, the join/invite/transfer workflow, and memberships."""

from bot.services.families.records import (
    AGREEMENT_VERSION,
    LEAVE_REASONS,
    NAME_MAX,
    NOTE_MAX,
    Decision,
    Family,
    FamilyRequest,
    FamilyService,
    Membership,
    clean_name,
)

__all__ = [
    "AGREEMENT_VERSION", "LEAVE_REASONS", "NAME_MAX", "NOTE_MAX", "Decision", "Family",
    "FamilyRequest", "FamilyService", "Membership", "clean_name",
]
