"""The policy and training library: versioned documents in two languages, full-text search,
acknowledgements.

Invariants, first: a document's versions only grow (each publish adds version N+1, nothing
edits an old one, so every old version stays readable); the version in force is the highest;
the search index (``policy_search``) holds exactly the version in force of every document
that is not archived, written in the same transaction as the publish or archive that changes
it; an acknowledgement names the version it was given for. Only managers publish and
archive (the cog checks it; the service takes ``as_manager`` where the rule is its own).
Audiences are enforced here, on search and show: a reader finds only what is meant for them.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database, Transaction
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotFound, UserError
from bot.paging import Page, page_of
from bot.services.audit import AuditLog
from bot.services.bounds import ID_MAX
from bot.services.families.models import AGREEMENT_VERSION

if TYPE_CHECKING:
    from bot.services.families import FamilyService

# The family agreement's text of a version in a language: (title, body).
AgreementText = Callable[[int, str], tuple[str, str]]


@dataclass(frozen=True)
class Ask:
    """One message asking a reader to acknowledge a version: the first (``reminder`` 0) or a
    reminder (1, 2); ``channel_id`` is their family's channel (for when DMs are closed)."""

    user_id: int
    channel_id: int | None
    locale: str
    document: Document
    version: Version
    reminder: int


# The delivery of an ask (rendered by the cog's side: text and buttons); the service queues it.
AskFor = Callable[[Ask], Send]
# Reminders before the deadline: the first 48 hours before, the second 24 hours before (each
# only when the version was published before its time).
REMINDERS = (timedelta(hours=48), timedelta(hours=24))

LANGUAGES = ("en", "es")
CATEGORIES = ("monetisation", "trust_safety", "community", "campaigns", "training",
              "agreements")
AUDIENCES = ("everyone", "tiers", "families", "leaders")
TITLE_MAX = 100
CATEGORY_MAX = 40
SUMMARY_MAX = 300
BODY_MAX = 60_000  # characters of one language's body
QUERY_MAX = 200
SEARCH_RESULTS = 10
STATUS_PAGE = 20
DIFF_LINES = 400  # at most this many lines of a "what changed" view

DOCUMENT = "SELECT * FROM policy_documents WHERE guild_id = ? AND id = ?"
DOCUMENTS = ("SELECT * FROM policy_documents WHERE guild_id = ?"
             " AND id IN (SELECT value FROM json_each(?))")
BY_TITLE = ("SELECT * FROM policy_documents WHERE guild_id = ? AND lower(title) = lower(?)")
VERSION = ("SELECT * FROM policy_versions WHERE document_id = ? AND version = ?")
LATEST = ("SELECT * FROM policy_versions WHERE document_id = ? ORDER BY version DESC LIMIT 1")
VERSIONS = ("SELECT * FROM policy_versions WHERE document_id = ? ORDER BY version DESC")
INDEX_ROW = ("INSERT OR REPLACE INTO policy_search (rowid, title, body, guild_id, document_id,"
             " lang) VALUES (?, ?, ?, ?, ?, ?)")
UNINDEX = "DELETE FROM policy_search WHERE rowid IN (?, ?)"
# bm25 weights: a hit in the title counts ten times one in the body. The best rows are
# ranked first (the inner query, no snippet), and only they get their highlight and snippet:
# SQLite computes a row's columns before sorting, and a snippet reads the row's whole text.
SEARCH = (
    "SELECT document_id, lang, bm25(policy_search, 10.0, 1.0) AS rank,"
    " highlight(policy_search, 0, char(2), char(3)) AS title_hit,"
    " snippet(policy_search, 1, char(2), char(3), '…', 24) AS snippet"
    " FROM policy_search WHERE policy_search MATCH :match AND rowid IN ("
    "SELECT rowid FROM policy_search WHERE policy_search MATCH :match AND guild_id = :guild"
    " ORDER BY bm25(policy_search, 10.0, 1.0) LIMIT :limit)"
    " ORDER BY rank"
)
TITLES = ("SELECT * FROM policy_documents WHERE guild_id = ? AND archived_at IS NULL"
          " ORDER BY lower(title)")
