"""Families: records, the join/invite/transfer workflow, and memberships (see service.py)."""

from bot.services.families.models import (
    AGREEMENT_VERSION,
    LEAVE_REASONS,
    NAME_MAX,
    NOTE_MAX,
    Agreement,
    Appointed,
    Archived,
    Decision,
    Departure,
    ExpectedRoles,
    Family,
    FamilyRequest,
    Membership,
    RosterEntry,
    clean_name,
)
from bot.services.families.service import FamilyService

__all__ = [
    "AGREEMENT_VERSION", "LEAVE_REASONS", "NAME_MAX", "NOTE_MAX", "Agreement", "Appointed",
    "Archived",
    "Decision", "Departure", "ExpectedRoles", "Family", "FamilyRequest", "FamilyService",
    "Membership", "RosterEntry", "clean_name",
]
