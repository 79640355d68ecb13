"""/campaign end to end: create with options and a modal, preview, schedule, the start
announcement with its Enrol button, progress, the board, reminders and results posted on their
own (time travel on the frozen clock), reward roles, the CSV, refusals, and a post left
unfinished by a dead process settled by the delivery sender without a second message."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from bot.clock import to_db
from bot.delivery.queue import DeliveryQueue
from bot.delivery.sender import DeliverySender, buttons
from bot.program import CheckinRow, record_checkins
from bot.services.campaigns.models import post_from_row
from bot.services.families import AGREEMENT_VERSION
from emulator.models import BOT_DEFAULT, MANAGE_ROLES


@pytest.fixture
async def program(app):
    """Red (ana, ceci) and Blue (ben) with channels; a Star role Familia can give."""
    s = app.services
    people = {n: app.user(n) for n in ("lena", "leo", "ana", "ceci", "ben")}
    channels = {}
    for name, leader, members in (("Red", "lena", ["ana", "ceci"]), ("Blue", "leo", ["ben"])):
        channel = app.emu.create_channel(app.guild, f"family-{name.lower()}")
        family = await s.families.create(app.guild.id, app.owner.id, name, people[leader].id,
                                         channel_id=channel.id)
        for member in members:
            # invited and accepted: their own decision, nobody is told (the queue is read)
            invite = await s.families.invite(app.guild.id, people[leader].id, family.id,
                                             people[member].id, as_manager=False)
            await s.families.decide(app.guild.id, people[member].id, invite.id, True,
                                    agreement_version=AGREEMENT_VERSION)
        channels[name] = channel
    star = app.emu.create_role(app.guild, "Star")
    await app.emu.wait_for(lambda: app.bot.get_guild(app.guild.id).get_role(star.id),
                           what="the Star role in the cache")
    return people, channels, star


def today(app, days=0):
    return (app.clock.now() + timedelta(days=days)).strftime("%Y-%m-%d")


async def stat(app, user, day, hours):
    await record_checkins(app.services, app.guild.id,
                          [CheckinRow(user.id, date.fromisoformat(day), hours)])


async def tick(app) -> None:
    """One pass of the campaign clock (as the scheduler runs it)."""
    await app.bot.get_cog("Campaigns").tick()


def button(message, prefix):
    return next(c for c in message.custom_ids if c.startswith(prefix))


async def draft(app, options, description="Stream more this week!"):
    it = await app.run(app.owner, "campaign", {
        "name": "Spring push", "metric": "hours", "start": today(app), "end": today(app, 6),
        "target": 5.0, **options}, subcommand="new")
    await it.wait_modal()
    return await it.submit({"description": description, "reward": "A shout-out"})


async def test_create_preview_schedule_enrol_progress_results(app, program):
    people, channels, star = program
    preview = await draft(app, {"reward_role": star})
    head = await preview.wait_message()
    assert preview.ephemeral and "Nothing is posted until you schedule it" in head.content
    assert "every family, 5 people · 2 family channels" in head.content
    [announcement] = await preview.wait_followups(1)  # exactly as it will be posted
    assert announcement.ephemeral and "Campaign “Spring push” starts now!" in announcement.content
    assert not app.emu.messages(channels["Red"])  # nothing posted from a draft

    scheduled = await app.emu.click(app.owner, head, button(head, "familia:cp:schedule:"))
    assert "is running" in await scheduled.reply_text()
    posts = {}
    for name, channel in channels.items():
        found = await app.emu.wait_for(lambda c=channel: app.emu.messages(c))
        assert len(found) == 1 and "starts now" in found[0].content
        assert "Stream more this week!" in found[0].content and "🎯" in found[0].content
        assert found[0].mention_everyone is False
        posts[name] = found[0]

    red = posts["Red"]
    joined = await app.emu.click(people["ana"], red, button(red, "familia:cp:enrol:"))
    assert "You are in “Spring push”" in await joined.reply_text()
    again = await app.emu.click(people["ana"], red, button(red, "familia:cp:enrol:"))
    assert "already enrolled" in await again.reply_text()
    text = await app.reply(people["ceci"], "campaign", subcommand="join")
    assert "You are in" in text

    await stat(app, people["ana"], today(app), 6)
    await stat(app, people["ceci"], today(app), 2)
    await stat(app, people["ben"], today(app), 9)  # not enrolled: not on the board
    mine = await app.emu.click(people["ana"], red, button(red, "familia:cp:me:"))
    text = await mine.reply_text()
    assert "6 hours" in text and "▰" * 10 in text and "Goal reached!" in text
    board = await app.reply(people["ben"], "campaign", subcommand="board")
    assert board.index(f"<@{people['ana'].id}>") < board.index(f"<@{people['ceci'].id}>")
    assert f"<@{people['ben'].id}>" not in board
    family = await app.reply(people["lena"], "campaign", {"family": "Red"},
                             subcommand="progress")
    assert "Family total: 8 hours" in family
    refused = await app.reply(people["leo"], "campaign", {"family": "Red"},
                              subcommand="progress")
    assert "their own family only" in refused

    # Time travel: halfway, the family channels get a reminder with the family's total
    # (just after it is due: later, "3 days left" would be due too and only it is posted).
    [running] = await app.services.campaigns.list_campaigns(app.guild.id, ("running",))
    started = app.clock.now()
    app.clock.set(running.due("midway") + timedelta(minutes=1))
    await tick(app)
    await tick(app)
    reminders = await app.emu.wait_for(
        lambda: [m for m in app.emu.messages(channels["Red"]) if "halfway" in m.content])
    assert len(reminders) == 1 and "**Red**: 8 hours" in reminders[0].content
    assert "1 member has reached the goal" in reminders[0].content

    # The campaign has ended; the next tick posts results and gives the role.
    log = app.emu.create_channel(app.guild, "managers-log")
    await app.reply(app.owner, "settings", {"purpose": "managers", "channel": log},
                    subcommand="channel")
    app.clock.set(started + timedelta(days=8))
    await tick(app)
    await tick(app)
    results = await app.emu.wait_for(
        lambda: [m for m in app.emu.messages(channels["Red"]) if "has ended" in m.content])
    assert "1 of 2 participants reached the goal." in results[0].content
    # Who reached the goal is named, without a notification.
    assert f"Reached the goal: <@{people['ana'].id}>." in results[0].content
    assert results[0].mentions == [] and f"<@{people['ceci'].id}>" not in results[0].content
    # The managers get the analysis with the CSV, once.
    [analysis] = await app.emu.wait_for(lambda: app.emu.messages(log))
    # Ana, Ben and Ceci; the leaders Lena and Leo did not stream, so they do not count
    assert "Participation: 2 of 3 creators" in analysis.content
    assert "-# Figures final since <t:" in analysis.content
    assert "leaders and co-leaders on the days they stream" in analysis.content
    assert "-# Figures final since <t:" in results[0].content
    assert "Announcements in the family channels: 6 posted, 0 failed." in analysis.content
    found = await app.services.campaigns.resolve(app.guild.id, "Spring push")
    assert analysis.attachments[0].filename == f"campaign-{found.id}-results.csv"
    assert "reached" in analysis.attachments[0].data.decode().splitlines()[0]
    await tick(app)
    assert len(app.emu.messages(log)) == 1
    again = await app.emu.click(app.owner, analysis, button(analysis, "familia:cp:results:"))
    assert "Participation: 2 of 3 creators" in await again.reply_text()
    refused = await app.emu.click(people["ana"], analysis,
                                  button(analysis, "familia:cp:results:"))
    assert "Only program managers" in await refused.reply_text()
    await app.emu.wait_for(lambda: star in app.emu.member_roles(app.guild, people["ana"]),
                           what="ana has the reward role")
    assert star not in app.emu.member_roles(app.guild, people["ceci"])
    it = await app.run(app.owner, "campaign", {"campaign": "Spring push"},
                       subcommand="results")
    text = await it.reply_text()
    assert "Participation: 2 of 3 creators" in text and "1 given" in text
    assert "Announcements in the family channels: 6 posted, 0 failed." in text
    attachment = (await it.wait_message()).attachments[0]
    rows = list(csv.DictReader(io.StringIO(attachment.data.decode())))
    assert rows[0]["user_id"] == str(people["ana"].id) and rows[0]["reward"] == "granted"
    edit = await app.reply(app.owner, "campaign", {"campaign": "Spring push", "name": "X"},
                           subcommand="edit")
    assert "can no longer be changed" in edit


async def test_a_reward_role_already_held_is_counted_apart_and_kept(app, program):
    people, channels, star = program
    ana = people["ana"]
    app.emu.give_role(app.guild, ana, star)  # before the campaign: not Familia's doing
    head = await (await draft(app, {"reward_role": star, "audience": "families",
                                    "families": "Red"})).wait_message()
    scheduled = await app.emu.click(app.owner, head, button(head, "familia:cp:schedule:"))
    assert "is running" in await scheduled.reply_text()
    assert "You are in" in await app.reply(ana, "campaign", subcommand="join")
    await stat(app, ana, today(app), 6)
    found = await app.services.campaigns.resolve(app.guild.id, "Spring push")
    app.clock.set(app.clock.now() + timedelta(days=8))
    await tick(app)
    await app.emu.wait_for(
        lambda: [m for m in app.emu.messages(channels["Red"]) if "has ended" in m.content])
    states = await app.services.deliveries.wait_settled(
        app.guild.id, [f"campaign-reward:{found.id}:{ana.id}"], 10)
    assert list(states.values()) == ["sent"]
    text = await app.reply(app.owner, "campaign", {"campaign": "Spring push"},
                           subcommand="results")
    assert "0 given, 1 already had it, 0 pending, 0 failed" in text
    assert star in app.emu.member_roles(app.guild, ana)


@pytest.mark.parametrize(("options", "expected"), [
    ({"end": "2020-01-01"}, "must come after the start"),
    ({"target": 0.0}, "more than zero"),
    ({"start": "2020-01-01", "end": "2020-01-05"}, "is in the past"),
    ({"start": "tomorrow"}, "is not a date I can read"),
    ({"audience": "families", "families": "Nobody"}, "find a family called “Nobody”"),
])
async def test_bad_input_is_refused_before_the_modal(app, program, options, expected):
    it = await app.run(app.owner, "campaign", {
        "name": "Bad", "metric": "hours", "start": today(app), "end": today(app, 6),
        "target": 5.0, **options}, subcommand="new")
    text = await it.reply_text()
    assert it.ephemeral and expected in text
    assert await app.services.db.fetchval("SELECT count(*) FROM campaigns") == 0


async def test_creators_cannot_manage_and_unmanageable_roles_are_refused(app, program):
    people, _, star = program
    text = await app.reply(people["ana"], "campaign", {
        "name": "Mine", "metric": "hours", "start": today(app), "end": today(app, 6),
        "target": 5.0}, subcommand="new")
    assert "managers" in text.lower()
    # Familia loses Manage Roles (GUILD_ROLE_UPDATE reaches the bot's cache).
    app.emu.set_bot_permissions(app.guild, BOT_DEFAULT & ~MANAGE_ROLES)
    await app.emu.wait_for(
        lambda: not app.bot.get_guild(app.guild.id).me.guild_permissions.manage_roles,
        what="the permission change in the cache")
    text = await app.reply(app.owner, "campaign", {
        "name": "Roles", "metric": "hours", "start": today(app), "end": today(app, 6),
        "target": 5.0, "reward_role": star}, subcommand="new")
    assert "cannot give the role Star" in text
    assert await app.services.db.fetchval("SELECT count(*) FROM campaigns") == 0


async def queued_start_post(app, families):
    """A campaign scheduled for ``families`` and started, its announcement rendered and
    queued for Discord; the bot's own sender is stopped: the test plays the processes."""
    app.bot.delivery_sender.stop()
    await (await draft(app, {"audience": "families", "families": families})).wait_message()
    service = app.services.campaigns
    campaign = await service.resolve(app.guild.id, "Spring push")
    # Schedule without the button so no pass of the campaign clock runs.
    await service.schedule(app.guild.id, app.owner.id, campaign.id)
    await service.sweep()
    [keys] = (await service.queue_posts(app.bot.get_cog("Campaigns").render)).values()
    return keys


