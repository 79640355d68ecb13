"""/checkin, feedback, roll-call and DM reminders end to end through the emulator."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.program import CheckinRow, record_checkins
from bot.services.families import AGREEMENT_VERSION

STATS = {"hours": "2,5", "diamonds": "1200", "followers": "15", "peak_viewers": "80",
         "notes": "Tried a new game"}


@pytest.fixture
async def lobos(app):
    """A family with a channel, its leader Lena and creator Ana."""
    lena, ana = app.user("lena"), app.user("ana")
    channel = app.emu.create_channel(app.guild, "lobos")
    families = app.services.families
    family = await families.create(app.guild.id, app.owner.id, "Lobos", lena.id,
                                   channel_id=channel.id)
    request = await families.request_join(app.guild.id, ana.id, family.id, AGREEMENT_VERSION)
    await families.decide(app.guild.id, lena.id, request.id, True)
    # she is told by DM before the tests close her DMs or read the channel
    await app.emu.wait_for(lambda: app.emu.dms(ana), what="ana told she was approved")
    return family, channel, lena, ana


async def checkin(app, user, values=STATS, **options):
    it = await app.run(user, "checkin", options or None)
    return await it.submit(values)


async def test_checkin_modal_reply_and_family_post(app, lobos):
    _, channel, _, ana = lobos
    done = await checkin(app, ana, mood=4)
    text = await done.reply_text()
    assert done.ephemeral and "Checked in for" in text and "2.5 hours live" in text
    assert "Streak: 1 day" in text and "This week so far" in text
    post = await app.emu.wait_for(lambda: app.emu.messages(channel), what="the family post")
    assert f"<@{ana.id}> checked in" in post[0].content and post[0].mentions == []
    # editing today's replaces it: the same post is edited, nothing new is stored
    done = await checkin(app, ana, {**STATS, "hours": "4"})
    assert "updated" in await done.reply_text()
    await app.emu.wait_for(lambda: "4 hours live" in app.emu.messages(channel)[0].content,
                           what="the edited post")
    assert len(app.emu.messages(channel)) == 1
    assert await app.services.db.fetchval("SELECT count(*) FROM checkins") == 1


async def test_a_seven_day_streak_is_celebrated_in_the_family_channel(app, lobos):
    _, channel, _, ana = lobos
    today = app.clock.now().date()  # the guild's zone is UTC
    await record_checkins(app.services, app.guild.id, [  # six earlier days, already reported
        CheckinRow(ana.id, today - timedelta(days=back), 2) for back in range(1, 7)])
    text = await (await checkin(app, ana)).reply_text()
    assert "Streak: 7 days" in text
    posts = await app.emu.wait_for(lambda: [m for m in app.emu.messages(channel)
                                            if "streak" in m.content], what="the milestone")
    assert f"<@{ana.id}> reached a 7-day check-in streak!" in posts[0].content
    assert posts[0].mentions == [ana.id]  # only she is pinged
    done = await checkin(app, ana, {**STATS, "hours": "3"})  # an edit is no new milestone
    assert "updated" in await done.reply_text()
    await app.emu.wait_for(lambda: any("3 hours live" in m.content
                                       for m in app.emu.messages(channel)), what="the edit")
    assert len([m for m in app.emu.messages(channel) if "streak" in m.content]) == 1


async def test_bad_input_is_refused_in_spanish_and_nothing_stored(app, lobos):
    _, _, _, ana = lobos
    await app.services.members.set_locale(app.guild.id, ana.id, "es")
    it = await app.run(ana, "checkin")
    done = await it.submit({**STATS, "hours": "30"})
    text = await done.reply_text()
    assert done.ephemeral and "no es una cantidad de horas" in text
    outsider = app.user("olga")
    text = await app.reply(outsider, "checkin")
    assert "creator program" in text or "family" in text
    assert await app.services.db.fetchval("SELECT count(*) FROM checkins") == 0


async def test_someone_else_cannot_submit_my_form(app, lobos):
    _, _, lena, ana = lobos
    it = await app.run(ana, "checkin")
    done = await it.submit(STATS, user=lena)
    assert "belongs to someone else" in await done.reply_text()
    assert await app.services.db.fetchval("SELECT count(*) FROM checkins") == 0


async def test_feedback_button_leaders_only_dm_or_next_checkin(app, lobos):
    _, channel, lena, ana = lobos
    await (await checkin(app, ana)).reply_text()
    post = (await app.emu.wait_for(lambda: app.emu.messages(channel), what="post"))[0]
    checkin_id = await app.services.db.fetchval("SELECT id FROM checkins")
    custom_id = f"familia:fb:{checkin_id}"
    refused = await app.emu.click(ana, post, custom_id)
    assert "Only the leaders" in await refused.reply_text()
    opened = await app.emu.click(lena, post, custom_id)
    sent = await opened.submit({"feedback": "Great energy, keep the schedule!"})
    assert "by DM" in await sent.reply_text()
    dm = await app.emu.wait_for(lambda: app.emu.dms(ana), what="feedback DM")
    assert "Great energy" in dm[-1].content
    # DMs closed: stored and shown on the next /checkin
    app.emu.close_dms(ana)
    opened = await app.emu.click(lena, post, custom_id)
    sent = await opened.submit({"feedback": "Remember the weekly goal"})
    assert "DMs closed" in await sent.reply_text()
    text = await (await checkin(app, ana)).reply_text()
    assert "Remember the weekly goal" in text and "Great energy" not in text
    stats = await app.services.checkins.feedback_stats(
        app.guild.id, None, app.clock.now() - timedelta(hours=1),
        app.clock.now() + timedelta(hours=1))
    assert stats["feedback_rate"] == 1.0
    text = await app.reply(lena, "family", subcommand="stats")  # the service-quality KPI
    assert "Check-ins: 1 · with a leader's feedback: 1 (100%)" in text
    assert "Median time to the first feedback: 0 minutes" in text


async def test_a_dm_they_did_not_ask_for_is_in_their_discord_language(app, lobos):
    family, channel, lena, _ = lobos
    sofia = app.user("sofia", locale="es-419")  # never chose a language with /me
    request = await app.services.families.request_join(app.guild.id, sofia.id, family.id,
                                                       AGREEMENT_VERSION)
    await app.services.families.decide(app.guild.id, lena.id, request.id, True)
    await (await checkin(app, sofia)).reply_text()
    post = (await app.emu.wait_for(lambda: app.emu.messages(channel), what="post"))[0]
    checkin_id = await app.services.db.fetchval("SELECT id FROM checkins")
    opened = await app.emu.click(lena, post, f"familia:fb:{checkin_id}")  # Lena: English
    await (await opened.submit({"feedback": "¡Muy bien!"})).reply_text()
    dm = await app.emu.wait_for(lambda: app.emu.dms(sofia), what="feedback DM")
    assert "Comentarios sobre tu check-in" in dm[-1].content


@pytest.mark.slow
async def test_a_very_big_rollcall_is_cut_to_fit_discord(app, lobos):
    family, channel, lena, ana = lobos
    families = app.services.families
    for i in range(75):  # 76 creators missing (with Ana), the leader too: 77 names
        user = app.user(f"creator{i}")
        request = await families.request_join(app.guild.id, user.id, family.id,
                                              AGREEMENT_VERSION)
        await families.decide(app.guild.id, lena.id, request.id, True)
    now = app.clock.now() - timedelta(minutes=1)
    await app.services.checkins.update_settings(app.guild.id, app.owner.id,
                                                rollcall_time=now.strftime("%H:%M"))
    before = len(app.emu.messages(channel))
    done = await (await _reminder_cog(app)).sweep()
    assert [d.kind for d, _ in done] == ["rollcall"]
    posts = app.emu.messages(channel)[before:]
    assert len(posts) == 2 and all(len(p.content) <= 2000 for p in posts)
    named = [u for p in posts for u in p.mentions]
    assert len(named) == len(set(named)) == 77 and ana.id in named


async def test_post_mode_full_shows_everything_and_off_posts_nothing(app, lobos):
    _, channel, _, ana = lobos
    await app.services.checkins.update_settings(app.guild.id, app.owner.id, post_mode="full")
    await (await checkin(app, ana, {**STATS, "notes": "Tried a new game"}, mood=5)).reply_text()
    post = (await app.emu.wait_for(lambda: app.emu.messages(channel), what="post"))[-1]
    assert "Tried a new game" in post.content and "1,200" in post.content
    summary_posts = len(app.emu.messages(channel))
    await app.services.checkins.update_settings(app.guild.id, app.owner.id, post_mode="off")
    bea = app.user("bea")
    family = (await app.services.families.list_families(app.guild.id))[0]
    request = await app.services.families.request_join(app.guild.id, bea.id, family.id,
                                                       AGREEMENT_VERSION)
    await app.services.families.decide(app.guild.id, family.leader_user_id, request.id, True)
    text = await (await checkin(app, bea)).reply_text()
    assert "Checked in for" in text  # stored and answered...
    await asyncio.sleep(0.3)
    assert len(app.emu.messages(channel)) == summary_posts  # ...but not posted


async def _reminder_cog(app):
    return app.bot.get_cog("Reminders")


async def test_rollcall_mentions_only_the_missing(app, lobos):
    _, channel, lena, ana = lobos
    await (await checkin(app, ana)).reply_text()
    now = app.clock.now() - timedelta(minutes=1)
    await app.services.checkins.update_settings(app.guild.id, app.owner.id,
                                                rollcall_time=now.strftime("%H:%M"))
    done = await (await _reminder_cog(app)).sweep()
    assert [d.kind for d, _ in done] == ["rollcall"]
    rollcall = app.emu.messages(channel)[-1]
    assert "Roll-call" in rollcall.content and rollcall.mentions == [lena.id]
    assert f"<@{ana.id}>" not in rollcall.content
    assert await (await _reminder_cog(app)).sweep() == []  # never twice


async def test_dm_reminder_falls_back_to_channel_when_dms_closed(app, lobos):
    _, channel, _, ana = lobos
    when = (app.clock.now() - timedelta(minutes=1)).strftime("%H:%M")
    text = await app.reply(ana, "reminders", {"time": when}, subcommand=["dm", "on"])
    assert f"at {when} (UTC)" in text
    app.emu.close_dms(ana)
    done = await (await _reminder_cog(app)).sweep()
    assert [(d.kind, o.route) for d, o in done] == [("dm", "channel")]
    fallback = app.emu.messages(channel)[-1]
    assert fallback.mentions == [ana.id] and "not checked in yet" in fallback.content
    text = await app.reply(ana, "reminders", subcommand="why")
    assert "DMs were closed" in text
    today = app.clock.now().date()
    assert f"**{today:%b} {today.day}, {today.year}**" in text  # a date, not ISO text


async def test_dm_reminder_by_dm_and_history(app, lobos):
    _, _, lena, ana = lobos
    when = (app.clock.now() - timedelta(minutes=1)).strftime("%H:%M")
    await app.reply(ana, "reminders", {"time": when}, subcommand=["dm", "on"])
    await (await _reminder_cog(app)).sweep()
    dm = await app.emu.wait_for(lambda: app.emu.dms(ana), what="reminder DM")
    assert "not checked in yet" in dm[-1].content
    assert "personal reminder: sent by DM" in await app.reply(ana, "reminders",
                                                              subcommand="why")
    await (await checkin(app, ana)).reply_text()
    text = await app.reply(lena, "checkins", {"member": ana}, subcommand="history")
    assert "Check-ins of the last 7 days" in text and "2.5 hours live" in text
    text = await app.reply(ana, "checkins", {"member": lena}, subcommand="history")
    assert "only see the check-ins of members" in text


async def test_settings_and_leader_summary(app, lobos):
    _, _, lena, ana = lobos
    text = await app.reply(app.owner, "checkins", {"roll-call": "25:00"}, subcommand="settings")
    assert "is not a time" in text
    assert (await app.services.checkins.settings(app.guild.id)).rollcall_time is None
    text = await app.reply(ana, "checkins", {"posts": "full"}, subcommand="settings")
    assert "Only program managers" in text
    when = (app.clock.now() - timedelta(minutes=1)).strftime("%H:%M")
    text = await app.reply(app.owner, "checkins", {"posts": "full", "summary": when},
                           subcommand="settings")
    assert "Full" in text and f"{when} (UTC)" in text
    await (await checkin(app, ana)).reply_text()
    await (await _reminder_cog(app)).sweep()
    dm = await app.emu.wait_for(lambda: app.emu.dms(lena), what="the leader's summary")
    assert "Daily summary" in dm[-1].content and f"<@{ana.id}>" in dm[-1].content


async def test_feedback_waiting_for_closed_dms_follows_the_next_command(app, lobos):
    _, channel, lena, ana = lobos
    await (await checkin(app, ana)).reply_text()
    post = (await app.emu.wait_for(lambda: app.emu.messages(channel), what="post"))[0]
    checkin_id = await app.services.db.fetchval("SELECT id FROM checkins")
    app.emu.close_dms(ana)
    opened = await app.emu.click(lena, post, f"familia:fb:{checkin_id}")
    await (await opened.submit({"feedback": "Lovely stream, try a longer intro"})).reply_text()
    # any command next: its own answer, then the feedback, privately and without a ping
    it = await app.run(ana, "checkins", {"days": 7}, subcommand="history")
    await app.emu.wait_for(lambda: len(it.messages) >= 2, what="the feedback follow-up")
    follow_up = it.messages[-1]
    assert follow_up.ephemeral and "Lovely stream, try a longer intro" in follow_up.content
    assert follow_up.mentions == []
    # marked once Discord accepted the follow-up: just after the message appears
    via = await app.emu.wait_for(lambda: app.services.db.fetchval(
        "SELECT delivered_via FROM checkin_feedback"), what="the feedback marked delivered")
    assert via == "command"
    again = await app.run(ana, "checkins", {"days": 7}, subcommand="history")
    await again.reply_text()
    assert all("Lovely stream" not in m.content for m in again.messages)  # shown once


async def test_the_family_post_is_queued_and_a_replaced_checkin_edits_what_it_sent(app, lobos):
    """The post goes through the delivery queue (source checkin-post:<id>); replacing the
    check-in edits the message that delivery put on Discord, sending nothing new."""
    _, channel, _, ana = lobos
    await (await checkin(app, ana)).reply_text()
    [post] = await app.emu.wait_for(lambda: app.emu.messages(channel), what="the post")
    checkin_id = await app.services.db.fetchval("SELECT id FROM checkins")
    key = f"checkin-post:{checkin_id}"
    assert (await app.services.deliveries.wait_settled(app.guild.id, [key], 10)) == {
        key: "sent"}
    assert await app.services.db.fetchval(
        "SELECT message_ids FROM deliveries WHERE dedupe_key = ?", (key,)) == f"[{post.id}]"
    await (await checkin(app, ana, {**STATS, "hours": "5"})).reply_text()
    await app.emu.wait_for(lambda: "5 hours live" in post.content, what="the edited post")
    assert app.emu.messages(channel) == [post]
    assert await app.services.db.fetchval("SELECT count(*) FROM deliveries WHERE source = ?",
                                          (key,)) == 1
