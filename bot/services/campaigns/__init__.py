"""Campaigns: editing, standings, the life cycle, results and the post queue."""

from bot.services.campaigns.editing import CampaignService
from bot.services.campaigns.models import MANAGERS, REMINDERS, Campaign, Post, Spec

__all__ = ["MANAGERS", "REMINDERS", "Campaign", "CampaignService", "Post", "Spec"]
