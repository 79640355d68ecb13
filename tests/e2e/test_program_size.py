"""Every listing command at the `program` size (30 families of about 10 creators, 90 days of
check-ins: ``bot/program.py``), run by the people who would run it — the manager, a family's
leader, a creator — in the language each of them chose.

What a user would notice: an answer comes (never "Something went wrong"); it fits (the
emulator refuses what Discord refuses, so an answer at all proves most of it); a long list
shows "page 1 of N" with ▶️, and a click turns to page 2 with other rows; a split answer
comes in several messages with nothing lost. The `app` fixture is per test, so each test
builds its program once and runs many commands on it (a build takes about a second).
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from bot.localtime import local_date
from bot.program import Person, Program
from cogs.tiers import SWEEP_SHOWN

MENTION = re.compile(r"<@(\d+)>")
POSITION = re.compile(r"(?:page|página) (\d+) (?:of|de) (\d+)")
FAILED = ("Something went wrong", "Algo salió mal")
LIMIT = 2000
SYNC = "Run /family sync apply:True to make these changes."  # a preview's last line
SWEEP = "Run /tier sweep apply:True to make these changes."


def buttons(message) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row["components"]]


def mentioned(text: str) -> list[int]:
    return [int(found) for found in MENTION.findall(text)]


def position(text: str) -> tuple[int, int] | None:
    """(page, pages) of a paged list's "page 1 of 3" line ("página 1 de 3")."""
    found = POSITION.search(text)
    return (int(found[1]), int(found[2])) if found else None


def english(person: Person) -> bool:
    """They read Familia in English (chosen, or their Discord app's when they chose none)."""
    return (person.locale or person.discord_locale) == "en"


async def answer(app, user, name, options=None, *, last=None, **kwargs):
    """Run a command; every message of its answer once they stopped coming (a split answer:
    until a part ends with ``last``, or has it in its last line). Asserts it is an answer,
    not an error, and private."""
    it = await app.run(user, name, options, **kwargs)
    await it.reply_text()
    if last is not None:  # its parts follow one by one
        await app.emu.wait_for(lambda: last in it.messages[-1].content.rsplit("\n", 1)[-1],
                               timeout=10, what=f"the part ending {last!r}")
    count = 0
    while count != len(it.messages):  # nothing more comes
        count = len(it.messages)
        await asyncio.sleep(0.2)
    text = "\n".join(m.content for m in it.messages)
    assert not any(failed in text for failed in FAILED), text[:300]
    assert it.ephemeral and all(len(m.content) <= LIMIT for m in it.messages)
    return it, text


async def turn(app, user, message, custom_id):
    """Click a page button; the page it turned to (edited in place)."""
    click = await app.emu.click(user, message, custom_id)
    text = await click.reply_text()
    assert not any(failed in text for failed in FAILED), text[:300]
    assert len(text) <= LIMIT
    return click.original, text


async def paged(app, user, it, text, pages):
    """A first page of ``pages`` with only ▶️; page 2 with ◀️ (and ▶️ if there is a third):
    returns the second page's text."""
    assert position(text) == (1, pages), text[:200]
    (forward,) = buttons(it.messages[0])
    assert forward.endswith(":1")
    second, two = await turn(app, user, it.messages[0], forward)
    assert position(two) == (2, pages), two[:200]
    assert len(buttons(second)) == (2 if pages > 2 else 1)
    return two


async def checked_in(app, made, user_id, days) -> int:
    """How many of their last ``days`` local days a person checked in (the builder's rows)."""
    today = local_date(app.clock.now(), made.zone_of(user_id))
    return await app.services.db.fetchval(
        "SELECT count(*) FROM checkins WHERE guild_id = ? AND user_id = ? AND local_date > ?",
        (app.guild.id, user_id, (today - timedelta(days=days)).isoformat()))


def first(people, test):
    return next(p for p in people if test(p))


