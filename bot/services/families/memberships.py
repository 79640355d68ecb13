"""Memberships: who is in which family (history, roster, the roles they should hold), the
program agreement, and how a membership ends — leaving, a removal, leaving the server."""

from __future__ import annotations

from bot.clock import from_db, to_db
from bot.db import Transaction
from bot.delivery.queue import Send
from bot.errors import NotAllowed, UserError
from bot.events import MemberLeftServer
from bot.paging import Page, clamp, page_of
from bot.services import bounds
from bot.services.families.models import (
    AGREEMENT_VERSION,
    LEAVE_REASONS,
    NOTE_MAX,
    Agreement,
    Departure,
    ExpectedRoles,
    Membership,
    RosterEntry,
    membership_from_row,
)
from bot.services.families.notices import ended_key
from bot.services.families.store import LATEST_AGREEMENT, ROLE_REASON, FamilyStore, Posts

ROSTER_PAGE = 10  # lines of a page; a roster line is at most ~170 characters
HISTORY_PAGE = 15
HISTORY = (
    "SELECT fm.id, fm.family_id, f.name AS family_name, fm.user_id, fm.joined_at,"
    " fm.agreement_version, fm.left_at, fm.ended_by, fm.leave_reason, fm.leave_note"
    " FROM family_members fm JOIN families f ON f.id = fm.family_id"
    " WHERE fm.guild_id = ? AND fm.user_id = ? ORDER BY fm.joined_at, fm.id"
)
ROSTER = (
    "SELECT fm.user_id, fm.joined_at, fm.agreement_version, t.name AS tier, cp.handle"
    " FROM family_members fm LEFT JOIN member_tiers mt ON mt.guild_id = fm.guild_id"
    " AND mt.user_id = fm.user_id LEFT JOIN tiers t ON t.id = mt.tier_id"
    " LEFT JOIN creator_profiles cp ON cp.guild_id = fm.guild_id AND cp.user_id = fm.user_id"
    " WHERE fm.family_id = ? AND fm.left_at IS NULL ORDER BY fm.joined_at, fm.id"
)
# The roster as pages: leader, co-leader, then creators by the day they joined.
ROSTER_PAGE_ROWS = (
    "SELECT fm.user_id, fm.joined_at, fm.agreement_version, t.name AS tier, cp.handle"
    " FROM family_members fm LEFT JOIN member_tiers mt ON mt.guild_id = fm.guild_id"
    " AND mt.user_id = fm.user_id LEFT JOIN tiers t ON t.id = mt.tier_id"
    " LEFT JOIN creator_profiles cp ON cp.guild_id = fm.guild_id AND cp.user_id = fm.user_id"
    " WHERE fm.family_id = ? AND fm.left_at IS NULL"
    " ORDER BY CASE fm.user_id WHEN ? THEN 0 WHEN ? THEN 1 ELSE 2 END, fm.joined_at, fm.id"
    " LIMIT ? OFFSET ?"
)
ROSTER_COUNT = "SELECT count(*) FROM family_members WHERE family_id = ? AND left_at IS NULL"
NEEDING_AGREEMENT = (
    "SELECT user_id FROM family_members WHERE family_id = ? AND guild_id = ?"
    " AND left_at IS NULL AND coalesce(agreement_version, 0) < ? ORDER BY id"
)
CANCEL_PENDING_OF_MEMBER = (
    "UPDATE family_requests SET status = 'cancelled' WHERE guild_id = ? AND user_id = ?"
    " AND status = 'pending'"
)
# The member left the server: their leader seats fall vacant (nullif keeps anyone else's).
VACATE_SEATS = (
    "UPDATE families SET leader_user_id = nullif(leader_user_id, ?),"
    " co_leader_user_id = nullif(co_leader_user_id, ?) WHERE id = ?"
)
ANSWER_EXIT = (
    "UPDATE family_members SET leave_reason = ? WHERE id = (SELECT id FROM family_members"
    " WHERE guild_id = ? AND user_id = ? AND ended_by = 'left_server'"
    " ORDER BY left_at DESC LIMIT 1)"
)
MANAGED_ROLES = (
    "SELECT role_id FROM families WHERE guild_id = ? AND role_id IS NOT NULL"
    " UNION SELECT role_id FROM tiers WHERE guild_id = ? AND role_id IS NOT NULL"
)
MEMBER_ROLES = (
    "SELECT fm.user_id, f.role_id AS family_role, t.role_id AS tier_role"
    " FROM family_members fm JOIN families f ON f.id = fm.family_id"
    " LEFT JOIN member_tiers mt ON mt.guild_id = fm.guild_id AND mt.user_id = fm.user_id"
    " LEFT JOIN tiers t ON t.id = mt.tier_id"
    " WHERE fm.guild_id = ? AND fm.left_at IS NULL"
)


