"""Long lists end to end: a big family's roster and a program's family list page with ◀️/▶️
("page 2 of 3"), every page within Discord's limits, and a click re-checks who may see it."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from bot.clock import to_db
from bot.cogkit.pages import nav
from bot.delivery.queue import Send
from bot.localtime import parse_local
from bot.services.campaigns import Spec
from bot.services.families import AGREEMENT_VERSION
from cogs.families import RosterPage

MEMBERS = 25


def buttons(message):
    return [c["custom_id"] for row in message.components for c in row["components"]]


@pytest.fixture
async def big_family(app):
    """Lena leads Lobos with 25 creators; Omar leads Osos (a family of one)."""
    lena, omar = app.user("lena"), app.user("omar")
    families = app.services.families
    lobos = await families.create(app.guild.id, app.owner.id, "Lobos", lena.id)
    await families.create(app.guild.id, app.owner.id, "Osos", omar.id)
    people = []
    for i in range(MEMBERS):
        user = app.user(f"c{i:02d}")
        request = await families.request_join(app.guild.id, user.id, lobos.id,
                                              AGREEMENT_VERSION)
        await families.decide(app.guild.id, lena.id, request.id, True)
        people.append(user)
    return lobos, lena, omar, people


def mentioned(text, people):
    return {p.id for p in people if f"<@{p.id}>" in text}


async def test_a_big_roster_pages_and_every_member_is_on_one_page(app, big_family):
    family, lena, _, people = big_family
    first = await app.run(lena, "family", subcommand="roster")
    text = await first.reply_text()
    assert first.ephemeral and "(26)" in text and "page 1 of 3" in text
    assert len(text) <= 2000
    message = first.messages[0]
    (next_id,) = buttons(message)
    assert next_id == f"familia:pg:roster:{family.id}:1"
    seen = mentioned(text, people)
    click = await app.emu.click(lena, message, next_id)
    two = await click.reply_text()
    assert "page 2 of 3" in two and len(two) <= 2000
    assert not seen & mentioned(two, people)  # another page, other members
    seen |= mentioned(two, people)
    page_two = click.original
    assert buttons(page_two) == [f"familia:pg:roster:{family.id}:0",
                                 f"familia:pg:roster:{family.id}:2"]
    last = await app.emu.click(lena, page_two, buttons(page_two)[1])
    three = await last.reply_text()
    assert "page 3 of 3" in three
    assert buttons(last.original) == [f"familia:pg:roster:{family.id}:1"]  # only ◀️
    assert seen | mentioned(three, people) == {p.id for p in people}


async def test_a_page_click_re_checks_who_may_see_it(app, big_family):
    """The custom id is data: another family's leader sending Lobos's page id is refused,
    as is a creator, and nothing of the roster is shown to them."""
    family, lena, omar, people = big_family
    first = await app.run(lena, "family", subcommand="roster")
    await first.reply_text()
    for stranger in (omar, people[3]):
        click = await app.emu.click(stranger, first.messages[0],
                                    f"familia:pg:roster:{family.id}:1")
        (refusal,) = await click.wait_followups(1)
        assert refusal.flags & 64 and "Roster" not in refusal.content
        assert "only for their own family" in refusal.content, refusal.content
        assert "page 1 of 3" in click.original.content  # the page did not turn


async def test_the_family_list_pages_in_spanish(app):
    families = app.services.families
    for i in range(40):
        leader = app.user(f"leader{i:02d}")
        await families.create(app.guild.id, app.owner.id, f"Familia {i:02d}", leader.id)
    first = await app.run(app.owner, "family", subcommand="list", locale="es-ES")
    text = await first.reply_text()
    assert "página 1 de 3" in text and "(40)" in text and "Familia 00" in text
    (next_id,) = buttons(first.messages[0])
    assert next_id == "familia:pg:families:0:1"
    click = await app.emu.click(app.owner, first.messages[0], next_id, locale="es-ES")
    two = await click.reply_text()
    assert "página 2 de 3" in two and "Familia 15" in two and "Familia 00" not in two
    creator = app.user("nobody")
    refused = await app.emu.click(creator, click.original, "familia:pg:families:0:2")
    refusal = await refused.reply_text()  # refused before the page is read
    assert refused.ephemeral and "Only program managers" in refusal
    assert "Familia 30" not in refusal and "página 2 de 3" in click.original.content


async def checked_in(app, user_id, days, notes, *, ago=0, family_id=None):
    """``days`` days of check-ins up to ``ago`` days before today, each with a note."""
    today, stamp = app.clock.now().date(), to_db(app.clock.now())
    async with app.services.db.transaction() as tx:
        for back in range(ago, ago + days):
            day = today - timedelta(days=back)
            await tx.execute(
                "INSERT INTO checkins (guild_id, user_id, family_id, local_date, timezone,"
                " hours, diamonds, followers, peak_viewers, mood, notes, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'UTC', 3.5, 12345, 67, 890, 4, ?, ?, ?)",
                (app.guild.id, user_id, family_id, day.isoformat(), notes, stamp, stamp))


async def test_a_month_of_checkins_pages_a_week_at_a_time(app, big_family):
    _, lena, omar, people = big_family
    ana = people[0]
    await checked_in(app, ana.id, 30, "Long stream today, " * 26)  # 500 characters
    first = await app.run(lena, "checkins", {"member": ana, "days": 30}, subcommand="history")
    text = await first.reply_text()
    assert "page 1 of 5" in text and len(text) <= 2000 and text.count("- **") == 7
    assert "Long stream today" in text and "…" in text  # the notes as an excerpt
    (next_id,) = buttons(first.messages[0])
    assert next_id == f"familia:pg:checkins:{ana.id}:30:1"
    click = await app.emu.click(lena, first.messages[0], next_id)
    assert "page 2 of 5" in await click.reply_text()
    # another family's leader: the same id is refused by the service's own check
    refused = await app.emu.click(omar, click.original, next_id[:-1] + "2")
    (refusal,) = await refused.wait_followups(1)
    assert "Long stream" not in refusal.content and "page 2 of 5" in click.original.content


async def test_thirty_families_rank_on_pages(app):
    families = app.services.families
    for i in range(30):
        leader = app.user(f"leader{i:02d}")
        await families.create(app.guild.id, app.owner.id, f"Familia {i:02d} " + "x" * 40,
                              leader.id)
    first = await app.run(app.owner, "leaderboard", subcommand="families")
    text = await first.reply_text()
    assert "page 1 of 3" in text and len(text) <= 2000 and text.count("`#") == 10
    (next_id,) = buttons(first.messages[0])
    assert next_id.startswith("familia:pg:lbfam:hours:week:") and next_id.endswith(":average:1")
    click = await app.emu.click(app.owner, first.messages[0], next_id)
    two = await click.reply_text()
    assert "page 2 of 3" in two and "Familia 10" in two and "Familia 00" not in two
    outsider = app.user("outsider")  # not in the program: refused, as the command would be
    refused = await app.emu.click(outsider, click.original, next_id[:-1] + "2")
    refusal = await refused.reply_text()  # refused before the page is read (no "thinking…")
    assert refused.ephemeral and "Familia" not in refusal
    assert "members of the creator program" in refusal


async def test_a_sync_preview_of_forty_broken_families_comes_in_messages_that_fit(app):
    """Forty families whose channel and role are gone: the preview is split at line breaks
    into several answers, and every family is in one of them."""
    families = app.services.families
    names = []
    for i in range(40):
        leader = app.user(f"leader{i:02d}")
        name = f"Familia {i:02d} " + "de los creadores del sur"
        await families.create(app.guild.id, app.owner.id, name, leader.id)
        names.append(name)
    it = await app.run(app.owner, "family", subcommand="sync")
    await it.reply_text()
    messages = await app.emu.wait_for(lambda: len(it.messages) >= 4 and it.messages,
                                      what="the split preview")
    assert all(m.ephemeral and len(m.content) <= 2000 for m in messages)
    text = "\n".join(m.content for m in messages)
    assert text.startswith("**Role sync preview**") and text.endswith(
        "Run /family sync apply:True to make these changes.")
    assert all(f"The channel of {name} is missing" in text for name in names)


@pytest.mark.slow
@pytest.mark.parametrize("dms_open", [True, False])
async def test_a_leaders_summary_of_a_hundred_and_twenty_fits_by_dm_and_in_the_channel(
        app, dms_open):
    """The leader's daily summary names everyone who checked in and everyone who has missed
    days: by DM it comes in parts that fit; with the leader's DMs closed, so does the
    family-channel fallback. Everyone is named, nobody pinged."""
    lena = app.user("lena")
    channel = app.emu.create_channel(app.guild, "lobos")
    families = app.services.families
    family = await families.create(app.guild.id, app.owner.id, "Lobos", lena.id,
                                   channel_id=channel.id)
    people = []
    for i in range(120):
        user = app.user(f"c{i:03d}")
        request = await families.request_join(app.guild.id, user.id, family.id,
                                              AGREEMENT_VERSION)
        await families.decide(app.guild.id, lena.id, request.id, True)
        await checked_in(app, user.id, 1, None, ago=0 if i % 2 else 5)  # half: days ago
        people.append(user)
    when = (app.clock.now() - timedelta(minutes=1)).strftime("%H:%M")
    await app.services.checkins.update_settings(app.guild.id, app.owner.id, summary_time=when)
    if not dms_open:
        app.emu.close_dms(lena)
    before = len(app.emu.messages(channel))
    done = await app.bot.get_cog("Reminders").sweep()
    route = "dm" if dms_open else "channel"
    assert [(d.kind, o.route) for d, o in done] == [("summary", route)]

    def received():
        return app.emu.dms(lena) if dms_open else app.emu.messages(channel)[before:]

    await app.emu.wait_for(lambda: len(received()) > 1, what=f"the summary by {route}")
    await asyncio.sleep(0.3)  # every part
    posts = received()
    assert len(posts) > 1 and all(len(p.content) <= 2000 for p in posts)
    text = "\n".join(p.content for p in posts)
    assert text.startswith("📊 **Daily summary")
    assert all(f"<@{p.id}>" in text for p in people)
    assert not any(p.mentions for p in posts)  # named, never pinged


async def test_the_campaign_list_pages(app, big_family):
    for i in range(23):
        await app.services.campaigns.create(app.guild.id, app.owner.id, Spec(
            name=f"Push {i:02d} " + "de verano " * 3, metric="hours",
            start=parse_local("2026-07-01"), end=parse_local("2026-07-14"),
            target_creator=10.0))
    first = await app.run(app.owner, "campaign", subcommand="list")
    text = await first.reply_text()
    assert "page 1 of 3" in text and "(23)" in text and len(text) <= 2000
    (next_id,) = buttons(first.messages[0])
    assert next_id == "familia:pg:campaigns:1"
    click = await app.emu.click(app.owner, first.messages[0], next_id)
    assert "page 2 of 3" in await click.reply_text()
    stranger = app.user("stranger")  # not in the program: refused on the click too
    refused = await app.emu.click(stranger, click.original, "familia:pg:campaigns:2")
    refusal = await refused.reply_text()  # refused before the page is read (no "thinking…")
    assert refused.ephemeral and "Push" not in refusal
    assert "members of the creator program" in refusal


async def test_an_edit_too_long_for_one_message_is_cut_with_the_marker_in_the_guilds_language(
        app):
    """The net under every view: an edit cannot be split, so the delivery sender cuts it at a
    line break and says how many lines are left out ("… y N más" on a Spanish server)."""
    await app.services.guilds.set_locale(app.guild.id, app.owner.id, "es")
    channel = app.emu.create_channel(app.guild, "avisos")
    queue = app.services.deliveries

    async def deliver(send):
        async with app.services.db.transaction() as tx:
            await queue.add(tx, app.guild.id, [send])
        queue.notify()
        states = await queue.wait_settled(app.guild.id, [send.dedupe_key], 5.0)
        assert states == {send.dedupe_key: "sent"}

    await deliver(Send("test", "net:post", "channel", channel.id, {"content": "primero"},
                       channel_id=channel.id))
    (message,) = app.emu.messages(channel)
    lines = [f"- línea {i:03d} del informe" for i in range(300)]
    await deliver(Send("test", "net:edit", "edit", channel.id,
                       {"message_id": message.id, "content": "\n".join(lines)},
                       channel_id=channel.id))
    (edited,) = app.emu.messages(channel)
    assert len(edited.content) <= 2000 and edited.content.startswith(lines[0])
    kept = edited.content.splitlines()[:-1]
    assert kept == lines[:len(kept)]
    assert edited.content.endswith(f"… y {300 - len(kept)} más")


async def test_a_tier_sweep_of_a_hundred_and_twenty_promotions_splits_and_posts_in_parts(app):
    """120 creators reached Bronce last month: the preview and the applied sweep answer in
    several messages, and the family channel's promotions post comes in parts; each fits and
    everyone is named."""
    lena = app.user("lena")
    channel = app.emu.create_channel(app.guild, "lobos")
    families = app.services.families
    family = await families.create(app.guild.id, app.owner.id, "Lobos", lena.id,
                                   channel_id=channel.id)
    await app.services.tiers.define(app.guild.id, app.owner.id, "Bronce", 1, min_hours=10.0)
    day = app.clock.now().date().replace(day=1) - timedelta(days=10)  # last month
    people = []
    for i in range(120):
        user = app.user(f"c{i:03d}")
        # invited and accepted: their own decision, nobody is told (120 DMs would delay
        # the posts this test waits for)
        invite = await families.invite(app.guild.id, lena.id, family.id, user.id,
                                       as_manager=False)
        await families.decide(app.guild.id, user.id, invite.id, True,
                              agreement_version=AGREEMENT_VERSION)
        async with app.services.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO checkins (guild_id, user_id, local_date, timezone, hours, diamonds,"
                " followers, peak_viewers, created_at, updated_at)"
                " VALUES (?, ?, ?, 'UTC', 12, 0, 0, 0, ?, ?)",
                (app.guild.id, user.id, day.isoformat(), to_db(app.clock.now()),
                 to_db(app.clock.now())))
            await app.services.progress.apply(tx, app.guild.id, user.id, day, None,
                                              {"hours": 12, "diamonds": 0, "followers": 0})
        people.append(user)

    async def answers(options):
        it = await app.run(app.owner, "tier", options, subcommand="sweep")
        await it.reply_text()
        await asyncio.sleep(0.3)  # every part
        assert len(it.messages) > 1
        assert all(m.ephemeral and len(m.content) <= 2000 for m in it.messages)
        return "\n".join(m.content for m in it.messages)

    preview = await answers(None)
    assert preview.startswith("**Tier preview for") and preview.endswith(
        "Run /tier sweep apply:True to make these changes.")
    assert all(f"<@{p.id}>: — → Bronce ⬆️" in preview for p in people)
    applied = await answers({"apply": True})
    assert "applied" in applied and all(f"<@{p.id}>" in applied for p in people)
    await app.emu.wait_for(lambda: len(app.emu.messages(channel)) > 1, what="the promotions")
    await asyncio.sleep(0.3)
    posts = app.emu.messages(channel)
    assert all(len(p.content) <= 2000 and not p.mentions for p in posts)
    text = "\n".join(p.content for p in posts)
    assert text.startswith("🎉 **Promotions**")
    assert all(f"<@{p.id}> reached the tier Bronce!" in text for p in people)


async def test_autocomplete_offers_at_most_twenty_five_choices(app):
    families = app.services.families
    for i in range(40):
        await families.create(app.guild.id, app.owner.id, f"Familia {i:02d}",
                              app.user(f"leader{i:02d}").id)
    ana = app.user("ana")
    choices = await app.emu.autocomplete(app.guild, ana, "family", "family", "fam",
                                         subcommand="join")
    assert len(choices) == 25 and choices[0]["name"] == "Familia 00"
    zones = await app.emu.autocomplete(app.guild, app.owner, "settings", "zone", "a",
                                       subcommand="timezone")
    assert 0 < len(zones) <= 25 and all(len(z["name"]) <= 100 for z in zones)


async def test_a_page_button_works_from_its_custom_id_alone(app, big_family):
    """Restart-proof: a posted message whose buttons no view in memory knows (as after a
    restart) still turns the page; a posted list's page goes to the clicker alone."""
    family, lena, _, _ = big_family
    channel = app.emu.create_channel(app.guild, "tablero")
    page = await app.services.families.roster_page(app.guild.id, family.id, 0)
    view = nav(app.bot, "en", page, RosterPage, family_id=family.id)
    assert view is not None
    send = Send("test", "posted-roster", "channel", channel.id,
                {"content": "Roster", "components": view.to_components()},
                channel_id=channel.id)
    async with app.services.db.transaction() as tx:
        await app.services.deliveries.add(tx, app.guild.id, [send])
    app.services.deliveries.notify()
    (posted,) = await app.emu.wait_for(lambda: app.emu.messages(channel), what="the post")
    click = await app.emu.click(lena, posted, f"familia:pg:roster:{family.id}:1")
    text = await click.reply_text()
    assert click.ephemeral and "page 2 of 3" in text
    assert app.emu.messages(channel)[0].content == "Roster"  # the post itself unchanged


