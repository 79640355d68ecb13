"""Campaigns: editing, standings, the life cycle, results and the post queue."""

from bot.services.campaigns.editing import (
    AUDIENCES,
    DESCRIPTION_MAX,
    METRICS,
    NAME_MAX,
    REWARD_MAX,
    CampaignService,
)
from bot.services.campaigns.models import MANAGERS, REMINDERS, Campaign, Post, Spec

__all__ = ["AUDIENCES", "DESCRIPTION_MAX", "MANAGERS", "METRICS", "NAME_MAX", "REMINDERS",
           "REWARD_MAX", "Campaign", "CampaignService", "Post", "Spec"]