async def restarted(app) -> DeliverySender:
    """The restarted process's sender: takes over the dead one's lease and drains."""
    fresh = DeliverySender(app.bot, DeliveryQueue(app.services.db, app.bot.clock))
    await fresh.queue.take_over()
    await fresh.drain()
    return fresh


async def test_a_post_left_claimed_by_a_dead_process_is_not_sent_twice(app, program):
    _, channels, _ = program
    [key] = await queued_start_post(app, "Red")
    # Do by hand what a dying process did: claim the post, send it, and die before
    # recording it as sent.
    [delivery] = await DeliveryQueue(app.services.db, app.bot.clock, owner="dying").claim()
    channel = app.bot.get_partial_messageable(delivery.channel_id, guild_id=app.guild.id)
    view = buttons(delivery.payload)
    sent = await channel.send(delivery.parts[0], nonce=delivery.nonce(0), view=view)
    view.stop()

    await restarted(app)
    assert [m.id for m in app.emu.messages(channels["Red"])] == [sent.id]
    row = await app.services.db.fetchone(
        "SELECT state, message_ids FROM deliveries WHERE dedupe_key = ?", (key,))
    assert (row["state"], row["message_ids"]) == ("sent", f"[{sent.id}]")
    assert not app.emu.messages(channels["Blue"])  # not in the audience


