"""Families end to end: create, join, invite, agreement, leave, remove, transfer, archive."""

from __future__ import annotations

from emulator.models import READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL
from tests.e2e._families import (
    ask_to_join,
    button,
    create,
    decide,
    holds,
    join,
    membership,
    refused,
    request_post,
    roles_become,
)


async def test_create_makes_a_private_channel_and_role(app):
    sofia, carla, ana = app.user("sofia"), app.user("carla"), app.user("ana")
    it = await app.run(app.owner, "family", {"name": "Estrellas Doradas", "leader": sofia,
                                             "capacity": 10, "co-leader": carla},
                       subcommand="create")
    text = await it.reply_text()
    assert it.ephemeral and "Family created" in text and "Members: 2 / 10" in text
    channel = app.emu.channel_by_name(app.guild, "estrellas-doradas")
    role = app.emu.role_by_name(app.guild, "Estrellas Doradas")
    assert channel is not None and role is not None and f"<#{channel.id}>" in text
    await roles_become(app, sofia, has=role)
    await roles_become(app, carla, has=role)
    assert app.emu.can_view(app.guild, sofia, channel)
    assert app.emu.can_view(app.guild, carla, channel)
    assert not app.emu.can_view(app.guild, ana, channel)
    assert role.mentionable is False
    family = await app.services.families.resolve(app.guild.id, "estrellas doradas")
    assert (family.channel_id, family.role_id, family.capacity) == (channel.id, role.id, 10)


async def test_manager_role_sees_family_channels(app):
    managers = app.emu.create_role(app.guild, "Managers")
    await app.reply(app.owner, "settings", {"role": managers}, subcommand="manager-role")
    bea, sofia = app.user("bea", roles=[managers]), app.user("sofia")
    family = await create(app, "Lobos", sofia)
    assert app.emu.can_view(app.guild, bea, family.channel)


