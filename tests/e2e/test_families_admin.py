"""Families end to end: rosters and stats, role sync and repairs, members leaving, tiers."""

from __future__ import annotations

from datetime import date

from bot.program import CheckinRow, record_checkins
from tests.e2e._families import (
    ask_to_join,
    button,
    create,
    holds,
    join,
    refused,
    remove_role_by_hand,
    request_post,
    roles_become,
)


def cached_roles(app, user) -> set[int]:
    member = app.bot.get_guild(app.guild.id).get_member(user.id)
    return {r.id for r in member.roles} if member else set()


async def test_roster_info_list_and_history(app):
    sofia, ana, leo = app.user("sofia"), app.user("ana"), app.user("leo")
    lobos = await create(app, "Lobos", sofia, capacity=5)
    await create(app, "Osos", leo)
    await join(app, ana, lobos)
    roster = await app.reply(sofia, "family", subcommand="roster")
    assert "**Roster of Lobos** (2)" in roster
    lines = [line for line in roster.splitlines() if line.startswith("- ")]
    assert lines[0].startswith(f"- <@{sofia.id}> · Leader")
    assert lines[1].startswith(f"- <@{ana.id}> · Creator")
    assert "⚠️" not in lines[1]  # Ana accepted the agreement when she asked to join
    assert roster == await app.reply(app.owner, "family", {"family": "Lobos"},
                                     subcommand="roster")
    info = await app.reply(ana, "family", subcommand="info")
    assert "**Lobos**" in info and "Members: 2 / 5" in info and "You joined on" in info
    info = await app.reply(ana, "family", {"family": "Osos"}, subcommand="info")
    assert "**Osos**" in info and "You joined on" not in info
    listed = await app.reply(app.owner, "family", subcommand="list")
    assert "**Lobos** · <@" in listed and "2/5" in listed and "**Osos**" in listed
    history = await app.reply(ana, "family", subcommand="history")
    assert f"<@{ana.id}>" in history and "**Lobos**:" in history and "→ now" in history
    assert history == await app.reply(sofia, "family", {"member": ana}, subcommand="history")
    assert history == await app.reply(app.owner, "family", {"member": ana},
                                      subcommand="history")


async def test_manager_roster_needs_a_family(app):
    text = await refused(app, app.owner, "family", subcommand="roster")
    assert "Which family? Pick one in the family option." in text
    text = await refused(app, app.owner, "family", {"member": app.user("ana")},
                         subcommand="invite")
    assert "Which family?" in text


async def test_stats_for_a_family_and_the_program(app):
    sofia, ana, ben = app.user("sofia"), app.user("ana"), app.user("ben")
    lobos = await create(app, "Lobos", sofia)
    await join(app, ana, lobos)
    await join(app, ben, lobos)
    prompt = await (await app.run(ben, "family", subcommand="leave")).wait_message()
    await (await app.emu.select(ben, prompt, button(prompt, "familia:leave:reason:"), ["support"])
           ).wait_response()
    text = await app.reply(sofia, "family", {"days": 7}, subcommand="stats")
    assert "**Stats of Lobos** · last 7 days" in text
    # Sofia was appointed (no join) and has not streamed (not counted): creators only
    assert "Members now: 1" in text and "Joins: 2 · Leaves: 1" in text
    assert "Not enough support: 1" in text
    assert text.endswith("-# Counted: creators in a family, and leaders and co-leaders on the"
                         " days they stream; joins and leaves are creators'.")
    program = await app.reply(app.owner, "family", subcommand="stats")
    assert "**Program stats** · last 30 days" in program and "Leaves: 1" in program


async def test_sync_preview_then_apply_after_roles_changed_by_hand(app):
    sofia, ana, ben = app.user("sofia"), app.user("ana"), app.user("ben")
    lobos = await create(app, "Lobos", sofia)
    await join(app, ana, lobos)
    remove_role_by_hand(app, ana, lobos.role)
    app.guild.members[ben.id].roles.append(lobos.role.id)  # given by hand to an outsider
    app.emu.member_updated(app.guild, app.guild.members[ben.id])
    await app.emu.wait_for(lambda: lobos.role.id not in cached_roles(app, ana)
                           and lobos.role.id in cached_roles(app, ben), what="the bot's cache")
    preview = await app.reply(app.owner, "family", subcommand="sync")
    assert "**Role sync preview**" in preview
    assert f"<@{ana.id}> +<@&{lobos.role.id}>" in preview
    assert f"<@{ben.id}> −<@&{lobos.role.id}>" in preview
    assert "Run /family sync apply:True" in preview
    assert not holds(app, ana, lobos.role) and holds(app, ben, lobos.role)  # only a preview
    applied = await app.reply(app.owner, "family", {"apply": True}, subcommand="sync")
    assert "**Roles synced**" in applied and "on their way" not in applied
    await roles_become(app, ana, has=lobos.role)
    await roles_become(app, ben, lacks=lobos.role)
    # made by the one Discord sender, from the queue, and recorded in the audit log
    queued = await app.services.db.fetchall(
        "SELECT target, target_id, state FROM deliveries WHERE kind = 'role_sync'"
        " ORDER BY target")
    assert [tuple(r) for r in queued] == [("role_add", ana.id, "sent"),
                                          ("role_remove", ben.id, "sent")]
    assert await app.services.db.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'family.sync'") == 1
    await app.emu.wait_for(lambda: lobos.role.id in cached_roles(app, ana), what="cache")
    again = await app.reply(app.owner, "family", subcommand="sync")
    assert "Nothing to do" in again


