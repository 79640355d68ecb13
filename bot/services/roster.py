"""Bulk roster import: one file (CSV or ``.xlsx``) with a row per creator places a whole
program in families — previewed first, applied on a second step, idempotent.

**Preview** (:meth:`RosterService.preview`): the upload is stored (``roster_uploads``, its
SHA-256; its bytes in ``roster_upload_files`` until applied, or a day), read off the event
loop (:mod:`bot.sheets`), and each row planned against the guild as it is now: *add*
(placed in a family), *change* (another family, another position, a profile field), *same*
(nothing to do), or *refused* with its line number and a reason code (``roster.<reason>``:
unknown member, unknown family, family full, duplicate handle, two families for one person,
a bad value …). Nothing is written but the upload.

**Apply** (:meth:`RosterService.apply`): the stored file is planned again (the guild may have
changed since the preview; the caller re-checked the permission) and every row that is not
refused is applied in one transaction:

* a creator is placed directly — a membership starts (from the family they were in, if any,
  as a transfer); the agreement they have not accepted stays pending and they are asked to
  accept it by one DM queued through the delivery queue (keyed per member and agreement
  version: never twice, whatever is imported again);
* a leader or co-leader is appointed (the one before stays in the family as a creator);
* the family roles follow as a diff: a role change is queued only for a membership that
  starts or ends, and the delivery queue paces them;
* the profile fields given (a blank cell leaves a field alone) are written;
* the audit log records ``roster.import`` with the file's hash and the counts.

Applying the same upload twice is refused (``roster.already_applied``); uploading the same
file again previews every row as *same*, and applying it changes nothing.

Who is who in the server (ids and names as shown) comes from the caller as a
:class:`Directory` (the cog reads Discord's member cache): nothing here imports discord.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.clock import Clock, to_db
from bot.db import Database, Transaction
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import FamiliaError, NotFound, UserError
from bot.services.audit import AuditLog
from bot.services.families import AGREEMENT_VERSION, Family, FamilyService
from bot.services.families.notices import LOCALE
from bot.services.platform_stats import Progress, Step
from bot.services.profiles import FIELDS as PROFILE_FIELDS
from bot.services.profiles import Profile, ProfileService, clean_value
from bot.sheets import Column, Limits, Schema, SheetError, fold, open_sheet
from bot.sheets import to_bytes as sheet_bytes


async def _quiet(step: Step) -> None:  # progress nobody watches
    return None


LIMITS = Limits(max_bytes=2 * 1024 * 1024, max_rows=5000)
KEEP_UPLOAD = timedelta(days=1)
POSITIONS = ("creator", "leader", "co_leader")
OUTCOMES = ("add", "change", "same", "refused")

ROSTER = Schema((
    Column("user", ("discord", "discord user", "discord id", "discord user id", "user id",
                    "user", "member", "discord name", "name", "usuario de discord",
                    "id de discord", "miembro", "nombre", "nombre en discord"),
           required=True, titles={"en": "Discord user", "es": "Usuario de Discord"}),
    Column("handle", ("handle", "platform handle", "tiktok", "tiktok handle", "username",
                      "creator handle", "usuario de tiktok", "usuario en la plataforma",
                      "usuario de la plataforma", "alias", "cuenta"),
           titles={"en": "Platform handle", "es": "Usuario en la plataforma"}),
    Column("family", ("family", "family name", "team", "familia", "equipo",
                      "nombre de la familia"),
           required=True, titles={"en": "Family", "es": "Familia"}),
    Column("position", ("position", "role", "rank", "posicion", "puesto", "rol", "cargo"),
           titles={"en": "Position", "es": "Puesto"}),
    Column("platform_user_id", ("platform user id", "platform id", "tiktok id",
                                "tiktok user id", "creator id", "uid", "id de tiktok",
                                "id en la plataforma", "id de la plataforma"),
           titles={"en": "Platform user id", "es": "Id en la plataforma"}),
    Column("region", ("region", "country", "country region", "pais", "pais region",
                      "region pais"),
           titles={"en": "Region", "es": "País o región"}),
    Column("language", ("language", "main language", "idioma", "idioma principal",
                        "lengua"),
           titles={"en": "Main language", "es": "Idioma principal"}),
    Column("category", ("category", "content category", "content", "categoria",
                        "categoria de contenido", "contenido"),
           titles={"en": "Content category", "es": "Categoría de contenido"}),
    Column("platform_joined_on", ("joined platform", "platform join date",
                                  "joined the platform", "platform since",
                                  "fecha de alta en la plataforma", "en la plataforma desde",
                                  "alta en la plataforma"),
           titles={"en": "Joined the platform", "es": "Alta en la plataforma"}),
    Column("program_joined_on", ("joined program", "program join date",
                                 "joined the program", "program since", "join date",
                                 "fecha de ingreso", "fecha de alta en el programa",
                                 "en el programa desde", "alta en el programa"),
           titles={"en": "Joined the program", "es": "Alta en el programa"}),
    Column("manager_notes", ("notes", "manager notes", "managers notes", "notas",
                             "notas del manager", "notas de los managers"),
           titles={"en": "Manager notes", "es": "Notas de los managers"}),
))

_POSITION_WORDS = {
    "creator": "creator", "creador": "creator", "creadora": "creator", "member": "creator",
    "miembro": "creator", "miembra": "creator",
    "leader": "leader", "lider": "leader", "family leader": "leader",
    "lider de familia": "leader",
    "co leader": "co_leader", "coleader": "co_leader", "co lider": "co_leader",
    "colider": "co_leader", "sub leader": "co_leader", "sublider": "co_leader",
}
_MENTION = re.compile(r"<@!?(\d{15,21})>")
_SNOWFLAKE = re.compile(r"\d{15,21}")

SAMPLE = (
    ("ana_live", "@ana.live", "Aurora", "leader", "7012345678901234567", "MX", "es",
     "music", "2024-03-01", "2026-11-01", ""),
    ("beto", "@beto.games", "Aurora", "creator", "", "CO", "es", "gaming", "", "2026-11-01",
     ""),
    ("123456789012345678", "carla.cooks", "Boreal", "co-leader", "", "US", "en", "cooking",
     "", "", "Strong start"),
)


@dataclass(frozen=True)
class Directory:
    """The server's members as the caller sees them: ids, and each folded name (display
    name, global name, username) → the ids that bear it."""

    ids: frozenset[int]
    names: Mapping[str, tuple[int, ...]]

    @classmethod
    def of(cls, members: Iterable[tuple[int, Iterable[str | None]]]) -> Directory:
        ids: set[int] = set()
        names: dict[str, set[int]] = defaultdict(set)
        for user_id, known_as in members:
            ids.add(user_id)
            for name in known_as:
                if name:
                    names[_fold_name(name)].add(user_id)
        return cls(frozenset(ids), {k: tuple(sorted(v)) for k, v in names.items()})

    def resolve(self, value: Any) -> int:
        """The member a cell names (an id, a mention, or a name as shown in the server)."""
        text = str(value).strip()
        if isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))  # an id typed in a workbook (rounded past 2**53: unknown)
        mention = _MENTION.fullmatch(text)
        if text.isdigit() and int(text) in self.ids:
            return int(text)
        if mention or _SNOWFLAKE.fullmatch(text):
            user_id = int(mention[1] if mention else text)
            if user_id not in self.ids:
                raise UserError("roster.unknown_member", value=text)
            return user_id
        found = self.names.get(_fold_name(text), ())
        if not found:
            raise UserError("roster.unknown_member", value=text)
        if len(found) > 1:
            raise UserError("roster.ambiguous_member", value=text, count=len(found))
        return found[0]


def _fold_name(name: str) -> str:
    return " ".join(str(name).strip().lstrip("@").casefold().split())


@dataclass
class RowPlan:
    """What one row of the file does (``outcome``: add, change, same or refused)."""

    line: int
    user_id: int | None = None
    user_text: str = ""
    family_text: str = ""
    family: Family | None = None
    position: str = "creator"
    profile: dict[str, str | None] = field(default_factory=dict)
    outcome: str = "same"
    changes: tuple[str, ...] = ()  # family, position, and the profile fields that change
    reason: str | None = None  # a refusal's error code
    params: dict[str, Any] = field(default_factory=dict)
    from_family: Family | None = None

    def refuse(self, error: FamiliaError | tuple[str, dict[str, Any]]) -> None:
        if self.outcome == "refused":
            return
        self.outcome = "refused"
        if isinstance(error, FamiliaError):
            self.reason, self.params = error.code, dict(error.params)
        else:
            self.reason, self.params = error


@dataclass
class Plan:
    upload_id: int
    file_name: str
    file_hash: str
    rows: list[RowPlan]
    unknown_columns: tuple[str, ...] = ()
    applied: bool = False
    asked: int = 0  # agreement DMs queued (apply)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(r.outcome for r in self.rows)
        return {o: found.get(o, 0) for o in OUTCOMES}

    def of(self, outcome: str) -> list[RowPlan]:
        return [r for r in self.rows if r.outcome == outcome]


# What the caller sends a creator placed by an import who has not accepted the agreement:
# the DM with its Accept button, rendered in their language — (user id, family, locale) →
# a Send to the delivery queue.
AskAgreement = Callable[[int, Family, str], Send]

INSERT_UPLOAD = ("INSERT INTO roster_uploads (guild_id, actor_id, file_name, file_hash,"
                 " created_at) VALUES (?, ?, ?, ?, ?)")
INSERT_FILE = "INSERT INTO roster_upload_files (upload_id, guild_id, data) VALUES (?, ?, ?)"
UPLOAD = ("SELECT u.*, f.data FROM roster_uploads u LEFT JOIN roster_upload_files f"
          " ON f.upload_id = u.id WHERE u.guild_id = ? AND u.id = ?")
SET_COUNTS = "UPDATE roster_uploads SET counts = ? WHERE id = ?"
MARK_APPLIED = ("UPDATE roster_uploads SET applied_at = ?, applied_by = ?, counts = ?"
                " WHERE id = ? AND applied_at IS NULL")
DROP_FILE = "DELETE FROM roster_upload_files WHERE upload_id = ?"
DROP_OLD_FILES = ("DELETE FROM roster_upload_files WHERE guild_id = ? AND upload_id IN"
                  " (SELECT id FROM roster_uploads WHERE guild_id = ? AND created_at < ?)")
MEMBERSHIPS = (
    "SELECT fm.id, fm.user_id, fm.family_id FROM family_members fm"
    " WHERE fm.guild_id = ? AND fm.left_at IS NULL"
)
ACCEPTED = ("SELECT user_id, max(version) AS version FROM agreement_acceptances"
            " WHERE guild_id = ? GROUP BY user_id")
SET_LEADER = "UPDATE families SET leader_user_id = ? WHERE id = ?"
SET_CO_LEADER = "UPDATE families SET co_leader_user_id = ? WHERE id = ?"


class RosterService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, families: FamilyService,
                 profiles: ProfileService, deliveries: DeliveryQueue) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.families = families
        self.profiles = profiles
        self.deliveries = deliveries

    # -- the template ------------------------------------------------------------------------

    @staticmethod
    def template(locale: str, fmt: str) -> bytes:
        """A file to fill in: the headers in ``locale`` and three example rows."""
        return sheet_bytes(fmt, ROSTER.titles(locale), [list(r) for r in SAMPLE],
                           title="Roster")

    # -- preview and apply -------------------------------------------------------------------

    async def preview(self, guild_id: int, actor_id: int, file_name: str, data: bytes,
                      directory: Directory, locale: str = "en",
                      progress: Progress = _quiet) -> Plan:
        """Store the upload and plan it (nothing else is written). A file refused whole
        (type, size, encoding, columns) raises a SheetError and stores nothing. ``progress``
        hears how the reading goes (rows read of the file's lines)."""
        digest = hashlib.sha256(data).hexdigest()
        parsed = await _read_shown(data, file_name, locale, directory, progress)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            upload_id = await tx.execute(INSERT_UPLOAD, (guild_id, actor_id, file_name[:200],
                                                         digest, to_db(now)))
            await tx.execute(INSERT_FILE, (upload_id, guild_id, data))
            await tx.execute(DROP_OLD_FILES, (guild_id, guild_id, to_db(now - KEEP_UPLOAD)))
        rows, unknown = parsed
        plan = Plan(upload_id, file_name, digest, rows, unknown)
        await self._plan(guild_id, plan)
        async with self.db.transaction() as tx:
            await tx.execute(SET_COUNTS, (json.dumps(plan.counts), upload_id))
        return plan

    async def apply(self, guild_id: int, actor_id: int, upload_id: int, directory: Directory,
                    ask: AskAgreement | None = None, locale: str = "en",
                    progress: Progress = _quiet) -> Plan:
        """Plan the stored upload again and apply every row not refused, in one transaction
        (see the module's docstring); ``progress`` hears the reading, then the rows
        applied."""
        row = await self.db.fetchone(UPLOAD, (guild_id, upload_id))
        if row is None:
            raise NotFound("roster.unknown_upload")
        if row["applied_at"] is not None:
            raise UserError("roster.already_applied")
        if row["data"] is None:
            raise UserError("roster.upload_expired")
        rows, unknown = await _read_shown(bytes(row["data"]), row["file_name"], locale,
                                          directory, progress)
        plan = Plan(upload_id, row["file_name"], row["file_hash"], rows, unknown)
        async with self.db.transaction() as tx:
            await self._plan(guild_id, plan, tx=tx)
            todo = [p for p in plan.rows if p.outcome in ("add", "change")]
            for done, planned in enumerate(todo, 1):
                await self._apply_row(tx, guild_id, actor_id, planned)
                await progress(Step("applying", done, len(todo)))
            plan.asked = await self._ask(tx, guild_id, plan, ask)
            counts = plan.counts
            marked = await tx.execute(MARK_APPLIED, (to_db(self.clock.now()), actor_id,
                                                     json.dumps(counts), upload_id))
            if not marked:  # applied meanwhile by another click
                raise UserError("roster.already_applied")
            await tx.execute(DROP_FILE, (upload_id,))
            await self.audit.record(tx, guild_id, actor_id, "roster.import", plan.file_hash,
                                    upload=upload_id, file=plan.file_name, **counts,
                                    asked=plan.asked)
        plan.applied = True
        self.deliveries.notify()  # the family roles and the agreement DMs
        return plan

    # -- planning ----------------------------------------------------------------------------

    async def _plan(self, guild_id: int, plan: Plan, *, tx: Transaction | None = None) -> None:
        source = tx or self.db
        families = {f.id: f for f in await self.families.list_families(guild_id)}
        by_name = {fold(f.name): f for f in families.values()}
        memberships = {r["user_id"]: r["family_id"] for r in
                       await source.fetchall(MEMBERSHIPS, (guild_id,))}
        profiles = await self.profiles.of_users(guild_id)
        rows = plan.rows
        for row in rows:
            if row.outcome == "refused":
                continue
            family = by_name.get(fold(row.family_text))
            if family is None:
                row.refuse(("roster.unknown_family", {"value": row.family_text}))
                continue
            row.family = family
            current = memberships.get(row.user_id or 0)
            row.from_family = families.get(current) if current is not None else None
        _one_row_per_person(rows)
        _unique_profiles(rows, profiles)
        _positions(rows, families)
        _capacity(rows, families, memberships)
        for row in rows:
            if row.outcome != "refused":
                _classify(row, profiles.get(row.user_id or 0))

    async def _apply_row(self, tx: Transaction, guild_id: int, actor_id: int,
                         row: RowPlan) -> None:
        assert row.user_id is not None and row.family is not None
        user_id, family = row.user_id, row.family
        # FamilyService's own steps, inside this import's transaction: a membership ends and
        # starts with its family role queued (the roles follow as a diff), the program role
        # follows the position
        if "family" in row.changes:
            current = await self.families.membership_of(guild_id, user_id, tx=tx)
            if current is not None:
                await self.families._end(tx, guild_id, current.id, user_id, "transfer", None,
                                         None, actor_id)
                left = await self.families.get(guild_id, current.family_id, tx=tx)
                if left.co_leader_user_id == user_id:  # a leader is replaced by the file
                    await tx.execute(SET_CO_LEADER, (None, left.id))
            await self.families._start(tx, guild_id, family.id, user_id,
                                       "leader" if row.position != "creator" else "creator")
        if "position" in row.changes or "family" in row.changes:
            fresh = await self.families.get(guild_id, family.id, tx=tx)
            was = fresh.role_of(user_id)
            if was == "co_leader" and row.position != "co_leader":
                await tx.execute(SET_CO_LEADER, (None, family.id))
            if was == "leader" and row.position != "leader":
                await tx.execute(SET_LEADER, (None, family.id))  # _positions saw a new one
            if row.position in ("leader", "co_leader") and was != row.position:
                previous = (fresh.leader_user_id if row.position == "leader"
                            else fresh.co_leader_user_id)
                await tx.execute(SET_LEADER if row.position == "leader" else SET_CO_LEADER,
                                 (user_id, family.id))
                if previous is not None and previous != user_id:
                    await self.families._set_program_role(tx, guild_id, previous, "creator")
            await self.families._set_program_role(
                tx, guild_id, user_id, "creator" if row.position == "creator" else "leader")
        if row.profile:
            await self.profiles.write(tx, guild_id, actor_id, user_id, row.profile,
                                      audit=False)

    async def _ask(self, tx: Transaction, guild_id: int, plan: Plan,
                   ask: AskAgreement | None) -> int:
        """Queue the agreement DM for each member placed in a family by this import who has
        not accepted the current agreement; how many were new."""
        if ask is None:
            return 0
        accepted = {r["user_id"]: r["version"] for r in await tx.fetchall(ACCEPTED,
                                                                          (guild_id,))}
        sends = []
        for r in plan.rows:
            if (r.outcome in ("add", "change") and "family" in r.changes
                    and r.user_id is not None and r.family is not None
                    and accepted.get(r.user_id, 0) < AGREEMENT_VERSION):
                locale = await tx.fetchval(LOCALE, {"guild": guild_id, "user": r.user_id})
                sends.append(ask(r.user_id, r.family, locale or "en"))
        return await self.deliveries.add(tx, guild_id, sends) if sends else 0


def agreement_key(user_id: int) -> str:
    """The dedupe key of the DM asking a placed member to accept the agreement: once per
    member and agreement version, whatever is imported again."""
    return f"roster-agreement:{user_id}:{AGREEMENT_VERSION}"


# -- reading (in a thread) -------------------------------------------------------------------

READ_POLL = 0.5  # seconds between two looks at how far the reading thread is


async def _read_shown(data: bytes, file_name: str, locale: str, directory: Directory,
                      progress: Progress) -> tuple[list[RowPlan], tuple[str, ...]]:
    """:func:`_read` in a thread, telling ``progress`` how many rows it has read (of the
    file's lines for a CSV; a workbook's total is not known before it is read)."""
    read = [0]
    total = data.count(b"\n") - 1 if file_name.lower().endswith(".csv") else 0
    work = asyncio.ensure_future(asyncio.to_thread(_read, data, file_name, locale, directory,
                                                   read))
    while not work.done():
        await asyncio.wait([work], timeout=READ_POLL)
        if not work.done():
            await progress(Step("reading", read[0], max(total, read[0])))
    return work.result()


def _read(data: bytes, file_name: str, locale: str, directory: Directory,
          read: list[int] | None = None) -> tuple[list[RowPlan], tuple[str, ...]]:
    """The rows of a roster file, each parsed (``read[0]`` counts them as they go)."""
    sheet = open_sheet(data, file_name, ROSTER, LIMITS, locale)
    rows = []
    for row in sheet.rows():
        rows.append(_parse(row.line, row.cells, directory))
        if read is not None:
            read[0] += 1
    if not rows:
        raise SheetError("sheets.empty")
    return rows, sheet.header.unknown


def _parse(line: int, cells: Mapping[str, Any], directory: Directory) -> RowPlan:
    row = RowPlan(line, user_text=str(cells.get("user") or "").strip())
    try:
        if not row.user_text:
            raise UserError("roster.member_required")
        row.user_id = directory.resolve(cells["user"])
        family_text = str(cells.get("family") or "").strip()
        if not family_text:
            raise UserError("roster.family_required")
        row.family_text = family_text
        position = cells.get("position")
        if position is not None and str(position).strip():
            found = _POSITION_WORDS.get(fold(position))
            if found is None:
                raise UserError("roster.bad_position", value=str(position))
            row.position = found
        for name in PROFILE_FIELDS:
            value = cells.get(name)
            if value is not None and str(value).strip():
                row.profile[name] = clean_value(name, value)
    except FamiliaError as error:
        row.refuse(error)
    return row


# -- the checks across rows ------------------------------------------------------------------

def _live(rows: Sequence[RowPlan]) -> list[RowPlan]:
    return [r for r in rows if r.outcome != "refused"]


def _one_row_per_person(rows: Sequence[RowPlan]) -> None:
    """A person on two rows: of two families, every row is refused; of one, the later."""
    seen: dict[int, list[RowPlan]] = defaultdict(list)
    for row in _live(rows):
        seen[row.user_id or 0].append(row)
    for same in seen.values():
        if len(same) < 2:
            continue
        families = {r.family.id for r in same if r.family is not None}
        if len(families) > 1:
            names = ", ".join(sorted({r.family.name for r in same if r.family}))
            for row in same:
                row.refuse(("roster.two_families", {"user_id": row.user_id, "families": names,
                                                    "lines": ", ".join(str(r.line)
                                                                       for r in same)}))
        else:
            for row in same[1:]:
                row.refuse(("roster.duplicate_row", {"user_id": row.user_id,
                                                     "first": same[0].line}))


def _unique_profiles(rows: Sequence[RowPlan], profiles: Mapping[int, Profile]) -> None:
    """A handle (or platform id) is one member's: not twice in the file, not another
    member's profile unless the file gives that member another one."""
    for name, code in (("handle", "roster.duplicate_handle"),
                       ("platform_user_id", "roster.duplicate_platform_id")):
        final = {uid: getattr(p, name) for uid, p in profiles.items() if getattr(p, name)}
        for row in _live(rows):
            if name in row.profile:
                final[row.user_id or 0] = row.profile[name]
        holders: dict[str, set[int]] = defaultdict(set)
        for uid, value in final.items():
            if value:
                holders[value].add(uid)
        first_line: dict[str, int] = {}
        for row in _live(rows):
            value = row.profile.get(name)
            if not value:
                continue
            others = holders[value] - {row.user_id}
            if value in first_line:
                row.refuse((code, {"value": value, "first": first_line[value]}))
            elif others:
                row.refuse((code, {"value": value, "user_id": min(others)}))
            else:
                first_line[value] = row.line


def _positions(rows: Sequence[RowPlan], families: Mapping[int, Family]) -> None:
    """One leader and one co-leader per family; a leader of another family hands over
    first; a family's leader who becomes a creator needs a new leader in the file."""
    named: dict[tuple[int, str], RowPlan] = {}
    for row in _live(rows):
        if row.position != "creator" and row.family is not None:
            key = (row.family.id, row.position)
            if key in named:
                row.refuse(("roster.two_leaders", {"family": row.family.name,
                                                   "first": named[key].line}))
            else:
                named[key] = row
    for row in _live(rows):
        assert row.family is not None
        uid = row.user_id or 0
        for other in families.values():
            if other.id == row.family.id or not other.leads(uid):
                continue
            position = other.role_of(uid)
            replaced = named.get((other.id, position))
            if position == "leader" and (replaced is None or replaced.outcome == "refused"):
                row.refuse(("roster.leader_must_hand_over", {"family": other.name}))
        if row.family.leader_user_id == uid and row.position != "leader":
            new = named.get((row.family.id, "leader"))
            if new is None or new.outcome == "refused":
                row.refuse(("roster.leader_required", {"family": row.family.name}))


def _capacity(rows: Sequence[RowPlan], families: Mapping[int, Family],
              memberships: Mapping[int, int]) -> None:
    """Members arriving in a family past its capacity are refused, in file order (members
    leaving it through the file free their place)."""
    for _ in range(len(rows) + 1):
        count = {f.id: f.members for f in families.values()}
        for row in _live(rows):
            current = memberships.get(row.user_id or 0)
            if row.family is not None and current is not None and current != row.family.id:
                count[current] = count.get(current, 0) - 1
        refused = False
        for row in _live(rows):
            family = row.family
            if family is None or memberships.get(row.user_id or 0) == family.id:
                continue
            if family.capacity is not None and count[family.id] + 1 > family.capacity:
                row.refuse(("roster.family_full", {"family": family.name,
                                                   "capacity": family.capacity}))
                refused = True
            else:
                count[family.id] += 1
        if not refused:
            return


def _classify(row: RowPlan, profile: Profile | None) -> None:
    assert row.family is not None
    changes: list[str] = []
    in_family = row.from_family is not None and row.from_family.id == row.family.id
    if not in_family:
        changes.append("family")
    if row.family.role_of(row.user_id or 0) != row.position:
        changes.append("position")
    stored = (profile or Profile(row.user_id or 0)).values()
    changes += [name for name, value in row.profile.items() if stored[name] != value]
    row.changes = tuple(changes)
    row.outcome = ("add" if row.from_family is None else "change") if changes else "same"
