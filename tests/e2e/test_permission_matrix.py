"""Who may do what (#17, must-have 3): every slash command of the synced tree and every
restart-proof button or select, run by six people — a creator, the leader of the family the
command names, the leader of another family, a manager, a member outside the program, and a
manager of *another* server — against the expected outcome written once per command in the
tables below. A refusal is an answer (ephemeral) that changes nothing in the database.

Commands are read from what the bot synced to Discord and buttons from the restart-proof
item classes, so a new one cannot escape: a command missing from ``COMMANDS`` is still run by
everyone, with the level its checks declare, and a button missing from ``BUTTONS`` fails the
test until its expected outcome is written. The manager of another server runs commands here
(where they are a plain member) and presses every button in their own server, with ids naming
this server's rows: refused, always.

What the outcome is comes from the bot's one line per interaction (``familia.commands``:
``outcome=ok`` or ``refused:<code>``); an allowed person may still be refused for a reason
of the data ("already a member"), never for who they are.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.db import SyncTransaction
from bot.services.families import AGREEMENT_VERSION
from bot.services.roster import Directory
from tests.e2e._buttons import Outcomes, persistent_classes, press

pytestmark = pytest.mark.slow

ACTORS = ("creator", "leader", "other_leader", "manager", "outsider", "foreign_manager")
# Who is allowed, by level: the family a command or button names is the leader's (Lobos).
LEVELS = {
    "anyone": {"creator", "leader", "other_leader", "manager", "outsider", "foreign_manager"},
    "program": {"creator", "leader", "other_leader", "manager"},
    "family": {"leader", "manager"},  # the family's leaders and managers
    "leaders": {"leader", "other_leader", "manager"},  # any family's leaders (their own)
    "leader": {"leader"},  # the family's leaders only (feedback on their creators)
    "managers": {"manager"},
    "self": {"creator"},  # the row is the creator's own
    "self_or_managers": {"creator", "manager"},  # the creator's own ticket, or a manager
}
# Refusals that say who may do it: an allowed person must never get one of these.
WHO_REFUSALS = {
    "common.managers_only", "common.program_only", "common.not_allowed",
    "common.other_server", "common.guild_only", "families.leaders_only",
    "families.not_your_family", "families.not_your_invite", "checkins.leaders_of_family_only",
    "leaderboards.former_managers_only", "families.leave_outdated", "reviews.not_your_action",
    "tickets.staff_only", "tickets.not_yours", "tickets.reopen_not_yours",
}

# The expected outcome of every command, once: its level, and options that point it at the
# world below. Options not given are filled from the synced tree (first choice, a value of
# the option's type, a name from ``NAMED``). "member2" is another creator of Lobos (whose
# history a leader of Lobos may see, the creator may not); "spare" the third family.
COMMANDS: dict[str, tuple[str, dict]] = {
    "broadcast new": ("managers", {}),
    "broadcast report": ("managers", {}),
    "broadcast cancel": ("managers", {"id": "draft_broadcast"}),
    "broadcast optin": ("anyone", {}),
    "campaign new": ("managers", {}),
    "campaign edit": ("managers", {"campaign": "draft_campaign"}),
    "campaign preview": ("managers", {"campaign": "draft_campaign"}),
    "campaign cancel": ("managers", {"campaign": "draft_campaign"}),
    "campaign list": ("program", {}),
    "campaign join": ("program", {}),
    "campaign progress": ("program", {}),
    "campaign board": ("program", {}),
    "campaign results": ("managers", {"campaign": "running_campaign"}),
    "checkins history": ("family", {"member": "member2"}),
    "creator profile": ("anyone", {}),
    "creator set": ("anyone", {"handle": "matrix_handle"}),
    "creator import": ("managers", {}),
    "creator template": ("managers", {}),
    "checkins settings": ("managers", {}),
    "checkin": ("program", {}),
    "email set": ("anyone", {}),
    "email verify": ("anyone", {}),
    "email preferences": ("anyone", {}),
    "email remove": ("anyone", {}),
    "email schedule": ("managers", {}),
    "export roster": ("family", {"family": "family"}),
    "export checkins": ("family", {"family": "family"}),
    "export progress": ("family", {"family": "family"}),
    "export kpis": ("family", {"family": "family"}),
    "family create": ("managers", {"leader": "newcomer"}),
    "family rename": ("managers", {"family": "spare", "name": "spare"}),
    "family archive": ("managers", {"family": "spare"}),
    "family appoint": ("managers", {"family": "spare", "position": "co_leader",
                                    "member": "newcomer"}),
    "family capacity": ("managers", {"family": "spare"}),
    "family list": ("managers", {}),
    "family sync": ("managers", {}),
    "family join": ("anyone", {"family": "other"}),
    "family invite": ("family", {"member": "outsider", "family": "family"}),
    "family leave": ("program", {}),
    "family remove": ("family", {"member": "member3"}),
    "family transfer": ("family", {"family": "other", "member": "member4"}),
    "family agreement": ("anyone", {}),
    "family info": ("program", {}),
    "family roster": ("family", {"family": "family"}),
    "family history": ("family", {"member": "member2"}),
    "family stats": ("family", {"family": "family"}),
    "family scorecard": ("leaders", {}),  # a leader sees their own family's card
    "leaderboard creators": ("program", {}),
    "leaderboard families": ("program", {}),
    "leaderboard post": ("managers", {}),
    "me view": ("anyone", {}),
    "me timezone": ("anyone", {}),
    "me language": ("anyone", {}),
    "me export": ("anyone", {}),
    "me delete": ("anyone", {}),
    "policy publish": ("managers", {"title": "Matrix policy"}),  # a form opens
    "policy show": ("program", {"document": "policy_doc"}),
    "policy search": ("program", {"query": "matrix"}),
    "policy versions": ("program", {"document": "policy_doc"}),
    "policy changes": ("program", {"document": "policy_doc"}),
    "policy acknowledge": ("program", {"document": "policy_doc"}),
    "policy archive": ("managers", {"document": "policy_spare"}),
    "policy status": ("leaders", {"document": "policy_doc"}),  # a leader: their family
    "progress view": ("family", {"member": "member2"}),
    "progress family": ("family", {"family": "family"}),
    "progress risk": ("family", {"family": "family"}),
    "progress nudge": ("program", {}),
    "reminders dm on": ("program", {}),
    "reminders dm off": ("program", {}),
    "reminders why": ("program", {}),
    "review week": ("managers", {}),
    "review schedule": ("managers", {}),
    "review act": ("family", {"note": "Matrix action", "owner": "member2", "due": "2026-06-20",
                              "family": "family"}),
    "review actions": ("family", {"family": "family"}),
    "review done": ("family", {"id": "lobos_action"}),
    "review drop": ("family", {"id": "lobos_action"}),
    "review reopen": ("family", {"id": "lobos_action"}),
    "risk list": ("family", {"family": "family"}),
    "risk acknowledge": ("family", {"flag": "lobos_flag"}),
    "risk dismiss": ("family", {"flag": "lobos_flag"}),
    "risk resolve": ("family", {"flag": "lobos_flag", "note": "Talked to them"}),
    "risk settings": ("managers", {}),
    "settings view": ("managers", {}),
    "stats import": ("managers", {}),
    "stats imports": ("managers", {}),
    "stats rollback": ("managers", {"number": "applied_import"}),
    "stats sources": ("managers", {}),
    "stats reconcile": ("family", {"family": "family"}),
    "settings timezone": ("managers", {}),
    "settings language": ("managers", {}),
    "settings manager-role": ("managers", {}),
    "settings channel": ("managers", {}),
    "tier define": ("managers", {"name": "Oro", "rank": 9}),
    "tier delete": ("managers", {"name": "Oro"}),
    "tier list": ("program", {}),
    "tier set": ("managers", {"member": "member2"}),
    "tier sweep": ("managers", {}),
    "ticket open": ("anyone", {}),
    "ticket setup": ("managers", {}),
    "ticket category": ("managers", {}),
    "ticket panel": ("managers", {}),
    "ticket reply": ("managers", {}),  # run outside a ticket's thread: refused for all
    "ticket note": ("managers", {}),  # the same
    "ticket list": ("managers", {}),  # and the members of a category's support role
    "ticket stats": ("managers", {}),
    # the creator's ticket is open: its creator and managers are told there is nothing to
    # reopen, the others that it is not theirs
    "ticket reopen": ("self_or_managers", {"number": 1}),
    "ticket days": ("managers", {}),
    "onboarding": ("program", {}),
    "onboardings family": ("family", {"family": "family"}),
    "onboardings settings": ("managers", {}),
    "showcase submit": ("program", {"link": "https://example.com/matrix", "title": "Matrix",
                                    "what-worked": "Matrix moment"}),
    "showcase mine": ("program", {}),
    "showcase nominate": ("family", {"entry": "showcase_entry"}),
    "showcase review": ("managers", {}),
    "showcase curate": ("managers", {"entry": "showcase_entry", "action": "shortlist"}),
    "showcase playbook": ("managers", {}),
    "showcase settings": ("managers", {}),
}
# Values for string options by name, when a command's row above gives none.
NAMED = {"name": "Nuevos", "address": "matrix@example.org", "code": "123456", "zone": "UTC",
         "reason": "Inactive for months", "time": "20:00", "family": "family",
         "campaign": "running_campaign", "tier": "Bronze"}

# Every restart-proof button and select: (class name, level, custom_id of this server's rows).
# Run in this order (a Discard before the Schedule of the same draft…); the creator's own
# leave menu and the /me delete confirmation last.
BUTTONS: list[tuple[str, str, str]] = [
    ("DecideButton", "family", "familia:req:n:{guild}:{request}"),
    ("JoinButton", "anyone", "familia:join:{guild}:{other}:{version}"),
    ("AgreeButton", "anyone", "familia:agree:{guild}:{version}"),
    ("CancelButton", "managers", "familia:bc:cancel:{broadcast}"),
    ("ConfirmButton", "managers", "familia:bc:confirm:{broadcast}"),
    ("DiscardButton", "managers", "familia:cp:discard:{draft}"),
    ("ScheduleButton", "managers", "familia:cp:schedule:{draft}"),
    ("EnrolButton", "program", "familia:cp:enrol:{running}:1"),
    ("ProgressButton", "program", "familia:cp:me:{running}:1"),
    ("ResultsButton", "managers", "familia:cp:results:{running}:1"),
    ("FeedbackButton", "leader", "familia:fb:{checkin}"),
    ("PageButton", "program", "familia:lb:hours:{week}:program:0:0:0"),
    ("PageButton", "managers", "familia:lb:hours:{week}:program:0:1:0"),
    ("FamiliesPage", "program", "familia:pg:lbfam:hours:{week}:average:0"),
    ("RosterPage", "family", "familia:pg:roster:{family}:0"),
    ("ListPage", "managers", "familia:pg:families:0:0"),
    ("HistoryPage", "family", "familia:pg:fhistory:{member2}:0"),
    ("CheckinsPage", "family", "familia:pg:checkins:{member2}:30:0"),
    ("RiskPage", "family", "familia:pg:risk:{family}:0"),
    ("ActionsPage", "family", "familia:pg:ractions:{family}:0"),
    ("ListPage", "program", "familia:pg:campaigns:0"),
    ("ShowPage", "program", "familia:pg:policy:{policy}:1:0"),
    ("AckButton", "program", "familia:pol:ack:{policy}:{policy_version}"),
    ("DmReadButton", "program", "familia:pol:read:{guild}:{policy}"),
    ("DmAckButton", "program", "familia:pol:dmack:{guild}:{policy}:{policy_version}"),
    # before Apply places the outsider in a family (a roster upload)
    ("StepButton", "program", "familia:ob:step:checkin"),
    ("FamilyOnboardingPage", "family", "familia:pg:onboarding:{family}:0"),
    ("ReviewPage", "managers", "familia:pg:showcase:{month}:all:0"),
    ("CurateButton", "managers", "familia:sc:shortlist:{showcase}:all:0"),
    ("ApplyButton", "managers", "familia:roster:apply:{upload}"),
    ("StatsApplyButton", "managers", "familia:st:apply:{stats_import}"),
    ("StatsDiscardButton", "managers", "familia:st:discard:{stats_import}"),
    ("SweepChange", "managers", "familia:ts:chg:{sweep}"),
    ("SweepHold", "managers", "familia:ts:hold:{sweep}"),
    ("SweepApprove", "managers", "familia:ts:ok:{sweep}"),
    ("HelpButton", "anyone", "familia:tk:help"),
    ("CategorySelect", "anyone", "familia:tk:pick:1"),
    ("DmCategorySelect", "anyone", "familia:tk:dm:{guild}"),
    ("ClaimButton", "managers", "familia:tk:claim:{ticket}"),
    ("PriorityButton", "managers", "familia:tk:prio:{ticket}"),
    ("AssignButton", "managers", "familia:tk:assign:{ticket}"),
    ("AssignSelect", "managers", "familia:tk:assignto:{ticket}"),
    ("WaitButton", "managers", "familia:tk:wait:{ticket}"),
    ("ListPage", "managers", "familia:pg:tickets:open:all:0:0"),
    ("CloseButton", "self_or_managers", "familia:tk:close:{ticket}"),
    ("ReasonSelect", "self_or_managers", "familia:tk:reason:{ticket}"),
    ("LeaveSelect", "self", "familia:leave:reason:{membership}:0"),
    ("DeleteConfirm", "anyone", "familia:me:delete"),  # each deletes their own data: last
]

# Fields naming a row of this server: pressed in another server, such an id is refused. The
# others (a page of "the program's" board, a member's history) show the other server's own
# list there, which holds nothing of this one.
ROWS = ("guild", "request", "other", "broadcast", "draft", "running", "checkin", "family",
        "membership", "upload", "sweep", "stats_import", "ticket", "policy", "showcase")
# What a select's press picks (the others are buttons).
PICKS = {"LeaveSelect": "time", "CategorySelect": "technical", "DmCategorySelect": "technical",
         "ReasonSelect": "resolved", "AssignSelect": "1"}


def leaves(commands: dict) -> list[tuple[str, list[dict]]]:
    """Every runnable command of the synced tree: ("family create", its options)."""
    found = []
    for name, command in sorted(commands.items()):
        def walk(path: str, options: list[dict]) -> None:
            subs = [o for o in options if o["type"] in (1, 2)]
            if not subs:
                found.append((path, options))
            for sub in subs:
                walk(f"{path} {sub['name']}", sub.get("options") or [])
        walk(name, command.get("options") or [])
    return found


def by_refusals_first(level: str) -> list[str]:
    """The actors, those to be refused first: while the row is still there to act on (a
    request still pending), a refusal tests the check, not the state."""
    return sorted(ACTORS, key=lambda actor: actor in LEVELS[level])


def level_of_checks(app, path: str) -> str:
    """The level a command's own checks declare (for a command not in ``COMMANDS``)."""
    command = app.bot.tree.get_command(path.split()[0])
    for part in path.split()[1:]:
        command = command.get_command(part)
    names = " ".join(c.__qualname__ for c in command.checks)
    if "manager_only" in names:
        return "managers"
    if "leader_or_manager" in names:
        return "family"
    return "program" if "require_creator" in names else "anyone"


