"""Personal data: export or delete everything Familia holds about one member of a guild.

Where a member can be found, table by table, is written once here:

* every table with a ``guild_id`` and a column of :data:`USER_COLUMNS` is found by reading
  the catalog; its rows about the member are theirs: exported, then deleted;
* :data:`MENTIONS` — columns that name the member in someone else's row (who decided a
  request, who wrote a broadcast, who led a family): exported, then set to ``NULL`` or, where
  the column must hold someone, to :data:`ERASED` (0, "a deleted member");
* :data:`ABOUT` — rows about the member kept under another column: audit entries whose
  *target* is them (a leader's free-text removal reason, their time zone), Discord
  deliveries to them or naming them (a DM, a role change, a post that mentions them),
  check-in response times of their check-ins: exported, then deleted;
* :data:`PARTS` — tables whose rows are parts of one row of another table (an email's
  bodies): exported with it, and deleted with it by the database (``ON DELETE CASCADE``, read
  from the catalog too);
* :data:`NOT_PERSONAL` — tables that hold no one's data, each with the reason.

:meth:`PrivacyService.unhandled` reads the catalog and names every table, and every column
that names a person (:data:`PERSON`), in none of these; ``tests/test_privacy_coverage.py``
fails when it names any. Deletion runs in one transaction with ``secure_delete``
on (freed space is zeroed), then checkpoints the WAL (``TRUNCATE``: old page images go too)
and removes the member's saved ``.eml`` files from ``OUTBOX_DIR``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.db import Database, Transaction

log = logging.getLogger(__name__)

# Columns that identify the person a row is about.
USER_COLUMNS = ("user_id", "recipient_id")
# Column names that hold a Discord user id (or text naming one): who a row is about, who did
# something, who leads, who wrote.
PERSON = re.compile(r"(^|_)(user|recipient|actor|author|leader|member|target|by)(_id)?$"
                    r"|_by(_user)?(_id)?$")
# Columns whose name looks like a person's but hold none.
NOT_A_PERSON = {("family_members", "ended_by"): "how it ended: self, leader, manager…",
                ("creator_profiles", "platform_user_id"): "the member's own id on the"
                " streaming platform, in their own row"}
# Who a mention of a deleted member becomes where the column must name someone.
ERASED = 0

# Tables kept whole on deletion: nobody's personal data is in them.
NOT_PERSONAL = {
    "app_meta": "process metadata (schema, generated key)",
    "guilds": "a server's settings",
    "guild_channels": "a server's channels",
    "checkin_settings": "a server's check-in settings",
    "email_settings": "a server's digest schedule",
    "email_suppressions": "a SHA-256 of a bouncing address, no guild or member",
    "tiers": "a server's tiers",
    "board_posts": "scheduled leaderboard posts (a period, a channel)",
    "campaign_posts": "campaign announcements per family channel",
    "stat_settings": "a server's sources of figures and reconciliation tolerance",
    "roster_upload_files": "a roster file a manager uploaded, kept only until it is applied"
                           " or for a day (its row in roster_uploads names the manager)",
    "review_settings": "a server's weekly review schedule",
    "review_posts": "scheduled weekly reviews (a week, a channel)",
    "risk_sweeps": "when a server's daily risk sweep ran",
    "scorecard_posts": "a server's monthly scorecard posts",
    "ticket_settings": "a server's support channels",
    "setup_state": "how far a server's /setup wizard got (steps, picked channels)",
    "ticket_categories": "a server's support categories (a role, SLA hours)",
    "policy_search": "the full-text index of the documents in force",
    "policy_search_data": "the full-text index's storage",
    "policy_search_idx": "the full-text index's storage",
    "policy_search_content": "the full-text index's storage",
    "policy_search_docsize": "the full-text index's storage",
    "policy_search_config": "the full-text index's storage",
    "onboarding_settings": "a server's onboarding settings (email step, days before stuck)",
    "showcase_settings": "a server's showcase channel and nominations a family",
    "showcase_posts": "a server's month-end showcase posts (a month, a channel, counts)",
}


@dataclass(frozen=True)
class Mention:
    """A column of someone else's row that may name the member."""

    table: str
    column: str
    nullable: bool


MENTIONS = (
    Mention("audit_log", "actor_id", True),
    Mention("families", "leader_user_id", True),
    Mention("families", "co_leader_user_id", True),
    Mention("families", "created_by", True),
    Mention("family_members", "ended_by_user_id", True),
    Mention("family_requests", "requested_by", False),
    Mention("family_requests", "decided_by", True),
    Mention("checkin_feedback", "leader_id", False),
    Mention("broadcasts", "author_id", False),
    Mention("campaigns", "created_by", False),
    Mention("stat_imports", "created_by", True),
    Mention("stat_imports", "rolled_back_by", True),
    Mention("creator_profiles", "updated_by", True),
    Mention("roster_uploads", "actor_id", False),
    Mention("roster_uploads", "applied_by", True),
    Mention("review_actions", "owner_user_id", False),
    Mention("review_actions", "about_user_id", True),
    Mention("review_actions", "created_by", False),
    Mention("review_actions", "closed_by", True),
    Mention("insight_settings", "updated_by", True),
    Mention("risk_flags", "acted_by", True),
    Mention("tier_sweeps", "decided_by", True),
    Mention("tier_sweep_overrides", "set_by", False),
    Mention("tickets", "assignee_id", True),
    Mention("tickets", "closed_by", True),
    Mention("ticket_notes", "author_id", False),
    Mention("policy_documents", "created_by", True),
    Mention("policy_documents", "archived_by", True),
    Mention("policy_versions", "published_by", True),
    Mention("showcase_entries", "nominated_by", True),
    Mention("showcase_entries", "curated_by", True),
)


