"""A check-in's answer and its family post are in the right language, now that the check-in's
own trip to the database reads what picks it (no reads of their own): the member's choice
first, else their Discord language, else the server's; the post in the server's language."""

from __future__ import annotations

import pytest

from bot.services.families import AGREEMENT_VERSION

STATS = {"hours": "2,5", "diamonds": "1200", "followers": "15", "peak_viewers": "80",
         "notes": ""}


@pytest.fixture
async def lobos(app):
    lena = app.user("lena")
    channel = app.emu.create_channel(app.guild, "lobos")
    family = await app.services.families.create(app.guild.id, app.owner.id, "Lobos", lena.id,
                                                channel_id=channel.id)
    return family, channel, lena


async def join(app, family, leader, name: str, locale: str = "en-US"):
    user = app.user(name, locale=locale)
    families = app.services.families
    request = await families.request_join(app.guild.id, user.id, family.id, AGREEMENT_VERSION)
    await families.decide(app.guild.id, leader.id, request.id, True)
    return user


async def answer(app, user) -> str:
    it = await app.run(user, "checkin")
    return await (await it.submit(STATS)).reply_text()


async def test_the_answer_follows_choice_then_discord_then_server(app, lobos):
    family, channel, lena = lobos
    ana = await join(app, family, lena, "ana", "es-ES")  # Discord in Spanish, no choice
    bo = await join(app, family, lena, "bo", "es-ES")
    await app.services.members.set_locale(app.guild.id, bo.id, "en")  # chose English
    assert "Check-in del" in await answer(app, ana)
    assert "Checked in for" in await answer(app, bo)
    await app.services.guilds.set_locale(app.guild.id, app.owner.id, "es")
    cleo = await join(app, family, lena, "cleo", "ja")  # a language Familia does not speak
    assert "Check-in del" in await answer(app, cleo)
    posts = await app.emu.wait_for(lambda: app.emu.messages(channel)[2:], what="3 posts")
    assert "hizo su check-in" in posts[0].content  # the server's language, not Cleo's


async def test_a_new_discord_language_is_answered_in_and_remembered(app, lobos):
    family, _, lena = lobos
    ana = await join(app, family, lena, "ana", "en-US")
    assert "Checked in for" in await answer(app, ana)
    ana.locale = "es-ES"  # she switched her Discord app to Spanish
    assert "Check-in del" in await answer(app, ana)
    member = await app.services.members.get(app.guild.id, ana.id)
    assert member is not None and member.discord_locale == "es"


async def test_a_language_changed_while_the_form_is_open_is_answered_in(app, lobos):
    family, _, lena = lobos
    ana = await join(app, family, lena, "ana", "en-US")
    opened = await app.run(ana, "checkin")  # her Discord language remembered: English
    await opened.wait_modal()
    ana.locale = "es-ES"  # switched before she sent the form
    assert "Check-in del" in await (await opened.submit(STATS)).reply_text()
    member = await app.services.members.get(app.guild.id, ana.id)
    assert member is not None and member.discord_locale == "es"
