"""Who may run which /family and /tier command: a creator, a leader of another family, the
family's leader and a manager each run every command; refusals are ephemeral and change
nothing, in the database or in Discord."""

from __future__ import annotations

import pytest

from bot.services.families import AGREEMENT_VERSION
from tests.e2e._families import create, roles_become

MANAGERS = "Only program managers can do this"
LEADERS = "Only family leaders and program managers can do this"
OWN = "Leaders can do this only for their own family"
MEMBER = "already a member of"
HAND_OVER = "A leader can't leave"
NOT_IN_ONE = "not a member of any family"
EVERYONE_BUT_MANAGERS = {"creator": MANAGERS, "other_leader": MANAGERS, "leader": MANAGERS}

# (command, subcommand, options, what the allowed answer says, refusals by actor). Options
# naming people ("ben", "zoe", "cai") are filled in with those users. Allowed runs happen in
# this order, so each leaves the world fit for the next.
CASES = [
    ("family", "list", {}, "**Families**", EVERYONE_BUT_MANAGERS),
    ("family", "sync", {}, "**Role sync preview**", EVERYONE_BUT_MANAGERS),
    ("family", "info", {"family": "Lobos"}, "**Lobos**", {}),
    ("family", "agreement", {}, "Family program agreement", {}),
    ("family", "roster", {"family": "Lobos"}, "**Roster of Lobos**",
     {"creator": LEADERS, "other_leader": OWN}),
    ("family", "stats", {"family": "Lobos"}, "**Stats of Lobos**",
     {"creator": LEADERS, "other_leader": OWN}),
    ("family", "history", {"member": "ben"}, "**Family history**",
     {"creator": OWN, "other_leader": OWN}),
    ("family", "join", {"family": "Osos"}, "To ask to join **Osos**",
     {"creator": MEMBER, "other_leader": MEMBER, "leader": MEMBER}),
    ("family", "leave", {}, "You are about to leave Lobos",
     {"other_leader": HAND_OVER, "leader": HAND_OVER, "manager": NOT_IN_ONE}),
    ("tier", "list", {}, "**Bronce**", {}),
    ("tier", "define", {"name": "Oro", "rank": 3}, "Saved.", EVERYONE_BUT_MANAGERS),
    ("tier", "set", {"member": "ben", "tier": "Bronce"}, "→ Bronce", EVERYONE_BUT_MANAGERS),
    ("tier", "sweep", {}, "Tier preview for", EVERYONE_BUT_MANAGERS),
    ("tier", "delete", {"name": "Oro"}, "Saved.", EVERYONE_BUT_MANAGERS),
    ("family", "capacity", {"family": "Lobos", "capacity": 20}, "/ 20", EVERYONE_BUT_MANAGERS),
    ("family", "rename", {"family": "Lobos", "name": "Lobos"}, "Saved.", EVERYONE_BUT_MANAGERS),
    ("family", "invite", {"member": "zoe", "family": "Lobos"}, "Invitation sent",
     {"creator": LEADERS, "other_leader": OWN}),
    ("family", "transfer", {"family": "Osos", "member": "ben"}, "Osos",
     {"creator": OWN, "other_leader": OWN}),
    ("family", "remove", {"member": "ben", "reason": "Inactive"}, "was removed from",
     {"creator": LEADERS, "other_leader": OWN}),
    ("family", "appoint", {"family": "Lobos", "position": "co_leader", "member": "cai"},
     "Co-leader: <@", EVERYONE_BUT_MANAGERS),
    ("family", "create", {"name": "Nuevos", "leader": "zed"}, "Family created",
     EVERYONE_BUT_MANAGERS),
    ("family", "archive", {"family": "Osos"}, "Family archived", EVERYONE_BUT_MANAGERS),
]

TABLES = ("families", "family_members", "family_requests", "agreement_acceptances", "tiers",
          "member_tiers", "tier_changes", "members", "audit_log")


async def world(app):
    """Lobos (led by Sofía; Ana, Ben and Cai are creators), Osos (led by Leo), a tier."""
    people = {name: app.user(name) for name in ("sofia", "leo", "ana", "ben", "cai", "zoe",
                                                  "zed")}
    lobos = await create(app, "Lobos", people["sofia"])
    await create(app, "Osos", people["leo"])
    for name in ("ana", "ben", "cai"):  # joined earlier (spares Discord's role rate limit)
        await joined_before(app, people[name], lobos)
    await app.reply(app.owner, "tier", {"name": "Bronce", "rank": 1}, subcommand="define")
    people["manager"] = app.owner
    people["creator"], people["other_leader"], people["leader"] = (
        people["ana"], people["leo"], people["sofia"])
    return people


async def joined_before(app, user, family) -> None:
    families = app.services.families
    request = await families.request_join(app.guild.id, user.id, family.id, AGREEMENT_VERSION)
    await families.decide(app.guild.id, app.owner.id, request.id, True, as_manager=True)
    app.guild.members[user.id].roles.append(family.role.id)
    app.emu.member_updated(app.guild, app.guild.members[user.id])
    await roles_become(app, user, has=family.role)


async def snapshot(app) -> tuple:
    """Everything a refused command must leave as it was."""
    rows = []
    for table in TABLES:
        # The Discord language seen on any command is remembered (not the command's doing).
        columns = ("guild_id, user_id, program_role, timezone, locale, joined_at, left_at"
                   if table == "members" else "*")
        found = await app.services.db.fetchall(f"SELECT {columns} FROM {table} ORDER BY rowid")
        rows.append([tuple(r) for r in found])
    guild = app.guild
    discord_state = (
        sorted((uid, tuple(sorted(m.roles))) for uid, m in guild.members.items()),
        sorted(guild.roles), sorted(guild.channels),
        sorted((c.id, tuple(sorted((o.id, o.allow, o.deny) for o in c.overwrites.values())))
               for c in guild.channels.values()),
    )
    return tuple(map(tuple, rows)), discord_state


def fill(options: dict, people: dict) -> dict:
    return {k: people[v] if k in ("member", "leader") else v for k, v in options.items()}


@pytest.mark.parametrize("actor", ["creator", "other_leader", "leader", "manager"])
async def test_permission_matrix(app, actor):
    people = await world(app)
    user = people[actor]
    for command, sub, options, _, refusals in CASES:
        if actor not in refusals:
            continue
        before = await snapshot(app)
        it = await app.run(user, command, fill(options, people), subcommand=sub)
        text = await it.reply_text()
        where = f"/{command} {sub} by the {actor}"
        assert it.ephemeral, where
        assert refusals[actor] in text, f"{where}: {text}"
        assert await snapshot(app) == before, f"{where} changed something"
    for command, sub, options, allowed, refusals in CASES:
        if actor in refusals:
            continue
        it = await app.run(user, command, fill(options, people), subcommand=sub)
        text = await it.reply_text()
        assert it.ephemeral and allowed in text, f"/{command} {sub} by the {actor}: {text}"
