"""Campaigns: editing, standings, the life cycle, results and handing posts and reward roles
to the delivery queue (service.py)."""

from bot.services.campaigns.editing import (
    AUDIENCES,
    DESCRIPTION_MAX,
    METRICS,
    NAME_MAX,
    REWARD_MAX,
)
from bot.services.campaigns.lifecycle import STAGES
from bot.services.campaigns.models import (
    MANAGERS,
    REMINDERS,
    Campaign,
    CampaignColumns,
    CreatorProgress,
    Edit,
    Enrolment,
    FamilyProgress,
    Post,
    PostReport,
    Results,
    Spec,
    Standings,
)
from bot.services.campaigns.posts import Render
from bot.services.campaigns.service import CampaignService

__all__ = [
    "AUDIENCES", "DESCRIPTION_MAX", "MANAGERS", "METRICS", "NAME_MAX",
    "REMINDERS", "REWARD_MAX", "STAGES", "Campaign", "CampaignColumns", "CampaignService",
    "CreatorProgress", "Edit", "Enrolment", "FamilyProgress", "Post", "PostReport", "Render",
    "Results", "Spec", "Standings",
]
