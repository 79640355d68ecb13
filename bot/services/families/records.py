"""Families: who leads which family, who belongs to it, and how people join and leave.

A membership is a ``family_members`` row, active while ``left_at`` is NULL; leaders and
co-leaders are active members of the family they lead. Joining always goes through a
``family_requests`` row (a creator's request, a leader's or manager's invite, a transfer),
so a second click on a decided request finds it decided. Nothing here talks to Discord: the
cog creates channels and roles and hands their ids in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database, Transaction
from bot.errors import NotAllowed, NotFound, UserError
from bot.services.audit import AuditLog
from bot.services.members import MemberService

# The program agreement's current version: its text is templates/discord/agreement/v<N>.md.j2.
# Raising it asks every member to accept the new text.
AGREEMENT_VERSION = 1

LEAVE_REASONS = (
    "moved_agency", "earnings", "support", "time", "platform_policy", "personal", "other",
)
NAME_MAX = 60
NOTE_MAX = 500

_FAMILY_COLUMNS = (
    "id, guild_id, name, leader_user_id, co_leader_user_id, capacity, channel_id, role_id,"
    " created_at, archived_at,"
    " (SELECT count(*) FROM family_members m WHERE m.family_id = families.id"
    "  AND m.left_at IS NULL) AS members"
)
_MEMBERSHIP_COLUMNS = (
    "fm.id, fm.family_id, f.name AS family_name, fm.user_id, fm.joined_at,"
    " fm.agreement_version, fm.left_at, fm.ended_by, fm.leave_reason, fm.leave_note"
)


@dataclass(frozen=True)
class Family:
    id: int
    guild_id: int
    name: str
    leader_user_id: int | None
    co_leader_user_id: int | None
    capacity: int | None
    channel_id: int | None
    role_id: int | None
    created_at: datetime
    archived_at: datetime | None
    members: int = 0

    @property
    def active(self) -> bool:
        return self.archived_at is None

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.members >= self.capacity

    def leads(self, user_id: int) -> bool:
        return user_id in (self.leader_user_id, self.co_leader_user_id)

    def role_of(self, user_id: int) -> str:
        if user_id == self.leader_user_id:
            return "leader"
        return "co_leader" if user_id == self.co_leader_user_id else "creator"


@dataclass(frozen=True)
class Membership:
    id: int
    family_id: int
    family_name: str
    user_id: int
    joined_at: datetime
    agreement_version: int | None
    left_at: datetime | None
    ended_by: str | None
    leave_reason: str | None
    leave_note: str | None


@dataclass(frozen=True)
class FamilyRequest:
    id: int
    guild_id: int
    family_id: int
    user_id: int
    kind: str
    status: str
    from_family_id: int | None
    requested_by: int
    channel_id: int | None
    message_id: int | None


@dataclass(frozen=True)
class Decision:
    request: FamilyRequest
    family: Family
    joined: Membership | None = None
    left_family: Family | None = None


def _family(row) -> Family:
    data = dict(row)
    data["created_at"] = from_db(data["created_at"])
    data["archived_at"] = from_db(data["archived_at"]) if data["archived_at"] else None
    return Family(**data)


def _membership(row) -> Membership:
    data = dict(row)
    data["joined_at"] = from_db(data["joined_at"])
    data["left_at"] = from_db(data["left_at"]) if data["left_at"] else None
    return Membership(**data)


def _request(row) -> FamilyRequest:
    data = dict(row)
    return FamilyRequest(**{k: data[k] for k in FamilyRequest.__dataclass_fields__})


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > NAME_MAX:
        raise UserError("families.bad_name", limit=NAME_MAX)
    return cleaned


class FamilyService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, members: MemberService):
        self.db = db
        self.clock = clock
        self.audit = audit
        self.members = members
        # async hook(tx, guild_id, user_id), run in the transaction that records that a
        # member left the server (the email exit survey)
        self.on_left_server: list[Callable[[Transaction, int, int], Awaitable[Any]]] = []

    # -- reads -----------------------------------------------------------------------------

    async def get(self, guild_id: int, family_id: int, *, tx: Transaction | None = None) -> Family:
        sql = f"SELECT {_FAMILY_COLUMNS} FROM families WHERE guild_id = ? AND id = ?"
        row = await (tx or self.db).fetchone(sql, (guild_id, family_id))
        if row is None:
            raise NotFound("families.unknown_family", value=str(family_id))
        return _family(row)

    async def resolve(self, guild_id: int, text: str, *, archived: bool = False) -> Family:
        """The family an option names: an id from autocomplete, or a name typed by hand (a
        name of digits only is found too when no family has that id)."""
        text = (text or "").strip()
        row = None
        if text.isdigit():
            row = await self.db.fetchone(
                f"SELECT {_FAMILY_COLUMNS} FROM families WHERE guild_id = ? AND id = ?",
                (guild_id, int(text)),
            )
        if row is None:
            row = await self.db.fetchone(
                f"SELECT {_FAMILY_COLUMNS} FROM families WHERE guild_id = ? AND lower(name) ="
                " lower(?) ORDER BY archived_at IS NOT NULL, id DESC LIMIT 1",
                (guild_id, text),
            )
        if row is None or (not archived and row["archived_at"] is not None):
            raise NotFound("families.unknown_family", value=text)
        return _family(row)

    async def list(self, guild_id: int, *, archived: bool = False) -> list[Family]:
        where = "" if archived else " AND archived_at IS NULL"
        rows = await self.db.fetchall(
            f"SELECT {_FAMILY_COLUMNS} FROM families WHERE guild_id = ?{where}"
            " ORDER BY archived_at IS NOT NULL, lower(name)",
            (guild_id,),
        )
        return [_family(r) for r in rows]

    async def search(self, guild_id: int, text: str, limit: int = 25) -> list[Family]:
        needle = (text or "").strip().lower()
        return [f for f in await self.list(guild_id) if needle in f.name.lower()][:limit]

    async def membership_of(
        self, guild_id: int, user_id: int, *, tx: Transaction | None = None
    ) -> Membership | None:
        row = await (tx or self.db).fetchone(
            f"SELECT {_MEMBERSHIP_COLUMNS} FROM family_members fm JOIN families f"
            " ON f.id = fm.family_id WHERE fm.guild_id = ? AND fm.user_id = ?"
            " AND fm.left_at IS NULL",
            (guild_id, user_id),
        )
        return None if row is None else _membership(row)

    async def history(self, guild_id: int, user_id: int) -> list[Membership]:
        rows = await self.db.fetchall(
            f"SELECT {_MEMBERSHIP_COLUMNS} FROM family_members fm JOIN families f"
            " ON f.id = fm.family_id WHERE fm.guild_id = ? AND fm.user_id = ?"
            " ORDER BY fm.joined_at, fm.id",
            (guild_id, user_id),
        )
        return [_membership(r) for r in rows]

    async def family_led_by(self, guild_id: int, user_id: int) -> Family | None:
        row = await self.db.fetchone(
            f"SELECT {_FAMILY_COLUMNS} FROM families WHERE guild_id = ? AND archived_at IS NULL"
            " AND ? IN (leader_user_id, co_leader_user_id) LIMIT 1",
            (guild_id, user_id),
        )
        return None if row is None else _family(row)

    async def roster(self, guild_id: int, family_id: int) -> list[dict]:
        """Active members: user, role in the family, tier, joined, agreement version."""
        family = await self.get(guild_id, family_id)
        rows = await self.db.fetchall(
            "SELECT fm.user_id, fm.joined_at, fm.agreement_version, t.name AS tier"
            " FROM family_members fm LEFT JOIN member_tiers mt ON mt.guild_id = fm.guild_id"
            " AND mt.user_id = fm.user_id LEFT JOIN tiers t ON t.id = mt.tier_id"
            " WHERE fm.family_id = ? AND fm.left_at IS NULL ORDER BY fm.joined_at, fm.id",
            (family_id,),
        )
        order = {"leader": 0, "co_leader": 1, "creator": 2}
        entries = [
            {"user_id": r["user_id"], "role": family.role_of(r["user_id"]), "tier": r["tier"],
             "joined_at": from_db(r["joined_at"]), "agreement_version": r["agreement_version"]}
            for r in rows
        ]
        return sorted(entries, key=lambda e: order[e["role"]])

    async def get_request(self, guild_id: int, request_id: int) -> FamilyRequest:
        row = await self.db.fetchone(
            "SELECT * FROM family_requests WHERE guild_id = ? AND id = ?", (guild_id, request_id)
        )
        if row is None:
            raise NotFound("families.unknown_request")
        return _request(row)

    async def pending_requests(self, guild_id: int, family_id: int) -> list[FamilyRequest]:
        """Join and transfer requests still waiting for the family's leaders, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM family_requests WHERE guild_id = ? AND family_id = ?"
            " AND kind IN ('request', 'transfer') AND status = 'pending' ORDER BY id",
            (guild_id, family_id),
        )
        return [_request(r) for r in rows]

    async def agreement_of(self, guild_id: int, user_id: int) -> tuple[int, datetime] | None:
        row = await self.db.fetchone(
            "SELECT version, accepted_at FROM agreement_acceptances WHERE guild_id = ?"
            " AND user_id = ? ORDER BY version DESC LIMIT 1",
            (guild_id, user_id),
        )
        return None if row is None else (row["version"], from_db(row["accepted_at"]))

    async def needing_agreement(self, guild_id: int, family_id: int) -> list[int]:
        """Active members of a family who have not accepted the current agreement."""
        rows = await self.db.fetchall(
            "SELECT user_id FROM family_members WHERE family_id = ? AND guild_id = ?"
            " AND left_at IS NULL AND coalesce(agreement_version, 0) < ? ORDER BY id",
            (family_id, guild_id, AGREEMENT_VERSION),
        )
        return [r["user_id"] for r in rows]

    # -- managers: families ----------------------------------------------------------------

    async def check_new(
        self, guild_id: int, name: str, leader_id: int, co_leader_id: int | None = None,
        capacity: int | None = None,
    ) -> str:
        """Validate a new family before any Discord object is made; returns the clean name."""
        name = clean_name(name)
        if capacity is not None and capacity < 1:
            raise UserError("families.bad_capacity")
        if co_leader_id == leader_id:
            raise UserError("families.same_leaders")
        clash = await self.db.fetchval(
            "SELECT 1 FROM families WHERE guild_id = ? AND lower(name) = lower(?)"
            " AND archived_at IS NULL",
            (guild_id, name),
        )
        if clash:
            raise UserError("families.name_taken", name=name)
        for user_id in filter(None, (leader_id, co_leader_id)):
            if await self.membership_of(guild_id, user_id):
                raise UserError("families.busy_elsewhere", user_id=user_id)
        return name

    async def create(
        self, guild_id: int, actor_id: int, name: str, leader_id: int, *,
        co_leader_id: int | None = None, capacity: int | None = None,
        channel_id: int | None = None, role_id: int | None = None,
    ) -> Family:
        name = await self.check_new(guild_id, name, leader_id, co_leader_id, capacity)
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            await self.members.guilds.ensure(tx, guild_id)
            family_id = await tx.execute(
                "INSERT INTO families (guild_id, name, leader_user_id, co_leader_user_id,"
                " capacity, channel_id, role_id, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (guild_id, name, leader_id, co_leader_id, capacity, channel_id, role_id,
                 actor_id, now),
            )
            for user_id in filter(None, (leader_id, co_leader_id)):
                await self._start(tx, guild_id, family_id, user_id, "leader")
            await self.audit.record(
                tx, guild_id, actor_id, "family.create", str(family_id), name=name,
                leader=leader_id, co_leader=co_leader_id, capacity=capacity,
            )
            return await self.get(guild_id, family_id, tx=tx)

    async def attach_discord(
        self, guild_id: int, family_id: int, *, channel_id: int | None = None,
        role_id: int | None = None,
    ) -> None:
        """Record a (re)created channel or role of a family."""
        async with self.db.transaction() as tx:
            for column, value in (("channel_id", channel_id), ("role_id", role_id)):
                if value is not None:
                    await tx.execute(
                        f"UPDATE families SET {column} = ? WHERE guild_id = ? AND id = ?",
                        (value, guild_id, family_id),
                    )
            await self.audit.record(
                tx, guild_id, None, "family.discord", str(family_id), channel=channel_id,
                role=role_id,
            )

    async def rename(self, guild_id: int, actor_id: int, family_id: int, name: str) -> Family:
        family = await self._active(guild_id, family_id)
        name = clean_name(name)
        clash = await self.db.fetchval(
            "SELECT 1 FROM families WHERE guild_id = ? AND lower(name) = lower(?)"
            " AND archived_at IS NULL AND id != ?",
            (guild_id, name, family_id),
        )
        if clash:
            raise UserError("families.name_taken", name=name)
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE families SET name = ? WHERE id = ?", (name, family_id))
            await self.audit.record(
                tx, guild_id, actor_id, "family.rename", str(family_id), old=family.name, new=name
            )
            return await self.get(guild_id, family_id, tx=tx)

    async def set_capacity(
        self, guild_id: int, actor_id: int, family_id: int, capacity: int | None
    ) -> Family:
        family = await self._active(guild_id, family_id)
        if capacity is not None and capacity < 1:
            raise UserError("families.bad_capacity")
        if capacity is not None and capacity < family.members:
            raise UserError("families.capacity_below_members", members=family.members)
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE families SET capacity = ? WHERE id = ?", (capacity, family_id))
            await self.audit.record(
                tx, guild_id, actor_id, "family.capacity", str(family_id),
                old=family.capacity, new=capacity,
            )
            return await self.get(guild_id, family_id, tx=tx)

    async def appoint(
        self, guild_id: int, actor_id: int, family_id: int, position: str, user_id: int | None
    ) -> Family:
        """Make ``user_id`` the family's leader or co-leader (None clears the co-leader).
        The previous one stays in the family as a creator."""
        assert position in ("leader", "co_leader")
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
                await self._start(tx, guild_id, family_id, user_id, "leader")
            column = "leader_user_id" if position == "leader" else "co_leader_user_id"
            old = getattr(family, column)
            await tx.execute(f"UPDATE families SET {column} = ? WHERE id = ?", (user_id, family_id))
            if user_id is not None:
                await self._set_program_role(tx, guild_id, user_id, "leader")
            if old is not None and old != user_id:
                await self._set_program_role(tx, guild_id, old, "creator")
            await self.audit.record(
                tx, guild_id, actor_id, f"family.{position}", str(family_id), old=old, new=user_id
            )
            return await self.get(guild_id, family_id, tx=tx)

    async def archive(
        self, guild_id: int, actor_id: int, family_id: int
    ) -> tuple[Family, list[int]]:
        """Archive: end every membership (ended_by archived), cancel pending requests. Returns
        the family and the members whose family role must go."""
        await self._active(guild_id, family_id)
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id, user_id FROM family_members WHERE family_id = ? AND left_at IS NULL",
                (family_id,),
            )
            for row in rows:
                await self._end(tx, guild_id, row["id"], row["user_id"], "archived", None, None,
                                actor_id)
            await tx.execute(
                "UPDATE family_requests SET status = 'cancelled', decided_by = ?, decided_at = ?"
                " WHERE family_id = ? AND status = 'pending'",
                (actor_id, now, family_id),
            )
            await tx.execute("UPDATE families SET archived_at = ? WHERE id = ?", (now, family_id))
            await self.audit.record(
                tx, guild_id, actor_id, "family.archive", str(family_id), members=len(rows)
            )
            return await self.get(guild_id, family_id, tx=tx), [r["user_id"] for r in rows]

    # -- joining ---------------------------------------------------------------------------

    async def check_join(self, guild_id: int, user_id: int, family_id: int) -> Family:
        """Why ``user_id`` cannot ask to join ``family_id`` now, as a UserError; else the family."""
        family = await self._active(guild_id, family_id)
        current = await self.membership_of(guild_id, user_id)
        if current is not None:
            raise UserError("families.already_member", name=current.family_name)
        if family.full:
            raise UserError("families.full", name=family.name, capacity=family.capacity)
        pending = await self.db.fetchval(
            "SELECT 1 FROM family_requests WHERE guild_id = ? AND user_id = ? AND family_id = ?"
            " AND status = 'pending'",
            (guild_id, user_id, family_id),
        )
        if pending:
            raise UserError("families.already_pending", name=family.name)
        return family

    async def pending_invite(
        self, guild_id: int, user_id: int, family_id: int
    ) -> FamilyRequest | None:
        row = await self.db.fetchone(
            "SELECT * FROM family_requests WHERE guild_id = ? AND user_id = ? AND family_id = ?"
            " AND kind = 'invite' AND status = 'pending'", (guild_id, user_id, family_id),
        )
        return None if row is None else _request(row)

    async def request_join(
        self, guild_id: int, user_id: int, family_id: int, agreement_version: int
    ) -> FamilyRequest:
        """A creator asks to join, accepting the agreement as they do."""
        await self.check_join(guild_id, user_id, family_id)
        async with self.db.transaction() as tx:
            await self._accept(tx, guild_id, user_id, agreement_version)
            return await self._new_request(tx, guild_id, family_id, user_id, "request", user_id)

    async def invite(
        self, guild_id: int, actor_id: int, family_id: int, user_id: int, *, as_manager: bool
    ) -> FamilyRequest:
        family = await self.check_join(guild_id, user_id, family_id)
        if not (as_manager or family.leads(actor_id)):
            raise NotAllowed("families.not_your_family")
        async with self.db.transaction() as tx:
            return await self._new_request(tx, guild_id, family_id, user_id, "invite", actor_id)

    async def request_transfer(
        self, guild_id: int, actor_id: int, user_id: int, family_id: int, *, as_manager: bool
    ) -> FamilyRequest | Decision:
        """Move a member to another family: a manager's move is immediate, anyone else's waits
        for the receiving leader."""
        target = await self._active(guild_id, family_id)
        current = await self.membership_of(guild_id, user_id)
        if current is None:
            raise UserError("families.not_a_member")
        source = await self.get(guild_id, current.family_id)
        if not (as_manager or actor_id == user_id or source.leads(actor_id)):
            raise NotAllowed("families.not_your_family")
        if current.family_id == family_id:
            raise UserError("families.already_member", name=target.name)
        if source.leads(user_id):
            raise UserError("families.leader_must_hand_over", name=source.name)
        if target.full:
            raise UserError("families.full", name=target.name, capacity=target.capacity)
        async with self.db.transaction() as tx:
            if await tx.fetchval(
                "SELECT 1 FROM family_requests WHERE guild_id = ? AND user_id = ?"
                " AND family_id = ? AND status = 'pending'", (guild_id, user_id, family_id),
            ):
                raise UserError("families.already_pending", name=target.name)
            request = await self._new_request(
                tx, guild_id, family_id, user_id, "transfer", actor_id, current.family_id
            )
        if as_manager:
            return await self.decide(guild_id, actor_id, request.id, True, as_manager=True)
        return request

    async def set_request_message(self, request_id: int, channel_id: int, message_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE family_requests SET channel_id = ?, message_id = ? WHERE id = ?",
                (channel_id, message_id, request_id),
            )

    async def decide(
        self, guild_id: int, actor_id: int, request_id: int, approve: bool, *,
        as_manager: bool = False, agreement_version: int | None = None,
    ) -> Decision:
        """Approve or decline a request (its family's leaders or a manager) or an invite (only
        the invited creator, who accepts the agreement by accepting)."""
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM family_requests WHERE guild_id = ? AND id = ?",
                (guild_id, request_id),
            )
            if row is None:
                raise NotFound("families.unknown_request")
            request = _request(row)
            family = await self.get(guild_id, request.family_id, tx=tx)
            if request.kind == "invite":
                if actor_id != request.user_id:
                    raise NotAllowed("families.not_your_invite")
            elif not (as_manager or family.leads(actor_id)):
                raise NotAllowed("families.not_your_family")
            if request.status != "pending":
                raise UserError("families.already_decided", status=request.status)
            status = "approved" if approve else "declined"
            decision = Decision(request, family)
            if approve:
                decision = await self._admit(tx, guild_id, request, family, actor_id,
                                             agreement_version)
            await tx.execute(
                "UPDATE family_requests SET status = ?, decided_by = ?, decided_at = ?"
                " WHERE id = ?",
                (status, actor_id, now, request_id),
            )
            await self.audit.record(
                tx, guild_id, actor_id, f"family.{request.kind}.{status}", str(request.user_id),
                family=family.id, request=request_id,
            )
            return decision

    async def _admit(
        self, tx: Transaction, guild_id: int, request: FamilyRequest, family: Family,
        actor_id: int, agreement_version: int | None,
    ) -> Decision:
        if not family.active:
            raise NotFound("families.unknown_family", value=family.name)
        if family.full:
            raise UserError("families.full", name=family.name, capacity=family.capacity)
        current = await self.membership_of(guild_id, request.user_id, tx=tx)
        left_family = None
        if request.kind == "transfer":
            if current is None or current.family_id != request.from_family_id:
                raise UserError("families.transfer_outdated")
            left_family = await self.get(guild_id, current.family_id, tx=tx)
            if left_family.leads(request.user_id):
                raise UserError("families.leader_must_hand_over", name=left_family.name)
            await self._end(tx, guild_id, current.id, request.user_id, "transfer", None, None,
                            actor_id)
        elif current is not None:
            raise UserError("families.already_member", name=current.family_name)
        if request.kind == "invite":
            await self._accept(tx, guild_id, request.user_id, agreement_version)
        membership_id = await self._start(tx, guild_id, family.id, request.user_id, "creator")
        joined = _membership(await tx.fetchone(
            f"SELECT {_MEMBERSHIP_COLUMNS} FROM family_members fm JOIN families f"
            " ON f.id = fm.family_id WHERE fm.id = ?", (membership_id,),
        ))
        return Decision(request, family, joined, left_family)

    # -- leaving ---------------------------------------------------------------------------

    async def check_leave(self, guild_id: int, user_id: int) -> Membership:
        current = await self.membership_of(guild_id, user_id)
        if current is None:
            raise UserError("families.not_a_member")
        family = await self.get(guild_id, current.family_id)
        if family.leads(user_id):
            raise UserError("families.leader_must_hand_over", name=family.name)
        return current

    async def leave(
        self, guild_id: int, user_id: int, reason: str, note: str | None = None
    ) -> tuple[Membership, Family]:
        if reason not in LEAVE_REASONS:
            raise UserError("families.bad_reason", choices=LEAVE_REASONS)
        current = await self.check_leave(guild_id, user_id)
        note = (note or "").strip()[:NOTE_MAX] or None
        async with self.db.transaction() as tx:
            await self._end(tx, guild_id, current.id, user_id, "self", reason, note, user_id)
            await self.audit.record(
                tx, guild_id, user_id, "family.leave", str(user_id), family=current.family_id,
                reason=reason,
            )
        return current, await self.get(guild_id, current.family_id)

    async def remove(
        self, guild_id: int, actor_id: int, user_id: int, reason: str, *, as_manager: bool
    ) -> tuple[Membership, Family]:
        reason = (reason or "").strip()[:NOTE_MAX]
        if not reason:
            raise UserError("families.reason_required")
        current = await self.membership_of(guild_id, user_id)
        if current is None:
            raise UserError("families.not_a_member")
        family = await self.get(guild_id, current.family_id)
        if not (as_manager or family.leads(actor_id)):
            raise NotAllowed("families.not_your_family")
        if family.leads(user_id):
            raise UserError("families.leader_must_hand_over", name=family.name)
        async with self.db.transaction() as tx:
            await self._end(tx, guild_id, current.id, user_id, "removed", None, reason, actor_id)
            await self.audit.record(
                tx, guild_id, actor_id, "family.remove", str(user_id), family=family.id,
                reason=reason,
            )
        return current, family

    async def left_server(self, guild_id: int, user_id: int) -> Membership | None:
        """The member left the Discord server: end the membership (idempotent). A leader's
        family keeps a vacant leader seat for a manager to fill."""
        async with self.db.transaction() as tx:
            current = await self.membership_of(guild_id, user_id, tx=tx)
            await tx.execute(
                "UPDATE family_requests SET status = 'cancelled' WHERE guild_id = ?"
                " AND user_id = ? AND status = 'pending'", (guild_id, user_id),
            )
            if current is not None:
                await self._end(tx, guild_id, current.id, user_id, "left_server",
                                "left_server", None, None)
            for hook in self.on_left_server:
                await hook(tx, guild_id, user_id)
            if current is None:
                return None
            for column in ("leader_user_id", "co_leader_user_id"):
                await tx.execute(
                    f"UPDATE families SET {column} = NULL WHERE id = ? AND {column} = ?",
                    (current.family_id, user_id),
                )
            await self.audit.record(
                tx, guild_id, None, "family.left_server", str(user_id), family=current.family_id
            )
            return current

    async def answer_exit(self, tx: Transaction, guild_id: int, user_id: int, reason: str
                          ) -> None:
        """Why a member left the server (their exit survey): the reason of the membership
        that ended then, which the attrition KPI counts."""
        if reason not in LEAVE_REASONS:
            raise UserError("families.bad_reason", choices=LEAVE_REASONS)
        await tx.execute(
            "UPDATE family_members SET leave_reason = ? WHERE id = (SELECT id FROM"
            " family_members WHERE guild_id = ? AND user_id = ? AND ended_by = 'left_server'"
            " ORDER BY left_at DESC LIMIT 1)", (reason, guild_id, user_id))

    # -- agreement -------------------------------------------------------------------------

    async def accept_agreement(self, guild_id: int, user_id: int, version: int) -> None:
        async with self.db.transaction() as tx:
            await self._accept(tx, guild_id, user_id, version)

    async def _accept(self, tx: Transaction, guild_id: int, user_id: int, version: int | None):
        if version != AGREEMENT_VERSION:
            raise UserError("families.agreement_outdated")
        now = to_db(self.clock.now())
        await self.members.ensure(tx, guild_id, user_id)
        await tx.execute(
            "INSERT OR IGNORE INTO agreement_acceptances (guild_id, user_id, version,"
            " accepted_at) VALUES (?, ?, ?, ?)", (guild_id, user_id, version, now),
        )
        await tx.execute(
            "UPDATE family_members SET agreement_version = ?, agreement_accepted_at = ?"
            " WHERE guild_id = ? AND user_id = ? AND left_at IS NULL",
            (version, now, guild_id, user_id),
        )

    # -- helpers ---------------------------------------------------------------------------

    async def _active(self, guild_id: int, family_id: int) -> Family:
        family = await self.get(guild_id, family_id)
        if not family.active:
            raise NotFound("families.unknown_family", value=family.name)
        return family

    async def _new_request(
        self, tx: Transaction, guild_id: int, family_id: int, user_id: int, kind: str,
        requested_by: int, from_family_id: int | None = None,
    ) -> FamilyRequest:
        request_id = await tx.execute(
            "INSERT INTO family_requests (guild_id, family_id, user_id, kind, from_family_id,"
            " requested_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (guild_id, family_id, user_id, kind, from_family_id, requested_by,
             to_db(self.clock.now())),
        )
        await self.audit.record(
            tx, guild_id, requested_by, f"family.{kind}", str(user_id), family=family_id
        )
        return _request(await tx.fetchone("SELECT * FROM family_requests WHERE id = ?",
                                          (request_id,)))

    async def _start(
        self, tx: Transaction, guild_id: int, family_id: int, user_id: int, role: str
    ) -> int:
        now = to_db(self.clock.now())
        await self.members.ensure(tx, guild_id, user_id)
        accepted = await tx.fetchone(
            "SELECT version, accepted_at FROM agreement_acceptances WHERE guild_id = ?"
            " AND user_id = ? ORDER BY version DESC LIMIT 1", (guild_id, user_id),
        )
        membership_id = await tx.execute(
            "INSERT INTO family_members (guild_id, family_id, user_id, joined_at,"
            " agreement_version, agreement_accepted_at) VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, family_id, user_id, now, accepted["version"] if accepted else None,
             accepted["accepted_at"] if accepted else None),
        )
        await self._set_program_role(tx, guild_id, user_id, role)
        return membership_id

    async def _end(
        self, tx: Transaction, guild_id: int, membership_id: int, user_id: int, ended_by: str,
        reason: str | None, note: str | None, actor_id: int | None,
    ) -> None:
        await tx.execute(
            "UPDATE family_members SET left_at = ?, ended_by = ?, leave_reason = ?,"
            " leave_note = ?, ended_by_user_id = ? WHERE id = ? AND left_at IS NULL",
            (to_db(self.clock.now()), ended_by, reason, note, actor_id, membership_id),
        )
        await self._set_program_role(tx, guild_id, user_id, None)

    async def _set_program_role(
        self, tx: Transaction, guild_id: int, user_id: int, role: str | None
    ) -> None:
        """Family members are creators or leaders in the program; managers stay managers."""
        await self.members.ensure(tx, guild_id, user_id)
        await tx.execute(
            "UPDATE members SET program_role = ? WHERE guild_id = ? AND user_id = ?"
            " AND (program_role IS NULL OR program_role IN ('creator', 'leader'))",
            (role, guild_id, user_id),
        )

    # -- roles -----------------------------------------------------------------------------

    async def expected_roles(self, guild_id: int) -> tuple[dict[int, set[int]], set[int]]:
        """Which managed roles each member should hold (family and tier roles), and every role
        Familia manages in this guild (so others' roles are never touched)."""
        managed = {
            r[0] for r in await self.db.fetchall(
                "SELECT role_id FROM families WHERE guild_id = ? AND role_id IS NOT NULL"
                " UNION SELECT role_id FROM tiers WHERE guild_id = ? AND role_id IS NOT NULL",
                (guild_id, guild_id),
            )
        }
        rows = await self.db.fetchall(
            "SELECT fm.user_id, f.role_id AS family_role, t.role_id AS tier_role"
            " FROM family_members fm JOIN families f ON f.id = fm.family_id"
            " LEFT JOIN member_tiers mt ON mt.guild_id = fm.guild_id AND mt.user_id = fm.user_id"
            " LEFT JOIN tiers t ON t.id = mt.tier_id"
            " WHERE fm.guild_id = ? AND fm.left_at IS NULL",
            (guild_id,),
        )
        expected: dict[int, set[int]] = {}
        for row in rows:
            expected[row["user_id"]] = {r for r in (row["family_role"], row["tier_role"]) if r}
        return expected, managed