async def test_the_manager_lists_the_whole_program(app):
    made: Program = await app.program("program")
    owner = app.owner
    names = {f.name for f in made.families}

    # /family list: 30 families, 15 a page
    it, text = await answer(app, owner, "family", subcommand="list")
    assert "(30)" in text
    two = await paged(app, owner, it, text, 2)
    listed = re.compile(r"^- \*\*(.+?)\*\* ·", re.M)
    one, other = set(listed.findall(text)), set(listed.findall(two))
    assert len(one) == len(other) == 15 and one | other == names

    # /family roster of a family: its members, 10 a page
    family = max(made.families, key=lambda f: len(f.member_ids))
    it, text = await answer(app, owner, "family", {"family": family.name}, subcommand="roster")
    assert f"({len(family.member_ids)})" in text
    two = await paged(app, owner, it, text, 2)
    assert len(mentioned(text)) == 10 and set(mentioned(text)) | set(mentioned(two)) == set(
        family.member_ids)

    # /leaderboard families: 30 families, 10 a page
    it, text = await answer(app, owner, "leaderboard", subcommand="families")
    two = await paged(app, owner, it, text, 3)
    ranked = re.compile(r"^`#\d+` \*\*(.+?)\*\*", re.M)
    assert len(ranked.findall(text)) == len(ranked.findall(two)) == 10
    assert not set(ranked.findall(text)) & set(ranked.findall(two))

    # /leaderboard creators, last month: 300 creators, 10 a page (the board's own "page 2")
    it, text = await answer(app, owner, "leaderboard", {"period": "last_month"},
                            subcommand="creators")
    assert len(mentioned(text)) == 10 and it.messages[0].attachments  # and its chart
    (forward,) = buttons(it.messages[0])
    second, two = await turn(app, owner, it.messages[0], forward)
    assert "· page 2" in two and len(buttons(second)) == 2
    assert len(mentioned(two)) == 10 and not set(mentioned(text)) & set(mentioned(two))

    # /progress risk of the family with the most creators at risk (at this size 5 at most:
    # one page of 5; the buttons are for bigger families)
    risks = {f.id: await app.services.pace.at_risk(app.guild.id, f.id) for f in made.families}
    family = max(made.families, key=lambda f: len(risks[f.id]))
    it, text = await answer(app, owner, "progress", {"family": family.name}, subcommand="risk")
    assert f"**At risk this month** · **{family.name}**" in text
    assert 3 <= len(risks[family.id]) <= 5 and not buttons(it.messages[0])
    assert mentioned(text) == [r.user_id for r in risks[family.id]]
    assert set(mentioned(text)) <= set(family.creator_ids)

    # /family history of someone who left: the ended membership and why
    leaver = made.leavers[0]
    it, text = await answer(app, owner, "family", {"member": made.extra["users"][leaver.user_id]},
                            subcommand="history")
    assert f"<@{leaver.user_id}>" in text
    assert f"**{made.families[0].name}**: " in text and "→ now" not in text

    # /family sync: no family has its role or channel in Discord; the preview splits
    it, text = await answer(app, owner, "family", subcommand="sync", last=SYNC)
    assert len(it.messages) > 1
    assert text.startswith("**Role sync preview**") and text.endswith(SYNC)
    assert all(f"The role of {name} is missing" in text and
               f"The channel of {name} is missing" in text for name in names)

    # /tier sweep: last month was swept when the program was made; April splits
    it, text = await answer(app, owner, "tier", subcommand="sweep")
    assert "No tier changes" in text
    it, text = await answer(app, owner, "tier", {"month": "2026-04"}, subcommand="sweep",
                            last=SWEEP)
    changes = await app.services.tiers.plan(app.guild.id, "2026-04")
    assert len(changes) > 60 and len(it.messages) > 1
    assert text.startswith("**Tier preview for 2026-04**") and text.endswith(SWEEP)
    shown = [c.user_id for c in changes[:SWEEP_SHOWN]]  # then "…and N more"
    assert mentioned(text) == shown  # each once, in order, none lost at a cut

    # /campaign list and the board of the running campaign
    it, text = await answer(app, owner, "campaign", subcommand="list")
    assert "**Monthly push**" in text and f"`#{made.campaign_id}`" in text
    it, text = await answer(app, owner, "campaign", subcommand="board")
    assert "**Monthly push**" in text and len(mentioned(text)) == 15