@dataclass(frozen=True)
class About:
    """Rows about the member in a table without a user column (``where`` reads :guild,
    :user, :user_text), deleted; ``mentioning``: a JSON column searched for the member's id
    in the other rows, which are deleted too, or with ``scrub`` kept with the id replaced by
    :data:`ERASED` (an audit entry that names them among its details)."""

    table: str
    where: str
    mentioning: str | None = None
    scrub: bool = False


ABOUT = (
    About("audit_log", "target = :user_text", mentioning="details", scrub=True),
    About("deliveries", "target IN ('dm', 'role_add', 'role_remove') AND target_id = :user",
          mentioning="payload"),
    About("email_outbox", "recipient IN (SELECT address FROM email_addresses"
                          " WHERE guild_id = :guild AND user_id = :user)"
                          " AND (user_id IS NULL OR user_id = :user)"),
    About("checkin_response",
          "checkin_id IN (SELECT id FROM checkins WHERE guild_id = :guild AND user_id = :user)"),
)


@dataclass(frozen=True)
class Part:
    """Rows of ``table`` that belong to one row of ``parent``: ``column`` holds its id, with
    a foreign key that deletes them with it (``ON DELETE CASCADE``)."""

    table: str
    column: str
    parent: str


PARTS = (Part("email_bodies", "outbox_id", "email_outbox"),
         Part("email_attachments", "outbox_id", "email_outbox"),
         Part("ticket_notes", "ticket_id", "tickets"))


def _names(user_id: int) -> re.Pattern[str]:
    """The member's id as a whole number (a mention ``<@id>``, a JSON value)."""
    return re.compile(rf"(?<!\d){user_id}(?!\d)")


