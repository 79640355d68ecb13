"""Every click is answered in time, at a real program's rush: the emulator applies Discord's
own rate limits (50 requests a second, 5 messages per 5 s in a channel, 10 role changes per
10 s in a server) and its 3 s window: an interaction not acknowledged within it is what the
user sees as "This interaction failed" (``emu.failed_interactions()``).

Acknowledging first is what keeps a click within the window when its work calls Discord (a
post, a role, a DM) or waits for the delivery queue: the answer itself may come later.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e._families import button, create, holds, request_post

PEOPLE = 20


async def everyone_answered(clicks, timeout: float) -> list[str]:
    """Each click's answer text (waiting up to ``timeout`` s for the slowest)."""
    return list(await asyncio.gather(*(c.reply_text(timeout) for c in clicks)))


def window_report(clicks) -> str:
    slowest = max(c.acked_after or 0.0 for c in clicks)
    return f"slowest acknowledgement {slowest:.2f}s of {len(clicks)}"


@pytest.mark.slow
async def test_twenty_people_ask_to_join_and_are_approved_at_once(app):
    sofia = app.user("sofia")
    family = await create(app, "Lobos", sofia)
    people = [app.user(f"creator{n:02d}") for n in range(PEOPLE)]
    asked = [await app.run(p, "family", {"family": "Lobos"}, subcommand="join")
             for p in people]
    prompts = await asyncio.gather(*(it.wait_message() for it in asked))

    # 20 people click "Accept and ask" within the same second: 20 posts for one channel,
    # which Discord lets through 5 every 5 s
    joins = [await app.emu.click(p, prompt, button(prompt, "familia:join:"))
             for p, prompt in zip(people, prompts, strict=True)]
    texts = await everyone_answered(joins, timeout=60)
    assert app.emu.failed_interactions() == [], window_report(joins)
    assert all("was sent to its leaders" in t and "unavailable" not in t for t in texts), texts
    assert all(j.ephemeral for j in joins)

    # the leader approves the 20 requests within a second: 20 role changes for one server,
    # which Discord lets through 10 every 10 s
    posts = [request_post(app, family, p) for p in people]
    approvals = [await app.emu.click(sofia, post, button(post, "familia:req:y:"))
                 for post in posts]
    await asyncio.gather(*(a.wait_response(10) for a in approvals))
    assert app.emu.failed_interactions() == [], window_report(approvals)
    await app.emu.wait_for(lambda: all("approved by" in p.content for p in posts), 10,
                           what="every post saying who approved")
    await app.emu.wait_for(lambda: all(holds(app, p, family.role) for p in people), 60,
                           what="the family role for all 20")
    # the sender kept under the global limit, and posted to the one channel one at a time, so
    # discord.py knew the channel's 5 per 5 s from the headers before each post: no 429 at all
    assert app.emu.stats.global_rate_limited == 0
    assert app.emu.stats.rate_limited == 0, app.emu.stats.rate_limited_by_route


async def test_join_answers_in_time_while_the_family_channel_is_rate_limited(app):
    """The request's post waits 4 s for Discord (more than the window): the click is
    acknowledged at once, and the answer follows once the post is in."""
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    prompt = await (await app.run(ana, "family", {"family": "Lobos"},
                                  subcommand="join")).wait_message()
    app.emu.inject_429(route=f"/channels/{family.channel.id}/messages", duration=1.0,
                       retry_after=4.0)
    click = await app.emu.click(ana, prompt, button(prompt, "familia:join:"))
    text = await click.reply_text(20)
    assert "was sent to its leaders" in text and not click.failed, text
    assert request_post(app, family, ana)


async def test_approve_answers_in_time_while_role_changes_are_rate_limited(app):
    """Roles follow through the delivery queue: the Approve click does not wait for them."""
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    prompt = await (await app.run(ana, "family", {"family": "Lobos"},
                                  subcommand="join")).wait_message()
    await (await app.emu.click(ana, prompt, button(prompt, "familia:join:"))).reply_text()
    app.emu.inject_429(route="/roles/", duration=1.0, retry_after=4.0)
    post = request_post(app, family, ana)
    click = await app.emu.click(sofia, post, button(post, "familia:req:y:"))
    await click.wait_response()
    assert not click.failed and "approved by" in post.content
    await app.emu.wait_for(lambda: holds(app, ana, family.role), 20, what="Ana's role")


async def test_invite_answers_in_time_while_dms_are_rate_limited(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    await create(app, "Lobos", sofia)
    app.emu.inject_429(route="/users/@me/channels", duration=1.0, retry_after=4.0)
    it = await app.run(sofia, "family", {"member": ana}, subcommand="invite")
    text = await it.reply_text(20)
    assert f"Invitation sent to <@{ana.id}>" in text and not it.failed, text


async def test_transfer_request_answers_in_time_while_the_channel_is_rate_limited(app):
    sofia, rosa, ana = app.user("sofia"), app.user("rosa"), app.user("ana")
    await create(app, "Lobos", sofia)
    osos = await create(app, "Osos", rosa)
    prompt = await (await app.run(ana, "family", {"family": "Lobos"},
                                  subcommand="join")).wait_message()
    await (await app.emu.click(ana, prompt, button(prompt, "familia:join:"))).reply_text()
    lobos = app.emu.channel((await app.services.families.resolve(app.guild.id, "Lobos"))
                            .channel_id)
    post = next(m for m in reversed(app.emu.messages(lobos)) if m.custom_ids)
    await (await app.emu.click(sofia, post, button(post, "familia:req:y:"))).wait_response()
    app.emu.inject_429(route=f"/channels/{osos.channel.id}/messages", duration=1.0,
                       retry_after=4.0)
    it = await app.run(ana, "family", {"family": "Osos"}, subcommand="transfer")
    text = await it.reply_text(20)
    assert not it.failed and "Osos" in text, text


async def test_rename_answers_in_time_while_channel_edits_are_rate_limited(app):
    sofia = app.user("sofia")
    family = await create(app, "Lobos", sofia)
    app.emu.inject_429(route=f"/channels/{family.channel.id}", duration=1.0, retry_after=4.0)
    it = await app.run(app.owner, "family", {"family": "Lobos", "name": "Lobas"},
                       subcommand="rename")
    text = await it.reply_text(20)
    assert not it.failed and "Lobas" in text, text
    assert app.emu.channel(family.channel.id).name.lower() == "lobas"


async def test_broadcast_optin_answers_in_time_while_dms_are_rate_limited(app):
    ana = app.user("ana")
    app.emu.inject_429(route="/users/@me/channels", duration=1.0, retry_after=4.0)
    it = await app.run(ana, "broadcast", {"enabled": True}, subcommand="optin")
    text = await it.reply_text(20)
    assert not it.failed and text, text