async def test_a_leader_lists_their_family(app):
    made = await app.program("program")
    users = made.extra["users"]
    family = first(made.families, lambda f: english(made.person(f.leader_id)) and
                   len(f.member_ids) > 10)
    leader = users[family.leader_id]

    it, text = await answer(app, leader, "family", subcommand="roster")
    assert f"**Roster of {family.name}** ({len(family.member_ids)})" in text
    two = await paged(app, leader, it, text, 2)
    assert set(mentioned(text)) | set(mentioned(two)) == set(family.member_ids)

    # a creator's 90 days, a week a page
    creator = made.person(family.creator_ids[0])
    days = await checked_in(app, made, creator.user_id, 90)
    it, text = await answer(app, leader, "checkins",
                            {"member": users[creator.user_id], "days": 90},
                            subcommand="history")
    assert "Check-ins of the last 90 days" in text
    two = await paged(app, leader, it, text, -(-days // 7))
    lines = re.compile(r"^- \*\*(.+?)\*\*:", re.M)
    assert len(lines.findall(text)) == len(lines.findall(two)) == 7
    assert not set(lines.findall(text)) & set(lines.findall(two))

    it, text = await answer(app, leader, "progress", subcommand="risk")
    assert f"**At risk this month** · **{family.name}**" in text
    assert set(mentioned(text)) <= set(family.creator_ids)

    it, text = await answer(app, leader, "family", {"member": users[creator.user_id]},
                            subcommand="history")
    assert f"**{family.name}**: " in text and "→ now" in text


async def test_a_creator_reads_their_days_and_the_boards(app):
    made = await app.program("program")
    users = made.extra["users"]
    start = made.now.date() - timedelta(days=90)
    person = first(made.creators, lambda p: english(p) and p.joined < start)
    me = users[person.user_id]

    it, text = await answer(app, me, "checkins", {"days": 90}, subcommand="history")
    assert f"**Check-ins of the last 90 days** · <@{me.id}>" in text and "Streak" in text
    days = await checked_in(app, made, me.id, 90)
    assert days > 30  # a creator since before the 90 days: weeks of pages
    await paged(app, me, it, text, -(-days // 7))

    it, text = await answer(app, me, "family", subcommand="history")
    family = next(f for f in made.families if f.id == person.family_id)
    assert f"**{family.name}**: " in text and "→ now" in text

    it, text = await answer(app, me, "leaderboard", subcommand="families")
    await paged(app, me, it, text, 3)

    it, text = await answer(app, me, "leaderboard", subcommand="creators")
    assert len(mentioned(text)) >= 10 and buttons(it.messages[0])

    it, text = await answer(app, me, "campaign", subcommand="list")
    assert "**Monthly push**" in text and "#" not in text  # ids are for managers

    it, text = await answer(app, me, "campaign", subcommand="board")
    rows = await app.services.campaigns.board_rows(
        await app.services.campaigns.get(app.guild.id, made.campaign_id))
    assert len(rows) > 100 and mentioned(text)[:15] == [r.user_id for r in rows[:15]]
    mine = next(r for r in rows if r.user_id == me.id)
    assert mine.rank > 15 and f"You: #{mine.rank} with" in text  # below the board: their place


async def test_promotions_are_posted_in_each_familys_channel(app):
    """A manager applies April's tiers again: the answer splits; every family with a
    promotion gets its post, which fits and names its promoted creators without a ping."""
    made = await app.program("program", channels=True)
    changes = await app.services.tiers.plan(app.guild.id, "2026-04")
    it, text = await answer(app, app.owner, "tier", {"month": "2026-04", "apply": True},
                            subcommand="sweep", last=f"<@{changes[:SWEEP_SHOWN][-1].user_id}>")
    assert len(it.messages) > 1 and "**Tiers for 2026-04 applied**" in text
    assert mentioned(text) == [c.user_id for c in changes[:SWEEP_SHOWN]]
    promoted = {f.id: [c.user_id for c in changes if c.promotion and c.family_id == f.id]
                for f in made.families}
    expected = {f.channel_id: promoted[f.id] for f in made.families if promoted[f.id]}
    assert len(expected) > 20

    def posted(channel_id):
        return "\n".join(p.content for p in app.emu.messages(channel_id))

    await app.emu.wait_for(lambda: all(sorted(mentioned(posted(c))) == sorted(people)
                                       for c, people in expected.items()),
                           timeout=10, what="every family's promotions, each named once")
    for channel_id in expected:
        assert posted(channel_id).startswith("🎉 **Promotions**")  # the server's language
        assert all(len(p.content) <= LIMIT and not p.mentions
                   for p in app.emu.messages(channel_id))
    assert not any(app.emu.messages(f.channel_id) for f in made.families
                   if f.channel_id not in expected)  # nobody promoted: nothing posted


@pytest.mark.slow  # 80 sends through the paced sender: several seconds
async def test_the_daily_summary_and_roll_call_reach_every_family(app):
    """Every leader's daily summary comes by DM, or in the family channel when their DMs are
    closed; the roll-call names each family's missing creators; /reminders why says so."""
    made = await app.program("program", channels=True)
    users = made.extra["users"]
    closed, open_ = [f for f in made.families if english(made.person(f.leader_id))][:2]
    app.emu.close_dms(users[closed.leader_id])
    when = (app.clock.now() - timedelta(minutes=1)).strftime("%H:%M")
    await app.services.checkins.update_settings(app.guild.id, app.owner.id, summary_time=when,
                                                rollcall_time=when)
    before = {f.id: len(app.emu.messages(f.channel_id)) for f in made.families}
    done = await app.bot.get_cog("Reminders").sweep()
    summaries = [(d, o) for d, o in done if d.kind == "summary"]
    leaders = {u for f in made.families for u in (f.leader_id, f.co_leader_id) if u}
    assert {d.recipient_id for d, _ in summaries} == leaders
    assert all(o.state == "sent" for _, o in summaries), [o for _, o in summaries]
    assert [d.kind for d, _ in done].count("rollcall") == 30

    family_of = {u: f for f in made.families for u in f.member_ids}
    for due, outcome in summaries:
        family = family_of[due.recipient_id]
        if due.recipient_id == closed.leader_id:
            assert outcome.route == "channel"
            posts = [p for p in app.emu.messages(family.channel_id)[before[family.id]:]
                     if "📊" in p.content]
        else:
            assert outcome.route == "dm"
            posts = app.emu.dms(users[due.recipient_id])
        text = "\n".join(p.content for p in posts)
        assert text.count("📊 **") == 1, text[:300]
        named = set(due.users) | {user for user, _ in due.missed}
        assert named and set(mentioned(text)) == named <= set(family.member_ids)
        assert all(len(p.content) <= LIMIT and not p.mentions for p in posts)  # never pinged
    for due, _ in done:
        if due.kind == "rollcall":  # the family's missing creators, each named (and pinged)
            (post,) = [p for p in app.emu.messages(due.channel_id)[before[due.family_id]:]
                       if "📊" not in p.content]
            assert set(post.mentions) == set(mentioned(post.content)) == set(due.users)

    _, text = await answer(app, users[closed.leader_id], "reminders", subcommand="why")
    assert "leaders' summary: your DMs were closed, so you were named in the family channel" \
        in text
    _, text = await answer(app, users[open_.leader_id], "reminders", subcommand="why")
    assert "leaders' summary: sent by DM" in text

    rollcall = next(d for d, _ in done if d.kind == "rollcall" and any(
        english(made.person(u)) for u in d.users))
    missing = next(u for u in rollcall.users if english(made.person(u)))
    _, text = await answer(app, users[missing], "reminders", subcommand="why")
    assert "family roll-call: posted in the family channel" in text
