"""User text reaches Discord as text: a leader's feedback and a creator's notes cannot post a
masked link, a heading, a list or a mention, nor leave the quote they are shown in."""

from __future__ import annotations

from bot.services.families import AGREEMENT_VERSION

STATS = {"hours": "2", "diamonds": "10", "followers": "1", "peak_viewers": "3"}
TRICK = "[claim prize](https://evil.example/claim)"


async def _family(app):
    lena, ana = app.user("lena"), app.user("ana")
    channel = app.emu.create_channel(app.guild, "lobos")
    families = app.services.families
    family = await families.create(app.guild.id, app.owner.id, "Lobos", lena.id,
                                   channel_id=channel.id)
    request = await families.request_join(app.guild.id, ana.id, family.id, AGREEMENT_VERSION)
    await families.decide(app.guild.id, lena.id, request.id, True)
    return channel, lena, ana


async def test_feedback_and_notes_show_as_typed_and_stay_quoted(app):
    channel, lena, ana = await _family(app)
    await app.services.checkins.update_settings(app.guild.id, app.owner.id, post_mode="full")
    it = await app.run(ana, "checkin")
    await (await it.submit({**STATS, "notes": f"# BIG {TRICK} @everyone"})).reply_text()
    post = (await app.emu.wait_for(lambda: app.emu.messages(channel), what="post"))[-1]
    quoted = [line for line in post.content.split("\n") if "BIG" in line]
    assert quoted == ["> \\# BIG \\[claim prize\\]\\(https://evil.example/claim\\) @\u200beveryone"]

    checkin_id = await app.services.db.fetchval("SELECT id FROM checkins")
    opened = await app.emu.click(lena, post, f"familia:fb:{checkin_id}")
    feedback = f"Nice work!\n# BIG\n> fake quote\n- a list\n{TRICK}\n<@{lena.id}> @here"
    await (await opened.submit({"feedback": feedback})).reply_text()
    dm = (await app.emu.wait_for(lambda: app.emu.dms(ana), what="feedback DM"))[-1]
    lines = dm.content.split("\n")
    start = next(i for i, line in enumerate(lines) if "Nice work!" in line)
    shown = lines[start:start + 6]
    assert all(line.startswith("> ") for line in shown), shown  # all inside the quote
    assert shown[1:] == ["> \\# BIG", "> \\> fake quote", "> \\- a list",
                         "> \\[claim prize\\]\\(https://evil.example/claim\\)",
                         f"> \\<@\u200b{lena.id}\\> @\u200bhere"]
