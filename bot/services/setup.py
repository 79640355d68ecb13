"""The /setup wizard's side of the domain: its steps, where a server stands, what is missing.

Each step configures through the service that owns the setting (guilds, tiers, the support
desk, the digest schedule); this service only remembers which steps a manager finished or
skipped (``setup_state``), so running /setup again resumes at the first open step and changes
nothing the manager does not change. Whether a step is *configured* is read from the settings
themselves, so a server set up through the single commands shows as configured too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clock import Clock, to_db
from bot.db import Database
from bot.errors import UserError
from bot.services.audit import AuditLog
from bot.services.guilds import GuildService, GuildSettings
from bot.services.tickets import DeskSettings, TicketService
from bot.services.tiers import Tier, TierService

# The wizard's steps, in order.
STEPS = ("basics", "managers", "channels", "support", "tiers", "family", "email")
STATES = ("done", "skipped")
# The channels of the "channels" step (guild_channels kinds).
POST_CHANNELS = ("announcements", "leaderboard", "managers", "family_category")
# The support desk's two channels, picked one at a time.
DESK_CHANNELS = ("support", "staff")
# The tier template: three monthly tiers on live hours, valid days and diamonds (rank,
# thresholds). Names come from the caller, in the server's language; every figure stays
# editable with /tier define.
TIER_TEMPLATE = (
    (1, {"min_hours": 15, "min_valid_days": 8, "min_diamonds": 3_000}),
    (2, {"min_hours": 40, "min_valid_days": 15, "min_diamonds": 15_000}),
    (3, {"min_hours": 80, "min_valid_days": 22, "min_diamonds": 60_000}),
)
# Audit actions that show a manager chose the time zone or language.
_BASICS_ACTIONS = ("settings.timezone", "settings.locale")


@dataclass(frozen=True)
class SetupStatus:
    """Where a server stands: each step's state and what is configured."""

    settings: GuildSettings
    steps: dict[str, str]  # step -> "done", "skipped" or "open"
    basics_chosen: bool
    desk: DeskSettings | None
    tiers: int
    families: int
    schedule: tuple[int, int] | None  # (day 0 = Monday, hour) of the weekly digests
    picks: dict[str, int] = field(default_factory=dict)  # desk channels picked so far

    @property
    def configured(self) -> dict[str, bool]:
        """Per step: whether what it sets is set (whoever set it, however)."""
        channels = self.settings.channels
        return {
            "basics": self.basics_chosen,
            "managers": self.settings.manager_role_id is not None,
            "channels": all(kind in channels for kind in POST_CHANNELS),
            "support": self.desk is not None,
            "tiers": self.tiers > 0,
            "family": self.families > 0,
            "email": self.schedule is not None,
        }

    @property
    def missing(self) -> list[str]:
        """Steps not configured and not skipped, in order."""
        return [s for s in STEPS if not self.configured[s] and self.steps[s] != "skipped"]

    @property
    def resume_at(self) -> str | None:
        """The first step neither done nor skipped (None: the wizard went through them all)."""
        return next((s for s in STEPS if self.steps[s] == "open"), None)


class SetupService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, guilds: GuildService,
                 tiers: TierService, tickets: TicketService) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.guilds = guilds
        self.tiers = tiers
        self.tickets = tickets

    async def status(self, guild_id: int) -> SetupStatus:
        settings = await self.guilds.get(guild_id)
        state = {r["key"]: r["value"] for r in await self.db.fetchall(
            "SELECT key, value FROM setup_state WHERE guild_id = ?", (guild_id,))}
        chosen = await self.db.fetchval(
            "SELECT count(*) FROM audit_log WHERE guild_id = ? AND action IN (?, ?)",
            (guild_id, *_BASICS_ACTIONS))
        tiers = await self.db.fetchval("SELECT count(*) FROM tiers WHERE guild_id = ?",
                                       (guild_id,))
        families = await self.db.fetchval(
            "SELECT count(*) FROM families WHERE guild_id = ? AND archived_at IS NULL",
            (guild_id,))
        schedule = await self.db.fetchone(
            "SELECT digest_day, digest_hour FROM email_settings WHERE guild_id = ?",
            (guild_id,))
        return SetupStatus(
            settings=settings,
            steps={s: state.get(f"step:{s}", "open") for s in STEPS},
            basics_chosen=bool(chosen) or state.get("step:basics") == "done",
            desk=await self.tickets.settings(guild_id),
            tiers=int(tiers or 0), families=int(families or 0),
            schedule=None if schedule is None else (schedule[0], schedule[1]),
            picks={k.removeprefix("pick:"): int(v) for k, v in state.items()
                   if k.startswith("pick:")},
        )

    async def mark(self, guild_id: int, actor_id: int, step: str, state: str) -> None:
        """Record that ``step`` was finished (``done``) or ``skipped``."""
        if step not in STEPS or state not in STATES:
            raise UserError("setup.unknown_step", step=step)
        async with self.db.transaction() as tx:
            await self.guilds.ensure(tx, guild_id)
            await tx.execute(
                "INSERT INTO setup_state (guild_id, key, value, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id, key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (guild_id, f"step:{step}", state, to_db(self.clock.now())))
            await self.audit.record(tx, guild_id, actor_id, f"setup.{state}", step)

    async def pick_desk(self, guild_id: int, actor_id: int, which: str,
                        channel_id: int) -> DeskSettings | None:
        """Pick the support desk's ``support`` or ``staff`` channel. The desk is saved once
        both are known (an existing desk keeps its other channel); until then the pick is
        remembered. Returns the desk when saved."""
        if which not in DESK_CHANNELS:
            raise UserError("setup.unknown_step", step=which)
        current = await self.tickets.settings(guild_id)
        status = await self.status(guild_id)
        picks = dict(status.picks)
        if current is not None:
            picks = {"support": current.support_channel_id,
                     "staff": current.staff_channel_id} | {
                k: v for k, v in picks.items() if k not in ("support", "staff")}
        picks[which] = channel_id
        if "support" in picks and "staff" in picks:
            desk = await self.tickets.configure(guild_id, actor_id, picks["support"],
                                                picks["staff"])
            async with self.db.transaction() as tx:
                await tx.execute("DELETE FROM setup_state WHERE guild_id = ?"
                                 " AND key LIKE 'pick:%'", (guild_id,))
            return desk
        async with self.db.transaction() as tx:
            await self.guilds.ensure(tx, guild_id)
            await tx.execute(
                "INSERT INTO setup_state (guild_id, key, value, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id, key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (guild_id, f"pick:{which}", str(channel_id), to_db(self.clock.now())))
        return None

    async def tier_template(self, guild_id: int, actor_id: int,
                            names: tuple[str, str, str]) -> list[Tier]:
        """Create the template's three tiers (named ``names``, lowest first). Refused when the
        server has tiers already: the wizard never replaces a manager's own."""
        if await self.db.fetchval("SELECT count(*) FROM tiers WHERE guild_id = ?",
                                  (guild_id,)):
            raise UserError("setup.tiers_exist")
        made = []
        for name, (rank, thresholds) in zip(names, TIER_TEMPLATE, strict=True):
            made.append(await self.tiers.define(guild_id, actor_id, name, rank, **thresholds))
        return made
