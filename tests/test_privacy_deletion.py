"""/me delete erases a member who used every feature: no row of any table, no byte of the
database file or its WAL and no saved email keeps their id, address or words; their old
unsubscribe and exit-survey links are refused and write nothing."""

from __future__ import annotations

import re

import pytest

from bot.clock import to_db
from bot.delivery.queue import Send
from bot.events import ApplicationAccepted
from bot.mail import tokens
from bot.services.privacy import ERASED
from tests._email import body, make_sender, verified

G = 1
MANAGER = 10
ADDRESS = "zoe.q{x}+fam@example.org"
NOTE_FIRST = "first-note-zebra-quartz"
NOTE_SECOND = "second-note-lynx-marble"
FEEDBACK = "feedback-okapi-cobalt"
REASON = "removal-reason-narwhal-saffron"
ZONE = "Pacific/Chatham"
WORKED = "showcase-ibex-amber"


@pytest.fixture
def outbox(tmp_path):
    folder = tmp_path / "outbox"
    folder.mkdir()
    return folder


@pytest.fixture
def services(db, settings, clock, outbox):
    from bot.services import Services

    return Services.build(db, settings.model_copy(update={"outbox_dir": outbox}), clock)


async def _everything(services, smtp, outbox, made):
    """The member ``made`` names uses every feature Familia has; returns (member, leader)."""
    family = made.families[0]
    member, leader = family.creator_ids[0], family.leader_id
    sender = make_sender(services, smtp, outbox_dir=outbox)
    await services.members.set_timezone(G, member, ZONE)
    await services.members.set_locale(G, member, "es")
    await services.broadcasts.set_optin(G, member, True, dm_channel_id=555)
    await services.reminders.set_dm(G, member, "21:30")
    await services.pace.set_nudge(G, member, True)
    await services.email.set_address(G, member, ADDRESS)
    await sender.drain()
    code = re.search(r"\b(\d{6})\b", body(smtp.messages[-1], "plain")).group(1)
    await services.email.verify(G, member, code)
    await services.email.set_preferences(G, member, weekly_digest=True, campaigns=True,
                                         broadcasts=True)
    stats = {"hours": "2", "diamonds": "10", "followers": "1", "peak_viewers": "3"}
    await services.checkins.submit(G, member, {**stats, "notes": NOTE_FIRST}, mood=4)
    done = await services.checkins.submit(G, member, {**stats, "notes": NOTE_SECOND}, mood=5)
    await services.checkins.give_feedback(
        G, leader, done.checkin.id, FEEDBACK,
        dm=lambda f: Send("feedback", f"feedback:{f.id}", "dm", f.user_id,
                          {"content": f"<@{f.leader_id}>: {f.text}"}))
    async with services.db.transaction() as tx:
        await services.deliveries.add(tx, G, [Send(
            "checkin", f"checkin:{done.checkin.id}", "channel", 777,
            {"content": f"<@{member}> checked in: {NOTE_SECOND}",
             "mentions": {"users": [member]}}, channel_id=777)])
    await verified(services, family.creator_ids[1], "someone.else@example.org", broadcasts=True)
    draft = await services.broadcasts.draft(G, MANAGER, "Hello, program!", "all", [],
                                            ("dm", "email"), False, None)
    await services.broadcasts.confirm(G, MANAGER, draft.broadcast.id)
    tier = (await services.tiers.list_tiers(G))[-1]
    await services.tiers.set_manual(G, MANAGER, member, tier, "2026-03")
    async with services.db.transaction() as tx:  # accepted from an application: onboarding
        now = to_db(services.clock.now())
        await services.events.publish(ApplicationAccepted(tx, G, member, 5, "creator", now,
                                                          now, family.id))
    entry = await services.showcase.submit(G, member, "https://example.com/zoe-live",
                                           "Zoe's best LIVE", WORKED, "gifting")
    await services.showcase.nominate(G, leader, entry.id)
    await services.showcase.curate(
        G, MANAGER, entry.id, "feature",
        tell=lambda e: Send("showcase_featured", f"showcase-featured:{e.id}", "dm", e.user_id,
                            {"content": f"featured: {e.title}"}))
    await services.families.remove(G, leader, member, REASON, as_manager=False)
    await services.families.left_server(G, member)  # the exit survey
    await sender.drain()
    exit_token = tokens.sign(await services.email.secret(), G, member, "survey", tokens.EXIT)
    assert await services.email.answer_exit(exit_token, "time") is not None
    return member, leader


def _traces(member: int) -> dict[str, re.Pattern[str]]:
    return {"id": re.compile(rf"(?<!\d){member}(?!\d)"), "address": re.compile(re.escape(
        ADDRESS)), **{text: re.compile(re.escape(text)) for text in (
            NOTE_FIRST, NOTE_SECOND, FEEDBACK, REASON, WORKED)}}


