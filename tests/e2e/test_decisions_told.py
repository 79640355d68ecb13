"""Every decision about a creator is told to them (issue #16, "Silent decisions"): approved,
declined (kindly, with the reason when one was given), removed, transferred — exactly one DM
in their language, or, DMs closed, one mention in the family channel that pings them alone
when they can see it (else a note there for its leaders and managers that they could not be
told); through the delivery queue, so a restart neither loses nor repeats it."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.delivery.queue import DeliveryQueue
from bot.delivery.sender import DeliverySender
from bot.errors import UserError
from tests.e2e._families import (
    ask_to_join,
    button,
    create,
    decide,
    join,
    request_post,
    roles_become,
)


async def told(app, user, count: int = 1):
    """The DMs ``user`` got, once there are ``count``; a moment later still ``count``."""
    await app.emu.wait_for(lambda: len(app.emu.dms(user)) >= count, what="the DM")
    await settled(app)
    dms = app.emu.dms(user)
    assert len(dms) == count, [m.content for m in dms]
    return dms


async def settled(app) -> None:
    """Nothing of the decisions still queued (a DM refused: its fallback sent too)."""
    await app.emu.wait_for(lambda: _quiet(app), what="the delivery queue settled")


async def _quiet(app):
    return not await app.services.db.fetchval(
        "SELECT count(*) FROM deliveries WHERE state IN ('queued', 'sending')")


async def test_an_approved_request_is_told_in_the_creators_language(app):
    sofia, ana = app.user("sofia"), app.user("ana", locale="es-ES")
    lobos = await create(app, "Lobos", sofia)
    await ask_to_join(app, ana, lobos, locale="es-ES")
    await decide(app, sofia, lobos, ana)
    [dm] = await told(app, ana)
    assert "Tu solicitud para unirte a **Lobos** fue aprobada" in dm.content
    assert dm.mentions == []


async def test_a_declined_request_is_told_kindly_with_the_reason(app):
    sofia, ana, ben = app.user("sofia"), app.user("ana"), app.user("ben")
    lobos = await create(app, "Lobos", sofia)
    await ask_to_join(app, ana, lobos)
    await decide(app, sofia, lobos, ana, approve=False)
    [dm] = await told(app, ana)
    assert "Thank you for asking to join **Lobos**" in dm.content
    assert "you can ask another family with /family join" in dm.content
    assert "Their words" not in dm.content  # the form's reason was left empty
    # a reason written in Decline's form is quoted, Markdown escaped
    await ask_to_join(app, ben, lobos)
    await decide(app, sofia, lobos, ben, approve=False, reason="We are *full* until March")
    [dm] = await told(app, ben)
    assert "Their words:\n> We are \\*full\\* until March" in dm.content


async def test_decline_asks_for_a_reason_only_from_those_who_may_decide(app):
    """Decline opens a form (an optional reason) for the family's leader; anyone else who
    sees the post is refused at the click, before any form, and nothing is decided."""
    sofia, ana, ben = app.user("sofia"), app.user("ana"), app.user("ben")
    lobos = await create(app, "Lobos", sofia)
    await join(app, ben, lobos)
    await ask_to_join(app, ana, lobos)
    post = request_post(app, lobos, ana)
    click = await app.emu.click(ben, post, button(post, "familia:req:n:"))
    text = await click.reply_text()
    assert click.ephemeral and click.modal is None, text
    assert "Leaders can do this only for their own family." in text
    assert await app.services.db.fetchval(
        "SELECT status FROM family_requests WHERE user_id = ?", (ana.id,)) == "pending"
    # too long a reason (a raw client past the form's limit) is refused, nothing decided
    click = await app.emu.click(sofia, post, button(post, "familia:req:n:"))
    sent = await app.emu.submit_modal(click, {"reason": "x" * 501})
    assert "at most 500 characters" in await sent.reply_text()
    assert await app.services.db.fetchval(
        "SELECT status FROM family_requests WHERE user_id = ?", (ana.id,)) == "pending"


async def test_a_removal_is_told_with_its_reason(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    lobos = await create(app, "Lobos", sofia)
    await join(app, ana, lobos)
    await told(app, ana)  # the approval
    it = await app.run(sofia, "family", {"member": ana, "reason": "No streams in 2 months"},
                       subcommand="remove")
    await it.reply_text()
    dms = await told(app, ana, 2)
    assert "You are no longer a member of **Lobos**" in dms[-1].content
    assert "> No streams in 2 months" in dms[-1].content


async def test_a_managers_transfer_is_told_and_the_manager_is_not(app):
    sofia, leo, ana = app.user("sofia"), app.user("leo"), app.user("ana")
    lobos, osos = await create(app, "Lobos", sofia), await create(app, "Osos", leo)
    await join(app, ana, lobos)
    await app.reply(app.owner, "family", {"family": "Osos", "member": ana},
                    subcommand="transfer")
    await roles_become(app, ana, has=osos.role, lacks=lobos.role)
    dms = await told(app, ana, 2)  # the approval, then the move
    assert "You moved from **Lobos** to **Osos**" in dms[-1].content
    assert app.emu.dms(app.owner) == []


async def test_an_archived_family_tells_each_member_once(app):
    sofia, ana = app.user("sofia"), app.user("ana", locale="es-ES")
    lobos = await create(app, "Lobos", sofia)
    await join(app, ana, lobos)
    await told(app, ana)  # the approval
    await app.reply(app.owner, "family", {"family": "Lobos"}, subcommand="archive")
    dms = await told(app, ana, 2)
    assert "cerraron la familia **Lobos**" in dms[-1].content
    # the leader is a member too (after her appointment's DM); the manager decided
    dms = await told(app, sofia, 2)
    assert "closed the family **Lobos**" in dms[-1].content
    assert app.emu.dms(app.owner) == []


async def test_dms_closed_a_mention_in_the_family_channel_pings_only_them(app):
    sofia, ana = app.user("sofia"), app.user("ana", locale="es-ES", dms_open=False)
    ben = app.user("ben", dms_open=False)
    lobos = await create(app, "Lobos", sofia)
    await join(app, ana, lobos)
    await join(app, ben, lobos)
    await settled(app)
    posts = [m for m in app.emu.messages(lobos.channel) if "fue aprobada" in m.content]
    assert len(posts) == 1 and posts[0].content.startswith(f"<@{ana.id}>")
    assert posts[0].mentions == [ana.id]  # in her language, pinging her alone
    assert "mensajes directos cerrados" in posts[0].content
    posts = [m for m in app.emu.messages(lobos.channel) if "was approved" in m.content]
    assert len(posts) == 1 and posts[0].mentions == [ben.id]
    it = await app.run(sofia, "family", {"member": ben, "reason": "Private matter @everyone"},
                       subcommand="remove")
    await it.reply_text()
    await settled(app)
    # removed, Ben cannot see the family channel any more: a mention there would not reach
    # him; its leaders and the managers read that he could not be told (nobody pinged)
    [post] = [m for m in app.emu.messages(lobos.channel) if "no longer a member" in m.content]
    assert post.mentions == [] and not post.mention_everyone
    assert post.content.startswith(f"⚠️ <@{ben.id}> could not be told"), post.content
    assert "Please tell them another way." in post.content
    assert "Private matter" not in post.content  # the reason stays out of a shared channel
    assert not app.emu.can_view(app.guild, ben, lobos.channel)
    assert app.emu.dms(ben) == []


async def test_dms_closed_a_decline_and_a_transfer_are_one_mention_each(app):
    sofia, leo = app.user("sofia"), app.user("leo")
    ana, ben = app.user("ana", dms_open=False), app.user("ben", locale="es-ES", dms_open=False)
    lobos, osos = await create(app, "Lobos", sofia), await create(app, "Osos", leo)
    await ask_to_join(app, ana, lobos)
    await decide(app, sofia, lobos, ana, approve=False)
    await join(app, ben, lobos)
    await app.reply(app.owner, "family", {"family": "Osos", "member": ben},
                    subcommand="transfer")
    await settled(app)
    # Ana is in no family: she cannot see Lobos's channel, so its leaders read there that
    # she could not be told (in the server's language, pinging nobody) and can tell her
    assert not app.emu.can_view(app.guild, ana, lobos.channel)
    assert not [m for m in app.emu.messages(lobos.channel) if "Thank you for asking"
                in m.content]
    [declined] = [m for m in app.emu.messages(lobos.channel) if f"<@{ana.id}>" in m.content
                  and "could not be told" in m.content]
    assert "request to join **Lobos** was declined" in declined.content
    assert declined.mentions == []
    [moved] = [m for m in app.emu.messages(osos.channel) if "Pasaste de **Lobos**" in m.content]
    assert moved.mentions == [ben.id] and moved.content.startswith(f"<@{ben.id}>")
    assert app.emu.dms(ana) == [] and app.emu.dms(ben) == []


async def test_dms_closed_an_archived_familys_members_are_noted_for_the_managers(app):
    """Archived, the family's members lose its channel (their role goes): with DMs closed,
    the managers read there, in the server's language, who could not be told."""
    sofia, ana = app.user("sofia"), app.user("ana", locale="es-ES", dms_open=False)
    lobos = await create(app, "Lobos", sofia)
    await join(app, ana, lobos)
    await app.reply(app.owner, "family", {"family": "Lobos"}, subcommand="archive")
    await settled(app)
    [note] = [m for m in app.emu.messages(lobos.channel) if f"<@{ana.id}> could not be told"
              in m.content]
    assert "**Lobos** was closed" in note.content and note.mentions == []
    assert not app.emu.can_view(app.guild, ana, lobos.channel)
    assert app.emu.can_view(app.guild, app.owner, lobos.channel)
    assert app.emu.dms(ana) == []


