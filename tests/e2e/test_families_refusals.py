"""Families end to end: what is refused, in English and Spanish, and that nothing changes."""

from __future__ import annotations

import asyncio

from emulator.models import BOT_DEFAULT, MANAGE_ROLES
from tests.e2e._families import (
    ask_to_join,
    button,
    create,
    join,
    membership,
    refused,
    request_post,
)


async def count(app, table: str) -> int:
    return await app.services.db.fetchval(f"SELECT count(*) FROM {table}")


async def test_leader_cannot_leave_without_handing_over(app):
    sofia = app.user("sofia")
    family = await create(app, "Lobos", sofia)
    text = await refused(app, sofia, "family", subcommand="leave")
    assert "A leader can't leave Lobos without handing it over" in text
    assert (await membership(app, sofia)).family_id == family.id


async def test_full_family(app):
    sofia, ana, ben = app.user("sofia"), app.user("ana"), app.user("ben")
    family = await create(app, "Lobos", sofia, capacity=2)
    await join(app, ana, family)
    text = await refused(app, ben, "family", {"family": "Lobos"}, subcommand="join")
    assert "Lobos is full (2 members)" in text
    text = await refused(app, sofia, "family", {"member": ben}, subcommand="invite")
    assert "Lobos is full" in text
    assert await count(app, "family_requests") == 1  # Ana's