class FamilyMemberships(FamilyStore):
    # -- reads -----------------------------------------------------------------------------

    async def history(self, guild_id: int, user_id: int) -> list[Membership]:
        rows = await self.db.fetchall(HISTORY, (guild_id, user_id))
        return [membership_from_row(r) for r in rows]

    async def history_page(self, guild_id: int, user_id: int, page: int,
                           size: int = HISTORY_PAGE) -> Page[Membership]:
        """One page of :meth:`history` (a member's memberships are few: cut in memory)."""
        return page_of(await self.history(guild_id, user_id), page, size)

    async def roster_page(self, guild_id: int, family_id: int, page: int,
                          size: int = ROSTER_PAGE) -> Page[RosterEntry]:
        """One page of :meth:`roster`, in the same order (leaders first)."""
        family = await self.get(guild_id, family_id)
        total = await self.db.fetchval(ROSTER_COUNT, (family_id,))
        number = clamp(page, size, total)
        rows = await self.db.fetchall(ROSTER_PAGE_ROWS, (
            family_id, family.leader_user_id or 0, family.co_leader_user_id or 0, size,
            number * size))
        return Page([RosterEntry(r["user_id"], family.role_of(r["user_id"]), r["tier"],
                                 from_db(r["joined_at"]), r["agreement_version"], r["handle"])
                     for r in rows], number, size, total)

    async def roster(self, guild_id: int, family_id: int) -> list[RosterEntry]:
        """Active members: user, role in the family, tier, joined, agreement version."""
        family = await self.get(guild_id, family_id)
        rows = await self.db.fetchall(ROSTER, (family_id,))
        order = {"leader": 0, "co_leader": 1, "creator": 2}
        entries = [
            RosterEntry(r["user_id"], family.role_of(r["user_id"]), r["tier"],
                        from_db(r["joined_at"]), r["agreement_version"], r["handle"])
            for r in rows
        ]
        return sorted(entries, key=lambda e: order[e.role])

    async def agreement_of(self, guild_id: int, user_id: int) -> Agreement | None:
        row = await self.db.fetchone(LATEST_AGREEMENT, (guild_id, user_id))
        return None if row is None else Agreement(row["version"], from_db(row["accepted_at"]))

    async def needing_agreement(self, guild_id: int, family_id: int) -> list[int]:
        """Active members of a family who have not accepted the current agreement."""
        rows = await self.db.fetchall(NEEDING_AGREEMENT, (family_id, guild_id, AGREEMENT_VERSION))
        return [r["user_id"] for r in rows]

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
        self, guild_id: int, user_id: int, reason: str, note: str | None = None,
        posts: Posts[Departure] | None = None,
    ) -> Departure:
        """The member leaves (the family role queued to come off, and ``posts``, a notice
        in the family channel, with it)."""
        if reason not in LEAVE_REASONS:
            raise UserError("families.bad_reason", choices=LEAVE_REASONS)
        current = await self.check_leave(guild_id, user_id)
        note = bounds.clean_text(note, NOTE_MAX, "note") or None
        async with self.db.transaction() as tx:
            await self._end(tx, guild_id, current.id, user_id, "self", reason, note, user_id)
            await self.audit.record(
                tx, guild_id, user_id, "family.leave", str(user_id), family=current.family_id,
                reason=reason,
            )
            departure = Departure(current, await self.get(guild_id, current.family_id, tx=tx))
            await self._post(tx, guild_id, posts, departure)
        self._queued()
        return departure

    async def remove(
        self, guild_id: int, actor_id: int, user_id: int, reason: str, *, as_manager: bool
    ) -> Departure:
        reason = bounds.clean_text(reason, NOTE_MAX, "reason")
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
            await self._tell(tx, guild_id, "removed", user_id, family,
                             ended_key("removed", current.id), reason=reason)
        self._queued()  # the family role comes off, and the member is told
        return Departure(current, family)

    async def left_server(self, guild_id: int, user_id: int) -> Membership | None:
        """The member left the Discord server: end the membership (idempotent). A leader's
        family keeps a vacant leader seat for a manager to fill."""
        async with self.db.transaction() as tx:
            current = await self.membership_of(guild_id, user_id, tx=tx)
            await tx.execute(CANCEL_PENDING_OF_MEMBER, (guild_id, user_id))
            if current is not None:
                await self._end(tx, guild_id, current.id, user_id, "left_server",  # no member
                                "left_server", None, None, take_role=False)  # to change
            await self.events.publish(MemberLeftServer(tx, guild_id, user_id))
            if current is None:
                return None
            await tx.execute(VACATE_SEATS, (user_id, user_id, current.family_id))
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
        await tx.execute(ANSWER_EXIT, (reason, guild_id, user_id))

    # -- agreement -------------------------------------------------------------------------

    async def accept_agreement(self, guild_id: int, user_id: int, version: int) -> None:
        async with self.db.transaction() as tx:
            await self._accept(tx, guild_id, user_id, version)

    # -- roles -----------------------------------------------------------------------------

    async def expected_roles(self, guild_id: int) -> ExpectedRoles:
        """Which managed roles each member should hold (family and tier roles), and every role
        Familia manages in this guild (so others' roles are never touched)."""
        managed = {r[0] for r in await self.db.fetchall(MANAGED_ROLES, (guild_id, guild_id))}
        rows = await self.db.fetchall(MEMBER_ROLES, (guild_id,))
        expected: dict[int, set[int]] = {}
        for row in rows:
            expected[row["user_id"]] = {r for r in (row["family_role"], row["tier_role"]) if r}
        return ExpectedRoles(expected, managed)

    async def queue_role_repairs(
        self, guild_id: int, actor_id: int, changes: list[tuple[int, list[int], list[int]]],
    ) -> list[str]:
        """Queue ``/family sync``'s role changes (member, roles to add, roles to take) for the
        Discord sender, recorded in the audit log; returns their dedupe keys (to wait for).
        Keyed by the run, so a later sync queues its own changes."""
        run = f"family-sync:{to_db(self.clock.now())}"
        sends = [
            Send("role_sync", f"{run}:{user_id}:{role_id}:{target}", target, user_id,
                 {"reason": ROLE_REASON}, source=run, role_id=role_id)
            for user_id, add, remove in changes
            for target, role_ids in (("role_add", add), ("role_remove", remove))
            for role_id in role_ids
        ]
        if not sends or self.deliveries is None:
            return []
        async with self.db.transaction() as tx:
            await self.deliveries.add(tx, guild_id, sends)
            await self.audit.record(tx, guild_id, actor_id, "family.sync", None,
                                    members=len(changes), changes=len(sends))
        self._queued()
        return [s.dedupe_key for s in sends]