async def test_a_post_claimed_but_never_sent_is_sent_once_after_restart(app, program):
    _, channels, _ = program
    await queued_start_post(app, "Blue")
    # claimed, then the process died before sending
    await DeliveryQueue(app.services.db, app.bot.clock, owner="dying").claim()
    await restarted(app)
    posts = await app.emu.wait_for(lambda: app.emu.messages(channels["Blue"]))
    assert len(posts) == 1 and "starts now" in posts[0].content


async def test_a_post_the_old_poster_left_claimed_is_read_back_after_the_upgrade(app, program):
    _, channels, _ = program
    await (await draft(app, {"audience": "families", "families": "Red"})).wait_message()
    service = app.services.campaigns
    campaign = await service.resolve(app.guild.id, "Spring push")
    await service.schedule(app.guild.id, app.owner.id, campaign.id)
    await service.sweep()
    # Before the upgrade, the old poster claimed the post and sent it with its own nonce;
    # migration 0011 leaves such a post pending with the time it was claimed.
    post_id = await app.services.db.fetchval("SELECT id FROM campaign_posts")
    async with app.services.db.transaction() as tx:
        await tx.execute("UPDATE campaign_posts SET claimed_at = ? WHERE id = ?",
                         (to_db(app.clock.now()), post_id))
    [post] = [p async for p in _pending(app)]
    payload = await app.bot.get_cog("Campaigns").render(post)
    channel = app.bot.get_partial_messageable(post.channel_id, guild_id=app.guild.id)
    sent = await channel.send(payload["content"], nonce=f"cp{post_id}")

    await tick(app)  # handed over to the queue: read back, not sent again
    states = await app.services.deliveries.wait_settled(
        app.guild.id, [f"campaign-post:{post_id}"], 10)
    assert list(states.values()) == ["sent"]
    assert [m.id for m in app.emu.messages(channels["Red"])] == [sent.id]


