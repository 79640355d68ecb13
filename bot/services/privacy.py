"""Personal data: export or delete everything Familia holds about one member of a guild.

Tables are found by introspection, so a feature's new table is covered as soon as it has a
``guild_id`` column and a user column named in :data:`USER_COLUMNS`.
"""

from __future__ import annotations

from typing import Any

from bot.db import Database

# Columns that identify the person a row is about.
USER_COLUMNS = ("user_id", "recipient_id")
# Tables kept on deletion because they are not about the person (process metadata).
SKIP_TABLES = ("app_meta", "guilds", "guild_channels")


class PrivacyService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _personal_tables(self) -> list[tuple[str, str]]:
        tables = await self.db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        found = []
        for row in tables:
            name = row["name"]
            if name in SKIP_TABLES:
                continue
            columns = {c["name"] for c in await self.db.fetchall(f'PRAGMA table_info("{name}")')}
            if "guild_id" not in columns:
                continue
            for column in USER_COLUMNS:
                if column in columns:
                    found.append((name, column))
                    break
        return sorted(found)

    async def export(self, guild_id: int, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row about the member, by table."""
        data: dict[str, list[dict[str, Any]]] = {}
        for table, column in await self._personal_tables():
            rows = await self.db.fetchall(
                f'SELECT * FROM "{table}" WHERE guild_id = ? AND "{column}" = ?',
                (guild_id, user_id),
            )
            if rows:
                data[table] = [dict(r) for r in rows]
        return data

    async def delete(self, guild_id: int, user_id: int) -> dict[str, int]:
        """Delete every row about the member in one transaction; counts by table."""
        tables = await self._personal_tables()
        counts: dict[str, int] = {}
        async with self.db.transaction() as tx:
            await tx.execute("PRAGMA defer_foreign_keys = ON")
            for table, column in tables:
                deleted = await tx.execute(
                    f'DELETE FROM "{table}" WHERE guild_id = ? AND "{column}" = ?',
                    (guild_id, user_id),
                )
                if deleted:
                    counts[table] = deleted
            await tx.execute(
                "UPDATE audit_log SET actor_id = NULL WHERE guild_id = ? AND actor_id = ?",
                (guild_id, user_id),
            )
        return counts
