"""Email addresses, verification codes, preferences, unsubscribe links and queueing mail.

Rendering happens when an email is queued (in the event's transaction), so the outbox row
holds exactly what will be sent. Addresses never leave this service unmasked except into the
outbox. ``on_queued`` (the sender's wake-up) is called after queueing so mail goes out now
rather than at the sender's next poll.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from bot.clock import Clock, from_db, to_db
from bot.config import SUPPORTED_LOCALES, Settings
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.events import MemberLeftServer
from bot.mail import outbox, tokens
from bot.mail.rendering import Renderer
from bot.mail.smtp import mask
from bot.services.audit import AuditLog
from bot.services.families import LEAVE_REASONS, FamilyService
from bot.services.members import MemberService
from bot.services.reminders import Due, Outcome

log = logging.getLogger(__name__)

CODE_MINUTES = 15
CODE_TRIES = 5
# Codes sent per hour, at most: per member (any address) and per address (any member), so
# /email set cannot be used to flood someone's inbox.
CODES_PER_HOUR = 3
PREFERENCES = ("weekly_digest", "digest_day", "campaigns", "broadcasts", "reminders", "locale")
# Which preference turns each kind of mail off (None: transactional, always sent).
CATEGORY = {"digest_leader": "digest", "digest_manager": "digest", "digest_creator": "digest",
            "review": "digest",
            "exit_survey": "all", "verify": None, "test": None, "export": None,
            "broadcast": "broadcasts", "campaign": "campaigns", "reminder": "reminders"}
# The preferences that let event mail through (each also an unsubscribe scope).
NEWS = ("broadcasts", "campaigns", "reminders")
EXIT_REASONS = LEAVE_REASONS  # the answers an exit survey offers, one link each
# An exit survey's answer (or a change of it) is taken this long after the survey was sent;
# after that, and after /me delete (no survey left on record), its links are refused.
EXIT_ANSWER_WINDOW = timedelta(days=30)
# Who of some members (one JSON array, read with json_each) wants one kind of NEWS mail: a
# verified address with that preference on, in their email language (else their own, else
# their Discord app's, else the server's, else the default).
RECIPIENTS = """
    SELECT e.user_id, e.address,
           coalesce(e.locale, m.locale, m.discord_locale, g.locale, :default_locale) AS locale
    FROM email_addresses e
    LEFT JOIN members m ON m.guild_id = e.guild_id AND m.user_id = e.user_id
    LEFT JOIN guilds g ON g.guild_id = e.guild_id
    WHERE e.guild_id = :guild_id AND e.verified_at IS NOT NULL
      AND CASE :preference WHEN 'broadcasts' THEN e.broadcasts
                           WHEN 'campaigns' THEN e.campaigns
                           WHEN 'reminders' THEN e.reminders END = 1
      AND e.user_id IN (SELECT value FROM json_each(:user_ids))
    ORDER BY e.user_id"""
# A change of preferences: a NULL parameter leaves its column as it is.
SET_PREFERENCES = """
    UPDATE email_addresses SET
        weekly_digest = coalesce(:weekly_digest, weekly_digest),
        digest_day = coalesce(:digest_day, digest_day),
        campaigns = coalesce(:campaigns, campaigns),
        broadcasts = coalesce(:broadcasts, broadcasts),
        reminders = coalesce(:reminders, reminders),
        locale = coalesce(:locale, locale),
        updated_at = :now
    WHERE guild_id = :guild_id AND user_id = :user_id"""
# One-click unsubscribe: one statement per scope a token can carry.
UNSUBSCRIBE = {
    "digest": "UPDATE email_addresses SET weekly_digest = 0, updated_at = ?"
              " WHERE guild_id = ? AND user_id = ?",
    "campaigns": "UPDATE email_addresses SET campaigns = 0, updated_at = ?"
                 " WHERE guild_id = ? AND user_id = ?",
    "broadcasts": "UPDATE email_addresses SET broadcasts = 0, updated_at = ?"
                  " WHERE guild_id = ? AND user_id = ?",
    "reminders": "UPDATE email_addresses SET reminders = 0, updated_at = ?"
                 " WHERE guild_id = ? AND user_id = ?",
    "all": "UPDATE email_addresses SET weekly_digest = 0, campaigns = 0, broadcasts = 0,"
           " reminders = 0, updated_at = ? WHERE guild_id = ? AND user_id = ?",
}
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class EmailAddress:
    guild_id: int
    user_id: int
    address: str
    verified: bool
    weekly_digest: bool | None
    digest_day: int | None
    campaigns: bool
    broadcasts: bool
    reminders: bool
    locale: str | None

    @property
    def masked(self) -> str:
        return mask(self.address)


@dataclass(frozen=True)
class Recipient:
    """Someone who gets a kind of event mail: verified address, preference on."""

    user_id: int
    address: str
    locale: str


def _row(row) -> EmailAddress:
    weekly = row["weekly_digest"]
    return EmailAddress(
        row["guild_id"], row["user_id"], row["address"], row["verified_at"] is not None,
        None if weekly is None else bool(weekly), row["digest_day"], bool(row["campaigns"]),
        bool(row["broadcasts"]), bool(row["reminders"]), row["locale"])


def validate_address(value: str) -> str:
    address = value.strip()
    local = address.partition("@")[0]
    if len(address) > 254 or len(local) > 64 or not _ADDRESS.match(address) or ".." in address:
        raise UserError("email.invalid_address", value=value[:80])
    return address


class EmailService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, members: MemberService,
                 settings: Settings, families: FamilyService, renderer: Renderer,
                 on_queued: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.families = families
        self.clock = clock
        self.audit = audit
        self.members = members
        self.settings = settings
        self.renderer = renderer
        self.on_queued = on_queued
        self._secret: str | None = None

    # -- plumbing ------------------------------------------------------------------------

    async def secret(self, tx: Transaction | None = None) -> str:
        """SECRET_KEY, or one generated once and kept in app_meta when it is not set
        (written in ``tx`` when called inside a transaction)."""
        if self._secret is None:
            if self.settings.secret_key is not None:
                self._secret = self.settings.secret_key.get_secret_value()
            elif tx is not None:
                self._secret = await self._stored_secret(tx)
            else:
                async with self.db.transaction() as own:
                    self._secret = await self._stored_secret(own)
        return self._secret

    async def _stored_secret(self, tx: Transaction) -> str:
        stored = await tx.fetchval("SELECT value FROM app_meta WHERE key = 'email_secret_key'")
        if stored is None:
            stored = secrets.token_urlsafe(32)
            await tx.execute("INSERT INTO app_meta (key, value) VALUES ('email_secret_key', ?)",
                             (stored,))
            log.warning("SECRET_KEY is not set: generated one and stored it in the database"
                        " (app_meta); set SECRET_KEY to keep links stable")
        return stored

    def _code_hash(self, secret: str, guild_id: int, user_id: int, code: str) -> str:
        return hmac.new(secret.encode(), f"code:{guild_id}:{user_id}:{code}".encode(),
                        hashlib.sha256).hexdigest()

    def unsubscribe_url(self, token: str) -> str:
        return f"{self.settings.public_base_url}/unsubscribe?t={quote(token)}"

    async def queue(self, tx: Transaction, guild_id: int | None, user_id: int | None,
                    recipient: str, kind: str, dedupe_key: str, locale: str,
                    attachments: tuple[outbox.Attachment, ...] = (),
                    **context: Any) -> bool:
        """Render ``kind`` and queue it in ``tx`` (with ``attachments``: files, for a kind in
        :data:`bot.mail.outbox.ATTACHING`); False if already queued or suppressed."""
        headers, url = self._unsubscribe(await self.secret(tx), guild_id, user_id, kind)
        rendered = self.renderer.one(locale, kind, {**context, "unsubscribe_url": url})
        email = outbox.Email(recipient, kind, dedupe_key, rendered.subject, rendered.text,
                             rendered.html, headers, guild_id, user_id, rendered.images,
                             attachments)
        return await outbox.enqueue(tx, email, self.clock.now())

    async def render_many(self, items: list[tuple], tx: Transaction | None = None
                          ) -> list[outbox.Email]:
        """Render many ``(guild, user, recipient, kind, dedupe_key, locale, context)``
        (a big batch renders in the worker processes), best outside a transaction — pass
        ``tx`` when inside one; queue the result with :meth:`queue_rendered`."""
        secret = await self.secret(tx)
        unsubscribe = [self._unsubscribe(secret, g, u, k) for g, u, _, k, _, _, _ in items]
        rendered = await self.renderer.many(
            [(loc, k, {**ctx, "unsubscribe_url": url})
             for (_, _, _, k, _, loc, ctx), (_, url) in zip(items, unsubscribe, strict=True)])
        return [outbox.Email(r, k, d, out.subject, out.text, out.html, headers, g, u,
                             out.images)
                for (g, u, r, k, d, _, _), (headers, _), out
                in zip(items, unsubscribe, rendered, strict=True)]

    async def recipients(self, guild_id: int, user_ids: list[int] | set[int], preference: str
                         ) -> list[Recipient]:
        """Who of ``user_ids`` wants ``preference`` mail (one of :data:`NEWS`): a verified
        address with that preference on, in their email language (else their own, else the
        server's). Suppressed addresses are still listed; the outbox records them as such."""
        if preference not in NEWS:
            raise ValueError(preference)
        rows = await self.db.fetchall(RECIPIENTS, {
            "default_locale": self.settings.default_locale, "guild_id": guild_id,
            "preference": preference, "user_ids": json.dumps(sorted(set(user_ids)))})
        return [Recipient(r["user_id"], r["address"], r["locale"]) for r in rows]

    async def prepare(self, guild_id: int, recipients: list[Recipient], kind: str, key: str,
                      context: Callable[[Recipient], dict[str, Any]],
                      tx: Transaction | None = None) -> list[outbox.Email]:
        """Render ``kind`` for each recipient (dedupe key ``<key>:<user>``), to be queued with
        :meth:`queue_rendered` in the transaction of the event (``tx`` if already in it)."""
        return await self.render_many([
            (guild_id, r.user_id, r.address, kind, f"{key}:{r.user_id}", r.locale, context(r))
            for r in recipients], tx)

    async def queue_rendered(self, tx: Transaction, emails: list[outbox.Email]) -> int:
        """Queue emails from :meth:`render_many` in ``tx``; returns how many were new."""
        return await outbox.enqueue_many(tx, emails, self.clock.now())

    def _unsubscribe(self, secret: str, guild_id: int | None, user_id: int | None, kind: str
                     ) -> tuple[dict[str, str], str | None]:
        """The List-Unsubscribe headers and the link for a recipient (none for
        transactional mail)."""
        scope = CATEGORY.get(kind)
        if scope is None or guild_id is None or user_id is None:
            return {}, None
        token = tokens.sign(secret, guild_id, user_id, scope)
        url = self.unsubscribe_url(token)
        # Only the https link: nothing here reads mail sent to a mailto: address.
        return {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }, url

    async def _locale(self, guild_id: int, user_id: int, chosen: str | None) -> str:
        return chosen or await self.members.locale_of(guild_id, user_id)

    # -- addresses -----------------------------------------------------------------------

    async def get(self, guild_id: int, user_id: int) -> EmailAddress | None:
        row = await self.db.fetchone(
            "SELECT * FROM email_addresses WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id))
        return None if row is None else _row(row)

    async def set_address(self, guild_id: int, user_id: int, value: str,
                          discord_locale: str | None = None) -> EmailAddress:
        """Store ``value`` unverified and queue a code to it; the old address stops getting
        mail until the new one is verified."""
        address = validate_address(value)
        secret = await self.secret()
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = self.clock.now()
        async with self.db.transaction() as tx:
            if await outbox.is_suppressed(tx, address):
                raise UserError("email.suppressed", address=mask(address))
            since = now - timedelta(hours=1)
            if max(await outbox.recent(tx, "verify", since, member=(guild_id, user_id)),
                   await outbox.recent(tx, "verify", since, recipient=address)
                   ) >= CODES_PER_HOUR:
                raise UserError("email.too_many_codes", limit=CODES_PER_HOUR)
            await self.members.ensure(tx, guild_id, user_id)
            await tx.execute(
                "INSERT INTO email_addresses (guild_id, user_id, address, code_hash,"
                " code_expires_at, code_attempts, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
                " address = excluded.address, verified_at = NULL, code_hash = excluded.code_hash,"
                " code_expires_at = excluded.code_expires_at, code_attempts = 0,"
                " updated_at = excluded.updated_at",
                (guild_id, user_id, address, self._code_hash(secret, guild_id, user_id, code),
                 to_db(now + timedelta(minutes=CODE_MINUTES)), to_db(now), to_db(now)))
            row = await tx.fetchone(
                "SELECT * FROM email_addresses WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id))
            locale = await self._locale(guild_id, user_id, row["locale"] or discord_locale)
            await self.queue(tx, guild_id, user_id, address, "verify",
                             f"verify:{guild_id}:{user_id}:{secrets.token_hex(8)}", locale,
                             code=code, minutes=CODE_MINUTES)
            await self.audit.record(tx, guild_id, user_id, "email.set", str(user_id))
        self.on_queued()
        return _row(row)

    async def verify(self, guild_id: int, user_id: int, code: str, is_manager: bool = False
                     ) -> EmailAddress:
        secret = await self.secret()
        code = "".join(code.split())
        now = self.clock.now()
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM email_addresses WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id))
            if row is None or row["code_hash"] is None:
                raise UserError("email.nothing_to_verify")
            if from_db(row["code_expires_at"]) <= now:
                raise UserError("email.code_expired", minutes=CODE_MINUTES)
            if row["code_attempts"] >= CODE_TRIES:
                raise UserError("email.too_many_tries", tries=CODE_TRIES)
            expected = row["code_hash"]
            if not hmac.compare_digest(expected,
                                       self._code_hash(secret, guild_id, user_id, code)):
                await tx.execute(
                    "UPDATE email_addresses SET code_attempts = code_attempts + 1"
                    " WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
                left = CODE_TRIES - row["code_attempts"] - 1
                error = UserError("email.wrong_code", left=left)
            else:
                await tx.execute(
                    "UPDATE email_addresses SET verified_at = ?, code_hash = NULL,"
                    " code_expires_at = NULL, code_attempts = 0, updated_at = ?, manager = ?"
                    " WHERE guild_id = ? AND user_id = ?",
                    (to_db(now), to_db(now), int(is_manager), guild_id, user_id))
                await self.audit.record(tx, guild_id, user_id, "email.verified", str(user_id))
                error = None
        if error is not None:  # the wrong try is counted (committed) before refusing
            raise error
        found = await self.get(guild_id, user_id)
        assert found is not None
        return found

    async def set_preferences(self, guild_id: int, user_id: int, is_manager: bool = False,
                              **changes: Any) -> EmailAddress:
        """Change some of :data:`PREFERENCES`; ``None`` values are left as they are."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - set(PREFERENCES)
        if unknown:
            raise ValueError(f"unknown preferences {unknown}")
        if "digest_day" in changes and not 0 <= changes["digest_day"] <= 6:
            raise UserError("email.bad_day")
        if "locale" in changes and changes["locale"] not in SUPPORTED_LOCALES:
            raise UserError("common.unknown_language", value=changes["locale"],
                            choices=SUPPORTED_LOCALES)
        async with self.db.transaction() as tx:
            if not await tx.fetchval(
                "SELECT 1 FROM email_addresses WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id),
            ):
                raise UserError("email.no_address")
            await tx.execute(
                "UPDATE email_addresses SET manager = ? WHERE guild_id = ? AND user_id = ?",
                (int(is_manager), guild_id, user_id))
            if changes:
                await tx.execute(SET_PREFERENCES, {
                    **{p: None for p in PREFERENCES},
                    **{p: int(v) if isinstance(v, bool) else v for p, v in changes.items()},
                    "now": to_db(self.clock.now()), "guild_id": guild_id, "user_id": user_id})
                await self.audit.record(tx, guild_id, user_id, "email.preferences",
                                        str(user_id), **changes)
        found = await self.get(guild_id, user_id)
        assert found is not None
        return found

    async def remove(self, guild_id: int, user_id: int) -> None:
        async with self.db.transaction() as tx:
            removed = await tx.execute(
                "DELETE FROM email_addresses WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id))
            if not removed:
                raise UserError("email.no_address")
            await tx.execute(
                "UPDATE email_outbox SET state = 'failed', last_error = 'address removed'"
                " WHERE guild_id = ? AND user_id = ? AND state = 'queued'", (guild_id, user_id))
            await self.audit.record(tx, guild_id, user_id, "email.removed", str(user_id))

    # -- unsubscribe ---------------------------------------------------------------------

    async def check_token(self, token: str | None, purpose: str = tokens.UNSUBSCRIBE
                          ) -> tuple[tokens.Unsubscribe, str] | None:
        """The token's content and the recipient's language, or None if it is not ours (for
        this purpose)."""
        parsed = tokens.verify(await self.secret(), token, purpose)
        if parsed is None:
            return None
        found = await self.get(parsed.guild_id, parsed.user_id)
        if purpose == tokens.UNSUBSCRIBE and found is None:
            return None  # no address any more (removed, or the member deleted their data)
        locale = await self._locale(parsed.guild_id, parsed.user_id,
                                    found.locale if found else None)
        return parsed, locale

    async def unsubscribe(self, token: str | None) -> tuple[tokens.Unsubscribe, str] | None:
        checked = await self.check_token(token)
        if checked is None:
            return None
        parsed, _ = checked
        async with self.db.transaction() as tx:
            await tx.execute(UNSUBSCRIBE[parsed.scope],
                             (to_db(self.clock.now()), parsed.guild_id, parsed.user_id))
            await self.audit.record(tx, parsed.guild_id, parsed.user_id, "email.unsubscribed",
                                    str(parsed.user_id), scope=parsed.scope)
        return checked

    # -- events --------------------------------------------------------------------------

    async def on_member_left(self, event: MemberLeftServer) -> None:
        """Subscribed to :class:`MemberLeftServer`: the exit survey, in the event's
        transaction."""
        await self.exit_survey(event.tx, event.guild_id, event.user_id)

    async def exit_survey(self, tx: Transaction, guild_id: int, user_id: int) -> bool:
        """A member left the server (called in the transaction that records it): one survey
        to their verified address, once a day, unless they unsubscribed from everything. Its
        links answer with one click (:meth:`answer_exit`), for the attrition KPI."""
        row = await tx.fetchone(
            "SELECT address, locale, verified_at, weekly_digest, campaigns, broadcasts,"
            " reminders FROM email_addresses WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id))
        if row is None or row["verified_at"] is None:
            return False
        if (row["weekly_digest"], row["campaigns"], row["broadcasts"]) == (0, 0, 0):
            return False  # they asked for nothing but codes (or unsubscribed from all)
        secret = await self.secret(tx)
        token = tokens.sign(secret, guild_id, user_id, "survey", tokens.EXIT)
        links = {reason: f"{self.settings.public_base_url}/exit?t={quote(token)}&r={reason}"
                 for reason in EXIT_REASONS}
        locale = await self._locale(guild_id, user_id, row["locale"])
        day = self.clock.now().date().isoformat()
        queued = await self.queue(tx, guild_id, user_id, row["address"], "exit_survey",
                                  f"exit_survey:{guild_id}:{user_id}:{day}", locale, links=links)
        if queued:
            self.on_queued()  # the sender's claim waits for this transaction's commit
        return queued

    async def check_exit(self, token: str | None, reason: str | None
                         ) -> tuple[tokens.Unsubscribe, str] | None:
        """An exit-survey answer link's member and language, or None if it is not ours."""
        if reason not in EXIT_REASONS:
            return None
        checked = await self.check_token(token, tokens.EXIT)
        if checked is None:
            return None
        sent = await self.db.fetchval(
            "SELECT max(created_at) FROM email_outbox WHERE guild_id = ? AND user_id = ?"
            " AND kind = 'exit_survey'", (checked[0].guild_id, checked[0].user_id))
        if sent is None or from_db(sent) < self.clock.now() - EXIT_ANSWER_WINDOW:
            return None  # no survey on record (deleted), or answered too late
        return checked

    async def answer_exit(self, token: str | None, reason: str | None
                          ) -> tuple[tokens.Unsubscribe, str] | None:
        """Record why a member left: the reason of their last family membership that ended
        when they left the server (what the attrition KPI counts), and the audit log."""
        checked = await self.check_exit(token, reason)
        if checked is None:
            return None
        parsed, _ = checked
        async with self.db.transaction() as tx:
            await self.families.answer_exit(tx, parsed.guild_id, parsed.user_id, str(reason))
            await self.audit.record(tx, parsed.guild_id, parsed.user_id, "email.exit_answer",
                                    str(parsed.user_id), reason=reason)
        return checked

    async def reminder(self, due: Due) -> Outcome:
        """The reminders service's email route: the day's check-in reminder, queued (the
        outbox delivers it; dedupe key ``reminder:<guild>:<local date>:<user>``)."""
        found = await self.recipients(due.guild_id, [due.recipient_id], "reminders")
        if not found:  # switched off or removed since the sweep looked
            return Outcome("sent", "none", {"skipped": "no_email"})
        emails = await self.prepare(due.guild_id, found, "reminder",
                                    f"reminder:{due.guild_id}:{due.local_date.isoformat()}",
                                    lambda r: {"day": due.local_date})
        async with self.db.transaction() as tx:
            queued = await self.queue_rendered(tx, emails)
        self.on_queued()
        return Outcome("sent", "email", {"queued": queued})

    async def status(self) -> dict:
        return await outbox.status(self.db)
