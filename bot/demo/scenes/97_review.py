"""The manager's weekly review: last week tier by tier (one tier shown here; the whole
program, its chart and a CSV of every creator come with it), an action recorded from it for
the leader of Lobos, her DM on the due day, the open actions, and the action marked done."""

from __future__ import annotations

from datetime import timedelta

from bot.localtime import local_date

TITLE = "The weekly review"


async def play(demo) -> None:
    maria, rosa, ana = demo.people["maria"], demo.person("rosa"), demo.person("ana")
    services = demo.bot.services
    tiers = await services.tiers.list_tiers(demo.guild.id)
    demo.narrate("maria reviews last week, tier by tier (here the top tier only)")
    if tiers:
        await demo.command(maria, "review", {"tier": tiers[-1].name}, subcommand="week")
    tz = (await services.guilds.get(demo.guild.id)).timezone
    today = local_date(demo.bot.clock.now(), tz)
    demo.narrate("she records an action for rosa, about ana, due today")
    await demo.command(maria, "review", {
        "note": "Talk with ana about a steadier streaming schedule", "owner": rosa,
        "due": today.isoformat(), "creator": ana}, subcommand="act")
    demo.narrate("the review's sweep sends rosa one DM on the due day, through the delivery "
                 "queue")
    await demo.bot.jobs.run("review.sweep")
    await demo.bot.jobs.run("review.sweep")
    await demo.settled()
    demo.dms(rosa)
    await demo.command(rosa, "review", subcommand="actions")
    action = await services.db.fetchval(
        "SELECT max(id) FROM review_actions WHERE guild_id = ?", (demo.guild.id,))
    if action is not None:
        await demo.command(rosa, "review", {"id": action}, subcommand="done")
    demo.narrate("next week's review lists it as done; a schedule (/review schedule) posts the "
                 f"review to the managers' channel every week, e.g. on {today + timedelta(7):%A}")
