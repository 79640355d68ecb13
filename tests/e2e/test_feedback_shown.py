"""Feedback waiting for a creator whose DMs are closed (issue #16, "Feedback lost"): shown
whole with the next /checkin, across follow-ups when it does not fit one message, and marked
delivered only once Discord accepted the message that shows it. A failed answer to a stored
check-in says it is stored."""

from __future__ import annotations

from tests.e2e import test_checkins
from tests.e2e.test_checkins import STATS, checkin

lobos = test_checkins.lobos  # the fixture: Lena leads Lobos, Ana is a creator in it


async def three_long_feedbacks(app, lobos) -> list[str]:
    """Ana checked in and closed her DMs; Lena wrote three feedbacks of ~1,000 characters."""
    _, channel, lena, ana = lobos
    await (await checkin(app, ana)).reply_text()
    post = (await app.emu.wait_for(lambda: app.emu.messages(channel), what="post"))[0]
    checkin_id = await app.services.db.fetchval("SELECT id FROM checkins")
    app.emu.close_dms(ana)
    texts = [f"Note {n}: " + " ".join(["keep going"] * 89) + f" END{n}" for n in range(3)]
    for text in texts:
        assert 950 <= len(text) <= 1000
        opened = await app.emu.click(lena, post, f"familia:fb:{checkin_id}")
        assert "DMs closed" in await (await opened.submit({"feedback": text})).reply_text()
    return texts


async def delivered(app) -> list[str | None]:
    return [r["delivered_via"] for r in await app.services.db.fetchall(
        "SELECT delivered_via FROM checkin_feedback ORDER BY id")]


async def test_long_waiting_feedback_is_shown_whole_then_marked_once(app, lobos):
    _, _, _, ana = lobos
    texts = await three_long_feedbacks(app, lobos)
    done = await checkin(app, ana, {**STATS, "hours": "3"})
    assert "updated" in await done.reply_text()
    # three feedbacks of ~1,000 characters do not fit one message: the answer, then more
    messages = await app.emu.wait_for(
        lambda: done.messages if all(t[-4:] in "".join(m.content for m in done.messages)
                                     for t in texts) else None, what="every feedback shown")
    assert len(messages) >= 2
    assert all(len(m.content) <= 2000 and m.mentions == [] for m in messages)
    assert all(m.flags & 64 for m in messages)  # private
    shown = "\n".join(m.content for m in messages)
    assert all(shown.count(t[-4:]) == 1 for t in texts)  # each whole, once
    assert await app.emu.wait_for(lambda: _all(app), what="marked") == ["checkin"] * 3
    # the next /checkin shows none of it again
    again = await checkin(app, ana, {**STATS, "hours": "4"})
    assert "updated" in await again.reply_text()
    assert all("Note " not in m.content for m in again.messages)


async def _all(app):
    found = await delivered(app)
    return found if all(found) else None


async def test_a_failed_answer_says_the_checkin_is_stored_and_keeps_the_feedback(app, lobos):
    _, channel, _, ana = lobos
    texts = await three_long_feedbacks(app, lobos)
    # Discord refuses the next follow-up, the answer to the form (a 400: not retried;
    # discord.py retries a webhook's 5xx for ~16 s first)
    app.emu.inject_5xx(1, status=400, route="/webhooks/")
    done = await checkin(app, ana, {**STATS, "hours": "3"})
    text = await done.reply_text()
    assert "is stored" in text and "Nothing was changed" not in text
    assert "Note " not in text
    assert await app.services.db.fetchval("SELECT hours FROM checkins") == 3
    await app.emu.wait_for(lambda: "3 hours live" in app.emu.messages(channel)[0].content,
                           what="the family post edited all the same")
    assert await delivered(app) == [None, None, None]  # nothing shown: nothing marked
    # the next /checkin shows all of it
    again = await checkin(app, ana, {**STATS, "hours": "4"})
    await again.reply_text()
    await app.emu.wait_for(lambda: all(t[-4:] in "".join(m.content for m in again.messages)
                                       for t in texts), what="the feedback shown next time")
    assert await app.emu.wait_for(lambda: _all(app), what="marked") == ["checkin"] * 3


async def test_the_stored_answer_is_in_spanish(app, lobos):
    _, _, _, ana = lobos
    await app.services.members.set_locale(app.guild.id, ana.id, "es")
    await (await checkin(app, ana)).reply_text()
    app.emu.inject_5xx(1, status=400, route="/webhooks/")  # the answer refused
    text = await (await checkin(app, ana, {**STATS, "hours": "3"})).reply_text()
    assert "está guardado" in text