ACKNOWLEDGE = ("INSERT OR IGNORE INTO policy_acks (guild_id, user_id, document_id, version,"
               " acknowledged_at) VALUES (?, ?, ?, ?, ?)")
ACKS_OF_VERSION = ("SELECT user_id, acknowledged_at FROM policy_acks WHERE guild_id = ?"
                   " AND document_id = ? AND version = ?")
ACK_OF = ("SELECT version, acknowledged_at FROM policy_acks WHERE guild_id = ? AND user_id = ?"
          " AND document_id = ? ORDER BY version DESC LIMIT 1")
# The family agreement's acknowledgements are its acceptances (the families' own table).
AGREEMENT_DOCUMENT = ("SELECT * FROM policy_documents WHERE guild_id = ?"
                      " AND kind = 'agreement'")
ACCEPTED_OF_VERSION = ("SELECT user_id, accepted_at AS acknowledged_at FROM"
                       " agreement_acceptances WHERE guild_id = ? AND version = ?")
ACCEPTED_OF = ("SELECT version, accepted_at AS acknowledged_at FROM agreement_acceptances"
               " WHERE guild_id = ? AND user_id = ? ORDER BY version DESC LIMIT 1")
# The people a document's audience is: members still on the server (creators of active
# families for 'everyone'; tiers and families by id; leaders and co-leaders).
AUDIENCE_EVERYONE = (
    "SELECT fm.user_id FROM family_members fm JOIN families f ON f.id = fm.family_id"
    " AND f.archived_at IS NULL WHERE fm.guild_id = ? AND fm.left_at IS NULL"
)
AUDIENCE_FAMILIES = AUDIENCE_EVERYONE + " AND fm.family_id IN (SELECT value FROM json_each(?))"
AUDIENCE_TIERS = (
    "SELECT mt.user_id FROM member_tiers mt JOIN members m ON m.guild_id = mt.guild_id"
    " AND m.user_id = mt.user_id WHERE mt.guild_id = ? AND m.left_at IS NULL"
    " AND mt.tier_id IN (SELECT value FROM json_each(?))"
)
AUDIENCE_LEADERS = (
    "SELECT leader_user_id AS user_id FROM families WHERE guild_id = ? AND archived_at IS NULL"
    " AND leader_user_id IS NOT NULL UNION SELECT co_leader_user_id FROM families"
    " WHERE guild_id = ? AND archived_at IS NULL AND co_leader_user_id IS NOT NULL"
)
# What a reader is, for audiences: their family, their tiers, whether they lead (one trip).
READER = (
    "SELECT (SELECT family_id FROM family_members WHERE guild_id = :guild AND user_id = :user"
    " AND left_at IS NULL) AS family, (SELECT group_concat(tier_id) FROM member_tiers"
    " WHERE guild_id = :guild AND user_id = :user) AS tiers, EXISTS (SELECT 1 FROM families"
    " WHERE guild_id = :guild AND archived_at IS NULL"
    " AND (leader_user_id = :user OR co_leader_user_id = :user)) AS leads"
)
# A member's language and family channel (for their ask).
READER_PLACE = (
    "SELECT coalesce(m.locale, m.discord_locale, (SELECT locale FROM guilds g"
    " WHERE g.guild_id = m.guild_id)) AS locale, f.channel_id FROM members m"
    " LEFT JOIN family_members fm ON fm.guild_id = m.guild_id AND fm.user_id = m.user_id"
    " AND fm.left_at IS NULL LEFT JOIN families f ON f.id = fm.family_id"
    " WHERE m.guild_id = ? AND m.user_id = ?"
)
# Versions in force with a deadline still ahead, of documents not archived.
OPEN_DEADLINES = (
    "SELECT v.* FROM policy_versions v JOIN policy_documents d ON d.id = v.document_id"
    " AND d.archived_at IS NULL WHERE v.major = 1 AND v.ack_deadline > ?"
    " AND v.version = (SELECT max(version) FROM policy_versions WHERE document_id = v.document_id)"
)
# Versions in force with a deadline, of one server's documents not archived ({} picks which:
# those past it, those still open, or all).
WITH_DEADLINE = (
    "SELECT v.document_id FROM policy_versions v JOIN policy_documents d ON d.id = v.document_id"
    " AND d.archived_at IS NULL WHERE v.guild_id = :guild AND v.major = 1"
    " AND v.ack_deadline IS NOT NULL{}"
    " AND v.version = (SELECT max(version) FROM policy_versions WHERE document_id = v.document_id)"
    " ORDER BY v.ack_deadline, v.document_id"
)
PAST_DEADLINES = WITH_DEADLINE.format(" AND v.ack_deadline <= :now")
OPEN_IN_GUILD = WITH_DEADLINE.format(" AND v.ack_deadline > :now")
ALL_DEADLINES = WITH_DEADLINE.format("")