async def test_channel_deleted_by_hand_is_reported_and_recreated(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    log = app.emu.create_channel(app.guild, "managers-log")
    await app.reply(app.owner, "settings", {"purpose": "managers", "channel": log},
                    subcommand="channel")
    lobos = await create(app, "Lobos", sofia)
    app.emu.delete_channel(lobos.channel)
    await app.emu.wait_for(lambda: app.bot.get_channel(lobos.channel.id) is None,
                           what="the deletion in the bot's cache")
    text = await ask_to_join(app, ana, lobos)
    assert "The family channel is unavailable right now" in text
    alert = app.emu.messages(log)[-1].content
    assert "The channel of Lobos is missing" in alert and "/family sync apply:True" in alert
    preview = await app.reply(app.owner, "family", subcommand="sync")
    assert "The channel of Lobos is missing: it will be recreated." in preview
    applied = await app.reply(app.owner, "family", {"apply": True}, subcommand="sync")
    assert "Recreated the channel of Lobos." in applied
    family = await app.services.families.get(app.guild.id, lobos.id)
    channel = app.emu.channel(family.channel_id)
    assert channel.name == "lobos" and channel.id != lobos.channel.id
    assert app.emu.can_view(app.guild, sofia, channel)
    assert not app.emu.can_view(app.guild, ana, channel)
    # Ana's request, made while the channel was gone, now reaches the leader.
    lobos.channel = channel
    post = request_post(app, lobos, ana)
    assert "asks to join" in post.content


async def test_role_deleted_by_hand_is_recreated_and_given_back(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    lobos = await create(app, "Lobos", sofia)
    await join(app, ana, lobos)
    app.emu.delete_role(app.guild, lobos.role)
    await app.emu.wait_for(lambda: app.bot.get_guild(app.guild.id).get_role(lobos.role.id)
                           is None, what="the deletion in the bot's cache")
    preview = await app.reply(app.owner, "family", subcommand="sync")
    assert "The role of Lobos is missing: it will be recreated." in preview
    applied = await app.reply(app.owner, "family", {"apply": True}, subcommand="sync")
    assert "Recreated the role of Lobos." in applied
    family = await app.services.families.get(app.guild.id, lobos.id)
    role = app.guild.roles[family.role_id]
    await roles_become(app, ana, has=role)
    await roles_become(app, sofia, has=role)
    assert app.emu.can_view(app.guild, ana, lobos.channel)


async def test_member_leaving_the_server_ends_the_membership(app):
    sofia, ana, ben = app.user("sofia"), app.user("ana"), app.user("ben")
    lobos = await create(app, "Lobos", sofia)
    await join(app, ana, lobos)
    await ask_to_join(app, ben, lobos)
    app.emu.remove_member(app.guild, ana)
    app.emu.remove_member(app.guild, ben)

    async def ended():
        rows = await app.services.families.history(app.guild.id, ana.id)
        pending = await app.services.db.fetchval(
            "SELECT count(*) FROM family_requests WHERE status = 'pending'")
        return rows and rows[-1].leave_reason == "left_server" and pending == 0

    await app.emu.wait_for(ended, what="the membership to end")
    assert (await app.services.families.get(app.guild.id, lobos.id)).members == 1


async def test_leader_leaving_the_server_leaves_the_seat_vacant(app):
    sofia = await app.joined("sofia")
    await create(app, "Lobos", sofia)
    app.emu.remove_member(app.guild, sofia)

    async def vacant():
        family = await app.services.families.resolve(app.guild.id, "Lobos")
        return family.leader_user_id is None

    await app.emu.wait_for(vacant, what="the leader seat to be vacant")
    listed = await app.reply(app.owner, "family", subcommand="list")
    assert "no leader" in listed


async def test_tiers_define_set_list_and_sweep(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    lobos = await create(app, "Lobos", sofia)
    await join(app, ana, lobos)
    bronze_role = app.emu.create_role(app.guild, "Bronce")
    silver_role = app.emu.create_role(app.guild, "Plata")
    await app.emu.wait_for(lambda: app.bot.get_guild(app.guild.id).get_role(silver_role.id),
                           what="roles in the cache")
    text = await app.reply(app.owner, "tier", {"name": "Bronce", "rank": 1,
                                               "role": bronze_role, "hours": 10.0},
                           subcommand="define")
    assert "Saved." in text and "**Bronce**" in text and "live hours" in text
    await app.reply(app.owner, "tier", {"name": "Plata", "rank": 2, "role": silver_role,
                                        "hours": 40.0, "diamonds": 5000}, subcommand="define")
    listed = await app.reply(ana, "tier", subcommand="list")
    assert listed.index("1. **Bronce**") < listed.index("2. **Plata**")
    assert "5,000 diamonds" in listed
    text = await app.reply(app.owner, "tier", {"member": ana, "tier": "Bronce"},
                           subcommand="set")
    assert f"<@{ana.id}>: — → Bronce" in text
    await roles_become(app, ana, has=bronze_role)
    assert "tier: Bronce" in await app.reply(sofia, "family", subcommand="roster")

    await record_checkins(app.services, app.guild.id, [  # May 2026: 52 h, 8,000 💎
        CheckinRow(ana.id, date(2026, 5, day), hours, diamonds)
        for day, hours, diamonds in ((1, 20, 4000), (2, 20, 4000), (3, 12, 0))])
    preview = await app.reply(app.owner, "tier", {"month": "2026-05"}, subcommand="sweep")
    assert "Tier preview for 2026-05" in preview and f"<@{ana.id}>: Bronce → Plata ⬆️" in preview
    assert (await app.services.tiers.tier_of(app.guild.id, ana.id)).name == "Bronce"
    applied = await app.reply(app.owner, "tier", {"month": "2026-05", "apply": True},
                              subcommand="sweep")
    assert "Tiers for 2026-05 applied" in applied
    await roles_become(app, ana, has=silver_role, lacks=bronze_role)
    await app.emu.wait_for(lambda: any("reached the tier Plata" in m.content
                                       for m in app.emu.messages(lobos.channel)),
                           what="the promotion post")
    again = await app.reply(app.owner, "tier", {"month": "2026-05"}, subcommand="sweep")
    assert "No tier changes" in again
    # June is still running: its tiers are not applied before its last check-in window
    text = await refused(app, app.owner, "tier", {"month": "2026-06", "apply": True},
                         subcommand="sweep")
    assert "2026-06 is not final yet" in text and "<t:" in text


async def test_tier_refusals(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    await create(app, "Lobos", sofia)
    await app.reply(app.owner, "tier", {"name": "Bronce", "rank": 1}, subcommand="define")
    text = await refused(app, app.owner, "tier", {"name": "Oro", "rank": 1},
                         subcommand="define")
    assert "Rank 1 is already the tier “Bronce”" in text
    text = await refused(app, app.owner, "tier", {"member": ana, "tier": "Bronce"},
                         subcommand="set")
    assert "not a member of any family" in text
    text = await refused(app, app.owner, "tier", {"member": sofia, "tier": "Diamante"},
                         subcommand="set")
    assert "There is no tier called “Diamante”" in text
    text = await refused(app, app.owner, "tier", {"month": "2026-13"}, subcommand="sweep")
    assert "is not a month" in text
    # a role above Familia's own: refused before anything is saved
    crown = app.emu.create_role(app.guild, "Corona", position=200)
    await app.emu.wait_for(lambda: app.bot.get_guild(app.guild.id).get_role(crown.id),
                           what="the role in the cache")
    text = await refused(app, app.owner, "tier", {"name": "Oro", "rank": 2, "role": crown},
                         subcommand="define")
    assert "cannot give or take the role Corona" in text
    assert [t.name for t in await app.services.tiers.list_tiers(app.guild.id)] == ["Bronce"]
    # a tier saved with that role (before the roles were reordered) blocks set and apply
    await app.services.tiers.define(app.guild.id, app.owner.id, "Plata", 2, crown.id)
    text = await refused(app, app.owner, "tier", {"member": sofia, "tier": "Plata"},
                         subcommand="set")
    assert "cannot give or take the role Corona" in text
    text = await refused(app, app.owner, "tier", {"month": "2026-10", "apply": True},
                         subcommand="sweep")
    assert "cannot give or take the role Corona" in text
    assert await app.services.tiers.tier_of(app.guild.id, sofia.id) is None
