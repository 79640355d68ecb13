"""The domain: pure async code over the database. Nothing here imports discord."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.delivery.queue import DeliveryQueue
from bot.delivery.told import decision_teller
from bot.events import ApplicationAccepted, Events, MemberJoinedFamily, MemberLeftServer
from bot.mail.rendering import Renderer
from bot.services.audit import AuditLog
from bot.services.broadcasts import BroadcastService
from bot.services.campaigns import CampaignService
from bot.services.checkins import CheckinService
from bot.services.digests import DigestService
from bot.services.email import EmailService
from bot.services.exports import ExportService
from bot.services.families import FamilyService
from bot.services.guilds import GuildService
from bot.services.kpis import KpiService
from bot.services.leaderboards import LeaderboardService
from bot.services.members import MemberService
from bot.services.meta import MetaStore
from bot.services.onboarding import OnboardingService
from bot.services.pace import PaceService
from bot.services.platform_figures import FigureSources
from bot.services.platform_stats import PlatformStatsService
from bot.services.policies import AgreementText, PolicyService
from bot.services.privacy import PrivacyService
from bot.services.profiles import ProfileService
from bot.services.progress import ProgressService
from bot.services.reconcile import ReconcileService
from bot.services.reminders import ReminderService
from bot.services.reviews import ReviewService
from bot.services.risk import RiskService
from bot.services.risk_settings import InsightSettings
from bot.services.roster import RosterService
from bot.services.scorecard import ScorecardService
from bot.services.setup import SetupService
from bot.services.showcase import ShowcaseService
from bot.services.tickets import TicketService
from bot.services.tiers import ScheduledSweeps, TierService


def agreement_text(templates: Any) -> AgreementText:
    """The family agreement's title and text of a version in a language, from its template
    (``templates/discord/agreement/v<N>.md.j2``): what moves into the policy library."""

    def text(version: int, lang: str) -> tuple[str, str]:
        title = templates.macro(lang, "discord/policies/labels.j2", "agreement_title")
        return str(title).strip(), templates.render(lang, f"discord/agreement/v{version}.md.j2")

    return text


@dataclass(frozen=True)
class Services:
    """Every service, each built whole by :meth:`build` (the composition root calls it)."""

    db: Database
    clock: Clock
    events: Events
    audit: AuditLog
    guilds: GuildService
    members: MemberService
    meta: MetaStore
    privacy: PrivacyService
    families: FamilyService
    progress: ProgressService
    tiers: TierService
    kpis: KpiService
    deliveries: DeliveryQueue
    checkins: CheckinService
    email: EmailService
    reminders: ReminderService
    leaderboards: LeaderboardService
    pace: PaceService
    broadcasts: BroadcastService
    campaigns: CampaignService
    digests: DigestService
    stats: PlatformStatsService
    sources: FigureSources
    reconcile: ReconcileService
    profiles: ProfileService
    roster: RosterService
    exports: ExportService
    reviews: ReviewService
    insight_settings: InsightSettings
    scorecard: ScorecardService
    risk: RiskService
    sweeps: ScheduledSweeps
    tickets: TicketService
    policies: PolicyService
    setup: SetupService
    onboarding: OnboardingService
    showcase: ShowcaseService

    @classmethod
    def build(
        cls, db: Database, settings: Settings, clock: Clock, *, events: Events | None = None,
        renderer: Renderer | None = None, on_queued: Callable[[], None] = lambda: None,
    ) -> Services:
        """Every service in dependency order, each given what it uses in its constructor.

        ``renderer`` renders emails (one over fresh templates when not given: tests, the
        command line); ``on_queued`` wakes the email sender when mail was queued."""
        if renderer is None:
            from bot.templating import Templates

            renderer = Renderer(Templates())
        events = events if events is not None else Events()
        audit = AuditLog(db, clock)
        guilds = GuildService(db, clock, audit, settings.default_timezone, settings.default_locale)
        members = MemberService(db, clock, audit, guilds)
        deliveries = DeliveryQueue(db, clock)
        families = FamilyService(db, clock, audit, guilds, members, events, deliveries,
                                 tell=decision_teller(renderer.templates))
        progress = ProgressService(db, settings.checkin_valid_day_hours)
        tiers = TierService(db, clock, audit, guilds, deliveries=deliveries,
                            cutoff_hour=settings.checkin_edit_cutoff_hour)
        kpis = KpiService(db)
        checkins = CheckinService(db, clock, audit, guilds, members, families, progress,
                                  deliveries, settings.checkin_edit_cutoff_hour)
        email = EmailService(db, clock, audit, members, settings, families, renderer, on_queued)
        policies = PolicyService(db, clock, audit, families=families,
                                 agreement=agreement_text(renderer.templates),
                                 deliveries=deliveries)
        onboarding = OnboardingService(db, clock, audit, policies=policies)
        reminders = ReminderService(db, clock, members, deliveries, settings.reminder_grace_hours,
                                    email_hook=email.reminder, overdue_hook=policies.overdue,
                                    stuck_hook=onboarding.stuck)
        campaigns = CampaignService(db, clock, audit, guilds, families, deliveries, email,
                                    settings.checkin_edit_cutoff_hour)
        profiles = ProfileService(db, clock, audit, families)
        leaderboards = LeaderboardService(db, clock, guilds, families, tiers, deliveries,
                                          settings.checkin_edit_cutoff_hour)
        insight_settings = InsightSettings(db, clock, audit)
        scorecard = ScorecardService(db, clock, guilds, kpis, leaderboards, insight_settings,
                                     deliveries)
        tickets = TicketService(db, clock, audit, families, tiers, profiles, deliveries)
        reviews = ReviewService(db, clock, audit, guilds, families, tiers, progress,
                                deliveries, email, settings.checkin_edit_cutoff_hour,
                                settings.default_locale)
        services = cls(
            db=db, clock=clock, events=events, audit=audit, guilds=guilds, members=members,
            meta=MetaStore(db), privacy=PrivacyService(db, settings.outbox_dir), families=families,
            progress=progress, tiers=tiers, deliveries=deliveries, kpis=kpis, checkins=checkins,
            email=email, reminders=reminders,
            leaderboards=leaderboards,
            pace=PaceService(db, clock, guilds, members, tiers, families, deliveries),
            broadcasts=BroadcastService(db, clock, audit, members, deliveries, email),
            campaigns=campaigns,
            digests=DigestService(db, clock, audit, guilds, email, kpis, tiers, campaigns,
                                  scorecard=scorecard, policies=policies,
                                  onboarding=onboarding),
            stats=PlatformStatsService(db, clock, settings.checkin_valid_day_hours),
            sources=FigureSources(db, clock, settings.checkin_valid_day_hours),
            reconcile=ReconcileService(db, clock, families),
            profiles=profiles,
            roster=RosterService(db, clock, audit, families, profiles, deliveries),
            exports=ExportService(db, clock, guilds, families, kpis, email),
            reviews=reviews,
            insight_settings=insight_settings,
            scorecard=scorecard,
            risk=RiskService(db, clock, audit, guilds, kpis, insight_settings, deliveries),
            sweeps=ScheduledSweeps(tiers),
            tickets=tickets,
            policies=policies,
            setup=SetupService(db, clock, audit, guilds, tiers, tickets),
            onboarding=onboarding,
            showcase=ShowcaseService(db, clock, audit, families, deliveries, email=email,
                                     reviews=reviews),
        )
        # Events between services: a member who left the server gets the exit survey.
        events.subscribe(MemberLeftServer, email.on_member_left)
        # A member's first family, or an accepted application, starts their onboarding.
        events.subscribe(MemberJoinedFamily, onboarding.on_member_joined)
        events.subscribe(ApplicationAccepted, onboarding.on_application_accepted)
        return services