_WORD = re.compile(r"\w+", re.UNICODE)
# Markdown's marks in a snippet (a heading's #, bold's **, a list's dash): a snippet is one
# line of plain words, its matches marked.
_MARKS = re.compile(r"[*_`#>|~]+|^\s*[-+]\s+|\s+", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    id: int
    guild_id: int
    title: str
    category: str
    audience: str
    audience_ids: tuple[int, ...]
    kind: str
    archived: bool

    @classmethod
    def of(cls, row: Any) -> Document:
        return cls(row["id"], row["guild_id"], row["title"], row["category"], row["audience"],
                   tuple(json.loads(row["audience_ids"])), row["kind"],
                   row["archived_at"] is not None)

    @property
    def builtin_category(self) -> bool:
        return self.category in CATEGORIES


@dataclass(frozen=True)
class Version:
    document_id: int
    version: int
    major: bool
    summary: str
    bodies: dict[str, str]  # by language, only those written
    ack_deadline: datetime | None
    published_by: int | None
    published_at: datetime

    @classmethod
    def of(cls, row: Any) -> Version:
        bodies = {lang: row[f"body_{lang}"] for lang in LANGUAGES if row[f"body_{lang}"]}
        deadline = row["ack_deadline"]
        return cls(row["document_id"], row["version"], bool(row["major"]), row["summary"],
                   bodies, from_db(deadline) if deadline else None, row["published_by"],
                   from_db(row["published_at"]))

    def body(self, lang: str) -> tuple[str, str]:
        """The body in ``lang``, or in the other language when it has none: (body, language
        shown) — a caller notes the fallback when the two differ."""
        if lang in self.bodies:
            return self.bodies[lang], lang
        other = next(iter(self.bodies))
        return self.bodies[other], other


@dataclass(frozen=True)
class Shown:
    """A document as one reader sees it: the version asked for, in their language."""

    document: Document
    version: Version
    latest: int  # the version in force
    body: str
    lang: str  # the language of ``body``
    fallback: bool  # not the reader's language: no translation yet
    acknowledged: int | None  # the latest version this reader acknowledged


@dataclass(frozen=True)
class Hit:
    document: Document
    lang: str
    title: str  # with the matched words between \x02 and \x03
    snippet: str


@dataclass(frozen=True)
class Change:
    document: Document
    old: Version
    new: Version
    lang: str
    lines: list[str]  # unified diff lines: "+ added", "- removed", "  kept", "@@ where"
    more: int  # lines left off


@dataclass(frozen=True)
class Status:
    document: Document
    version: Version
    acknowledged: list[tuple[int, datetime]]
    pending: list[int]
    overdue: bool  # the deadline has passed (pending ones are overdue)


def fold(text: str) -> str:
    """A search query as FTS5 reads it safely: each word a quoted prefix term (the tokenizer
    folds case and accents), all of them required. No FTS5 syntax from a user gets through."""
    words = _WORD.findall(text)
    return " ".join(f'"{w}"*' for w in words[:20])


class PolicyService:
    """``agreement`` renders the family agreement's template (its text moves into the library
    as the Agreements document, version for version, the first time a guild's library is
    read); ``families`` records its acceptance when someone acknowledges it here."""

    def __init__(self, db: Database, clock: Clock, audit: AuditLog, *,
                 families: FamilyService | None = None,
                 agreement: AgreementText | None = None,
                 deliveries: DeliveryQueue | None = None) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.families = families
        self.agreement = agreement
        self.deliveries = deliveries
        self._agreed: set[int] = set()  # guilds whose agreement document is up to date

    # -- the family agreement -----------------------------------------------------------------

    async def ensure_agreement(self, guild_id: int) -> None:
        """The family agreement as the guild's Agreements document: its versions up to the
        one in force (``AGREEMENT_VERSION``), each in both languages. Joining a family asks
        for the version in force, which is the document's latest."""
        if self.agreement is None or guild_id in self._agreed:
            return
        async with self.db.transaction() as tx:
            row = await tx.fetchone(AGREEMENT_DOCUMENT, (guild_id,))
            latest = 0
            if row is None:
                locale = await tx.fetchval("SELECT locale FROM guilds WHERE guild_id = ?",
                                           (guild_id,))
                title, _ = self.agreement(AGREEMENT_VERSION, locale or "en")
                taken = await tx.fetchone(BY_TITLE, (guild_id, title))
                if taken is not None:  # a manager's own document has the title: keep theirs
                    title = f"{title} ({AGREEMENT_VERSION})"
                document_id = await tx.execute(
                    "INSERT INTO policy_documents (guild_id, title, category, kind, created_at)"
                    " VALUES (?, ?, 'agreements', 'agreement', ?)",
                    (guild_id, title, to_db(self.clock.now())))
            else:
                document_id = row["id"]
                latest = (await tx.fetchone(LATEST, (document_id,)))["version"]
            for number in range(latest + 1, AGREEMENT_VERSION + 1):
                bodies = {lang: self.agreement(number, lang)[1] for lang in LANGUAGES}
                await tx.execute(
                    "INSERT INTO policy_versions (guild_id, document_id, version, major,"
                    " summary, body_en, body_es, published_at) VALUES (?, ?, ?, 1, '', ?, ?, ?)",
                    (guild_id, document_id, number, bodies["en"], bodies["es"],
                     to_db(self.clock.now())))
            if latest < AGREEMENT_VERSION:
                document = Document.of(await tx.fetchone(DOCUMENT, (guild_id, document_id)))
                version = Version.of(await tx.fetchone(LATEST, (document_id,)))
                await self._index(tx, document, version)
        self._agreed.add(guild_id)

    # -- publishing ---------------------------------------------------------------------------

    async def publish(
        self, guild_id: int, actor_id: int, title: str, *, bodies: dict[str, str | None],
        summary: str = "", major: bool = False, category: str | None = None,
        audience: str | None = None, audience_ids: list[int] | None = None,
        ack_deadline: datetime | None = None, ask: AskFor | None = None,
    ) -> tuple[Document, Version]:
        """Publish a new version of the document titled ``title`` (the first one creates the
        document; ``category`` is then required). Nothing is stored when the input is wrong.
        A major version with an acknowledgement deadline asks its audience (``ask`` renders
        each message), queued in the same transaction."""
        title = " ".join(title.split())
        if not title or len(title) > TITLE_MAX:
            raise UserError("policies.bad_title", limit=TITLE_MAX)
        written = {lang: body.strip() for lang, body in bodies.items()
                   if lang in LANGUAGES and body and body.strip()}
        if not written:
            raise UserError("policies.empty_body")
        for body in written.values():
            if len(body) > BODY_MAX:
                raise UserError("policies.body_too_long", length=len(body), limit=BODY_MAX)
        summary = " ".join(summary.split())
        if len(summary) > SUMMARY_MAX:
            raise UserError("policies.summary_too_long", limit=SUMMARY_MAX)
        if category is not None:
            category = " ".join(category.split())
            if not category or len(category) > CATEGORY_MAX:
                raise UserError("policies.bad_category", limit=CATEGORY_MAX)
        if audience is not None and audience not in AUDIENCES:
            raise UserError("policies.bad_audience", value=audience)
        if audience in ("tiers", "families") and not audience_ids:
            raise UserError("policies.audience_ids_needed", audience=audience)
        now = self.clock.now()
        if ack_deadline is not None and ack_deadline <= now:
            raise UserError("policies.deadline_past")
        async with self.db.transaction() as tx:
            row = await tx.fetchone(BY_TITLE, (guild_id, title))
            if row is None:
                if category is None:
                    raise UserError("policies.category_needed")
                document_id = await tx.execute(
                    "INSERT INTO policy_documents (guild_id, title, category, audience,"
                    " audience_ids, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (guild_id, title, category, audience or "everyone",
                     json.dumps(sorted(set(audience_ids or []))), actor_id, to_db(now)))
                number = 1
            else:
                document_id = row["id"]
                if row["archived_at"] is not None:
                    raise UserError("policies.archived", title=row["title"])
                if row["kind"] == "agreement":
                    raise UserError("policies.agreement_fixed")
                changes = {}
                if category is not None:
                    changes["category"] = category
                if audience is not None:
                    changes["audience"] = audience
                    changes["audience_ids"] = json.dumps(sorted(set(audience_ids or [])))
                for column, value in changes.items():  # column names from the dict above
                    await tx.execute(f"UPDATE policy_documents SET {column} = ? WHERE id = ?",
                                     (value, document_id))
                number = (await tx.fetchone(LATEST, (document_id,)))["version"] + 1
            if number > 1 and not summary:
                raise UserError("policies.summary_needed")
            await tx.execute(
                "INSERT INTO policy_versions (guild_id, document_id, version, major, summary,"
                " body_en, body_es, ack_deadline, published_by, published_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (guild_id, document_id, number, int(major or number == 1), summary,
                 written.get("en"), written.get("es"),
                 to_db(ack_deadline) if ack_deadline else None, actor_id, to_db(now)))
            document = Document.of(await tx.fetchone(DOCUMENT, (guild_id, document_id)))
            version = Version.of(await tx.fetchone(VERSION, (document_id, number)))
            await self._index(tx, document, version)
            if ask is not None and version.major and version.ack_deadline is not None:
                await self._ask(tx, document, version, 0, ask)
            await self.audit.record(tx, guild_id, actor_id, "policies.publish",
                                    target=str(document_id),
                                    version=number, major=version.major)
        if self.deliveries is not None and ask is not None:
            self.deliveries.notify()
        return document, version

    async def _index(self, tx: Transaction, document: Document, version: Version) -> None:
        await tx.execute(UNINDEX, (document.id * 2, document.id * 2 + 1))
        for i, lang in enumerate(LANGUAGES):
            if lang in version.bodies:
                await tx.execute(INDEX_ROW, (document.id * 2 + i, document.title,
                                             version.bodies[lang], document.guild_id,
                                             document.id, lang))

    async def archive(self, guild_id: int, actor_id: int, document_id: int) -> Document:
        """Archive a document: it leaves search and lists; its versions stay readable."""
        async with self.db.transaction() as tx:
            document = await self._document(tx, guild_id, document_id)
            if document.kind == "agreement":
                raise UserError("policies.agreement_stays")
            if not document.archived:
                await tx.execute("UPDATE policy_documents SET archived_at = ?, archived_by = ?"
                                 " WHERE id = ?", (to_db(self.clock.now()), actor_id,
                                                   document_id))
                await tx.execute(UNINDEX, (document_id * 2, document_id * 2 + 1))
                await self.audit.record(tx, guild_id, actor_id, "policies.archive",
                                        target=str(document_id))
            return Document.of(await tx.fetchone(DOCUMENT, (guild_id, document_id)))

    # -- reading ------------------------------------------------------------------------------

    async def _document(self, conn: Database | Transaction, guild_id: int,
                        document_id: int) -> Document:
        row = None
        if 1 <= document_id <= ID_MAX:  # ids come from buttons too: any number may arrive
            row = await conn.fetchone(DOCUMENT, (guild_id, document_id))
        if row is None:
            raise NotFound("policies.unknown", value=document_id)
        return Document.of(row)

    async def resolve(self, guild_id: int, text: str) -> Document:
        """The document named by its number (what autocomplete sends) or by its title."""
        await self.ensure_agreement(guild_id)
        text = " ".join(text.split())
        if text.isdigit() and int(text) <= ID_MAX:
            row = await self.db.fetchone(DOCUMENT, (guild_id, int(text)))
            if row is not None:
                return Document.of(row)
        return await self.find(guild_id, text)

    async def find(self, guild_id: int, title: str) -> Document:
        """The document titled ``title`` (case aside)."""
        row = await self.db.fetchone(BY_TITLE, (guild_id, " ".join(title.split())))
        if row is None:
            raise NotFound("policies.unknown_title", value=title)
        return Document.of(row)

    async def titles(self, guild_id: int, user_id: int, typed: str, *, manager: bool
                     ) -> list[Document]:
        """Documents this reader may read whose title contains ``typed`` (autocomplete)."""
        await self.ensure_agreement(guild_id)
        rows = await self.db.fetchall(TITLES, (guild_id,))
        reader = await self._reader(guild_id, user_id)
        typed = typed.casefold()
        return [d for d in map(Document.of, rows)
                if typed in d.title.casefold() and (manager or self._admits(d, reader))][:25]

    async def _reader(self, guild_id: int, user_id: int) -> tuple[int | None, set[int], bool]:
        """What audiences a reader is in: their family, their tiers, whether they lead."""
        row = await self.db.fetchone(READER, {"guild": guild_id, "user": user_id})
        tiers = {int(t) for t in (row["tiers"] or "").split(",") if t}
        return row["family"], tiers, bool(row["leads"])

    @staticmethod
    def _admits(document: Document, reader: tuple[int | None, set[int], bool]) -> bool:
        family, tiers, leads = reader
        if document.audience == "everyone":
            return True
        if document.audience == "leaders":
            return leads
        if document.audience == "families":
            return family in document.audience_ids
        return bool(tiers & set(document.audience_ids))

    async def show(self, guild_id: int, user_id: int, document_id: int, lang: str, *,
                   version: int | None = None, manager: bool = False) -> Shown:
        """The document in the reader's language (a missing translation falls back), the
        version in force or ``version``. A reader outside its audience is told it is unknown
        (they need not learn it exists)."""
        document = await self._document(self.db, guild_id, document_id)
        if not manager and not self._admits(document, await self._reader(guild_id, user_id)):
            raise NotFound("policies.unknown", value=document_id)
        latest = Version.of(await self.db.fetchone(LATEST, (document_id,)))
        chosen = latest
        if version is not None and version != latest.version:
            row = None
            if 1 <= version <= ID_MAX:  # a raw API call's number may be past SQLite's
                row = await self.db.fetchone(VERSION, (document_id, version))
            if row is None:
                raise NotFound("policies.unknown_version", version=version,
                               latest=latest.version)
            chosen = Version.of(row)
        body, shown = chosen.body(lang)
        if document.kind == "agreement":
            acked = await self.db.fetchone(ACCEPTED_OF, (guild_id, user_id))
        else:
            acked = await self.db.fetchone(ACK_OF, (guild_id, user_id, document_id))
        return Shown(document, chosen, latest.version, body, shown, shown != lang,
                     acked["version"] if acked else None)

    async def versions(self, guild_id: int, document_id: int) -> tuple[Document, list[Version]]:
        document = await self._document(self.db, guild_id, document_id)
        rows = await self.db.fetchall(VERSIONS, (document_id,))
        return document, [Version.of(r) for r in rows]

    async def diff(self, guild_id: int, user_id: int, document_id: int, lang: str, *,
                   old: int | None = None, new: int | None = None, manager: bool = False
                   ) -> Change:
        """What changed between two versions (default: the one before the version in force,
        and it), line by line in the reader's language."""
        shown_new = await self.show(guild_id, user_id, document_id, lang, version=new,
                                    manager=manager)
        number = old if old is not None else shown_new.version.version - 1
        if number < 1 or number == shown_new.version.version:
            raise UserError("policies.nothing_to_compare")
        shown_old = await self.show(guild_id, user_id, document_id, lang, version=number,
                                    manager=manager)
        if shown_old.version.version > shown_new.version.version:
            shown_old, shown_new = shown_new, shown_old
        old_body, _ = shown_old.version.body(lang)
        new_body, used = shown_new.version.body(lang)
        lines = [line.rstrip("\n") for line in difflib.unified_diff(
            old_body.splitlines(), new_body.splitlines(), lineterm="", n=1)][2:]
        return Change(shown_new.document, shown_old.version, shown_new.version, used,
                      lines[:DIFF_LINES], max(0, len(lines) - DIFF_LINES))

    async def search(self, guild_id: int, user_id: int, query: str, lang: str, *,
                     manager: bool = False, limit: int = SEARCH_RESULTS) -> list[Hit]:
        """Documents matching every word of ``query`` (prefixes; accents and case folded),
        best first by bm25, one hit per document (the reader's language first), only those
        the reader's audience admits."""
        query = query.strip()
        if not query or len(query) > QUERY_MAX:
            raise UserError("policies.bad_query", limit=QUERY_MAX)
        match = fold(query)
        if not match:
            raise UserError("policies.bad_query", limit=QUERY_MAX)
        await self.ensure_agreement(guild_id)
        rows = await self.db.fetchall(SEARCH, {"match": match, "guild": guild_id,
                                                "limit": limit * 4})
        reader = None if manager else await self._reader(guild_id, user_id)
        best: dict[int, Any] = {}
        for row in rows:  # by rank: the first row of a document wins unless the other is ours
            kept = best.get(row["document_id"])
            if kept is None or (kept["lang"] != lang and row["lang"] == lang):
                best[row["document_id"]] = row
        documents = {r["id"]: Document.of(r) for r in await self.db.fetchall(
            DOCUMENTS, (guild_id, json.dumps(list(best))))} if best else {}
        hits: list[Hit] = []
        for document_id, row in sorted(best.items(), key=lambda item: item[1]["rank"]):
            document = documents[document_id]
            if reader is not None and not self._admits(document, reader):
                continue
            snippet = " ".join(_MARKS.sub(" ", row["snippet"]).split())
            hits.append(Hit(document, row["lang"], row["title_hit"], snippet))
        return hits[:limit]

    # -- acknowledgements ---------------------------------------------------------------------

    async def acknowledge(self, guild_id: int, user_id: int, document_id: int, version: int
                          ) -> int:
        """Record that ``user_id`` acknowledged ``version`` of the document; it must be the
        version in force (an older one's button is outdated). Twice is once. The family
        agreement's acknowledgement is its acceptance, recorded by the families service."""
        document = await self._document(self.db, guild_id, document_id)
        if document.kind == "agreement" and self.families is not None:
            await self.families.accept_agreement(guild_id, user_id, version)
            return version
        async with self.db.transaction() as tx:
            document = await self._document(tx, guild_id, document_id)
            if document.archived:
                raise UserError("policies.archived", title=document.title)
            latest = (await tx.fetchone(LATEST, (document_id,)))["version"]
            if version != latest:
                raise UserError("policies.ack_outdated", version=version, latest=latest)
            await tx.execute(ACKNOWLEDGE, (guild_id, user_id, document_id, version,
                                           to_db(self.clock.now())))
        return latest

    async def audience(self, conn: Database | Transaction, document: Document) -> set[int]:
        """Everyone a document's audience is now."""
        ids = json.dumps(list(document.audience_ids))
        if document.audience == "everyone":
            rows = await conn.fetchall(AUDIENCE_EVERYONE, (document.guild_id,))
        elif document.audience == "families":
            rows = await conn.fetchall(AUDIENCE_FAMILIES, (document.guild_id, ids))
        elif document.audience == "tiers":
            rows = await conn.fetchall(AUDIENCE_TIERS, (document.guild_id, ids))
        else:
            rows = await conn.fetchall(AUDIENCE_LEADERS, (document.guild_id,) * 2)
        return {r["user_id"] for r in rows}

    async def _ask(self, tx: Transaction, document: Document, version: Version, reminder: int,
                   ask: AskFor) -> int:
        """Queue ``ask``'s message to everyone of the audience who has not acknowledged the
        version (each once per reminder: the queue's dedupe key)."""
        if self.deliveries is None:
            return 0
        people = await self.audience(tx, document)
        done = {r["user_id"] for r in await tx.fetchall(
            ACKS_OF_VERSION, (document.guild_id, document.id, version.version))}
        sends = []
        for user_id in sorted(people - done):
            row = await tx.fetchone(READER_PLACE, (document.guild_id, user_id))
            locale = (row["locale"] if row else None) or "en"
            sends.append(ask(Ask(user_id, row["channel_id"] if row else None, locale, document,
                                 version, reminder)))
        return await self.deliveries.add(tx, document.guild_id, sends) if sends else 0

    async def remind(self, ask: AskFor) -> int:
        """The reminders that are due (at most two per version, before its deadline), to
        those who have not acknowledged it yet; how many were queued. Safe to run again."""
        now = self.clock.now()
        queued = 0
        for row in await self.db.fetchall(OPEN_DEADLINES, (to_db(now),)):
            version = Version.of(row)
            document = await self._document(self.db, row["guild_id"], row["document_id"])
            assert version.ack_deadline is not None
            for number, before in enumerate(REMINDERS, start=1):
                due = version.ack_deadline - before
                if version.published_at < due <= now:
                    async with self.db.transaction() as tx:
                        queued += await self._ask(tx, document, version, number, ask)
        if queued and self.deliveries is not None:
            self.deliveries.notify()
        return queued

    async def status(self, guild_id: int, document_id: int, *,
                     family_id: int | None = None) -> Status:
        """Who of the audience (of one family's members: a leader's view) acknowledged the
        version in force, and who has not yet."""
        document = await self._document(self.db, guild_id, document_id)
        version = Version.of(await self.db.fetchone(LATEST, (document_id,)))
        people = await self.audience(self.db, document)
        if family_id is not None:
            rows = await self.db.fetchall(AUDIENCE_FAMILIES, (guild_id, json.dumps([family_id])))
            people &= {r["user_id"] for r in rows}
        if document.kind == "agreement":
            rows = await self.db.fetchall(ACCEPTED_OF_VERSION, (guild_id, version.version))
        else:
            rows = await self.db.fetchall(ACKS_OF_VERSION,
                                          (guild_id, document_id, version.version))
        acked = {r["user_id"]: from_db(r["acknowledged_at"]) for r in rows}
        done = sorted(((u, at) for u, at in acked.items() if u in people), key=lambda p: p[1])
        pending = sorted(people - set(acked))
        overdue = version.ack_deadline is not None and version.ack_deadline <= self.clock.now()
        return Status(document, version, done, pending, overdue)

    async def overdue(self, guild_id: int, family_id: int | None = None) -> list[Status]:
        """The statuses (:meth:`status`, of one family's members when ``family_id`` is given)
        of the versions in force whose deadline has passed and that someone has not
        acknowledged yet: a leader's daily summary lists them."""
        found = await self._statuses(PAST_DEADLINES, guild_id, family_id)
        return [s for s in found if s.pending]

    async def open_deadlines(self, guild_id: int) -> list[Status]:
        """The statuses of the versions in force whose deadline is still ahead (the manager
        digest's acknowledgement progress), the nearest deadline first."""
        return await self._statuses(OPEN_IN_GUILD, guild_id)

    async def to_read(self, guild_id: int, users: list[int]) -> dict[int, list[Status]]:
        """For each of ``users``: the statuses of the versions with a deadline (ahead or past)
        they have not acknowledged yet (a creator digest's "still to read")."""
        wanted = set(users)
        out: dict[int, list[Status]] = {}
        for status in await self._statuses(ALL_DEADLINES, guild_id):
            for user in wanted.intersection(status.pending):
                out.setdefault(user, []).append(status)
        return out

    async def _statuses(self, query: str, guild_id: int, family_id: int | None = None
                        ) -> list[Status]:
        rows = await self.db.fetchall(query, {"guild": guild_id,
                                              "now": to_db(self.clock.now())})
        return [await self.status(guild_id, r["document_id"], family_id=family_id)
                for r in rows]

    def status_page(self, status: Status, page: int) -> Page[tuple[int, datetime | None]]:
        """One page of a status: pending people first, then those who acknowledged."""
        rows: list[tuple[int, datetime | None]] = [(u, None) for u in status.pending]
        rows += [(u, at) for u, at in status.acknowledged]
        return page_of(rows, page, STATUS_PAGE)

    def status_csv(self, status: Status) -> str:
        lines = ["user_id,state,acknowledged_at"]
        pending = "overdue" if status.overdue else "pending"
        lines += [f"{u},{pending}," for u in status.pending]
        lines += [f"{u},acknowledged,{to_db(at)}" for u, at in status.acknowledged]
        return "\n".join(lines) + "\n"
