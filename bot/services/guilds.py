"""Program settings of a guild: time zone, default language, manager role, channels."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot import timezones
from bot.clock import Clock, to_db
from bot.config import SUPPORTED_LOCALES
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.services import population
from bot.services.audit import AuditLog

# The purposes Familia posts for; a feature that needs a new one adds it here.
CHANNEL_KINDS = ("announcements", "leaderboard", "managers", "family_category")
# A server setting: how to read it and how to change it (the setting is never from user input).
_SETTING = {
    "timezone": ("SELECT timezone FROM guilds WHERE guild_id = ?",
                 "UPDATE guilds SET timezone = ?, updated_at = ? WHERE guild_id = ?"),
    "locale": ("SELECT locale FROM guilds WHERE guild_id = ?",
               "UPDATE guilds SET locale = ?, updated_at = ? WHERE guild_id = ?"),
    "manager_role_id": (
        "SELECT manager_role_id FROM guilds WHERE guild_id = ?",
        "UPDATE guilds SET manager_role_id = ?, updated_at = ? WHERE guild_id = ?"),
    "leaders_count": (population.RULE, population.SET_RULE),
}


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    timezone: str
    locale: str
    manager_role_id: int | None = None
    channels: dict[str, int] = field(default_factory=dict)
    # who counts in the figures: see bot/services/population.py
    leaders_count: str = population.DEFAULT_RULE


class GuildService:
    def __init__(
        self, db: Database, clock: Clock, audit: AuditLog, default_timezone: str,
        default_locale: str,
    ) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.default_timezone = default_timezone
        self.default_locale = default_locale

    async def get(self, guild_id: int) -> GuildSettings:
        """The guild's settings; defaults from the environment until a manager sets them."""
        row = await self.db.fetchone(
            "SELECT timezone, locale, manager_role_id, leaders_count FROM guilds"
            " WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return GuildSettings(guild_id, self.default_timezone, self.default_locale)
        channels = await self.db.fetchall(
            "SELECT kind, channel_id FROM guild_channels WHERE guild_id = ?", (guild_id,)
        )
        return GuildSettings(
            guild_id, row["timezone"], row["locale"], row["manager_role_id"],
            {r["kind"]: r["channel_id"] for r in channels}, row["leaders_count"],
        )

    async def ensure(self, tx: Transaction, guild_id: int) -> None:
        """Create the guild's row with defaults if it has none (inside ``tx``)."""
        now = to_db(self.clock.now())
        await tx.execute(
            "INSERT OR IGNORE INTO guilds (guild_id, timezone, locale, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (guild_id, self.default_timezone, self.default_locale, now, now),
        )

    async def _update(self, guild_id: int, actor_id: int, column: str, value: object) -> None:
        if column not in _SETTING:
            raise ValueError(f"not a server setting: {column!r}")
        read, write = _SETTING[column]
        async with self.db.transaction() as tx:
            await self.ensure(tx, guild_id)
            old = await tx.fetchval(read, (guild_id,))
            await tx.execute(write, (value, to_db(self.clock.now()), guild_id))
            await self.audit.record(
                tx, guild_id, actor_id, f"settings.{column}", None, old=old, new=value
            )

    async def set_timezone(self, guild_id: int, actor_id: int, value: str) -> str:
        zone = timezones.validate(value)
        await self._update(guild_id, actor_id, "timezone", zone)
        return zone

    async def set_locale(self, guild_id: int, actor_id: int, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise UserError("common.unknown_language", value=value, choices=SUPPORTED_LOCALES)
        await self._update(guild_id, actor_id, "locale", value)
        return value

    async def set_leaders_count(self, guild_id: int, actor_id: int, value: str) -> str:
        """Whether leaders and co-leaders count in the figures (``population.LEADERS_RULES``)."""
        if value not in population.LEADERS_RULES:
            raise UserError("settings.unknown_leaders_rule", value=value,
                            choices=population.LEADERS_RULES)
        await self._update(guild_id, actor_id, "leaders_count", value)
        return value

    async def set_manager_role(self, guild_id: int, actor_id: int, role_id: int | None) -> None:
        await self._update(guild_id, actor_id, "manager_role_id", role_id)

    async def set_channel(
        self, guild_id: int, actor_id: int, kind: str, channel_id: int | None,
        *, is_category: bool | None = None,
    ) -> None:
        """Point ``kind`` at a channel (None clears it). Family channels need a category,
        everything else a text channel."""
        if kind not in CHANNEL_KINDS:
            raise UserError("settings.unknown_channel_kind", value=kind, choices=CHANNEL_KINDS)
        if channel_id is not None and is_category is not None:
            wants_category = kind == "family_category"
            if is_category != wants_category:
                raise UserError(
                    "settings.category_needed" if wants_category else "settings.text_needed"
                )
        async with self.db.transaction() as tx:
            await self.ensure(tx, guild_id)
            old = await tx.fetchval(
                "SELECT channel_id FROM guild_channels WHERE guild_id = ? AND kind = ?",
                (guild_id, kind),
            )
            if channel_id is None:
                await tx.execute(
                    "DELETE FROM guild_channels WHERE guild_id = ? AND kind = ?", (guild_id, kind)
                )
            else:
                await tx.execute(
                    "INSERT INTO guild_channels (guild_id, kind, channel_id) VALUES (?, ?, ?)"
                    " ON CONFLICT (guild_id, kind) DO UPDATE SET channel_id = excluded.channel_id",
                    (guild_id, kind, channel_id),
                )
            await self.audit.record(
                tx, guild_id, actor_id, "settings.channel", kind, old=old, new=channel_id
            )
