"""The audit log: who changed what, written inside the change's own transaction."""

from __future__ import annotations

import json
from typing import Any

from bot.clock import Clock, to_db
from bot.db import Database, Transaction


class AuditLog:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def record(
        self,
        tx: Transaction,
        guild_id: int,
        actor_id: int | None,
        action: str,
        target: str | None = None,
        **details: Any,
    ) -> None:
        await tx.execute(
            "INSERT INTO audit_log (guild_id, actor_id, action, target, details, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, actor_id, action, target, json.dumps(details, default=str),
             to_db(self.clock.now())),
        )

    async def recent(self, guild_id: int, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT actor_id, action, target, details, created_at FROM audit_log"
            " WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
            (guild_id, limit),
        )
        return [dict(row) | {"details": json.loads(row["details"])} for row in rows]
