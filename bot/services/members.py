"""Members of a guild as Familia knows them: program role, time zone and language."""

from __future__ import annotations

from dataclasses import dataclass

from bot import timezones
from bot.clock import Clock, to_db
from bot.config import SUPPORTED_LOCALES
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.i18n import normalise
from bot.services.audit import AuditLog
from bot.services.guilds import GuildService

PROGRAM_ROLES = ("creator", "leader", "manager")
# A member's own settings, one statement each (the setting is never from user input).
_SET = {
    "timezone": "UPDATE members SET timezone = ? WHERE guild_id = ? AND user_id = ?",
    "locale": "UPDATE members SET locale = ? WHERE guild_id = ? AND user_id = ?",
}


@dataclass(frozen=True)
class Member:
    guild_id: int
    user_id: int
    program_role: str | None
    timezone: str | None
    locale: str | None
    left_at: str | None
    discord_locale: str | None = None  # their Discord app's, when last seen

    @property
    def in_program(self) -> bool:
        return self.program_role is not None and self.left_at is None


class MemberService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, guilds: GuildService) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.guilds = guilds

    async def get(self, guild_id: int, user_id: int) -> Member | None:
        row = await self.db.fetchone(
            "SELECT guild_id, user_id, program_role, timezone, locale, left_at, discord_locale"
            " FROM members"
            " WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return None if row is None else Member(**dict(row))

    async def ensure(self, tx: Transaction, guild_id: int, user_id: int) -> None:
        """Make sure the member has a row (not in the program yet) inside ``tx``."""
        await self.guilds.ensure(tx, guild_id)
        await tx.execute(
            "INSERT OR IGNORE INTO members (guild_id, user_id, joined_at) VALUES (?, ?, ?)",
            (guild_id, user_id, to_db(self.clock.now())),
        )

    async def _update(self, guild_id: int, user_id: int, column: str, value: object) -> None:
        if column not in _SET:
            raise ValueError(f"not a member setting: {column!r}")
        async with self.db.transaction() as tx:
            await self.ensure(tx, guild_id, user_id)
            await tx.execute(_SET[column], (value, guild_id, user_id))
            await self.audit.record(tx, guild_id, user_id, f"me.{column}", str(user_id), new=value)

    async def set_timezone(self, guild_id: int, user_id: int, value: str | None) -> str | None:
        """Set the member's own zone; None follows the guild's."""
        zone = None if value is None else timezones.validate(value)
        await self._update(guild_id, user_id, "timezone", zone)
        return zone

    async def set_locale(self, guild_id: int, user_id: int, value: str | None) -> str | None:
        """Set the member's language; None follows their Discord language."""
        if value is not None and value not in SUPPORTED_LOCALES:
            raise UserError("common.unknown_language", value=value, choices=SUPPORTED_LOCALES)
        await self._update(guild_id, user_id, "locale", value)
        return value

    async def remember_discord_locale(self, guild_id: int, user_id: int, value: str | None
                                      ) -> None:
        """The language of the member's Discord app (``es``/``en``; others are ignored), kept
        for members Familia already knows."""
        value = normalise(value)
        if value is not None:
            async with self.db.transaction() as tx:
                await tx.execute(
                    "UPDATE members SET discord_locale = ? WHERE guild_id = ? AND user_id = ?"
                    " AND discord_locale IS NOT ?", (value, guild_id, user_id, value))

    async def locale_of(self, guild_id: int, user_id: int | None = None) -> str:
        """The language of messages a member did not ask for (DMs, emails, posts about them):
        their choice, else their Discord app's, else the server's."""
        member = await self.get(guild_id, user_id) if user_id else None
        chosen = (member.locale or member.discord_locale) if member is not None else None
        if chosen:
            return chosen
        return (await self.guilds.get(guild_id)).locale

    async def timezone_of(self, guild_id: int, user_id: int) -> str:
        """The zone a member's days are counted in: their own, else the guild's."""
        member = await self.get(guild_id, user_id)
        if member is not None and member.timezone:
            return member.timezone
        return (await self.guilds.get(guild_id)).timezone