class PrivacyService:
    def __init__(self, db: Database, outbox_dir: Path | None = None) -> None:
        self.db = db
        self.outbox_dir = outbox_dir

    async def catalog(self) -> dict[str, set[str]]:
        """Every table and its columns, as the database has them now."""
        tables = await self.db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return {row["name"]: {c["name"] for c in await self.db.fetchall(
            f'PRAGMA table_info("{row["name"]}")')} for row in tables}

    async def unhandled(self) -> list[str]:
        """Tables (``"table"``) and columns naming a person (``"table.column"``) that this
        module does not say what to do with: /me delete and /me export would miss them."""
        catalog = await self.catalog()
        personal = dict(await self._personal_tables())
        tables = set(personal) | {m.table for m in MENTIONS} | {a.table for a in ABOUT}
        cascading = await self._cascading()
        tables |= {p.table for p in PARTS if p in cascading}
        columns = {(m.table, m.column) for m in MENTIONS} | set(personal.items())
        columns |= {(a.table, c) for a in ABOUT for c in catalog.get(a.table, ())
                    if re.search(rf"\b{c}\b", a.where) or c == a.mentioning}
        missing = [name for name in catalog if name not in tables | set(NOT_PERSONAL)]
        missing += [f"{table}.{column}" for table, names in catalog.items() for column in names
                    if table not in NOT_PERSONAL and PERSON.search(column)
                    and (table, column) not in columns | set(NOT_A_PERSON)]
        missing += [f"{table}: two user columns" for table, names in catalog.items()
                    if table not in NOT_PERSONAL and len(set(USER_COLUMNS) & names) > 1]
        missing += [f"{p.table}: not deleted with {p.parent}" for p in PARTS
                    if p.table in catalog and p not in cascading]
        return sorted(missing)

    async def _cascading(self) -> set[Part]:
        """The :data:`PARTS` whose foreign key to their parent's id deletes them with it."""
        found = set()
        for part in PARTS:
            keys = await self.db.fetchall(f'PRAGMA foreign_key_list("{part.table}")')
            if any(k["table"] == part.parent and k["from"] == part.column
                   and k["on_delete"] == "CASCADE" for k in keys):
                found.add(part)
        return found

    async def _personal_tables(self) -> list[tuple[str, str]]:
        found = []
        for name, columns in (await self.catalog()).items():
            if name in NOT_PERSONAL or "guild_id" not in columns:
                continue
            for column in USER_COLUMNS:
                if column in columns:
                    found.append((name, column))
                    break
        return sorted(found)

    async def _about(self, db: Database | Transaction, guild_id: int, user_id: int
                     ) -> list[tuple[About, list[dict[str, Any]], list[dict[str, Any]]]]:
        """For each of :data:`ABOUT`: the rows about the member, and the rows of others that
        name them in the ``mentioning`` column (``_rowid`` added)."""
        params = {"guild": guild_id, "user": user_id, "user_text": str(user_id),
                  "like": f"%{user_id}%"}
        names = _names(user_id)
        found = []
        for about in ABOUT:
            rows = [dict(r) for r in await db.fetchall(
                f'SELECT rowid AS _rowid, * FROM "{about.table}"'
                f" WHERE guild_id = :guild AND ({about.where})", params)]
            naming: list[dict[str, Any]] = []
            if about.mentioning is not None:
                naming = [dict(r) for r in await db.fetchall(
                    f'SELECT rowid AS _rowid, * FROM "{about.table}" WHERE guild_id = :guild'
                    f' AND "{about.mentioning}" LIKE :like AND NOT ({about.where})', params)
                    if names.search(r[about.mentioning] or "")]
            found.append((about, rows, naming))
        return found

    async def export(self, guild_id: int, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row about the member, by table; rows of others that name them are under
        ``"<table>.<column>"``."""
        data: dict[str, list[dict[str, Any]]] = {}
        for table, column in await self._personal_tables():
            rows = await self.db.fetchall(
                f'SELECT * FROM "{table}" WHERE guild_id = ? AND "{column}" = ?',
                (guild_id, user_id),
            )
            if rows:
                data[table] = [dict(r) for r in rows]
        for about, rows, naming in await self._about(self.db, guild_id, user_id):
            for key, found in ((about.table, rows), (f"{about.table}.{about.mentioning}",
                                                     naming)):
                if found:
                    data.setdefault(key, []).extend(
                        {k: v for k, v in r.items() if k != "_rowid"} for r in found)
        for mention in MENTIONS:
            rows = await self.db.fetchall(
                f'SELECT * FROM "{mention.table}" WHERE guild_id = ? AND "{mention.column}" = ?',
                (guild_id, user_id))
            if rows:
                data[f"{mention.table}.{mention.column}"] = [dict(r) for r in rows]
        for part in PARTS:
            ids = sorted({r["id"] for r in data.get(part.parent, ())})
            rows = await self.db.fetchall(
                f'SELECT * FROM "{part.table}" WHERE "{part.column}" IN'
                " (SELECT value FROM json_each(?))", (json.dumps(ids),)) if ids else []
            if rows:
                data[part.table] = [dict(r) for r in rows]
        return data

    async def delete(self, guild_id: int, user_id: int) -> dict[str, int]:
        """Delete every row about the member in one transaction, blank their name in others'
        rows; then the WAL is checkpointed and their saved emails removed. Counts by table."""
        tables = await self._personal_tables()
        counts: dict[str, int] = {}
        async with self.db.transaction() as tx:
            await tx.execute("PRAGMA secure_delete = ON")  # (the database opens with it on)
            await tx.execute("PRAGMA defer_foreign_keys = ON")
            emails = [r["id"] for r in await tx.fetchall(
                "SELECT id FROM email_outbox WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id))]
            names = _names(user_id)
            for about, rows, naming in await self._about(tx, guild_id, user_id):
                for row in rows if about.scrub else rows + naming:
                    await tx.execute(f'DELETE FROM "{about.table}" WHERE rowid = ?',
                                     (row["_rowid"],))
                column = about.mentioning or ""
                for row in naming if about.scrub else []:
                    await tx.execute(
                        f'UPDATE "{about.table}" SET "{column}" = ? WHERE rowid = ?',
                        (names.sub(str(ERASED), row[column]), row["_rowid"]))
                if about.table == "email_outbox":  # sent to their address, under no one
                    emails += [row["_rowid"] for row in rows]
                if rows or naming:
                    counts[about.table] = len(rows) + len(naming)
            for table, column in tables:
                deleted = await tx.execute(
                    f'DELETE FROM "{table}" WHERE guild_id = ? AND "{column}" = ?',
                    (guild_id, user_id),
                )
                if deleted:
                    counts[table] = counts.get(table, 0) + deleted
            for mention in MENTIONS:
                await tx.execute(
                    f'UPDATE "{mention.table}" SET "{mention.column}" = ?'
                    f' WHERE guild_id = ? AND "{mention.column}" = ?',
                    (None if mention.nullable else ERASED, guild_id, user_id))
        await self._checkpoint()
        self._remove_emails(emails)
        return counts

    async def _checkpoint(self) -> None:
        """Copy the WAL into the database file and empty it, so the pages as they were
        before the deletion are gone from both (a reader still reading may delay it)."""
        for _ in range(20):
            if await self.db.checkpoint():
                return
            await asyncio.sleep(0.05)
        log.warning("the WAL could not be emptied after a deletion; it will be at the next"
                    " checkpoint")

    def _remove_emails(self, ids: list[int]) -> None:
        """The member's delivered emails saved as ``.eml`` (``OUTBOX_DIR``, named by id)."""
        if self.outbox_dir is None or not ids or not self.outbox_dir.is_dir():
            return
        for email_id in ids:
            for path in self.outbox_dir.glob(f"{email_id:08d}-*.eml"):
                path.unlink(missing_ok=True)