async def _pending(app):
    for row in await app.services.db.fetchall(
            "SELECT * FROM campaign_posts WHERE state = 'pending'"):
        yield post_from_row(row)


async def test_a_long_announcement_is_split_cleanly_with_the_buttons_last(app, program):
    _, channels, _ = program
    description = ("Stream every day. " * 84).strip()  # 1,511 characters: over the limit
    refused = await draft(app, {"audience": "families", "families": "Red"}, description)
    assert "1,511 characters long; the limit is 1,500" in await refused.reply_text()
    description = description[:1500]
    it = await app.run(app.owner, "campaign", {
        "name": "N" * 60, "metric": "hours", "start": today(app), "end": today(app, 6),
        "target": 5.0, "audience": "families", "families": "Red"}, subcommand="new")
    await it.wait_modal()
    head = await (await it.submit({"description": description, "reward": "R" * 300})
                  ).wait_message()
    await app.emu.click(app.owner, head, button(head, "familia:cp:schedule:"))
    posts = await app.emu.wait_for(lambda: app.emu.messages(channels["Red"])[1:] and
                                   app.emu.messages(channels["Red"]))
    assert len(posts) == 2 and all(len(p.content) <= 2000 for p in posts)
    assert not posts[0].custom_ids and button(posts[1], "familia:cp:enrol:")
    assert "Stream every day." in posts[0].content


