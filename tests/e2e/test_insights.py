"""End to end (#19 must-haves 3-5): the family scorecard as managers and leaders see it (in
English and Spanish, with its chart and CSV), risk flags raised once by the daily job and
resolved by a leader, and the monthly tier sweep: previewed in the managers' channel, changed,
approved, its roles applied once although the process died half-way through sending them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.delivery.queue import DeliveryQueue
from bot.delivery.sender import DeliverySender

JOB = "insights"


def button(message, prefix):
    return next(c for c in message.custom_ids if c.startswith(prefix))


async def managers_channel(app):
    log = app.emu.create_channel(app.guild, "managers-log")
    await app.reply(app.owner, "settings", {"purpose": "managers", "channel": log},
                    subcommand="channel")
    return log


async def test_scorecard_for_managers_and_leaders(app):
    made = await app.program("small", channels=True)
    users = made.extra["users"]
    family = made.families[0]
    it = await app.run(app.owner, "family", {"period": "this_month"}, subcommand="scorecard")
    message = await it.wait_message(timeout=15)
    text = message.content
    assert it.ephemeral and "Family scorecard" in text
    assert all(f.name in text for f in made.families)
    assert "How the score is made" in text and "check-in rate 25" in text
    names = sorted(a.filename for a in message.attachments)
    assert names == ["scorecard-2026-06.csv", "scorecard-2026-06.png"]
    csv_text = next(a for a in message.attachments if a.filename.endswith(".csv")).data
    assert csv_text.decode("utf-8-sig").splitlines()[0].startswith("rank,family,score")
    card = await app.services.scorecard.scorecard(app.guild.id, "this_month")
    for c in card.cards:
        assert f"{c.rank}. **{c.name}** {c.score} " in text

    leader = users[family.leader_id]  # reads Spanish
    mine = (await app.services.scorecard.scorecard(app.guild.id, "last_month")).card(family.id)
    text = await app.reply(leader, "family", {}, subcommand="scorecard")
    assert "Tarjeta de las familias" in text and family.name in text
    assert f"puntuación {mine.score} de 100, puesto {mine.rank} de 3" in text
    assert made.families[1].name not in text  # only their own card
    creator = users[family.creator_ids[0]]
    refused = await app.run(creator, "family", {}, subcommand="scorecard")
    assert "líderes" in (await refused.reply_text()).lower() and refused.ephemeral


async def test_flags_raised_once_told_once_and_resolved(app):
    made = await app.program("small", channels=True)
    users = made.extra["users"]
    family = made.families[0]
    quiet = family.creator_ids[0]
    # the creator has not checked in for a week
    since = (app.clock.now() - timedelta(days=7)).date().isoformat()
    async with app.services.db.transaction() as tx:
        await tx.execute("DELETE FROM checkins WHERE guild_id = ? AND user_id = ?"
                         " AND local_date >= ?", (app.guild.id, quiet, since))
    log = await managers_channel(app)
    await app.bot.jobs.run(JOB)
    def flag_posts():
        return [m for m in app.emu.messages(log) if "new risk flag" in m.content]

    posts = await app.emu.wait_for(flag_posts, what="the flags post")
    assert len(posts) == 1
    assert f"<@{quiet}>" in posts[0].content and posts[0].mentions == []
    # the job again, and after a restart of the services: no second post, no new flag
    flags_before = await app.services.db.fetchval("SELECT count(*) FROM risk_flags")
    await app.bot.jobs.run(JOB)
    app.clock.advance(hours=1)
    await app.bot.jobs.run(JOB)
    assert len(flag_posts()) == 1
    assert await app.services.db.fetchval("SELECT count(*) FROM risk_flags") == flags_before
    # the month's scorecard went to the managers' channel too, once, with its CSV
    cards = [m for m in app.emu.messages(log) if "Family scorecard" in m.content]
    assert len(cards) == 1 and "2026-05" in cards[0].attachments[-1].filename

    leader = users[family.leader_id]
    text = await app.reply(leader, "risk", {"kind": "gone_quiet"}, subcommand="list")
    flag_id = await app.services.db.fetchval(
        "SELECT id FROM risk_flags WHERE kind = 'gone_quiet' AND user_id = ?", (quiet,))
    assert f"#{flag_id}" in text and "Sin actividad" in text  # the leader reads Spanish
    other_leader = users[made.families[1].leader_id]
    refused = await app.reply(other_leader, "risk", {"flag": flag_id, "note": "x"},
                              subcommand="resolve")
    assert "own family" in refused or "propia familia" in refused
    text = await app.reply(leader, "risk", {"flag": flag_id, "note": "Back on Monday"},
                           subcommand="resolve")
    assert "resuelta" in text and "Back on Monday" in text
    text = await app.reply(leader, "risk", {"kind": "gone_quiet"}, subcommand="list")
    assert f"#{flag_id}" not in text
    audit = await app.services.db.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'risk.resolve' AND target = ?",
        (str(flag_id),))
    assert audit == 1


async def restarted(app) -> DeliverySender:
    """The restarted process's sender: takes over the dead one's lease and drains."""
    fresh = DeliverySender(app.bot, DeliveryQueue(app.services.db, app.bot.clock))
    await fresh.queue.take_over()
    await fresh.drain()
    return fresh


async def test_sweep_preview_approve_roles_once_after_a_restart(app):
    made = await app.program("small", channels=True)
    users = made.extra["users"]
    # the tiers get roles (below Familia's), then the month ends
    roles = {}
    for name in ("Bronze", "Silver", "Gold"):
        role = app.emu.create_role(app.guild, name)
        roles[name] = role
        tier = await app.services.tiers.get(app.guild.id, name)
        await app.services.tiers.define(
            app.guild.id, app.owner.id, name, tier.rank, role.id, min_hours=tier.min_hours,
            min_diamonds=tier.min_diamonds, min_valid_days=tier.min_valid_days)
    log = await managers_channel(app)
    app.clock.set(datetime(2026, 7, 2, 0, 0, tzinfo=UTC))
    await app.bot.jobs.run(JOB)
    preview = (await app.emu.wait_for(
        lambda: [m for m in app.emu.messages(log) if "Tier sweep of 2026-06" in m.content],
        what="the sweep preview"))[0]
    sweep = await app.services.sweeps.latest(app.guild.id)
    plan = await app.services.sweeps.changes(app.guild.id, sweep)
    assert plan and all(f"<@{c.user_id}>" in preview.content for c in plan[:5])
    await app.bot.jobs.run(JOB)  # once
    assert len([m for m in app.emu.messages(log) if "Tier sweep" in m.content]) == 1

    # the buttons are for managers only
    creator = users[made.families[0].creator_ids[0]]
    refused = await app.emu.click(creator, preview, button(preview, "familia:ts:ok:"))
    assert "gestores" in (await refused.reply_text()).lower()  # a Spanish reader
    # Change: give one creator Gold
    lifted = next(u for u in made.families[0].creator_ids)
    it = await app.emu.click(app.owner, preview, button(preview, "familia:ts:chg:"))
    await it.wait_modal()
    done = await it.submit({"creator": str(lifted), "tier": "Gold"})
    assert "Gold" in await done.reply_text()

    # the sender is stopped; Approve queues every role change
    app.bot.delivery_sender.stop()
    it = await app.emu.click(app.owner, preview, button(preview, "familia:ts:ok:"))
    assert "approved" in (await it.reply_text(timeout=10)).lower()
    again = await app.emu.click(app.owner, preview, button(preview, "familia:ts:ok:"))
    assert "already approved" in (await again.reply_text()).lower()
    queued = await app.services.db.fetchval(
        "SELECT count(*) FROM deliveries WHERE kind = 'tier_role'")
    assert queued >= 1
    # a process claims them and dies half-way: one role given, the rest never sent
    dying = DeliveryQueue(app.services.db, app.bot.clock, owner="dying")
    claimed = await dying.claim(lane=2)
    first = claimed[0]
    if first.target == "role_add":  # sent, then the process died before recording it
        await app.bot.http.add_role(app.guild.id, first.target_id, first.role_id)
    await restarted(app)
    rows = await app.services.db.fetchall(
        "SELECT state, target, target_id, role_id FROM deliveries WHERE kind = 'tier_role'")
    assert all(r["state"] == "sent" for r in rows)
    gold = roles["Gold"]
    assert gold in app.emu.member_roles(app.guild, users[lifted])
    for r in rows:
        if r["target"] == "role_add":
            held = [x.id for x in app.emu.member_roles(app.guild, users[r["target_id"]])]
            assert held.count(r["role_id"]) == 1
    results = await app.services.db.fetchval(
        "SELECT count(*) FROM tier_sweep_results WHERE sweep_id = ?", (sweep.id,))
    assert results == len(await app.services.db.fetchall(
        "SELECT 1 FROM tier_changes WHERE period = '2026-06'"))
    # the promotion shows in the creator's /progress
    text = await app.reply(users[lifted], "progress", {}, subcommand="view")
    assert "⬆️" in text and ("Promoted to Gold" in text or "Ascendido a Gold" in text)
