"""The audit log: who changed what, written inside the change's own transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database, Transaction


@dataclass(frozen=True)
class AuditEntry:
    actor_id: int | None
    action: str
    target: str | None
    details: dict[str, Any]
    created_at: datetime


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

    async def recent(self, guild_id: int, limit: int = 20) -> list[AuditEntry]:
        rows = await self.db.fetchall(
            "SELECT actor_id, action, target, details, created_at FROM audit_log"
            " WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
            (guild_id, limit),
        )
        return [AuditEntry(row["actor_id"], row["action"], row["target"],
                           json.loads(row["details"]), from_db(row["created_at"]))
                for row in rows]
