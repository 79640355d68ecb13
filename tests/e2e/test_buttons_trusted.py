"""A custom_id is data, never authority (#17): a button or select whose id names another
server, another member's row or a managers-only flag is refused with an answer, and nothing
changes. Ids are forged through the emulator, as a stranger could send them."""

from __future__ import annotations

import logging

from bot.cogkit.buttons import PersistentSelect
from bot.services.families import AGREEMENT_VERSION
from bot.services.onboarding import STEPS
from bot.services.showcase import ACTIONS, STATES
from tests.e2e._buttons import Outcomes, persistent_classes, press
from tests.e2e._families import (
    ask_to_join,
    button,
    create,
    join,
    membership,
    request_post,
)

ELSEWHERE = "This button belongs to another server"
GUILD_ONLY = "works only inside a server"
NOT_ALLOWED = "You are not allowed to do this here"


async def other_server(app):
    """A second server with Familia: Bea owns it, Leo leads its family Osos and Zoe asked to
    join. The test guild's owner (a manager there) is not in it."""
    bea, leo, zoe = (app.emu.create_user(n) for n in ("bea", "leo", "zoe"))
    other = app.emu.create_guild("Other", owner=bea)
    for user in (leo, zoe):
        app.emu.add_member(other, user, dispatch=False)
    await app.emu.wait_for(lambda: app.bot.get_guild(other.id), what="the other server")
    families = app.services.families
    osos = await families.create(other.id, bea.id, "Osos", leo.id)
    request = await families.request_join(other.id, zoe.id, osos.id, AGREEMENT_VERSION)
    return other, osos, request, zoe


async def rows(app, table: str, guild_id: int) -> list[tuple]:
    found = await app.services.db.fetchall(
        f"SELECT * FROM {table} WHERE guild_id = ? ORDER BY rowid", (guild_id,))
    return [tuple(r) for r in found]


async def test_a_manager_here_cannot_decide_a_request_of_another_server(app):
    other, _, request, zoe = await other_server(app)
    general = app.emu.default_channel(app.guild)
    before = await rows(app, "family_requests", other.id)
    for answer in "yn":
        it = await press(app, app.owner, general, f"familia:req:{answer}:{other.id}:{request.id}")
        assert ELSEWHERE in await it.reply_text() and it.ephemeral
    assert await rows(app, "family_requests", other.id) == before
    assert await app.services.families.membership_of(other.id, zoe.id) is None


async def test_join_and_agree_act_only_where_they_are_pressed(app):
    other, osos, _, _ = await other_server(app)
    ana = app.user("ana")
    general = app.emu.default_channel(app.guild)
    tables = ("family_requests", "family_members", "agreement_acceptances", "members")
    before = [await rows(app, t, other.id) for t in tables]
    join_id = f"familia:join:{other.id}:{osos.id}:{AGREEMENT_VERSION}"
    agree_id = f"familia:agree:{other.id}:{AGREEMENT_VERSION}"
    for custom_id in (join_id, agree_id):
        it = await press(app, ana, general, custom_id)
        assert ELSEWHERE in await it.reply_text(), custom_id
    # In a DM: Join is for a server; Accept only for a member of the server it names.
    dm = app.emu.dm_channel(ana)
    it = await press(app, ana, dm, join_id)
    assert GUILD_ONLY in await it.reply_text()
    it = await press(app, ana, dm, agree_id)
    assert NOT_ALLOWED in await it.reply_text()
    assert [await rows(app, t, other.id) for t in tables] == before


async def test_a_request_is_not_decided_from_a_dm(app):
    """A DM decides only an invitation, and only for the member invited."""
    other, osos, request, _ = await other_server(app)
    leo = app.emu.users[osos.leader_user_id]
    it = await press(app, leo, app.emu.dm_channel(leo),
                     f"familia:req:y:{other.id}:{request.id}")
    assert NOT_ALLOWED in await it.reply_text()
    assert (await app.services.families.get_request(other.id, request.id)).status == "pending"


async def test_the_former_members_flag_of_a_page_button_is_checked_again(app):
    sofia, ana, out = app.user("sofia"), app.user("ana"), app.user("out")
    family = await create(app, "Lobos", sofia)
    await join(app, ana, family)
    period = await app.services.leaderboards.resolve_period(app.guild.id, "this_week")
    general = app.emu.default_channel(app.guild)
    with_left = f"familia:lb:hours:{period.kind}:{period.key}:program:0:1:0"
    it = await press(app, ana, general, with_left)
    text = await it.reply_text()
    assert "Only program managers can include people who left" in text, text
    assert "Includes people who left" not in text
    for custom_id in (with_left, with_left.replace(":1:0", ":0:0")):
        it = await press(app, out, general, custom_id)
        text = await it.reply_text()
        assert "This is for members of the creator program" in text, text
    it = await press(app, app.owner, general, with_left)
    assert "Includes people who left" in await it.reply_text()