async def test_edit_a_draft_through_the_form(app, program):
    await (await draft(app, {})).wait_message()
    it = await app.run(app.owner, "campaign", {"campaign": "Spring push", "name": "Spring sprint",
                                               "target": 8.0}, subcommand="edit")
    modal = await it.wait_modal()
    assert "Stream more this week!" in str(modal)  # the form opens with the current texts
    head = await (await it.submit({"description": "Eight hours now", "reward": ""})
                  ).wait_message()
    assert "Campaign #1: Spring sprint" in head.content and "📝 draft" in head.content
    campaign = await app.services.campaigns.get(app.guild.id, 1)
    assert (campaign.target_creator, campaign.description) == (8.0, "Eight hours now")
    text = await app.reply(app.owner, "campaign", {"campaign": "Spring sprint",
                                                   "end": "2020-01-01"}, subcommand="edit")
    assert "must come after the start" in text
    assert (await app.services.campaigns.get(app.guild.id, 1)).end_text() != "2020-01-01"


async def test_edit_every_rule_of_a_draft_and_none_of_a_running_campaign(app, program):
    _, channels, star = program
    await (await draft(app, {"reward_role": star, "family_target": 12.0})).wait_message()
    it = await app.run(app.owner, "campaign", {
        "campaign": "Spring push", "metric": "days", "target": 3.0, "families": "Blue",
        "enrolment": "auto", "reminders": "lastday", "clear": "target_family,reward_role_id"},
        subcommand="edit")
    await it.wait_modal()
    head = await (await it.submit({"description": "Check in 3 days", "reward": ""})
                  ).wait_message()
    assert "1 family, 2 people · 1 family channel" in head.content
    assert "everyone in the audience takes part" in head.content
    assert "Reminders: last day" in head.content
    c = await app.services.campaigns.resolve(app.guild.id, "Spring push")
    assert (c.metric, c.target_creator, c.target_family, c.reward_role_id) == (
        "days", 3.0, None, None)
    assert (c.audience, c.enrolment, c.reminders) == ("families", "auto", ("lastday",))
    refused = await app.reply(app.owner, "campaign", {
        "campaign": "Spring push", "target": 4.0, "clear": "target_creator"}, subcommand="edit")
    assert "You gave a new `target` and also chose to clear it" in refused

    await app.emu.click(app.owner, head, button(head, "familia:cp:schedule:"))
    await app.emu.wait_for(lambda: app.emu.messages(channels["Blue"]))
    text = await app.reply(app.owner, "campaign", {"campaign": "Spring push",
                                                   "audience": "all"}, subcommand="edit")
    assert "A running campaign keeps its rules" in text  # refused before the form
    assert (await app.services.campaigns.get(app.guild.id, c.id)).audience == "families"