async def _rows_naming(services, member: int) -> dict[str, set[str]]:
    """Tables whose rows still hold a trace of the member, with what was found."""
    traces = _traces(member)
    found: dict[str, set[str]] = {}
    for table in (await services.privacy.catalog()):
        for row in await services.db.fetchall(f'SELECT * FROM "{table}"'):
            for value in dict(row).values():
                if value == member:
                    found.setdefault(table, set()).add("id")
                elif isinstance(value, str):
                    found.setdefault(table, set()).update(
                        what for what, pattern in traces.items() if pattern.search(value))
        if not found.get(table, True):
            del found[table]
    return found


def _bytes_naming(data: bytes, member: int) -> set[str]:
    needles = {"id": str(member).encode(), "id as stored": member.to_bytes(8, "big"),
               "address": ADDRESS.encode(), **{t: t.encode() for t in (
                   NOTE_FIRST, NOTE_SECOND, FEEDBACK, REASON, WORKED)}}
    return {what for what, needle in needles.items() if needle in data}


async def test_deleting_a_member_who_used_every_feature_leaves_no_trace(
        services, make_program, smtp, outbox, settings):
    made = await make_program("small", first_user_id=900_000_000_000_000_000)
    member, leader = await _everything(services, smtp, outbox, made)

    before = await _rows_naming(services, member)
    assert {"members", "checkins", "checkin_feedback", "email_addresses", "email_outbox",
            "audit_log", "deliveries", "family_members", "member_tiers",
            "onboarding_checklists", "showcase_entries"} <= set(before)
    saved = [p for p in outbox.iterdir() if ADDRESS.encode() in p.read_bytes()]
    assert len(saved) >= 3  # the code, a broadcast, the exit survey
    others = [p for p in outbox.iterdir() if p not in saved]
    assert others  # the broadcast to the rest of the program

    exported = await services.privacy.export(G, member)
    assert set(before) <= {key.split(".")[0] for key in exported}  # export: the same set
    audit = [e for e in exported["audit_log"] if e["action"] == "family.remove"]
    assert audit and REASON in audit[0]["details"]
    assert any(e["action"] == "me.timezone" and ZONE in e["details"]
               for e in exported["audit_log"])

    counts = await services.privacy.delete(G, member)
    assert counts["members"] == 1 and counts["audit_log"] >= 5

    # the old links: refused, and nothing new is written under their id
    secret = await services.email.secret()
    exit_token = tokens.sign(secret, G, member, "survey", tokens.EXIT)
    assert await services.email.check_exit(exit_token, "earnings") is None
    assert await services.email.answer_exit(exit_token, "earnings") is None
    assert await services.email.unsubscribe(tokens.sign(secret, G, member, "all")) is None

    assert await _rows_naming(services, member) == {}
    wal = settings.database_path.with_name(settings.database_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and emptied
    assert _bytes_naming(settings.database_path.read_bytes(), member) == set()
    for path in outbox.iterdir():
        assert _bytes_naming(path.read_bytes(), member) == set(), path.name
    assert all(p.exists() for p in others) and not any(p.exists() for p in saved)
    # others keep what is theirs; the leader's and manager's rows stay
    assert await services.members.get(G, leader) is not None
    assert await services.db.fetchval("SELECT count(*) FROM checkins WHERE guild_id = ?",
                                      (G,)) > 0


async def test_a_deleted_member_named_in_others_rows_becomes_nobody(services, make_program):
    """Who decided, wrote or led: their name goes, the others' records stay."""
    made = await make_program("small", first_user_id=900_000_000_000_000_000)
    family = made.families[0]
    leader, creator = family.leader_id, family.creator_ids[0]
    checkin = (await services.checkins.submit(G, creator, {"hours": "1", "notes": "hi"})).checkin
    await services.checkins.give_feedback(G, leader, checkin.id, "well done")
    await services.families.remove(G, leader, family.creator_ids[1], "gone quiet",
                                   as_manager=False)
    await services.broadcasts.set_optin(G, creator, True)
    draft = await services.broadcasts.draft(G, leader, "from the leader", "all", [], ("dm",),
                                            False, None)
    assert draft is not None
    exported = await services.privacy.export(G, leader)
    assert "checkin_feedback.leader_id" in exported and "families.leader_user_id" in exported
    assert "broadcasts.author_id" in exported

    await services.privacy.delete(G, leader)
    assert await _rows_naming(services, leader) == {}
    feedback = await services.db.fetchone("SELECT leader_id, text FROM checkin_feedback"
                                          " WHERE checkin_id = ?", (checkin.id,))
    assert (feedback["leader_id"], feedback["text"]) == (ERASED, "well done")
    seat = await services.db.fetchval("SELECT leader_user_id FROM families WHERE id = ?",
                                      (family.id,))
    assert seat is None  # a vacant seat, as when a leader leaves the server
    assert await services.db.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'family.remove'") == 1  # kept