async def test_the_leave_menu_always_answers(app):
    sofia, ana, ben = app.user("sofia"), app.user("ana"), app.user("ben")
    family = await create(app, "Lobos", sofia)
    await join(app, ana, family)
    await join(app, ben, family)
    prompt = await (await app.run(ana, "family", {"note": "Busy"},
                                  subcommand="leave")).wait_message()
    menu = button(prompt, "familia:leave:reason:")
    general = app.emu.default_channel(app.guild)
    # Ben picks in a copy of Ana's menu: it is about Ana's membership, not his.
    it = await press(app, ben, general, menu, pick="time")
    assert "This menu is out of date" in await it.reply_text()
    assert (await membership(app, ben)) is not None
    # The bot restarted since (the note is gone): Ana is told, and nothing changes.
    notes = app.bot.get_cog("Families").leave_notes
    kept = notes.get(int(menu.split(":")[3]))
    notes.forget(int(menu.split(":")[3]))
    it = await press(app, ana, general, menu, pick="time")
    assert "This menu expired" in await it.reply_text()
    assert (await membership(app, ana)) is not None
    notes.keep(int(menu.split(":")[3]), kept)
    components = prompt.components
    await (await app.emu.select(ana, prompt, menu, ["time"])).wait_response()
    assert "You left Lobos" in prompt.content
    # A second pick on a stale copy of the menu: answered, nothing changes.
    prompt.components = components
    late = await app.emu.select(ana, prompt, menu, ["earnings"])
    assert "This menu is out of date" in await late.reply_text() and late.ephemeral
    row = (await app.services.families.history(app.guild.id, ana.id))[-1]
    assert (row.leave_reason, row.leave_note) == ("time", "Busy")


async def test_a_decline_after_approve_is_answered(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await ask_to_join(app, ana, family)
    post = request_post(app, family, ana)
    approve, decline = button(post, "familia:req:y:"), button(post, "familia:req:n:")
    await (await app.emu.click(sofia, post, approve)).wait_response()
    for who in (sofia, app.owner):  # the leader again, a manager: a stale copy of the post
        it = await press(app, who, family.channel, decline)
        assert "already decided: approved" in await it.reply_text() and it.ephemeral
    assert (await membership(app, ana)).family_id == family.id


async def test_a_late_delete_confirmation_says_it_expired(app):
    ana = app.user("ana")
    await app.reply(ana, "me", {"zone": "Asia/Jakarta"}, subcommand="timezone")
    prompt = await (await app.run(ana, "me", subcommand="delete")).wait_message()
    app.clock.advance(minutes=6)
    late = await app.emu.click(ana, prompt, "familia:me:delete")
    assert "This confirmation expired" in await late.reply_text() and late.ephemeral
    assert (await app.services.members.get(app.guild.id, ana.id)).timezone == "Asia/Jakarta"


# A sample of each kind of field a custom_id pattern allows, and the extremes a stranger may
# type in its place (SQLite holds integers up to 2**63 - 1).
SAMPLES = {r"\d+": ["1", "0", str(2**62), str(2**63), "9" * 40], "[yn]": ["y", "n"],
           "[01]": ["1", "0"], r"\w+": ["hours", "x", "_" * 40],
           r"[\w.-]+": ["2026-W25", "-", "." * 40],
           # the onboarding checklist's steps, the showcase's months, states and actions
           "|".join(STEPS): ["checkin", "agreement", "campaign"],
           r"\d{4}-\d{2}": ["2026-06", "0000-00", "9999-99"],
           "all|" + "|".join(STATES): ["all", "rejected"],
           "|".join(ACTIONS): ["shortlist", "feature", "reject"]}


def forged_ids(cls) -> list[str]:
    """``cls``'s custom_id with every field at a sample, then each field at each extreme."""
    kinds = {name: cls.patterns.get(name, r"\d+" if kind is int else r"[\w.-]+")
             for name, kind in cls.fields.items()}
    base = {name: SAMPLES[pattern][0] for name, pattern in kinds.items()}
    found = {cls.custom_id_format.format(**base)}
    for name, pattern in kinds.items():
        for value in SAMPLES[pattern][1:]:
            found.add(cls.custom_id_format.format(**{**base, name: value}))
    return sorted(found)


async def test_any_value_in_any_button_gets_an_answer(app):
    """Every restart-proof button and select, its fields at any value its pattern allows
    (unknown rows, zero, integers beyond SQLite's, odd words): an answer, never "something
    went wrong"."""
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await join(app, ana, family)
    outcomes = Outcomes()
    logger = logging.getLogger("familia.commands")
    was = logger.level
    logger.addHandler(outcomes)
    logger.setLevel(logging.INFO)
    general = app.emu.default_channel(app.guild)
    failures, tried = [], 0
    try:
        by_id = {c.custom_id_format: c for c in persistent_classes()}  # cogs reload per test
        for cls in by_id.values():
            if cls.__name__ == "DeleteConfirm":
                continue  # no field; pressing it deletes the presser's data
            for custom_id in forged_ids(cls):
                for user in (app.owner, ana):
                    outcomes.lines.clear()
                    pick = "time" if issubclass(cls, PersistentSelect) else None
                    it = await press(app, user, general, custom_id, pick=pick)
                    await it.wait_response(10)
                    tried += 1
                    if it.response_type == 9:
                        continue  # a form opened (the feedback of a check-in)
                    found = await app.emu.wait_for(lambda u=user: outcomes.of(u.id),
                                                   timeout=10, what=custom_id)
                    if found.startswith("error"):
                        failures.append(f"{custom_id} by {user.name}: {found}")
    finally:
        logger.removeHandler(outcomes)
        logger.setLevel(was)
    assert tried > 100 and not failures, "\n".join(failures)
