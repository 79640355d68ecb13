"""#22's onboarding checklist and monthly showcase end to end, through the emulator.

The checklist: a leader a manager appointed (agreement pending) and a creator whose
application was accepted see /onboarding with a button per step left; the agreement's button
leads to its Accept; setting the time zone and language and checking in tick their steps; the
leader sees their new members' progress. The showcase: a creator submits a LIVE moment (a bad
link refused, nothing stored), their leader nominates it, a manager features it from the paged
review (the creator is told by DM), and at month end the showcase is posted once to the
chosen channel with its playbook files, and emailed to the managers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import to_db
from bot.events import ApplicationAccepted
from bot.services.families import AGREEMENT_VERSION


@pytest.fixture
async def lobos(app):
    """Lobos (leader lena, appointed: agreement pending) with ana, who applied 5 days ago and
    was placed when accepted."""
    s, g = app.services, app.guild.id
    lena, ana = app.user("lena"), app.user("ana", locale="es-ES")
    family = await s.families.create(g, app.owner.id, "Lobos", lena.id, channel_id=None)
    async with s.db.transaction() as tx:
        await s.events.publish(ApplicationAccepted(
            tx, g, ana.id, 1, "creator", to_db(app.clock.now() - timedelta(days=5)),
            to_db(app.clock.now()), family.id))
    invite = await s.families.invite(g, lena.id, family.id, ana.id, as_manager=False)
    await s.families.decide(g, ana.id, invite.id, True, agreement_version=AGREEMENT_VERSION)
    return family, lena, ana


def step_ids(message) -> list[str]:
    return [c.removeprefix("familia:ob:step:") for c in message.custom_ids
            if c.startswith("familia:ob:step:")]


async def test_the_checklist_shows_what_is_left_and_follows_what_members_do(app, lobos):
    _, lena, ana = lobos
    it = await app.run(ana, "onboarding")
    shown = await it.wait_message()
    assert "Primeros pasos" in shown.content and "2 de 6 pasos hechos" in shown.content
    assert step_ids(shown) == ["profile", "checkin", "feedback", "campaign"]
    how = await app.emu.click(ana, shown, "familia:ob:step:checkin")
    assert "`/checkin`" in await how.reply_text()

    await app.reply(ana, "me", {"zone": "America/Bogota"}, subcommand="timezone")
    await app.reply(ana, "me", {"language": "es"}, subcommand="language")
    checkin = await app.run(ana, "checkin")
    assert await checkin.wait_modal()
    await (await checkin.submit({"hours": "2", "diamonds": "100", "followers": "3",
                                 "peak_viewers": "20", "notes": ""})).wait_response()
    again = await (await app.run(ana, "onboarding")).wait_message()
    assert "4 de 6 pasos hechos" in again.content
    assert step_ids(again) == ["feedback", "campaign"]

    # the leader a manager appointed still has the agreement to accept: its button leads there
    mine = await (await app.run(lena, "onboarding")).wait_message()
    assert "agreement" in step_ids(mine)
    step = await app.emu.click(lena, mine, "familia:ob:step:agreement")
    text = await step.reply_text()
    assert "`/family agreement`" in text
    agree = f"familia:agree:{app.guild.id}:{AGREEMENT_VERSION}"
    assert agree in step.messages[-1].custom_ids
    accepted = await app.emu.click(lena, step.messages[-1], agree)
    await accepted.reply_text()
    assert "agreement" not in step_ids(await (await app.run(lena, "onboarding")).wait_message())

    progress = await app.reply(lena, "onboardings", {}, subcommand="family")
    assert "New members of Lobos" in progress and f"<@{ana.id}>: 4 of 6" in progress
    assert "left: first feedback, first campaign" in progress
    outsider = app.user("outsider")
    refused = await app.reply(outsider, "onboarding")
    assert "Getting started" not in refused


async def test_showcase_submit_nominate_feature_and_the_month_end_post(app, lobos):
    _, lena, ana = lobos
    s, g = app.services, app.guild.id
    bad = await app.reply(ana, "showcase", {"link": "javascript:alert(1)", "title": "Regalos",
                                            "what-worked": "x", "category": "gifting"},
                          subcommand="submit")
    assert "https://" in bad
    assert await s.db.fetchval("SELECT count(*) FROM showcase_entries") == 0
    done = await app.reply(ana, "showcase", {
        "link": "https://www.tiktok.com/@ana/live/42", "title": "Lluvia de regalos",
        "what-worked": "Agradecí a cada persona por su nombre", "category": "gifting"},
        subcommand="submit")
    assert "Tu momento LIVE" in done
    entry = await s.db.fetchval("SELECT id FROM showcase_entries")
    nominated = await app.reply(lena, "showcase", {"entry": entry}, subcommand="nominate")
    assert "Nominated" in nominated

    channel = app.emu.create_channel(app.guild, "showcase")
    await app.reply(app.owner, "showcase", {"channel": channel}, subcommand="settings")
    async with s.db.transaction() as tx:  # a manager with a verified address
        stamp = to_db(app.clock.now())
        await tx.execute(
            "INSERT INTO email_addresses (guild_id, user_id, address, verified_at, manager,"
            " created_at, updated_at) VALUES (?, ?, 'boss@example.org', ?, 1, ?, ?)",
            (g, app.owner.id, stamp, stamp, stamp))
        await s.members.ensure(tx, g, app.owner.id)

    for n in range(3):  # three more: the review has two pages of 3
        await s.showcase.submit(g, ana.id, f"https://example.com/{n}", f"Extra {n}", "x",
                                "other")
    review = await (await app.run(app.owner, "showcase", {}, subcommand="review")).wait_message()
    assert "Lluvia de regalos" in review.content and "⭐ nominated" in review.content
    assert "page 1 of 2" in review.content
    turned = await app.emu.click(app.owner, review, "familia:pg:showcase:2026-06:all:1")
    second = await turned.reply_text()
    assert "page 2 of 2" in second and "Lluvia" not in second  # turned in place
    review = await (await app.run(app.owner, "showcase", {}, subcommand="review")).wait_message()
    feature = f"familia:sc:feature:{entry}:all:0"
    assert feature in review.custom_ids
    refused = await app.emu.click(lena, review, feature)  # a leader cannot curate
    assert "Lluvia" not in await refused.reply_text()
    featured = await app.emu.click(app.owner, review, feature)
    assert "featured" in await featured.reply_text()
    extra = await s.db.fetchval("SELECT id FROM showcase_entries WHERE title = 'Extra 0'")
    form = await app.emu.click(app.owner, review, f"familia:sc:reject:{extra}:all:0")
    assert await form.wait_modal()
    rejected = await (await form.submit({"note": "Too dark to see"})).reply_text()
    assert "not selected" in rejected and "Too dark to see" in rejected
    dms = await app.emu.wait_for(lambda: app.emu.dms(ana), what="ana is told")
    assert "destacado en la vitrina" in dms[-1].content

    cog = app.bot.get_cog("Showcase")
    await cog.sweep()
    assert app.emu.messages(channel) == []  # June is not over
    app.clock.set(app.clock.now().replace(month=7, day=1, hour=6))
    await cog.sweep()
    await cog.sweep()  # an overlapping sweep (a restart's catch-up) posts nothing more
    posts = await app.emu.wait_for(lambda: app.emu.messages(channel), what="the showcase")
    assert len(posts) == 1 and "Showcase of 2026-06" in posts[0].content
    assert f"<@{ana.id}>" in posts[0].content and posts[0].mentions == []  # credited, no ping
    assert sorted(a.filename for a in posts[0].attachments) == [
        "playbook-2026-06.csv", "playbook-2026-06.md"]
    mails = await s.db.fetchall("SELECT recipient, kind FROM email_outbox WHERE kind = ?",
                                ("showcase",))
    assert [tuple(r) for r in mails] == [("boss@example.org", "showcase")]
    closed = await app.reply(ana, "showcase", {
        "link": "https://example.com/late", "title": "Tarde", "what-worked": "x",
        "category": "other", "date": "2026-06-30"}, subcommand="submit")
    assert "ya está publicada" in closed