async def test_a_restart_neither_loses_nor_repeats_the_message(app):
    """The decision is taken while the sender is down (queued with it, nothing lost); the
    process then dies right after Discord accepted the DM: the next one reads it back."""
    sofia, ana = app.user("sofia"), app.user("ana")
    lobos = await create(app, "Lobos", sofia)
    await ask_to_join(app, ana, lobos)
    await app.bot.delivery_sender.close()
    post = request_post(app, lobos, ana)
    decline = button(post, "familia:req:n:")
    form = await app.emu.click(sofia, post, decline)
    await (await app.emu.submit_modal(form, {"reason": ""})).wait_response()
    assert app.emu.dms(ana) == []
    dead = DeliverySender(app.bot, _DiesAfterDiscord(app.services.db, app.bot.clock))
    task = asyncio.create_task(dead.drain())
    await asyncio.wait_for(dead.queue.accepted.wait(), 10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    fresh = DeliverySender(app.bot, DeliveryQueue(app.services.db, app.bot.clock))
    await fresh.queue.take_over()
    await fresh.drain()
    [dm] = app.emu.dms(ana)
    assert "Thank you for asking to join **Lobos**" in dm.content
    assert await app.services.db.fetchval(
        "SELECT state FROM deliveries WHERE kind = 'family_told'") == "sent"
    # deciding the decided request again (a stale click) tells nothing again
    app.bot.delivery_sender.start()
    request_id = int(decline.rsplit(":", 1)[1])
    with pytest.raises(UserError):
        await app.services.families.decide(app.guild.id, sofia.id, request_id, False)
    await settled(app)
    assert len(app.emu.dms(ana)) == 1


class _DiesAfterDiscord(DeliveryQueue):
    """Killed right after Discord accepted a message, before the mark."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, owner="dead", **kwargs)
        self.accepted = asyncio.Event()

    async def part_sent(self, delivery, part, message_id):
        self.accepted.set()
        await asyncio.Event().wait()
