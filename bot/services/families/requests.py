"""Joining a family: every way in goes through a ``family_requests`` row — a creator's request,
a leader's or manager's invite, a transfer from another family — so a second click on a
decided request finds it decided."""

from __future__ import annotations

from bot.clock import to_db
from bot.db import Transaction
from bot.errors import NotAllowed, NotFound, UserError
from bot.services import bounds
from bot.services.families.models import (
    NOTE_MAX,
    Decision,
    Family,
    FamilyRequest,
    membership_from_row,
    request_from_row,
)
from bot.services.families.notices import request_key
from bot.services.families.store import FamilyStore, Posts

REQUEST_BY_ID = "SELECT * FROM family_requests WHERE guild_id = ? AND id = ?"
REQUEST_BY_ROW_ID = "SELECT * FROM family_requests WHERE id = ?"
PENDING_FOR_LEADERS = (
    "SELECT * FROM family_requests WHERE guild_id = ? AND family_id = ?"
    " AND kind IN ('request', 'transfer') AND status = 'pending' ORDER BY id"
)
ANY_PENDING = (
    "SELECT 1 FROM family_requests WHERE guild_id = ? AND user_id = ? AND family_id = ?"
    " AND status = 'pending'"
)
PENDING_INVITE = (
    "SELECT * FROM family_requests WHERE guild_id = ? AND user_id = ? AND family_id = ?"
    " AND kind = 'invite' AND status = 'pending'"
)
DECIDE = "UPDATE family_requests SET status = ?, decided_by = ?, decided_at = ? WHERE id = ?"
INSERT_REQUEST = (
    "INSERT INTO family_requests (guild_id, family_id, user_id, kind, from_family_id,"
    " requested_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
MEMBERSHIP_BY_ID = (
    "SELECT fm.id, fm.family_id, f.name AS family_name, fm.user_id, fm.joined_at,"
    " fm.agreement_version, fm.left_at, fm.ended_by, fm.leave_reason, fm.leave_note"
    " FROM family_members fm JOIN families f ON f.id = fm.family_id WHERE fm.id = ?"
)


class FamilyRequests(FamilyStore):
    async def get_request(self, guild_id: int, request_id: int) -> FamilyRequest:
        row = await self.db.fetchone(REQUEST_BY_ID, (guild_id, request_id))
        if row is None:
            raise NotFound("families.unknown_request")
        return request_from_row(row)

    async def check_join(self, guild_id: int, user_id: int, family_id: int) -> Family:
        """Why ``user_id`` cannot ask to join ``family_id`` now, as a UserError; else the family."""
        family = await self._active(guild_id, family_id)
        current = await self.membership_of(guild_id, user_id)
        if current is not None:
            raise UserError("families.already_member", name=current.family_name)
        if family.full:
            raise UserError("families.full", name=family.name, capacity=family.capacity)
        if await self.db.fetchval(ANY_PENDING, (guild_id, user_id, family_id)):
            raise UserError("families.already_pending", name=family.name)
        return family

    async def pending_invite(
        self, guild_id: int, user_id: int, family_id: int
    ) -> FamilyRequest | None:
        row = await self.db.fetchone(PENDING_INVITE, (guild_id, user_id, family_id))
        return None if row is None else request_from_row(row)

    async def request_join(
        self, guild_id: int, user_id: int, family_id: int, agreement_version: int,
        posts: Posts[FamilyRequest] | None = None,
    ) -> FamilyRequest:
        """A creator asks to join, accepting the agreement as they do; ``posts`` (the post
        to the family's leaders) is queued with the request."""
        await self.check_join(guild_id, user_id, family_id)
        async with self.db.transaction() as tx:
            await self._accept(tx, guild_id, user_id, agreement_version)
            request = await self._new_request(tx, guild_id, family_id, user_id, "request",
                                              user_id, posts=posts)
        self._queued()
        return request

    async def invite(
        self, guild_id: int, actor_id: int, family_id: int, user_id: int, *, as_manager: bool,
        posts: Posts[FamilyRequest] | None = None,
    ) -> FamilyRequest:
        """A leader or manager invites a creator; ``posts`` (the invitation DM) is queued
        with the invite."""
        family = await self.check_join(guild_id, user_id, family_id)
        if not (as_manager or family.leads(actor_id)):
            raise NotAllowed("families.not_your_family")
        async with self.db.transaction() as tx:
            request = await self._new_request(tx, guild_id, family_id, user_id, "invite",
                                              actor_id, posts=posts)
        self._queued()
        return request

    async def request_transfer(
        self, guild_id: int, actor_id: int, user_id: int, family_id: int, *, as_manager: bool,
        posts: Posts[FamilyRequest] | None = None,
    ) -> FamilyRequest | Decision:
        """Move a member to another family: a manager's move is immediate, anyone else's waits
        for the receiving leader (``posts``, the post to them, is queued with the request)."""
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
            if await tx.fetchval(ANY_PENDING, (guild_id, user_id, family_id)):
                raise UserError("families.already_pending", name=target.name)
            request = await self._new_request(
                tx, guild_id, family_id, user_id, "transfer", actor_id, current.family_id,
                posts=None if as_manager else posts,
            )
        if as_manager:
            return await self.decide(guild_id, actor_id, request.id, True, as_manager=True)
        self._queued()
        return request

    @staticmethod
    def _check_decider(request: FamilyRequest, family: Family, actor_id: int,
                       as_manager: bool) -> None:
        """An invite is decided by the member invited; a request or transfer by the family's
        leaders or a manager."""
        if request.kind == "invite":
            if actor_id != request.user_id:
                raise NotAllowed("families.not_your_invite")
        elif not (as_manager or family.leads(actor_id)):
            raise NotAllowed("families.not_your_family")

    async def check_decider(self, request: FamilyRequest, actor_id: int,
                            as_manager: bool) -> None:
        """Refuse (raise) whoever may not decide ``request`` (before a form asks them why)."""
        family = await self.get(request.guild_id, request.family_id)
        self._check_decider(request, family, actor_id, as_manager)

    async def decide(
        self, guild_id: int, actor_id: int, request_id: int, approve: bool, *,
        as_manager: bool = False, agreement_version: int | None = None,
        posts: Posts[Decision] | None = None, reason: str | None = None,
    ) -> Decision:
        """Approve or decline a request (its family's leaders or a manager) or an invite (only
        the invited creator, who accepts the agreement by accepting). The roles follow, and
        ``posts`` (a welcome in the family channel), queued with the decision; so does the
        message telling the creator (approved, transferred or declined, with ``reason`` if
        the decider gave one), unless they decided themselves."""
        reason = bounds.clean_text(reason, NOTE_MAX, "reason") or None
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            row = await tx.fetchone(REQUEST_BY_ID, (guild_id, request_id))
            if row is None:
                raise NotFound("families.unknown_request")
            request = request_from_row(row)
            family = await self.get(guild_id, request.family_id, tx=tx)
            self._check_decider(request, family, actor_id, as_manager)
            if request.status != "pending":
                raise UserError("families.already_decided", status=request.status)
            status = "approved" if approve else "declined"
            decision = Decision(request, family)
            if approve:
                decision = await self._admit(tx, guild_id, request, family, actor_id,
                                             agreement_version)
            await tx.execute(DECIDE, (status, actor_id, now, request_id))
            await self.audit.record(
                tx, guild_id, actor_id, f"family.{request.kind}.{status}", str(request.user_id),
                family=family.id, request=request_id,
            )
            await self._post(tx, guild_id, posts, decision)
            if actor_id != request.user_id:
                told = ("declined" if not approve else
                        "transferred" if request.kind == "transfer" else "approved")
                await self._tell(tx, guild_id, told, request.user_id, family,
                                 request_key(request.id), reason=reason,
                                 left=decision.left_family)
        self._queued()  # approved: the roles follow (the old family's off, the new one's on)
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
        joined = membership_from_row(await tx.fetchone(MEMBERSHIP_BY_ID, (membership_id,)))
        return Decision(request, family, joined, left_family)

    async def _new_request(
        self, tx: Transaction, guild_id: int, family_id: int, user_id: int, kind: str,
        requested_by: int, from_family_id: int | None = None,
        posts: Posts[FamilyRequest] | None = None,
    ) -> FamilyRequest:
        request_id = await tx.execute(
            INSERT_REQUEST,
            (guild_id, family_id, user_id, kind, from_family_id, requested_by,
             to_db(self.clock.now())),
        )
        await self.audit.record(
            tx, guild_id, requested_by, f"family.{kind}", str(user_id), family=family_id
        )
        request = request_from_row(await tx.fetchone(REQUEST_BY_ROW_ID, (request_id,)))
        await self._post(tx, guild_id, posts, request)
        return request
