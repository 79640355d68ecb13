"""Family records: finding families, and a manager creating, renaming, resizing, staffing and
archiving them. Nothing here talks to Discord: the cog creates channels and roles and hands
their ids in."""

from __future__ import annotations

from bot.clock import to_db
from bot.errors import NotFound, UserError
from bot.paging import Page, clamp
from bot.services import bounds
from bot.services.families.models import (
    Appointed,
    Archived,
    Family,
    FamilyRequest,
    clean_name,
    family_from_row,
    request_from_row,
)
from bot.services.families.notices import ended_key
from bot.services.families.requests import PENDING_FOR_LEADERS
from bot.services.families.store import FAMILY_BY_ID, FamilyStore, Posts

# Every family read returns the same columns (and the active member count).
FAMILY_BY_NAME = (
    "SELECT id, guild_id, name, leader_user_id, co_leader_user_id, capacity, channel_id,"
    " role_id, created_at, archived_at,"
    " (SELECT count(*) FROM family_members m WHERE m.family_id = families.id"
    "  AND m.left_at IS NULL) AS members"
    " FROM families WHERE guild_id = ? AND lower(name) = lower(?)"
    " ORDER BY archived_at IS NOT NULL, id DESC LIMIT 1"
)
FAMILIES_PAGE = 15
ACTIVE_FAMILIES = (
    "SELECT id, guild_id, name, leader_user_id, co_leader_user_id, capacity, channel_id,"
    " role_id, created_at, archived_at,"
    " (SELECT count(*) FROM family_members m WHERE m.family_id = families.id"
    "  AND m.left_at IS NULL) AS members"
    " FROM families WHERE guild_id = ? AND archived_at IS NULL"
    " ORDER BY archived_at IS NOT NULL, lower(name)"
)
EVERY_FAMILY = (
    "SELECT id, guild_id, name, leader_user_id, co_leader_user_id, capacity, channel_id,"
    " role_id, created_at, archived_at,"
    " (SELECT count(*) FROM family_members m WHERE m.family_id = families.id"
    "  AND m.left_at IS NULL) AS members"
    " FROM families WHERE guild_id = ?"
    " ORDER BY archived_at IS NOT NULL, lower(name)"
)
COUNT_ACTIVE = "SELECT count(*) FROM families WHERE guild_id = ? AND archived_at IS NULL"
COUNT_EVERY = "SELECT count(*) FROM families WHERE guild_id = ?"
FAMILY_LED_BY = (
    "SELECT id, guild_id, name, leader_user_id, co_leader_user_id, capacity, channel_id,"
    " role_id, created_at, archived_at,"
    " (SELECT count(*) FROM family_members m WHERE m.family_id = families.id"
    "  AND m.left_at IS NULL) AS members"
    " FROM families WHERE guild_id = ? AND archived_at IS NULL"
    " AND ? IN (leader_user_id, co_leader_user_id) LIMIT 1"
)
NAME_TAKEN = (
    "SELECT 1 FROM families WHERE guild_id = ? AND lower(name) = lower(?)"
    " AND archived_at IS NULL AND id != ?"
)
INSERT_FAMILY = (
    "INSERT INTO families (guild_id, name, leader_user_id, co_leader_user_id, capacity,"
    " channel_id, role_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# None keeps the id that is there.
ATTACH_DISCORD = (
    "UPDATE families SET channel_id = coalesce(?, channel_id), role_id = coalesce(?, role_id)"
    " WHERE guild_id = ? AND id = ?"
)
RENAME = "UPDATE families SET name = ? WHERE id = ?"
SET_CAPACITY = "UPDATE families SET capacity = ? WHERE id = ?"
SET_LEADER = "UPDATE families SET leader_user_id = ? WHERE id = ?"
SET_CO_LEADER = "UPDATE families SET co_leader_user_id = ? WHERE id = ?"
# position → (the statement that sets it, the Family field that holds it)
POSITIONS = {"leader": (SET_LEADER, "leader_user_id"),
             "co_leader": (SET_CO_LEADER, "co_leader_user_id")}
ACTIVE_MEMBERS = (
    "SELECT id, user_id FROM family_members WHERE family_id = ? AND left_at IS NULL"
)
CANCEL_PENDING_REQUESTS = (
    "UPDATE family_requests SET status = 'cancelled', decided_by = ?, decided_at = ?"
    " WHERE family_id = ? AND status = 'pending'"
)
ARCHIVE = "UPDATE families SET archived_at = ? WHERE id = ?"



class FamilyRecords(FamilyStore):
    # -- reads -----------------------------------------------------------------------------

    async def resolve(self, guild_id: int, text: str, *, archived: bool = False) -> Family:
        """The family an option names: an id from autocomplete, or a name typed by hand (a
        name of digits only is found too when no family has that id)."""
        text = (text or "").strip()
        row = None
        if text.isdigit():
            row = await self.db.fetchone(FAMILY_BY_ID, (guild_id, int(text)))
        if row is None:
            row = await self.db.fetchone(FAMILY_BY_NAME, (guild_id, text))
        if row is None or (not archived and row["archived_at"] is not None):
            raise NotFound("families.unknown_family", value=text)
        return family_from_row(row)

    async def list_families(self, guild_id: int, *, archived: bool = False) -> list[Family]:
        rows = await self.db.fetchall(EVERY_FAMILY if archived else ACTIVE_FAMILIES, (guild_id,))
        return [family_from_row(r) for r in rows]

    async def families_page(self, guild_id: int, page: int, *, archived: bool = False,
                            size: int = FAMILIES_PAGE) -> Page[Family]:
        """One page of :meth:`list_families`, in the same order."""
        total = await self.db.fetchval(COUNT_EVERY if archived else COUNT_ACTIVE, (guild_id,))
        number = clamp(page, size, total)
        rows = await self.db.fetchall((EVERY_FAMILY if archived else ACTIVE_FAMILIES)
                                      + " LIMIT ? OFFSET ?", (guild_id, size, number * size))
        return Page([family_from_row(r) for r in rows], number, size, total)

    async def search(self, guild_id: int, text: str, limit: int = 25) -> list[Family]:
        needle = (text or "").strip().lower()
        return [f for f in await self.list_families(guild_id) if needle in f.name.lower()][:limit]

    async def family_led_by(self, guild_id: int, user_id: int) -> Family | None:
        row = await self.db.fetchone(FAMILY_LED_BY, (guild_id, user_id))
        return None if row is None else family_from_row(row)

    # -- managers: families ----------------------------------------------------------------

    async def check_new(
        self, guild_id: int, name: str, leader_id: int, co_leader_id: int | None = None,
        capacity: int | None = None,
    ) -> str:
        """Validate a new family before any Discord object is made; returns the clean name."""
        name = clean_name(name)
        if capacity is not None and not 1 <= capacity <= bounds.CAPACITY_MAX:
            raise UserError("families.bad_capacity", limit=bounds.CAPACITY_MAX)
        if co_leader_id == leader_id:
            raise UserError("families.same_leaders")
        if await self.db.fetchval(NAME_TAKEN, (guild_id, name, 0)):
            raise UserError("families.name_taken", name=name)
        for user_id in filter(None, (leader_id, co_leader_id)):
            if await self.membership_of(guild_id, user_id):
                raise UserError("families.busy_elsewhere", user_id=user_id)
        return name

    async def create(
        self, guild_id: int, actor_id: int, name: str, leader_id: int, *,
        co_leader_id: int | None = None, capacity: int | None = None,
        channel_id: int | None = None, role_id: int | None = None,
        ask_agreement: Posts[Appointed] | None = None,
    ) -> Family:
        """A new family led by ``leader_id`` (and ``co_leader_id``); ``ask_agreement``: what
        to send a leader who has not accepted the program agreement (queued with it)."""
        name = await self.check_new(guild_id, name, leader_id, co_leader_id, capacity)
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            await self.guilds.ensure(tx, guild_id)
            family_id = await tx.execute(
                INSERT_FAMILY,
                (guild_id, name, leader_id, co_leader_id, capacity, channel_id, role_id,
                 actor_id, now),
            )
            # the cog gave the leaders the new role before the family was stored
            for user_id in filter(None, (leader_id, co_leader_id)):
                await self._start(tx, guild_id, family_id, user_id, "leader", give_role=False)
            appointed = {"leader": leader_id, "co_leader": co_leader_id}
            for position, leader in appointed.items():
                if leader is not None and ask_agreement is not None:
                    await self._ask_agreement(tx, guild_id, family_id, leader, position,
                                              actor_id, ask_agreement)
            await self.audit.record(
                tx, guild_id, actor_id, "family.create", str(family_id), name=name,
                leader=leader_id, co_leader=co_leader_id, capacity=capacity,
            )
            created = await self.get(guild_id, family_id, tx=tx)
        self._queued()
        return created

    async def attach_discord(
        self, guild_id: int, family_id: int, *, channel_id: int | None = None,
        role_id: int | None = None, repost: Posts[FamilyRequest] | None = None,
    ) -> None:
        """Record a (re)created channel or role of a family; with a new channel, ``repost``
        (each waiting request's post to the leaders) is queued for every waiting request."""
        async with self.db.transaction() as tx:
            await tx.execute(ATTACH_DISCORD, (channel_id, role_id, guild_id, family_id))
            await self.audit.record(
                tx, guild_id, None, "family.discord", str(family_id), channel=channel_id,
                role=role_id,
            )
            if channel_id is not None and repost is not None:
                for row in await tx.fetchall(PENDING_FOR_LEADERS, (guild_id, family_id)):
                    await self._post(tx, guild_id, repost, request_from_row(row))
        self._queued()

    async def rename(self, guild_id: int, actor_id: int, family_id: int, name: str) -> Family:
        family = await self._active(guild_id, family_id)
        name = clean_name(name)
        if await self.db.fetchval(NAME_TAKEN, (guild_id, name, family_id)):
            raise UserError("families.name_taken", name=name)
        async with self.db.transaction() as tx:
            await tx.execute(RENAME, (name, family_id))
            await self.audit.record(
                tx, guild_id, actor_id, "family.rename", str(family_id), old=family.name, new=name
            )
            return await self.get(guild_id, family_id, tx=tx)

    async def set_capacity(
        self, guild_id: int, actor_id: int, family_id: int, capacity: int | None
    ) -> Family:
        family = await self._active(guild_id, family_id)
        if capacity is not None and not 1 <= capacity <= bounds.CAPACITY_MAX:
            raise UserError("families.bad_capacity", limit=bounds.CAPACITY_MAX)
        if capacity is not None and capacity < family.members:
            raise UserError("families.capacity_below_members", members=family.members)
        async with self.db.transaction() as tx:
            await tx.execute(SET_CAPACITY, (capacity, family_id))
            await self.audit.record(
                tx, guild_id, actor_id, "family.capacity", str(family_id),
                old=family.capacity, new=capacity,
            )
            return await self.get(guild_id, family_id, tx=tx)

    async def appoint(
        self, guild_id: int, actor_id: int, family_id: int, position: str, user_id: int | None,
        *, ask_agreement: Posts[Appointed] | None = None,
    ) -> Family:
        """Make ``user_id`` the family's leader or co-leader (None clears the co-leader).
        The previous one stays in the family as a creator. ``ask_agreement``: what to send
        the appointed member if they have not accepted the program agreement."""
        if position not in POSITIONS:  # a raw API call may send any text for the choice
            raise UserError("common.bad_option", value=position)
        statement, field_name = POSITIONS[position]
        family = await self._active(guild_id, family_id)
        if user_id is None and position == "leader":
            raise UserError("families.leader_required")
        other = family.co_leader_user_id if position == "leader" else family.leader_user_id
        if user_id is not None and user_id == other:
            raise UserError("families.same_leaders")
        async with self.db.transaction() as tx:
            current = await self.membership_of(guild_id, user_id, tx=tx) if user_id else None
            if current is not None and current.family_id != family_id:
                raise UserError("families.busy_elsewhere", user_id=user_id)
            if user_id is not None and current is None:
                fresh = await self.get(guild_id, family_id, tx=tx)
                if fresh.full:
                    raise UserError("families.full", name=family.name, capacity=family.capacity)
                await self._start(tx, guild_id, family_id, user_id, "leader", give_role=False)
            old = getattr(family, field_name)
            await tx.execute(statement, (user_id, family_id))
            if user_id is not None:
                await self._set_program_role(tx, guild_id, user_id, "leader")
                # new in the family or not, the appointed member holds its role
                await self._family_role(
                    tx, guild_id, family_id, user_id, "role_add",
                    f"family-appoint:{family_id}:{position}:{user_id}", to_db(self.clock.now()))
                if ask_agreement is not None:
                    await self._ask_agreement(tx, guild_id, family_id, user_id, position,
                                              actor_id, ask_agreement)
            if old is not None and old != user_id:
                await self._set_program_role(tx, guild_id, old, "creator")
            await self.audit.record(
                tx, guild_id, actor_id, f"family.{position}", str(family_id), old=old, new=user_id
            )
            appointed = await self.get(guild_id, family_id, tx=tx)
        self._queued()
        return appointed

    async def archive(self, guild_id: int, actor_id: int, family_id: int) -> Archived:
        """Archive: end every membership (ended_by archived; each family role queued to come
        off), cancel pending requests. Returns the family and the members whose role goes."""
        family = await self._active(guild_id, family_id)
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(ACTIVE_MEMBERS, (family_id,))
            for row in rows:
                await self._end(tx, guild_id, row["id"], row["user_id"], "archived", None, None,
                                actor_id)
                if row["user_id"] != actor_id:  # each member is told the family closed
                    await self._tell(tx, guild_id, "archived", row["user_id"], family,
                                     ended_key("archived", row["id"]))
            await tx.execute(CANCEL_PENDING_REQUESTS, (actor_id, now, family_id))
            await tx.execute(ARCHIVE, (now, family_id))
            await self.audit.record(
                tx, guild_id, actor_id, "family.archive", str(family_id), members=len(rows)
            )
            archived = Archived(await self.get(guild_id, family_id, tx=tx),
                                [r["user_id"] for r in rows])
        self._queued()  # every member's family role comes off, and they are told
        return archived
