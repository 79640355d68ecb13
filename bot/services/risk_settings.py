"""The insight settings of a guild: the scorecard's weights and the risk flags' thresholds.

Each has a name, a documented default (README, *Insights*), and bounds; a guild changes one
with ``/risk setting``; a name without a row in ``insight_settings`` has its default.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock, to_db
from bot.db import Database
from bot.errors import UserError
from bot.services.audit import AuditLog


@dataclass(frozen=True)
class Setting:
    default: float
    low: float
    high: float
    weight: bool = False  # a scorecard weight (else a risk threshold)


SETTINGS: dict[str, Setting] = {
    # the scorecard's weights (relative: each component's share is its weight ÷ the sum of
    # the weights of the components the family has figures for)
    "weight_checkin_rate": Setting(25, 0, 100, True),
    "weight_feedback_rate": Setting(20, 0, 100, True),
    "weight_feedback_speed": Setting(10, 0, 100, True),
    "weight_retention": Setting(20, 0, 100, True),
    "weight_growth": Setting(10, 0, 100, True),
    "weight_campaigns": Setting(15, 0, 100, True),
    # sudden drop: last 7 days' daily mean below the 28-day baseline's median by this many
    # (scaled) median absolute deviations, and below this share of the median
    "drop_mads": Setting(3, 0.5, 20),
    "drop_share": Setting(0.5, 0.05, 1),
    "drop_min_baseline_days": Setting(10, 1, 28),  # check-in days in the baseline
    "quiet_days": Setting(5, 1, 60),  # gone quiet: days without a check-in
    "streak_min": Setting(14, 2, 365),  # streak broken: a streak at least this long
    "mismatch_tolerance": Setting(0.1, 0, 1),  # self-reported vs imported, relative
    # unusual earnings: a day's diamonds at least this many times the creator's median day
    # and the family's, and at least this many diamonds
    "earnings_factor": Setting(5, 1.5, 100),
    "earnings_min": Setting(5000, 0, 10_000_000),
    "earnings_min_history": Setting(10, 3, 90),  # days with diamonds in the 90 days before
    # family at risk (last 30 days): attrition above, or feedback rate below (with at least
    # 10 check-ins)
    "family_attrition": Setting(0.25, 0, 1),
    "family_feedback": Setting(0.3, 0, 1),
}
WEIGHTS = tuple(name for name, s in SETTINGS.items() if s.weight)


class InsightSettings:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit

    async def all(self, guild_id: int) -> dict[str, float]:
        """Every setting's value in the guild (its default where none was set)."""
        rows = await self.db.fetchall(
            "SELECT name, value FROM insight_settings WHERE guild_id = ?", (guild_id,))
        found = {r["name"]: r["value"] for r in rows if r["name"] in SETTINGS}
        return {name: found.get(name, s.default) for name, s in SETTINGS.items()}

    async def set(self, guild_id: int, actor_id: int, name: str, value: float | None
                  ) -> dict[str, float]:
        """Set one (None: back to its default); refused outside its bounds."""
        setting = SETTINGS.get(name)
        if setting is None:
            raise UserError("insights.unknown_setting", value=name)
        if value is not None and not setting.low <= value <= setting.high:
            raise UserError("insights.bad_setting", name=name, low=setting.low, high=setting.high)
        async with self.db.transaction() as tx:
            if value is None:
                await tx.execute("DELETE FROM insight_settings WHERE guild_id = ? AND name = ?",
                                 (guild_id, name))
            else:
                await tx.execute(
                    "INSERT INTO insight_settings (guild_id, name, value, updated_by, updated_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, name) DO UPDATE SET"
                    " value = excluded.value, updated_by = excluded.updated_by,"
                    " updated_at = excluded.updated_at",
                    (guild_id, name, value, actor_id, to_db(self.clock.now())))
            await self.audit.record(tx, guild_id, actor_id, "insights.setting", name,
                                    value=value)
        if value is not None and setting.weight and not any(
                v > 0 for k, v in (await self.all(guild_id)).items() if k in WEIGHTS):
            await self.set(guild_id, actor_id, name, None)  # all weights zero: refused
            raise UserError("insights.weights_all_zero")
        return await self.all(guild_id)