async def test_already_a_member(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await join(app, ana, family)
    text = await refused(app, ana, "family", {"family": "Lobos"}, subcommand="join")
    assert "already a member of Lobos" in text
    text = await refused(app, sofia, "family", {"member": ana}, subcommand="invite")
    assert "already a member of Lobos" in text
    leo = app.user("leo")
    await create(app, "Osos", leo)
    text = await refused(app, ana, "family", {"family": "Osos"}, subcommand="join")
    assert "already a member of Lobos" in text


async def test_request_already_pending(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await ask_to_join(app, ana, family)
    text = await refused(app, ana, "family", {"family": "Lobos"}, subcommand="join")
    assert "already a pending request for Lobos" in text
    text = await refused(app, sofia, "family", {"member": ana}, subcommand="invite")
    assert "already a pending request for Lobos" in text
    assert await count(app, "family_requests") == 1


async def test_unknown_family(app):
    ana = app.user("ana")
    text = await refused(app, ana, "family", {"family": "Nadie"}, subcommand="join")
    assert "I can't find a family called “Nadie”" in text
    text = await refused(app, app.owner, "family", {"family": "Nadie", "name": "X"},
                         subcommand="rename")
    assert "I can't find a family called “Nadie”" in text


async def test_duplicate_name_and_busy_leader(app):
    sofia, leo = app.user("sofia"), app.user("leo")
    await create(app, "Lobos", sofia)
    text = await refused(app, app.owner, "family", {"name": " lobos ", "leader": leo},
                         subcommand="create")
    assert "already a family called “lobos”" in text
    text = await refused(app, app.owner, "family", {"name": "Osos", "leader": sofia},
                         subcommand="create")
    assert f"<@{sofia.id}> already belongs to another family" in text
    assert app.emu.role_by_name(app.guild, "Osos") is None
    assert app.emu.channel_by_name(app.guild, "osos") is None
    assert await count(app, "families") == 1


async def test_a_name_without_letters_or_digits_is_refused_before_discord(app):
    """Discord drops punctuation from a text channel's name: "!!!" would leave the family's
    channel without one (400 from Discord); the command says what a name needs instead."""
    sofia = app.user("sofia")
    text = await refused(app, app.owner, "family", {"name": "!!!", "leader": sofia},
                         subcommand="create")
    assert "with a letter or a number" in text
    assert await count(app, "families") == 0


async def test_bot_without_manage_roles_names_the_permission(app):
    sofia = app.user("sofia")
    app.emu.set_bot_permissions(app.guild, BOT_DEFAULT & ~MANAGE_ROLES)
    await app.emu.wait_for(
        lambda: not app.bot.get_guild(app.guild.id).me.guild_permissions.manage_roles,
        what="the bot's permissions in its cache")
    text = await refused(app, app.owner, "family", {"name": "Lobos", "leader": sofia},
                         subcommand="create")
    assert "I am missing a Discord permission: Manage Roles" in text
    assert app.emu.role_by_name(app.guild, "Lobos") is None
    assert app.emu.channel_by_name(app.guild, "lobos") is None
    assert await count(app, "families") == 0


async def test_role_refused_by_discord_mid_way_stores_nothing(app):
    """The permission check passed, but Discord refuses to give the leader the new role (the
    bot's role is too low): the channel is removed again and no family is stored."""
    sofia = app.user("sofia")
    app.emu.bot_role(app.guild).position = 0
    text = await refused(app, app.owner, "family", {"name": "Lobos", "leader": sofia},
                         subcommand="create")
    assert "missing a Discord permission" in text
    assert app.emu.channel_by_name(app.guild, "lobos") is None
    assert await count(app, "families") == 0


async def test_spanish_replies_to_bad_input(app):
    sofia, ana = app.user("sofia", locale="es-ES"), app.user("ana", locale="es-ES")
    family = await create(app, "Lobos", sofia)
    text = await refused(app, ana, "family", {"family": "Nadie"}, subcommand="join",
                         locale="es-ES")
    assert "No encuentro" in text and "Nadie" in text, text
    text = await refused(app, sofia, "family", subcommand="leave", locale="es-ES")
    assert "Un líder no puede salir de Lobos sin entregarla" in text, text
    await join(app, ana, family)
    text = await refused(app, sofia, "family", {"member": ana, "reason": " "},
                         subcommand="remove", locale="es-ES")
    assert "el motivo es obligatorio" in text, text
    text = await refused(app, app.owner, "tier", {"month": "marzo"}, subcommand="sweep",
                         locale="es-ES")
    assert "marzo" in text and "AAAA-MM" in text, text
    text = await refused(app, ana, "family", {"name": "Osos", "leader": ana},
                         subcommand="create", locale="es-ES")
    assert "Solo los gestores" in text, text


async def test_leader_gets_the_role_when_discords_event_comes_late(app):
    """Discord often answers the REST call before the gateway event that caches a new role."""
    sofia = app.user("sofia")
    loop, dispatch = asyncio.get_running_loop(), app.emu.dispatch

    def late(event, data, **where):
        if event == "GUILD_ROLE_CREATE":
            loop.call_later(0.3, lambda: dispatch(event, data, **where))
        else:
            dispatch(event, data, **where)

    app.emu.dispatch = late
    await create(app, "Lobos", sofia)


async def test_no_manage_roles_refuses_approve_and_remove_before_changing_anything(app):
    sofia, ana, ben = app.user("sofia"), app.user("ana"), app.user("ben")
    family = await create(app, "Lobos", sofia)
    await join(app, ana, family)
    await ask_to_join(app, ben, family)
    app.emu.set_bot_permissions(app.guild, BOT_DEFAULT & ~MANAGE_ROLES)
    await app.emu.wait_for(
        lambda: not app.bot.get_guild(app.guild.id).me.guild_permissions.manage_roles,
        what="the bot's permissions in its cache")
    post = request_post(app, family, ben)
    click = await app.emu.click(sofia, post, button(post, "familia:req:y:"))
    assert "missing a Discord permission: Manage Roles" in await click.reply_text()
    assert click.ephemeral and await membership(app, ben) is None
    assert button(post, "familia:req:y:")  # still there, to click once the role is fixed
    text = await refused(app, sofia, "family", {"member": ana, "reason": "Inactive"},
                         subcommand="remove")
    assert "missing a Discord permission: Manage Roles" in text
    assert (await membership(app, ana)).family_id == family.id
