"""The domain: pure async code over the database. Nothing here imports discord."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.delivery.queue import DeliveryQueue
from bot.services.audit import AuditLog
from bot.services.broadcasts import BroadcastService
from bot.services.campaigns import CampaignService
from bot.services.checkins import CheckinService
from bot.services.digests import DigestService
from bot.services.email import EmailService
from bot.services.families import FamilyService
from bot.services.guilds import GuildService
from bot.services.kpis import KpiService
from bot.services.leaderboards import LeaderboardService
from bot.services.members import MemberService
from bot.services.meta import MetaStore
from bot.services.pace import PaceService
from bot.services.privacy import PrivacyService
from bot.services.progress import ProgressService
from bot.services.reminders import ReminderService
from bot.services.tiers import TierService


@dataclass
class Services:
    """Every service, built once after migrations and before the cogs load."""

    db: Database
    clock: Clock
    audit: AuditLog
    guilds: GuildService
    members: MemberService
    meta: MetaStore
    privacy: PrivacyService
    families: FamilyService
    tiers: TierService
    kpis: KpiService
    deliveries: DeliveryQueue
    progress: ProgressService = field(init=False)
    checkins: CheckinService = field(init=False)
    reminders: ReminderService = field(init=False)
    leaderboards: LeaderboardService = field(init=False)
    pace: PaceService = field(init=False)
    email: EmailService = field(init=False)
    digests: DigestService = field(init=False)
    broadcasts: BroadcastService = field(init=False)
    campaigns: CampaignService = field(init=False)

    @classmethod
    def build(cls, db: Database, settings: Settings, clock: Clock) -> Services:
        audit = AuditLog(db, clock)
        guilds = GuildService(db, clock, audit, settings.default_timezone, settings.default_locale)
        members = MemberService(db, clock, audit, guilds)
        deliveries = DeliveryQueue(db, clock)
        services = cls(
            db=db, clock=clock, audit=audit, guilds=guilds, members=members, meta=MetaStore(db),
            privacy=PrivacyService(db),
            families=FamilyService(db, clock, audit, members),
            tiers=TierService(db, clock, audit, guilds, deliveries=deliveries),
            kpis=KpiService(db),
            deliveries=deliveries,
        )
        services.progress = ProgressService(db, settings.checkin_valid_day_hours)
        services.checkins = CheckinService(
            db, clock, audit, members, services.families, services.progress,
            services.deliveries, settings.checkin_edit_cutoff_hour,
        )
        services.reminders = ReminderService(db, clock, members, services.deliveries,
                                             settings.reminder_grace_hours)
        services.tiers.progress = services.progress.month_progress
        services.leaderboards = LeaderboardService(
            db, clock, guilds, services.families, services.tiers, services.deliveries)
        services.pace = PaceService(db, clock, members, services.tiers, services.families,
                                     services.deliveries)
        services.email = EmailService(db, clock, audit, members, settings, services.families)
        services.reminders.email_hook = services.email.reminder
        services.families.on_left_server.append(services.email.exit_survey)
        services.broadcasts = BroadcastService(db, clock, audit, members,
                                               services.deliveries, services.email)
        services.campaigns = CampaignService(db, clock, audit, guilds, services.families,
                                              services.email)
        services.digests = DigestService(db, clock, services.email, services.kpis,
                                         services.tiers, services.campaigns)
        return services