async def snapshot(app) -> dict:
    """The database as a refusal must leave it. Deliveries and mails are compared by id (the
    senders change the state of earlier ones meanwhile); the Discord language seen on any
    interaction is remembered, by design. Every table is read in one unit of work: one
    consistent view, in one trip to the database thread (not two per table)."""
    return await app.services.db.run(_tables)


def _tables(tx: SyncTransaction) -> dict:
    tables = [r[0] for r in tx.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    found = {}
    for table in sorted(tables):
        columns = [r[1] for r in tx.fetchall(f"PRAGMA table_info({table})")]
        if table in ("deliveries", "email_outbox"):
            columns = ["id"]
        columns = [c for c in columns if c != "discord_locale"]
        rows = tx.fetchall(f"SELECT {', '.join(columns)} FROM {table}")
        found[table] = sorted((tuple(r) for r in rows), key=repr)  # some have no rowid
    return found


def changed(before: dict, after: dict) -> list[str]:
    return [t for t in after if before.get(t) != after[t]]


async def world(app):
    """One small program (three families, a running campaign, tiers, check-ins) with channels;
    a draft broadcast, a draft campaign, a pending request to Lobos; a second server owned by
    its own manager, who is a plain member here."""
    made = await app.program("small", channels=True)
    users = made.extra["users"]
    family, other, spare = made.families
    creators = [users[u] for u in family.creator_ids]
    outsider, newcomer, asker = app.user("outsider"), app.user("newcomer"), app.user("asker")
    bea = app.emu.create_user("bea")
    second = app.emu.create_guild("Other server", owner=bea)
    app.emu.add_member(app.guild, bea, dispatch=False)
    await app.emu.wait_for(lambda: app.bot.get_guild(second.id), what="the second server")
    people = {"creator": creators[0], "leader": users[family.leader_id],
              "other_leader": users[other.leader_id], "manager": app.owner,
              "outsider": outsider, "foreign_manager": bea}
    services = app.services
    request = await services.families.request_join(app.guild.id, asker.id, family.id,
                                                   AGREEMENT_VERSION)
    it = await app.run(app.owner, "broadcast", {"audience": "all", "routes": "channel"},
                       subcommand="new")
    await (await it.submit({"text": "Matrix broadcast"})).wait_message()
    broadcast = await services.db.fetchval("SELECT max(id) FROM broadcasts")
    day = app.clock.now().date()
    it = await app.run(app.owner, "campaign", {
        "name": "Matrix draft", "metric": "hours", "start": str(day + timedelta(days=2)),
        "end": str(day + timedelta(days=8)), "target": 5.0}, subcommand="new")
    assert await it.wait_modal(), await it.reply_text()
    await (await it.submit({"description": "A draft", "reward": ""})).wait_response()
    draft = await services.db.fetchval("SELECT max(id) FROM campaigns WHERE state = 'draft'")
    running = made.campaign_id
    checkin = await services.db.fetchval(
        "SELECT max(id) FROM checkins WHERE guild_id = ? AND user_id = ? AND family_id = ?",
        (app.guild.id, creators[0].id, family.id))
    membership = (await services.families.membership_of(app.guild.id, creators[0].id)).id
    upload = (await services.roster.preview(
        app.guild.id, app.owner.id, "matrix.csv",
        f"Discord user,Family\n{outsider.id},{family.name}\n".encode(),
        Directory.of([(outsider.id, ("outsider",))]))).upload_id
    await services.profiles.set(app.guild.id, app.owner.id, creators[1].id,
                                {"handle": "matrix_stats"}, as_manager=True)
    stats_file = f"Handle,Date,Hours\nmatrix_stats,{app.clock.now().date()},2\n".encode()
    applied = (await services.stats.stage(app.guild.id, app.owner.id, "a.csv", stats_file)
               ).record.id
    await services.stats.apply(app.guild.id, applied, app.owner.id)
    staged = (await services.stats.stage(app.guild.id, app.owner.id, "b.csv",
                                         stats_file.replace(b",2\n", b",3\n"))).record.id
    week = await services.leaderboards.resolve_period(app.guild.id, "this_week")
    action = await services.reviews.add_action(  # a review's action owned by Lobos' leader
        app.guild.id, app.owner.id, True, people["leader"].id, day + timedelta(days=3),
        "Matrix action", family_id=family.id)
    # a risk flag about a creator of Lobos, and a tier sweep waiting for approval
    async with services.db.transaction() as tx:
        flag = await tx.execute(
            "INSERT INTO risk_flags (guild_id, kind, subject, user_id, family_id, figures,"
            " raised_at, raised_day) VALUES (?, 'gone_quiet', ?, ?, ?, ?, ?, ?)",
            (app.guild.id, f"u:{creators[1].id}", creators[1].id, family.id,
             '{"last_checkin": "2026-06-10", "days": 6}', "2026-06-17T12:00:00+00:00",
             "2026-06-17"))

    async def no_post(sweep, changes, total):
        return None

    sweep = (await services.sweeps.open(app.guild.id, "2026-05", no_post, 5)).id
    # the support desk, and a ticket of Lobos' creator (its thread is not needed here)
    staff = app.emu.create_channel(app.guild, "matrix-staff")
    await services.tickets.configure(app.guild.id, app.owner.id,
                                     app.emu.default_channel(app.guild).id, staff.id)
    ticket = (await services.tickets.open(app.guild.id, creators[0].id, "money", "Payout",
                                          "Late")).ticket.id
    # a policy in two versions, and one to archive
    policy, _ = await services.policies.publish(
        app.guild.id, app.owner.id, "Matrix policy", category="community",
        bodies={"en": "Matrix rules.", "es": "Reglas de la matriz."})
    _, policy_version = await services.policies.publish(
        app.guild.id, app.owner.id, "Matrix policy", summary="Second",
        bodies={"en": "Matrix rules, again."})
    await services.policies.publish(app.guild.id, app.owner.id, "Matrix spare policy",
                                    category="training", bodies={"en": "Spare."})
    # a LIVE moment a creator of Lobos submitted to the showcase
    entry = await services.showcase.submit(app.guild.id, creators[1].id,
                                           "https://example.com/lobos", "Lobos", "It worked",
                                           "gifting")
    names = {
        "showcase_entry": entry.id,
        "family": family.name, "other": other.name, "spare": spare.name,
        "member2": creators[1], "member3": creators[2], "member4": creators[3],
        "outsider": outsider, "newcomer": newcomer, "draft_broadcast": broadcast,
        "draft_campaign": "Matrix draft", "lobos_action": action.id, "lobos_flag": flag,
        "running_campaign": await services.db.fetchval(
            "SELECT name FROM campaigns WHERE id = ?", (running,)),
        "applied_import": applied, "policy_doc": "Matrix policy",
        "policy_spare": "Matrix spare policy",
    }
    ids = {"guild": app.guild.id, "request": request.id, "other": other.id,
           "version": AGREEMENT_VERSION, "broadcast": broadcast, "draft": draft,
           "running": running, "checkin": checkin, "week": f"{week.kind}:{week.key}",
           "family": family.id, "member2": creators[1].id, "membership": membership,
           "upload": upload, "sweep": sweep, "stats_import": staged, "ticket": ticket,
           "policy": policy.id, "policy_version": policy_version.version,
           "showcase": entry.id, "month": entry.month}
    assert broadcast and draft and checkin
    return people, names, ids, second


def fill(path: str, options: list[dict], given: dict, names: dict, people: dict,
         app) -> dict:
    """The options of one run: those the table gives (names looked up), then every required
    one from the synced tree."""
    values = {k: names.get(v, v) if isinstance(v, str) else v for k, v in given.items()}
    for option in options:
        name, kind = option["name"], option["type"]
        if name in values or not option.get("required"):
            continue
        if option.get("choices"):
            values[name] = option["choices"][0]["value"]
        elif kind == 3:
            values[name] = names.get(NAMED.get(name, ""), NAMED.get(name, "x"))
        elif kind in (4, 10):
            values[name] = option.get("min_value", 1)
        elif kind == 5:
            values[name] = False
        elif kind == 6:
            values[name] = people["creator"]
        elif kind == 7:
            values[name] = app.emu.default_channel(app.guild)
        elif kind == 11:  # an attachment: a small roster file
            values[name] = ("matrix.csv", b"Discord user,Family\nnobody,Nowhere\n")
        else:
            raise AssertionError(f"/{path}: fill option {name!r} of type {kind} in COMMANDS")
    return values


async def outcome(app, outcomes: Outcomes, user, interaction) -> tuple[str, str]:
    """How the bot answered: "ok" (a form opened counts) or "refused:<code>", and what it
    showed."""
    outcomes.lines.clear()
    it = await interaction
    await it.wait_response(10)
    if it.response_type == 9:
        return "ok", ""
    found = await app.emu.wait_for(lambda: outcomes.of(user.id), timeout=10,
                                   what=f"the outcome of {it.describe()}")
    if not found.startswith("ok"):
        assert it.ephemeral, f"{it.describe()}: a refusal is private"
    return found, "\n".join(m.content for m in it.messages)


def judge(where: str, actor: str, allowed: bool, result: str, before: dict, after: dict,
          wrong: list[str]) -> None:
    if result.startswith("error"):
        wrong.append(f"{where} by {actor}: something went wrong ({result})")
    elif allowed and result.removeprefix("refused:") in WHO_REFUSALS:
        wrong.append(f"{where} by {actor}: refused ({result}), expected allowed")
    elif not allowed and not result.startswith("refused:"):
        wrong.append(f"{where} by {actor}: {result}, expected a refusal")
    elif not allowed and (tables := changed(before, after)):
        wrong.append(f"{where} by {actor}: refused but changed {tables}")


async def test_every_command_and_button_by_everyone(app):
    outcomes = Outcomes()
    logger = logging.getLogger("familia.commands")
    was = logger.level
    logger.addHandler(outcomes)
    logger.setLevel(logging.INFO)
    try:
        people, names, ids, second = await world(app)
        wrong: list[str] = []
        tree = leaves(app.emu.app.commands[None])
        unknown = sorted(set(COMMANDS) - {path for path, _ in tree})
        assert not unknown, f"COMMANDS lists commands the bot no longer has: {unknown}"
        runs = 0
        for path, options in tree:
            level, given = COMMANDS.get(path) or (level_of_checks(app, path), {})
            values = fill(path, options, given, names, people, app)
            for actor in by_refusals_first(level):
                user = people[actor]
                before = await snapshot(app)
                result, _ = await outcome(app, outcomes, user,
                                          app.run(user, path, dict(values)))
                judge(f"/{path}", actor, actor in LEVELS[level], result, before,
                      await snapshot(app), wrong)
                runs += 1
        pressed = [pattern.format(**ids) for _, _, pattern in BUTTONS]
        missing = sorted({c.__name__ for c in persistent_classes() if not any(
            c.__discord_ui_compiled_template__.fullmatch(p) for p in pressed)})
        assert not missing, f"write the expected outcome of these buttons in BUTTONS: {missing}"
        foreign_channel = app.emu.default_channel(second)
        secrets = [names[k] for k in ("family", "other", "spare", "running_campaign")]
        for name, level, pattern in BUTTONS:
            custom_id = pattern.format(**ids)
            for actor in by_refusals_first(level):
                user = people[actor]
                here = (foreign_channel if actor == "foreign_manager"
                        else app.emu.default_channel(app.guild))
                allowed = actor in LEVELS[level]
                if actor == "foreign_manager":  # their own server's list, or refused
                    allowed = not any(f"{{{row}}}" in pattern for row in ROWS)
                before = await snapshot(app)
                result, shown = await outcome(app, outcomes, user, press(
                    app, user, here, custom_id, pick=PICKS.get(name)))
                judge(f"{name} {custom_id}", actor, allowed, result, before,
                      await snapshot(app), wrong)
                if actor == "foreign_manager" and (seen := [n for n in secrets if n in shown]):
                    wrong.append(f"{name} {custom_id} in another server showed {seen}")
                runs += 1
        assert not wrong, f"{len(wrong)} of {runs} runs not as expected:\n" + "\n".join(wrong)
    finally:
        logger.removeHandler(outcomes)
        logger.setLevel(was)
