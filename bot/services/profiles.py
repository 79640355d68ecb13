"""Creator profiles: who a member of the program is on the streaming platform.

One ``creator_profiles`` row per member of a guild: platform handle and platform user id
(each unique within the guild; the handle stored normalised — no leading ``@``, lower case, a
profile link reduced to its handle), region, main language, content category, the dates they
joined the platform and the program, and the managers' notes.

Who may do what (the service checks it; the cog passes ``as_manager``):

* a creator sets their own handle; a manager sets any field of anyone;
* a profile is seen by its member, the leaders of the member's family and managers; the
  managers' notes by managers only (:meth:`ProfileService.view` leaves them out otherwise).

The roster import writes profiles through :meth:`ProfileService.write` inside its own
transaction; /me export and /me delete find the table by its ``guild_id``/``user_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from bot.clock import Clock, to_db
from bot.db import Database, Transaction
from bot.errors import NotAllowed, UserError
from bot.services import bounds
from bot.services.audit import AuditLog
from bot.services.families import FamilyService
from bot.sheets import normalise_handle, parse_date, parse_platform_id

REGION_MAX = 60
LANGUAGE_MAX = 40
CATEGORY_MAX = 60
NOTES_MAX = 1000
CLEAR = "-"  # a command's value that empties a field

# every field of a profile, in the order they are shown and exported
FIELDS = ("handle", "platform_user_id", "region", "language", "category",
          "platform_joined_on", "program_joined_on", "manager_notes")
CREATOR_FIELDS = frozenset({"handle"})  # what a creator may set on their own profile
MANAGERS_ONLY = frozenset({"manager_notes"})  # what only managers see

SELECT = ("SELECT user_id, " + ", ".join(FIELDS) + ", updated_at FROM creator_profiles"
          " WHERE guild_id = ?")
UPSERT = (
    "INSERT INTO creator_profiles (guild_id, user_id, " + ", ".join(FIELDS)
    + ", updated_at, updated_by) VALUES (?, ?, " + ", ".join("?" for _ in FIELDS)
    + ", ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET "
    + ", ".join(f"{f} = excluded.{f}" for f in FIELDS)
    + ", updated_at = excluded.updated_at, updated_by = excluded.updated_by"
)
OWNER_OF_HANDLE = ("SELECT user_id FROM creator_profiles WHERE guild_id = ? AND handle = ?"
                   " AND user_id != ?")
OWNER_OF_ID = ("SELECT user_id FROM creator_profiles WHERE guild_id = ?"
               " AND platform_user_id = ? AND user_id != ?")


@dataclass(frozen=True)
class Profile:
    user_id: int
    handle: str | None = None
    platform_user_id: str | None = None
    region: str | None = None
    language: str | None = None
    category: str | None = None
    platform_joined_on: str | None = None
    program_joined_on: str | None = None
    manager_notes: str | None = None
    updated_at: str | None = None

    def values(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in FIELDS}

    @property
    def empty(self) -> bool:
        return not any(self.values().values())

    def without_notes(self) -> Profile:
        return replace(self, manager_notes=None)


def _row(row: Any) -> Profile:
    return Profile(**{f.name: row[f.name] for f in fields(Profile)})


def _text(value: Any, limit: int, field: str) -> str | None:
    cleaned = bounds.clean_text(str(value), limit, field)
    return " ".join(cleaned.split()) if field != "manager_notes" else cleaned or None


def clean_value(field: str, value: Any) -> str | None:
    """One field's value as stored (None empties it), or a UserError/SheetError naming why
    not. Used for a command's options and a file's cells alike."""
    if value is None or (isinstance(value, str) and value.strip() in ("", CLEAR)):
        return None
    if field == "handle":
        return normalise_handle(value)
    if field == "platform_user_id":
        return parse_platform_id(value)
    if field in ("platform_joined_on", "program_joined_on"):
        return parse_date(value).isoformat()
    if field == "region":
        return _text(value, REGION_MAX, field)
    if field == "language":
        return _text(value, LANGUAGE_MAX, field)
    if field == "category":
        return _text(value, CATEGORY_MAX, field)
    if field == "manager_notes":
        return _text(value, NOTES_MAX, field)
    raise ValueError(f"unknown profile field {field!r}")


class ProfileService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog,
                 families: FamilyService) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.families = families

    async def get(self, guild_id: int, user_id: int, *,
                  tx: Transaction | None = None) -> Profile | None:
        row = await (tx or self.db).fetchone(SELECT + " AND user_id = ?", (guild_id, user_id))
        return None if row is None else _row(row)

    async def of_users(self, guild_id: int, user_ids: Iterable[int] | None = None
                       ) -> dict[int, Profile]:
        """Profiles by member (every profile of the guild when ``user_ids`` is None)."""
        rows = await self.db.fetchall(SELECT, (guild_id,))
        wanted = None if user_ids is None else set(user_ids)
        return {r["user_id"]: _row(r) for r in rows
                if wanted is None or r["user_id"] in wanted}

    async def view(self, guild_id: int, viewer_id: int, user_id: int, *,
                   as_manager: bool) -> Profile:
        """The profile ``viewer_id`` may see (an empty one when none is stored): their own, a
        member of a family they lead, or anyone's for a manager; notes for managers only."""
        if not as_manager and viewer_id != user_id:
            membership = await self.families.membership_of(guild_id, user_id)
            family = (await self.families.get(guild_id, membership.family_id)
                      if membership is not None else None)
            if family is None or not family.leads(viewer_id):
                raise NotAllowed("profiles.not_yours")
        profile = await self.get(guild_id, user_id) or Profile(user_id)
        return profile if as_manager else profile.without_notes()

    async def set(self, guild_id: int, actor_id: int, user_id: int,
                  values: Mapping[str, Any], *, as_manager: bool) -> Profile:
        """Set the given fields (``CLEAR`` empties one); a creator may set their own handle
        only. Refuses a handle or platform id another member holds."""
        given = {k: v for k, v in values.items() if v is not None and str(v).strip()}
        if not given:  # blank text is not a value ("-" empties a field)
            raise UserError("profiles.nothing_to_set")
        if not as_manager and (user_id != actor_id or set(given) - CREATOR_FIELDS):
            raise NotAllowed("profiles.managers_only_fields")
        cleaned = {field: clean_value(field, value) for field, value in given.items()}
        async with self.db.transaction() as tx:
            await self.write(tx, guild_id, actor_id, user_id, cleaned)
            profile = await self.get(guild_id, user_id, tx=tx)
        return profile or Profile(user_id)  # cleared fields of a member with no profile

    async def write(self, tx: Transaction, guild_id: int, actor_id: int, user_id: int,
                    cleaned: Mapping[str, str | None], *, audit: bool = True) -> bool:
        """Write already cleaned fields (others kept) in ``tx``; whether anything changed.
        A handle or platform id held by another member is refused (``profiles.*_taken``)."""
        current = await self.get(guild_id, user_id, tx=tx) or Profile(user_id)
        merged = current.values() | dict(cleaned)
        if merged == current.values():
            return False
        if merged["handle"] and merged["handle"] != current.handle:
            owner = await tx.fetchval(OWNER_OF_HANDLE, (guild_id, merged["handle"], user_id))
            if owner is not None:
                raise UserError("profiles.handle_taken", handle=merged["handle"],
                                user_id=owner)
        if merged["platform_user_id"] and merged["platform_user_id"] != (
                current.platform_user_id):
            owner = await tx.fetchval(OWNER_OF_ID,
                                      (guild_id, merged["platform_user_id"], user_id))
            if owner is not None:
                raise UserError("profiles.platform_id_taken", value=merged["platform_user_id"],
                                user_id=owner)
        now = to_db(self.clock.now())
        await tx.execute(UPSERT, (guild_id, user_id, *(merged[f] for f in FIELDS), now,
                                  actor_id))
        if audit:
            changed = sorted(f for f in FIELDS if merged[f] != current.values()[f])
            await self.audit.record(tx, guild_id, actor_id, "profile.set", str(user_id),
                                    fields=changed)
        return True

