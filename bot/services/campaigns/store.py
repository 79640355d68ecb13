"""The ground every part of :class:`~bot.services.campaigns.CampaignService` stands on:
reading campaigns, their audience and their participants."""

from __future__ import annotations

import json
from datetime import datetime

from bot.clock import Clock
from bot.db import Database
from bot.delivery.queue import DeliveryQueue
from bot.errors import NotFound, UserError
from bot.paging import Page, clamp
from bot.services import audience as audience_of
from bot.services import population
from bot.services.audit import AuditLog
from bot.services.campaigns.models import Campaign, Spec, campaign_from_row
from bot.services.email import EmailService
from bot.services.families import FamilyService
from bot.services.guilds import GuildService

CAMPAIGN_BY_ID = "SELECT * FROM campaigns WHERE guild_id = ? AND id = ?"
CAMPAIGN_BY_NAME = "SELECT * FROM campaigns WHERE guild_id = ? AND lower(name) = lower(?)"
# The states go in as one JSON array parameter.
CAMPAIGNS_IN_STATES = (
    "SELECT * FROM campaigns WHERE guild_id = ? AND state IN (SELECT value FROM json_each(?))"
    " ORDER BY CASE state WHEN 'running' THEN 0 WHEN 'scheduled' THEN 1"
    " WHEN 'draft' THEN 2 ELSE 3 END, starts_at DESC, id DESC LIMIT ?"
)
CAMPAIGNS_PAGE = CAMPAIGNS_IN_STATES + " OFFSET ?"
COUNT_IN_STATES = (
    "SELECT count(*) FROM campaigns WHERE guild_id = ?"
    " AND state IN (SELECT value FROM json_each(?))"
)
LIST_PAGE = 10  # campaigns on a page of /campaign list
CURRENT_FOR = (
    "SELECT c.* FROM campaigns c LEFT JOIN campaign_enrolments e ON e.campaign_id = c.id"
    " AND e.user_id = ? WHERE c.guild_id = ? AND c.state IN ('running', 'finished',"
    " 'scheduled') ORDER BY CASE c.state WHEN 'running' THEN 0 WHEN 'scheduled' THEN 1"
    " ELSE 2 END, e.user_id IS NULL, c.ends_at DESC LIMIT 1"
)
ENROL = (
    "INSERT OR IGNORE INTO campaign_enrolments (campaign_id, guild_id, user_id, family_id, via,"
    " enrolled_at) VALUES (?, ?, ?, ?, ?, ?)"
)
ENROLLED = (
    "SELECT e.user_id, coalesce(fm.family_id, e.family_id) AS family_id"
    " FROM campaign_enrolments e LEFT JOIN family_members fm ON fm.guild_id = e.guild_id"
    " AND fm.user_id = e.user_id AND fm.left_at IS NULL WHERE e.campaign_id = ?"
)


class CampaignStore:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, guilds: GuildService,
                 families: FamilyService, deliveries: DeliveryQueue,
                 email: EmailService | None = None, cutoff_hour: int = 12) -> None:
        self.db = db
        # until this local hour a creator may still enter yesterday's check-in (check-ins)
        self.cutoff_hour = cutoff_hour
        self.deliveries = deliveries
        self.clock = clock
        self.audit = audit
        self.guilds = guilds
        self.families = families
        self.email = email

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, guild_id: int, campaign_id: int) -> Campaign:
        row = await self.db.fetchone(CAMPAIGN_BY_ID, (guild_id, campaign_id))
        if row is None:
            raise NotFound("campaigns.unknown", value=str(campaign_id))
        return campaign_from_row(row)

    async def resolve(self, guild_id: int, text: str) -> Campaign:
        """The campaign an option names: an id from autocomplete, or a name typed by hand."""
        text = (text or "").strip()
        row = await self.db.fetchone(CAMPAIGN_BY_NAME, (guild_id, text))
        if row is None and text.isdigit():
            row = await self.db.fetchone(CAMPAIGN_BY_ID, (guild_id, int(text)))
        if row is None:
            raise NotFound("campaigns.unknown", value=text)
        return campaign_from_row(row)

    async def list_campaigns(self, guild_id: int, states: tuple[str, ...] = (
            "draft", "scheduled", "running", "finished"), limit: int = 25) -> list[Campaign]:
        rows = await self.db.fetchall(
            CAMPAIGNS_IN_STATES, (guild_id, json.dumps(list(states)), limit))
        return [campaign_from_row(r) for r in rows]

    async def campaigns_page(self, guild_id: int, states: tuple[str, ...], page: int,
                             size: int = LIST_PAGE) -> Page[Campaign]:
        """One page of the campaigns in ``states``: running first, then scheduled, drafts,
        finished; newest first within each."""
        wanted = json.dumps(list(states))
        total = await self.db.fetchval(COUNT_IN_STATES, (guild_id, wanted))
        number = clamp(page, size, total)
        rows = await self.db.fetchall(CAMPAIGNS_PAGE, (guild_id, wanted, size, number * size))
        return Page([campaign_from_row(r) for r in rows], number, size, total)

    async def search(self, guild_id: int, text: str, states: tuple[str, ...]) -> list[Campaign]:
        needle = (text or "").strip().lower()
        return [c for c in await self.list_campaigns(guild_id, states)
                if needle in c.name.lower()]

    async def current_for(self, guild_id: int, user_id: int) -> Campaign:
        """The campaign a creator most likely means: running (theirs first), else scheduled,
        else the last finished."""
        row = await self.db.fetchone(CURRENT_FOR, (user_id, guild_id))
        if row is None:
            raise UserError("campaigns.none_running")
        return campaign_from_row(row)

    async def final_at(self, found: Campaign) -> datetime:
        """When the campaign's figures become final: its end, or later the close of the last
        check-in window of its last day (the latest zone of the creators in the program)."""
        closes = await population.final_at(self.db, found.guild_id, found.last_day,
                                           self.cutoff_hour, self.guilds.default_timezone)
        return max(found.ends_at, closes)

    async def audience(self, guild_id: int, target: Campaign | Spec) -> dict[int, int]:
        """Creator → family for everyone the campaign is for, today."""
        return await audience_of.creators(self.db, guild_id, target.audience,
                                          target.audience_ids)

    async def participants(self, found: Campaign) -> dict[int, int | None]:
        """Participant → their family now (else the family they enrolled from)."""
        if not found.opt_in and found.state in ("draft", "scheduled"):
            return dict(await self.audience(found.guild_id, found))
        rows = await self.db.fetchall(ENROLLED, (found.id,))
        found_rows = {r["user_id"]: r["family_id"] for r in rows}
        if not found.opt_in and found.state == "running":  # newcomers to the audience count
            found_rows = {**await self.audience(found.guild_id, found), **found_rows}
        return found_rows
