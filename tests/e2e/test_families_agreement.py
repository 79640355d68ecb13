"""A leader a manager appoints has not accepted the program agreement (a manager cannot accept
it for them): Familia asks them by DM, with an Accept button, and the roster's warning goes
once they accept. Someone who already accepted is not asked again."""

from __future__ import annotations

from tests.e2e._families import button, create, join


async def agreement_dm(app, user):
    await app.emu.wait_for(lambda: app.emu.dms(user), what=f"the DM to {user.name}")
    [dm] = app.emu.dms(user)
    return dm


def roster_line(roster: str, user) -> str:
    return next(line for line in roster.splitlines() if line.startswith(f"- <@{user.id}>"))


async def test_a_new_leader_is_asked_to_accept_and_the_warning_goes(app):
    sofia = app.user("sofia")
    await create(app, "Lobos", sofia)
    dm = await agreement_dm(app, sofia)
    assert f"<@{app.owner.id}> made you the leader of the family **Lobos**" in dm.content
    assert "Family program agreement (version 1)" in dm.content
    assert "`/family agreement`" in dm.content
    roster = await app.reply(sofia, "family", subcommand="roster")
    assert "⚠️ agreement not accepted" in roster_line(roster, sofia)
    click = await app.emu.click(sofia, dm, button(dm, "familia:agree:"))
    assert "you accepted version 1" in await click.reply_text()
    roster = await app.reply(sofia, "family", subcommand="roster")
    assert "⚠️" not in roster_line(roster, sofia)


async def test_an_appointed_co_leader_is_asked_in_their_language_once(app):
    sofia, cai = app.user("sofia"), app.user("cai")
    await create(app, "Lobos", sofia)
    await app.reply(cai, "me", {"language": "es"}, subcommand="language")
    await app.reply(app.owner, "family", {"family": "Lobos", "position": "co_leader",
                                          "member": cai}, subcommand="appoint")
    dm = await agreement_dm(app, cai)
    assert "te nombró colíder de la familia **Lobos**" in dm.content
    assert "`/familia acuerdo`" in dm.content
    await app.reply(app.owner, "family", {"family": "Lobos", "position": "co_leader",
                                          "member": cai}, subcommand="appoint")
    asked = await app.services.db.fetchval(
        "SELECT count(*) FROM deliveries WHERE dedupe_key LIKE 'family-appointed:%'"
        " AND target_id = ?", (cai.id,))
    assert asked == 1  # appointed again to the same seat: not asked twice


async def test_a_member_who_accepted_is_not_asked_again(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    await join(app, ana, await create(app, "Lobos", sofia))
    await app.reply(app.owner, "family", {"family": "Lobos", "position": "leader",
                                          "member": ana}, subcommand="appoint")
    roster = await app.reply(ana, "family", subcommand="roster")
    assert roster_line(roster, ana).startswith(f"- <@{ana.id}> · Leader")
    assert "⚠️" not in roster_line(roster, ana)
    assert not [m for m in app.emu.dms(ana) if "made you" in m.content]
