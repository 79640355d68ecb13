"""The ground every part of :class:`~bot.services.families.FamilyService` stands on: reading
one family or a member's current membership, and starting or ending a membership (with the
member's program role and agreement) inside a caller's transaction.

A membership is a ``family_members`` row, active while ``left_at`` is NULL; leaders and
co-leaders are active members of the family they lead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from bot.clock import Clock, to_db
from bot.db import Database, Transaction
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotFound, UserError
from bot.events import Events, MemberJoinedFamily
from bot.services.audit import AuditLog
from bot.services.families.models import (
    AGREEMENT_VERSION,
    Appointed,
    Family,
    Membership,
    family_from_row,
    membership_from_row,
)
from bot.services.families.notices import LOCALE, Tell, Told
from bot.services.guilds import GuildService
from bot.services.members import MemberService

FAMILY_BY_ID = (
    "SELECT id, guild_id, name, leader_user_id, co_leader_user_id, capacity, channel_id,"
    " role_id, created_at, archived_at,"
    " (SELECT count(*) FROM family_members m WHERE m.family_id = families.id"
    "  AND m.left_at IS NULL) AS members"
    " FROM families WHERE guild_id = ? AND id = ?"
)
CURRENT_MEMBERSHIP = (
    "SELECT fm.id, fm.family_id, f.name AS family_name, fm.user_id, fm.joined_at,"
    " fm.agreement_version, fm.left_at, fm.ended_by, fm.leave_reason, fm.leave_note"
    " FROM family_members fm JOIN families f ON f.id = fm.family_id"
    " WHERE fm.guild_id = ? AND fm.user_id = ? AND fm.left_at IS NULL"
)
LATEST_AGREEMENT = (
    "SELECT version, accepted_at FROM agreement_acceptances WHERE guild_id = ? AND user_id = ?"
    " ORDER BY version DESC LIMIT 1"
)
START_MEMBERSHIP = (
    "INSERT INTO family_members (guild_id, family_id, user_id, joined_at, agreement_version,"
    " agreement_accepted_at, started_as) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
END_MEMBERSHIP = (
    "UPDATE family_members SET left_at = ?, ended_by = ?, leave_reason = ?, leave_note = ?,"
    " ended_by_user_id = ? WHERE id = ? AND left_at IS NULL"
)
SET_PROGRAM_ROLE = (
    "UPDATE members SET program_role = ? WHERE guild_id = ? AND user_id = ?"
    " AND (program_role IS NULL OR program_role IN ('creator', 'leader'))"
)
ACCEPT_AGREEMENT = (
    "INSERT OR IGNORE INTO agreement_acceptances (guild_id, user_id, version, accepted_at)"
    " VALUES (?, ?, ?, ?)"
)
# Another membership of the member before this one (None: their first in the guild).
FIRST_MEMBERSHIP = ("SELECT 1 FROM family_members WHERE guild_id = ? AND user_id = ?"
                    " AND id <> ? LIMIT 1")
FAMILY_ROLE = "SELECT role_id FROM families WHERE id = ?"
MEMBERSHIP_FAMILY = "SELECT family_id FROM family_members WHERE id = ?"
ROLE_REASON = "Familia"  # the audit-log reason of a family role change
MARK_AGREEMENT = (
    "UPDATE family_members SET agreement_version = ?, agreement_accepted_at = ?"
    " WHERE guild_id = ? AND user_id = ? AND left_at IS NULL"
)


T = TypeVar("T")
# What the cog wants posted about an event (a request's post, the invite DM, a welcome or
# leave notice), rendered from what the event made; queued in the event's transaction.
Posts = Callable[[T], Sequence[Send]]


class FamilyStore:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, guilds: GuildService,
                 members: MemberService, events: Events,
                 deliveries: DeliveryQueue | None = None, *, tell: Tell | None = None
                 ) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.guilds = guilds
        self.members = members
        self.events = events  # publishes MemberLeftServer and MemberJoinedFamily (in their tx)
        # the family role follows each membership: queued in the transaction that starts or
        # ends it (see _start, _end), sent by the bot's Discord sender
        self.deliveries = deliveries
        # what tells a creator a decision about them (see notices.py): queued with it
        self.tell = tell

    async def get(self, guild_id: int, family_id: int, *, tx: Transaction | None = None) -> Family:
        row = await (tx or self.db).fetchone(FAMILY_BY_ID, (guild_id, family_id))
        if row is None:
            raise NotFound("families.unknown_family", value=str(family_id))
        return family_from_row(row)

    async def membership_of(
        self, guild_id: int, user_id: int, *, tx: Transaction | None = None
    ) -> Membership | None:
        row = await (tx or self.db).fetchone(CURRENT_MEMBERSHIP, (guild_id, user_id))
        return None if row is None else membership_from_row(row)

    async def _active(self, guild_id: int, family_id: int) -> Family:
        family = await self.get(guild_id, family_id)
        if not family.active:
            raise NotFound("families.unknown_family", value=family.name)
        return family

    async def _start(
        self, tx: Transaction, guild_id: int, family_id: int, user_id: int, role: str, *,
        give_role: bool = True,
    ) -> int:
        """Start a membership; with ``give_role``, the family's role is queued for the member
        (``family-membership:<id>:join``)."""
        now = to_db(self.clock.now())
        await self.members.ensure(tx, guild_id, user_id)
        accepted = await tx.fetchone(LATEST_AGREEMENT, (guild_id, user_id))
        membership_id = await tx.execute(
            START_MEMBERSHIP,
            (guild_id, family_id, user_id, now, accepted["version"] if accepted else None,
             accepted["accepted_at"] if accepted else None,
             "leader" if role == "leader" else "creator"),
        )
        await self._set_program_role(tx, guild_id, user_id, role)
        first = await tx.fetchval(FIRST_MEMBERSHIP, (guild_id, user_id, membership_id))
        await self.events.publish(MemberJoinedFamily(tx, guild_id, user_id, family_id,
                                                     first=first is None))
        if give_role:
            await self._family_role(tx, guild_id, family_id, user_id, "role_add",
                                    f"family-membership:{membership_id}", "join")
        return membership_id

    async def _end(
        self, tx: Transaction, guild_id: int, membership_id: int, user_id: int, ended_by: str,
        reason: str | None, note: str | None, actor_id: int | None, *, take_role: bool = True,
    ) -> None:
        """End a membership; with ``take_role``, the family's role is queued to come off
        (``family-membership:<id>:end``)."""
        ended = await tx.execute(
            END_MEMBERSHIP,
            (to_db(self.clock.now()), ended_by, reason, note, actor_id, membership_id),
        )
        await self._set_program_role(tx, guild_id, user_id, None)
        if take_role and ended:
            family_id = await tx.fetchval(MEMBERSHIP_FAMILY, (membership_id,))
            await self._family_role(tx, guild_id, family_id, user_id, "role_remove",
                                    f"family-membership:{membership_id}", "end")

    async def _family_role(self, tx: Transaction, guild_id: int, family_id: int, user_id: int,
                           target: str, source: str, event: str) -> None:
        """Queue the family's role on (``role_add``) or off (``role_remove``) a member, keyed
        ``<source>:<event>``; nothing when the family has no role. Call :meth:`_queued` once
        the transaction committed."""
        role_id = await tx.fetchval(FAMILY_ROLE, (family_id,))
        if self.deliveries is None or not role_id:
            return
        await self.deliveries.add(tx, guild_id, [Send(
            "family_role", f"{source}:{event}", target, user_id, {"reason": ROLE_REASON},
            source=source, role_id=role_id)])

    async def _post(self, tx: Transaction, guild_id: int, posts: Posts[T] | None,
                    made: T) -> None:
        """Queue what ``posts`` renders from ``made`` (in ``tx``; :meth:`_queued` after)."""
        if posts is not None and self.deliveries is not None:
            sends = list(posts(made))
            if sends:
                await self.deliveries.add(tx, guild_id, sends)

    async def _tell(self, tx: Transaction, guild_id: int, kind: str, user_id: int,
                    family: Family, key: str, *, reason: str | None = None,
                    left: Family | None = None) -> None:
        """Queue the message telling ``user_id`` the decision ``kind`` (in ``tx``, keyed
        ``key``: once per decision; :meth:`_queued` after)."""
        if self.tell is None or self.deliveries is None:
            return
        locale = await tx.fetchval(LOCALE, {"guild": guild_id, "user": user_id})
        default = self.guilds.default_locale
        channel_locale = await tx.fetchval("SELECT locale FROM guilds WHERE guild_id = ?",
                                           (guild_id,))
        told = Told(kind, guild_id, user_id, family, locale or default, key, reason, left,
                    channel_locale or default)
        await self.deliveries.add(tx, guild_id, [self.tell(told)])

    async def _ask_agreement(self, tx: Transaction, guild_id: int, family_id: int,
                             user_id: int, position: str, actor_id: int,
                             posts: Posts[Appointed] | None) -> None:
        """Queue what ``posts`` renders (the appointed member's DM asking them to accept the
        agreement) when a manager made ``user_id`` a leader who has not accepted the current
        version: a manager cannot accept it for them."""
        accepted = await tx.fetchone(LATEST_AGREEMENT, (guild_id, user_id))
        if accepted is not None and accepted["version"] >= AGREEMENT_VERSION:
            return
        family = await self.get(guild_id, family_id, tx=tx)
        await self._post(tx, guild_id, posts, Appointed(family, user_id, position, actor_id))

    async def queue(self, guild_id: int, sends: Sequence[Send]) -> None:
        """Queue posts that follow no change of record: the managers' notice when Discord
        refused a request's post."""
        if self.deliveries is None or not sends:
            return
        async with self.db.transaction() as tx:
            await self.deliveries.add(tx, guild_id, list(sends))
        self._queued()

    def _queued(self) -> None:
        """Wake the Discord sender: role changes may have been queued."""
        if self.deliveries is not None:
            self.deliveries.notify()

    async def _set_program_role(
        self, tx: Transaction, guild_id: int, user_id: int, role: str | None
    ) -> None:
        """Family members are creators or leaders in the program; managers stay managers."""
        await self.members.ensure(tx, guild_id, user_id)
        await tx.execute(SET_PROGRAM_ROLE, (role, guild_id, user_id))

    async def _accept(self, tx: Transaction, guild_id: int, user_id: int, version: int | None):
        if version != AGREEMENT_VERSION:
            raise UserError("families.agreement_outdated")
        now = to_db(self.clock.now())
        await self.members.ensure(tx, guild_id, user_id)
        await tx.execute(ACCEPT_AGREEMENT, (guild_id, user_id, version, now))
        await tx.execute(MARK_AGREEMENT, (version, now, guild_id, user_id))
