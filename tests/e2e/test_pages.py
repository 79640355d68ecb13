"""Long lists end to end: a big family's roster and a program's family list page with ◀️/▶️
("page 2 of 3"), every page within Discord's limits, and a click re-checks who may see it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import to_db
from bot.services.families import AGREEMENT_VERSION

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
    (refusal,) = await refused.wait_followups(1)
    assert "Familia 30" not in refusal.content and "página 2 de 3" in click.original.content


async def checked_in(app, user_id, days, notes):
    """``days`` days of check-ins up to today, each with a long note."""
    today, stamp = app.clock.now().date(), to_db(app.clock.now())
    async with app.services.db.transaction() as tx:
        for back in range(days):
            day = today - timedelta(days=back)
            await tx.execute(
                "INSERT INTO checkins (guild_id, user_id, local_date, timezone, hours, diamonds,"
                " followers, peak_viewers, mood, notes, created_at, updated_at)"
                " VALUES (?, ?, ?, 'UTC', 3.5, 12345, 67, 890, 4, ?, ?, ?)",
                (app.guild.id, user_id, day.isoformat(), notes, stamp, stamp))


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
    (refusal,) = await refused.wait_followups(1)
    assert "Familia" not in refusal.content
