"""A manager's Monday through the emulator (issue 19, must-haves 1, 2 and 7): the weekly
review posted once on its schedule to the managers' channel (its chart and CSV, pinging
nobody), the same on demand, an action recorded from it whose owner gets one DM on the due
day, listed, marked done with its history; a creator is refused the review."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
async def world(app):
    made = await app.program("small", channels=True)
    managers = app.emu.create_channel(app.guild, "managers")
    await app.services.guilds.set_channel(app.guild.id, app.owner.id, "managers", managers.id)
    users = made.extra["users"]
    family = made.families[0]
    return made, managers, users[family.leader_id], users[family.creator_ids[0]], family


async def test_the_scheduled_review_is_posted_once(app, world):
    _, managers, _, _, _ = world
    # The clock is Wednesday 17 June 2026, 12:00 UTC (the server's zone): post on Wednesdays
    # at 13:00, the last week (W24) is final already.
    text = await app.reply(app.owner, "review", {"day": 2, "hour": 13}, subcommand="schedule")
    assert "every Wednesday at 13:00" in text
    cog = app.bot.get_cog("Review")
    await cog.sweep()
    assert app.emu.messages(managers) == []  # not yet 13:00
    app.clock.advance(hours=1)
    await cog.sweep()
    await cog.sweep()  # a second sweep (a restart's catch-up) posts nothing more

    def posted():
        found = app.emu.messages(managers)
        return found if found and "/review act" in found[-1].content else None

    posts = await app.emu.wait_for(posted, what="the review's last part", timeout=30)
    assert "Weekly review · week 2026-W24" in posts[0].content
    assert sum("Weekly review" in p.content for p in posts) == 1
    assert all(len(p.content) <= 2000 and p.mentions == [] for p in posts)
    assert sorted(a.filename for a in posts[-1].attachments) == [
        "review-2026-W24.csv", "review-2026-W24.png"]
    assert "Whole program" in "\n".join(p.content for p in posts)
    assert await app.services.db.fetchval("SELECT count(*) FROM review_posts") == 1


async def test_on_demand_review_and_an_action_followed_through(app, world):
    _, _, leader, creator, _ = world
    it = await app.run(app.owner, "review", {}, subcommand="week")
    await app.emu.wait_for(lambda: it.messages and it.messages[-1].attachments,
                           what="the review with its files", timeout=30)
    text = await it.reply_text()
    assert "Weekly review · week 2026-W24" in text and "Whole program" in text
    assert it.ephemeral and it.messages[-1].attachments

    refused = await app.reply(creator, "review", {}, subcommand="week")
    assert "Weekly review" not in refused and ("managers" in refused or "gestores" in refused)

    text = await app.reply(app.owner, "review", {
        "note": "Check in with her about the new schedule", "owner": leader,
        "due": "2026-06-18", "creator": creator}, subcommand="act")
    assert "Action recorded" in text and f"<@{creator.id}>" in text
    [action_id] = [r[0] for r in await app.services.db.fetchall(
        "SELECT id FROM review_actions")]

    listed = await app.reply(leader, "review", {}, subcommand="actions")
    assert f"#{action_id}" in listed and "new schedule" in listed

    cog = app.bot.get_cog("Review")
    await cog.sweep()
    dm = app.emu.dm_channel(leader)
    assert app.emu.messages(dm) == []  # due tomorrow
    app.clock.advance(days=1)
    await cog.sweep()
    await cog.sweep()
    dms = await app.emu.wait_for(lambda: app.emu.messages(app.emu.dm_channel(leader)),
                                 what="the due-day DM")
    assert len(dms) == 1  # in the leader's language
    assert "is due today" in dms[0].content or "vence hoy" in dms[0].content
    assert f"#{action_id}" in dms[0].content

    refused = await app.reply(creator, "review", {"id": action_id}, subcommand="done")
    assert "History" not in refused and ("owner" in refused or "responsable" in refused)
    done = await app.reply(leader, "review", {"id": action_id}, subcommand="done")
    line = f"\n- `#{action_id}`"
    assert f"marked done:{line}" in done or f"marcada como hecha:{line}" in done
    assert done.count("<@") >= 4  # the action (creator, owner), its history's people
    listed = await app.reply(app.owner, "review", {}, subcommand="actions")
    assert "No open actions" in listed
