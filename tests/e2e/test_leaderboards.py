"""/leaderboard and /progress end to end: pages through buttons, charts, refusals, the
scheduled weekly post (once) and its buttons."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.localtime import iso_week
from bot.program import CheckinRow, record_checkins
from bot.services.families import AGREEMENT_VERSION
from emulator.models import SEND_MESSAGES, Overwrite


async def stat(app, user_id, day, hours, diamonds=0):
    await record_checkins(app.services, app.guild.id,
                          [CheckinRow(user_id, day, hours, diamonds)])


@pytest.fixture
async def lobos(app):
    """Lena leads Lobos; 12 creators streamed this week: 12, 11, ... 1 hours, with ties at 5 h
    (people 7 and 8) and at 3 h (9 and 10, across the first page's end)."""
    lena = app.user("lena")
    families = app.services.families
    family = await families.create(app.guild.id, app.owner.id, "Lobos", lena.id)
    people = []
    today = app.clock.now().date()
    for i in range(12):
        user = app.user(f"c{i:02d}")
        # invited and accepted: their own decision, nobody is told (DMs are counted)
        invite = await families.invite(app.guild.id, lena.id, family.id, user.id,
                                       as_manager=False)
        await families.decide(app.guild.id, user.id, invite.id, True,
                              agreement_version=AGREEMENT_VERSION)
        await stat(app, user.id, today, {8: 5, 10: 3}.get(i, 12 - i), diamonds=100 * i)
        people.append(user)
    return family, lena, people


def buttons(message):
    return {c["custom_id"]: c for row in message.components for c in row["components"]}


async def test_pages_through_the_board_with_buttons(app, lobos):
    _, _, people = lobos
    last = people[-1]  # 1 hour: rank 12, off the first page
    it = await app.run(last, "leaderboard", subcommand="creators")
    text = await it.reply_text()
    assert it.ephemeral and "**Hours live**" in text
    assert f"🥇 <@{people[0].id}> — 12 hours" in text
    assert f"`#8` <@{people[7].id}> — 5 hours" in text  # tied with people[8]
    assert "You: #12 with 1 hour." in text
    message = it.messages[0]
    assert [a.filename for a in message.attachments] == ["leaderboard.png"]
    assert message.attachments[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    (next_id,) = buttons(message)
    assert next_id.startswith("familia:lb:hours:week:") and next_id.endswith(":program:0:0:1")
    click = await app.emu.click(last, message, next_id)
    text = await click.reply_text()
    assert "page 2" in text and f"`#10` <@{people[10].id}> — 3 hours" in text
    assert f"`#12` <@{last.id}> — 1 hour ⬅️" in text and "You: #" not in text
    page_two = click.original
    assert set(buttons(page_two)) == {next_id.rsplit(":", 1)[0] + ":0"}  # only Prev
    back = await app.emu.click(last, page_two, next(iter(buttons(page_two))))
    assert "🥇" in await back.reply_text()


async def test_bad_range_is_refused_in_spanish(app, lobos):
    _, _, people = lobos
    it = await app.run(people[0], "leaderboard", {"period": "custom", "from": "2026-03-09",
                                                  "to": "2026-03-01"},
                       subcommand="creators", locale="es-419")
    text = await it.reply_text()
    assert it.ephemeral and "Invierte las fechas" in text
    it = await app.run(people[0], "leaderboard", {"former": True}, subcommand="creators")
    assert "Only program managers" in await it.reply_text()
    it = await app.run(people[0], "leaderboard", {"metric": "followers"}, subcommand="creators")
    assert "Nobody has anything on this board yet." in await it.reply_text()
    assert it.messages[0].attachments == [] and it.messages[0].components == []


async def test_outsider_cannot_see_boards_and_family_board_ranks_families(app, lobos):
    text = await app.reply(app.user("olga"), "leaderboard", subcommand="creators")
    assert "program" in text and "🥇" not in text
    text = await app.reply(lobos[1], "leaderboard", {"by": "total"}, subcommand="families")
    # 12 creators: Lena, the leader, did not stream this week, so she is no member of the
    # average (bot/services/population.py)
    assert "**Lobos**" in text and "total 80 hours" in text and "12 members" in text
    assert "average 6.7 hours" in text


async def test_weekly_post_once_and_its_buttons_answer_privately(app, lobos):
    _, _, people = lobos
    channel = app.emu.create_channel(app.guild, "leaderboard")
    await app.services.guilds.set_channel(app.guild.id, app.owner.id, "leaderboard", channel.id)
    # This week's stats become last week's: move them back seven days.
    week = iso_week(app.clock.now().date())
    last = iso_week(app.clock.now().date() - timedelta(days=7))
    async with app.services.db.transaction() as tx:
        await tx.execute("UPDATE progress_totals SET period = ? WHERE period = ?", (last, week))
    cog = app.bot.get_cog("Leaderboards")
    await cog.sweep()
    await cog.sweep()
    posts = app.emu.messages(channel)
    assert len(posts) == 1 and "Final standings" in posts[0].content
    assert posts[0].mentions == [] and posts[0].attachments
    states = await app.services.db.fetchall("SELECT kind, state FROM board_posts")
    assert sorted(tuple(r) for r in states) == [("month", "empty"), ("week", "sent")]
    (next_id,) = buttons(posts[0])
    click = await app.emu.click(people[11], posts[0], next_id)
    text = await click.reply_text()
    assert click.ephemeral and "page 2" in text
    assert "Final standings" in app.emu.messages(channel)[0].content  # post unchanged


async def test_a_manager_posts_a_final_board_again(app, lobos):
    _, lena, _ = lobos
    text = await app.reply(app.owner, "leaderboard", subcommand="post")
    assert "leaderboard channel" in text.lower()  # none set yet
    channel = app.emu.create_channel(app.guild, "leaderboard")
    await app.services.guilds.set_channel(app.guild.id, app.owner.id, "leaderboard", channel.id)
    week = iso_week(app.clock.now().date())
    last = iso_week(app.clock.now().date() - timedelta(days=7))
    async with app.services.db.transaction() as tx:
        await tx.execute("UPDATE progress_totals SET period = ? WHERE period = ?", (last, week))
    for _ in range(2):  # each time asked, once
        text = await app.reply(app.owner, "leaderboard", subcommand="post")
        assert f"Posted the board in <#{channel.id}>." in text
    posts = app.emu.messages(channel)
    assert len(posts) == 2 and all("Final standings" in p.content for p in posts)
    assert posts[0].mentions == [] and posts[0].attachments
    assert "managers" in (await app.reply(lena, "leaderboard", subcommand="post")).lower()
    # A channel Familia may not post in: the answer says so, as when it posted directly.
    closed = app.emu.create_channel(app.guild, "closed-board", overwrites=[
        Overwrite(app.emu.bot_role(app.guild).id, 0, deny=SEND_MESSAGES)])
    await app.services.guilds.set_channel(app.guild.id, app.owner.id, "leaderboard", closed.id)
    text = await app.reply(app.owner, "leaderboard", subcommand="post")
    assert "missing a Discord permission" in text and "Posted" not in text
    assert app.emu.messages(closed) == []


async def test_progress_view_and_leader_risk_list(app, lobos):
    _, lena, people = lobos
    await app.services.tiers.define(app.guild.id, app.owner.id, "Gold", 1, min_hours=400)
    it = await app.run(people[0], "progress", subcommand="view")
    text = await it.reply_text()
    assert "**Progress**" in text and "short of Gold at this pace" in text
    assert [a.filename for a in it.messages[0].attachments] == ["progress.png"]
    text = await app.reply(lena, "progress", subcommand="risk")
    assert "At risk this month" in text and f"<@{people[0].id}>" in text
    text = await app.reply(people[1], "progress", subcommand="risk")
    assert "leaders" in text.lower() and "At risk" not in text
    text = await app.reply(people[1], "progress", {"member": people[0]}, subcommand="view")
    assert "family you lead" in text
    it = await app.run(lena, "progress", subcommand="family")
    assert "**Lobos**" in await it.reply_text()
    assert [a.filename for a in it.messages[0].attachments] == ["family.png"]


async def test_opt_in_nudge_is_one_dm_a_week(app, lobos):
    _, _, people = lobos
    assert app.bot.scheduler.get_job("progress.nudges") is not None
    assert app.bot.scheduler.get_job("leaderboards.posts") is not None
    await app.services.tiers.define(app.guild.id, app.owner.id, "Gold", 1, min_hours=400)
    text = await app.reply(people[3], "progress", {"state": "on"}, subcommand="nudge")
    assert "once a week" in text
    cog = app.bot.get_cog("Progress")
    await cog.nudge_sweep()
    await cog.nudge_sweep()
    dms = await app.emu.wait_for(lambda: app.emu.messages(app.emu.dm_channel(people[3])),
                                 what="the nudge DM")
    assert len(dms) == 1 and "short of Gold at this pace" in dms[0].content
    assert app.emu.messages(app.emu.dm_channel(people[4])) == []  # did not opt in