async def test_request_approved_in_the_family_channel(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    text = await ask_to_join(app, ana, family)
    assert "Thank you for accepting the agreement" in text and "sent to its leaders" in text
    assert await app.services.families.agreement_of(app.guild.id, ana.id) is not None
    post = request_post(app, family, ana)
    assert "asks to join this family" in post.content
    assert not post.ephemeral and post.channel_id == family.channel.id
    assert not holds(app, ana, family.role)
    post, _click = await decide(app, sofia, family, ana)
    assert f"<@{ana.id}> joined Lobos (approved by <@{sofia.id}>)" in post.content
    assert post.custom_ids == []  # the buttons are gone
    await roles_become(app, ana, has=family.role)
    assert app.emu.can_view(app.guild, ana, family.channel)
    assert (await membership(app, ana)).family_id == family.id
    assert (await app.services.members.get(app.guild.id, ana.id)).program_role == "creator"


async def test_request_declined(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await ask_to_join(app, ana, family)
    post, _ = await decide(app, sofia, family, ana, approve=False)
    assert "request was declined by" in post.content and post.custom_ids == []
    assert await membership(app, ana) is None
    assert not holds(app, ana, family.role)
    # Declined, Ana may ask again.
    assert "sent to its leaders" in await ask_to_join(app, ana, family)


async def test_second_click_finds_it_decided(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await ask_to_join(app, ana, family)
    post = request_post(app, family, ana)
    approve, decline = button(post, "familia:req:y:"), button(post, "familia:req:n:")
    await (await app.emu.click(sofia, post, approve)).wait_response()
    # A second leader's click on a stale copy of the message (buttons still showing).
    post.components = [{"type": 1, "components": [
        {"type": 2, "custom_id": decline, "label": "Decline", "style": 2}]}]
    late = await app.emu.click(sofia, post, decline)
    assert "already decided: approved" in await late.reply_text() and late.ephemeral
    assert (await membership(app, ana)).family_id == family.id


async def test_invite_accepted_from_a_dm(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    text = await app.reply(sofia, "family", {"member": ana}, subcommand="invite")
    assert f"Invitation sent to <@{ana.id}>" in text
    dm = app.emu.dms(ana)[-1]
    assert f"<@{sofia.id}> invites you to join the family **Lobos**" in dm.content
    assert "agreement" in dm.content.lower()
    click = await app.emu.click(ana, dm, button(dm, "familia:req:y:"))
    await click.wait_response()
    assert "Welcome to Lobos! You are now a member." in dm.content and dm.custom_ids == []
    await roles_become(app, ana, has=family.role)
    version = (await app.services.families.agreement_of(app.guild.id, ana.id)).version
    assert (await membership(app, ana)).agreement_version == version
    await app.emu.wait_for(lambda: any(f"Welcome <@{ana.id}>" in m.content
                                       for m in app.emu.messages(family.channel)),
                           what="the welcome post")


async def test_invite_declined_and_someone_elses_invite(app):
    sofia, ana, ben = app.user("sofia"), app.user("ana"), app.user("ben")
    await create(app, "Lobos", sofia)
    await app.reply(sofia, "family", {"member": ana}, subcommand="invite")
    dm = app.emu.dms(ana)[-1]
    # Ben clicks Ana's invitation (e.g. a forwarded screenshot is not enough: the id is checked).
    stolen = await app.emu.click(ben, dm, button(dm, "familia:req:y:"))
    assert "for someone else" in await stolen.reply_text()
    assert await membership(app, ben) is None
    click = await app.emu.click(ana, dm, button(dm, "familia:req:n:"))
    await click.wait_response()
    assert "You declined the invitation to Lobos." in dm.content
    assert await membership(app, ana) is None


async def test_invite_to_closed_dms_can_be_accepted_with_join(app):
    sofia = app.user("sofia")
    ana = app.user("ana", dms_open=False)
    family = await create(app, "Lobos", sofia)
    text = await app.reply(sofia, "family", {"member": ana}, subcommand="invite")
    assert "doesn't accept direct messages" in text and "/family join Lobos" in text
    it = await app.run(ana, "family", {"family": "Lobos"}, subcommand="join")
    prompt = await it.wait_message()
    assert "You are invited to join **Lobos**" in prompt.content
    click = await app.emu.click(ana, prompt, button(prompt, "familia:req:y:"))
    await click.wait_response()
    await roles_become(app, ana, has=family.role)


async def test_agreement_read_and_accepted(app):
    sofia = app.user("sofia")
    await create(app, "Lobos", sofia)
    it = await app.run(sofia, "family", subcommand="agreement")
    prompt = await it.wait_message()
    assert it.ephemeral and "program agreement" in prompt.content.lower()
    assert "You have not accepted this version yet." in prompt.content
    click = await app.emu.click(sofia, prompt, button(prompt, "familia:agree:"))
    assert "you accepted version 1" in await click.reply_text()
    roster = await app.reply(sofia, "family", subcommand="roster")
    assert "agreement not accepted" not in roster
    text = await app.reply(sofia, "family", subcommand="agreement")
    assert "You accepted this version on" in text


async def test_leave_with_a_reason_and_a_note(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await join(app, ana, family)
    it = await app.run(ana, "family", {"note": "Mucho trabajo este mes"}, subcommand="leave")
    prompt = await it.wait_message()
    assert it.ephemeral and "You are about to leave Lobos" in prompt.content
    assert holds(app, ana, family.role)  # nothing happens before the reason is picked
    pick = await app.emu.select(ana, prompt, button(prompt, "familia:leave:reason:"), ["time"])
    await pick.wait_response()
    assert "You left Lobos (Not enough time)" in prompt.content and prompt.custom_ids == []
    await roles_become(app, ana, lacks=family.role)
    assert not app.emu.can_view(app.guild, ana, family.channel)
    row = (await app.services.families.history(app.guild.id, ana.id))[-1]
    assert (row.ended_by, row.leave_reason, row.leave_note) == (
        "self", "time", "Mucho trabajo este mes")
    await app.emu.wait_for(lambda: any(f"<@{ana.id}> left the family" in m.content
                                       for m in app.emu.messages(family.channel)),
                           what="the leave notice")


async def test_leave_without_a_note(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await join(app, ana, family)
    prompt = await (await app.run(ana, "family", subcommand="leave")).wait_message()
    await (await app.emu.select(ana, prompt, button(prompt, "familia:leave:reason:"), ["earnings"])
           ).wait_response()
    row = (await app.services.families.history(app.guild.id, ana.id))[-1]
    assert (row.leave_reason, row.leave_note) == ("earnings", None)
    await roles_become(app, ana, lacks=family.role)


async def test_leader_removes_a_member_with_a_reason(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await join(app, ana, family)
    text = await refused(app, sofia, "family", {"member": ana, "reason": "   "},
                         subcommand="remove")
    assert "the reason is required" in text
    assert holds(app, ana, family.role) and await membership(app, ana) is not None
    it = await app.run(sofia, "family", {"member": ana, "reason": "No streams in 2 months"},
                       subcommand="remove")
    assert f"<@{ana.id}> was removed from Lobos" in await it.reply_text() and it.ephemeral
    await roles_become(app, ana, lacks=family.role)
    row = (await app.services.families.history(app.guild.id, ana.id))[-1]
    assert (row.ended_by, row.leave_note) == ("removed", "No streams in 2 months")


async def test_transfer_asked_by_the_creator_approved_by_the_receiving_leader(app):
    sofia, leo, ana = app.user("sofia"), app.user("leo"), app.user("ana")
    lobos, osos = await create(app, "Lobos", sofia), await create(app, "Osos", leo)
    await join(app, ana, lobos)
    text = await app.reply(ana, "family", {"family": "Osos"}, subcommand="transfer")
    assert f"The request to move <@{ana.id}> to Osos was sent to its leaders" in text
    post = request_post(app, osos, ana)
    assert "asks to move to this family" in post.content
    # Only Osos's leader decides: Lobos's leader is refused.
    wrong = await app.emu.click(sofia, post, button(post, "familia:req:y:"))
    assert "only for their own family" in await wrong.reply_text()
    await decide(app, leo, osos, ana)
    await roles_become(app, ana, has=osos.role, lacks=lobos.role)
    assert (await membership(app, ana)).family_id == osos.id
    history = await app.services.families.history(app.guild.id, ana.id)
    assert [(h.family_name, h.ended_by) for h in history] == [("Lobos", "transfer"),
                                                               ("Osos", None)]


async def test_manager_transfer_is_immediate(app):
    sofia, leo, ana = app.user("sofia"), app.user("leo"), app.user("ana")
    lobos, osos = await create(app, "Lobos", sofia), await create(app, "Osos", leo)
    await join(app, ana, lobos)
    text = await app.reply(app.owner, "family", {"family": "Osos", "member": ana},
                           subcommand="transfer")
    assert f"<@{ana.id}> moved to Osos." in text
    await roles_become(app, ana, has=osos.role, lacks=lobos.role)
    assert (await membership(app, ana)).family_id == osos.id


async def test_archive_keeps_the_channel_read_only(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await join(app, ana, family)
    before = len(app.emu.messages(family.channel))
    it = await app.run(app.owner, "family", {"family": "Lobos"}, subcommand="archive")
    text = await it.reply_text()
    assert it.ephemeral and "Family archived: 2 memberships ended" in text
    await roles_become(app, ana, lacks=family.role)
    await roles_become(app, sofia, lacks=family.role)
    channel = app.emu.channel(family.channel.id)  # not deleted
    assert len(app.emu.messages(channel)) == before  # history kept
    overwrite = channel.overwrites[family.role.id]
    assert overwrite.deny & SEND_MESSAGES
    assert overwrite.allow & VIEW_CHANNEL and overwrite.allow & READ_MESSAGE_HISTORY
    assert not app.emu.can_view(app.guild, ana, channel)
    rows = await app.services.families.history(app.guild.id, ana.id)
    assert [r.ended_by for r in rows] == ["archived"]
    # Archived families take no one and are not listed by default.
    assert "can't find a family" in await refused(app, ana, "family", {"family": "Lobos"},
                                                  subcommand="join")
    listed = await app.reply(app.owner, "family", subcommand="list")
    assert "Lobos" not in listed
    listed = await app.reply(app.owner, "family", {"archived": True}, subcommand="list")
    assert "**Lobos** (archived)" in listed


async def test_family_option_autocompletes_and_takes_the_id(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await create(app, "Osos", app.user("leo"))
    choices = await app.emu.autocomplete(app.guild, ana, "family", "family", "lo",
                                         subcommand="join")
    assert choices == [{"name": "Lobos", "value": str(family.id)}]
    it = await app.run(ana, "family", {"family": str(family.id)}, subcommand="join")
    assert "To ask to join **Lobos**" in (await it.wait_message()).content


async def test_rename_renames_the_channel_and_role(app):
    sofia = app.user("sofia")
    family = await create(app, "Lobos", sofia)
    text = await app.reply(app.owner, "family", {"family": "Lobos", "name": "Lobos Grises"},
                           subcommand="rename")
    assert "Saved." in text and "**Lobos Grises**" in text
    assert family.role.name == "Lobos Grises"
    assert app.guild.channels[family.channel.id].name in ("lobos-grises", "Lobos Grises")


async def test_request_post_invite_dm_and_roles_go_through_the_delivery_queue(app):
    """What families send to Discord is queued with the event that causes it and sent by the
    bot's one sender: the request's post (its message on Discord), the invite DM, the roles
    of each membership and the notices."""
    sofia, ana, ben = app.user("sofia"), app.user("ana"), app.user("ben")
    family = await create(app, "Lobos", sofia)
    await ask_to_join(app, ana, family)
    post = request_post(app, family, ana)
    request = (await app.services.db.fetchone("SELECT id FROM family_requests"))["id"]
    row = await app.services.db.fetchone(
        "SELECT state, message_ids FROM deliveries WHERE dedupe_key = ?",
        (f"family-request:{request}:{family.channel.id}",))
    assert (row["state"], row["message_ids"]) == ("sent", f"[{post.id}]")
    await decide(app, sofia, family, ana)
    await roles_become(app, ana, has=family.role)
    await app.reply(sofia, "family", {"member": ben}, subcommand="invite")
    dm = app.emu.dms(ben)[-1]
    await (await app.emu.click(ben, dm, button(dm, "familia:req:y:"))).wait_response()
    await roles_become(app, ben, has=family.role)
    states = await app.services.deliveries.wait_settled(app.guild.id, [
        f"family-invite:{request + 1}", f"family-welcome:{request + 1}"], 10)
    assert states == {f"family-invite:{request + 1}": "sent",
                      f"family-welcome:{request + 1}": "sent"}
    # Ben's role is on Discord a moment before its row is marked sent
    keys = [r["dedupe_key"] for r in await app.services.db.fetchall(
        "SELECT dedupe_key FROM deliveries")]
    await app.services.deliveries.wait_settled(app.guild.id, keys, 10)
    kinds = {r["kind"]: r["n"] for r in await app.services.db.fetchall(
        "SELECT kind, count(*) AS n FROM deliveries WHERE state = 'sent' GROUP BY kind")}
    assert kinds == {"family_request": 1, "family_invite": 1, "family_notice": 1,
                     "family_role": 2, "family_agreement": 1,  # sofia asked to accept
                     "family_told": 1}  # ana told she was approved (ben decided himself)