async def test_a_long_family_history_pages(app, big_family):
    """Twenty memberships (joined, left, joined again): 15 a page, and the second page."""
    family, lena, omar, people = big_family
    ana = people[0]
    families = app.services.families
    osos = await families.resolve(app.guild.id, "Osos")
    for _ in range(19):  # leave Lobos for Osos and back, 19 times: 20 memberships
        await families.leave(app.guild.id, ana.id, "other")
        target = osos if (await families.history(app.guild.id, ana.id))[-1].family_id == \
            family.id else family
        leader = omar if target.id == osos.id else lena
        request = await families.request_join(app.guild.id, ana.id, target.id,
                                              AGREEMENT_VERSION)
        await families.decide(app.guild.id, leader.id, request.id, True)
    first = await app.run(ana, "family", {"member": ana}, subcommand="history")
    text = await first.reply_text()
    assert "page 1 of 2" in text and text.count("- **") == 15 and len(text) <= 2000
    (next_id,) = buttons(first.messages[0])
    assert next_id == f"familia:pg:fhistory:{ana.id}:1"
    click = await app.emu.click(ana, first.messages[0], next_id)
    two = await click.reply_text()
    assert "page 2 of 2" in two and two.count("- **") == 5


async def test_three_long_feedbacks_waiting_follow_the_next_command_whole(app, big_family):
    """Feedback waiting for a creator (DMs closed) is shown once, after their next command,
    then marked seen: three of 1,000 characters come in parts, none of it cut."""
    family, lena, _, people = big_family
    ana = people[0]
    await checked_in(app, ana.id, 3, None, family_id=family.id)
    ids = [r["id"] for r in await app.services.db.fetchall(
        "SELECT id FROM checkins WHERE user_id = ? ORDER BY id", (ana.id,))]
    texts = [f"Feedback {n}: " + f"keep the intro short and greet people by name {n}. " * 19
             for n in range(3)]
    for checkin_id, text in zip(ids, texts, strict=True):
        await app.services.checkins.give_feedback(app.guild.id, lena.id, checkin_id,
                                                  text[:1000])
    it = await app.run(ana, "checkins", subcommand="history")
    await it.reply_text()
    await app.emu.wait_for(lambda: len(it.messages) >= 3, what="the feedback in parts")
    await asyncio.sleep(0.3)
    shown = " ".join(" ".join(m.content for m in it.messages[1:]).split())
    assert all(m.ephemeral and len(m.content) <= 2000 for m in it.messages)
    assert all(" ".join(text[:1000].split()) in shown for text in texts)
    assert await app.services.checkins.pending_feedback(app.guild.id, ana.id) == []


async def test_a_split_answer_stops_at_five_messages_and_says_how_many_more(app):
    families = app.services.families
    for i in range(150):
        await families.create(app.guild.id, app.owner.id, f"Familia {i:03d} de los creadores",
                              app.user(f"leader{i:03d}").id)
    it = await app.run(app.owner, "family", subcommand="sync", locale="es-ES")
    await it.reply_text()
    await app.emu.wait_for(lambda: len(it.messages) >= 5, what="five answers")
    await asyncio.sleep(0.3)
    assert len(it.messages) == 5 and all(len(m.content) <= 2000 for m in it.messages)
    assert "Familia 000" in it.messages[0].content
    assert re.search(r"… y \d+ más$", it.messages[-1].content)
