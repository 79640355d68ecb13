"""Campaigns: a manager's time-boxed goal on one metric of the progress model.

:class:`CampaignService` is one service made of parts, each in its own module over the shared
:class:`~bot.services.campaigns.store.CampaignStore`: editing (:mod:`.editing`), standings
(:mod:`.standings`), the life-cycle sweep (:mod:`.lifecycle`, which states the exactly-once
rule), results (:mod:`.results`) and handing posts and reward roles to the Discord delivery
queue (:mod:`.posts`).
"""

from __future__ import annotations

from bot.services.campaigns.editing import CampaignEditing
from bot.services.campaigns.lifecycle import CampaignLifeCycle
from bot.services.campaigns.posts import CampaignPosts
from bot.services.campaigns.results import CampaignResults


class CampaignService(CampaignLifeCycle, CampaignEditing, CampaignResults, CampaignPosts):
    """Built as ``CampaignService(db, clock, audit, guilds, families, deliveries, email,
    cutoff_hour)``."""
