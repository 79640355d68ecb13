"""Platform stats: maria uploads last month's export from the platform's back office (every
creator's LIVE duration, diamonds and new followers per day), reads the preview, applies it;
the month's board now shows the platform's figures (📥), and the reconciliation lists who
reported something else in their check-ins, with its CSV — for the program, and for rosa's
family."""

from __future__ import annotations

from datetime import timedelta

from bot.localtime import local_date

TITLE = "Platform stats"


def export(rows) -> bytes:
    """The back office's CSV: a duration written as the platform writes it ("2h 15m"),
    diamonds with thousands separators."""
    lines = ["Creator,Date,LIVE duration,Diamonds,New followers,Region"]
    for handle, day, hours, diamonds, followers in rows:
        minutes = round(hours * 60)
        lines.append(f'{handle},{day},{minutes // 60}h {minutes % 60:02d}m,"{diamonds:,}",'
                     f"{followers},MX")
    return ("\r\n".join(lines) + "\r\n").encode()


async def play(demo) -> None:
    maria, rosa = demo.people["maria"], demo.person("rosa")
    services, gid = demo.bot.services, demo.guild.id
    tz = (await services.guilds.get(gid)).timezone
    first = local_date(demo.bot.clock.now(), tz).replace(day=1)
    last_month = (first - timedelta(days=1)).strftime("%Y-%m")
    streamed = await services.db.fetchall(
        "SELECT DISTINCT user_id FROM checkins WHERE guild_id = ?"
        " AND substr(local_date, 1, 7) = ?", (gid, last_month))
    names = {u.id: u.name for u in demo.people.values()}
    # every creator's platform handle, as /creator set (or a roster file) would have stored it
    for row in streamed:
        name = names.get(row["user_id"])
        profile = await services.profiles.get(gid, row["user_id"])
        if name and (profile is None or not profile.handle):
            await services.profiles.set(gid, maria.id, row["user_id"], {"handle": name},
                                        as_manager=True)
    checkins = await services.db.fetchall(
        "SELECT user_id, local_date, hours, diamonds, followers FROM checkins"
        " WHERE guild_id = ? AND substr(local_date, 1, 7) = ? ORDER BY user_id, local_date",
        (gid, last_month))
    rows = []
    for number, c in enumerate(checkins):
        name = names.get(c["user_id"])
        if name is None:
            continue
        diamonds = c["diamonds"]
        if c["user_id"] % 7 == 0 or name == "ana":  # gifts the check-in did not count
            diamonds = round(diamonds * 1.4) + 150
        hours = max(0.25, c["hours"] - (0.5 if number % 11 == 0 else 0))
        rows.append((name, c["local_date"], hours, diamonds, c["followers"]))
    demo.narrate(f"the platform's back office exports {last_month}: one row per creator and "
                 f"day ({len(rows)} rows), in its own words; maria uploads it as it is")
    asked = await demo.command(maria, "stats", {"file": (f"backstage-{last_month}.csv",
                                                         export(rows))}, subcommand="import")
    preview = await asked.wait_message()
    apply = next((c for c in preview.custom_ids if c.startswith("familia:st:apply:")), None)
    if apply is None:
        return
    await demo.click(maria, preview, apply, "Apply")
    demo.narrate("the month's figures now follow the platform where it has them (the "
                 "sources say so: /stats sources); 📥 marks them on the boards")
    await demo.command(maria, "stats", subcommand="sources")
    await demo.command(maria, "leaderboard", {"metric": "diamonds", "period": "last_month"},
                       subcommand="creators")
    demo.narrate("who reported something else in their check-ins than the platform counted?")
    await demo.command(maria, "stats", {"month": last_month}, subcommand="reconcile")
    await demo.command(rosa, "stats", {"month": last_month}, subcommand="reconcile")
