"""A program month, end to end (issue #16, must-have 8): three families in three time zones
(Bogotá, New York, Madrid: Madrid leaves summer time on 25 October 2026, inside the month),
creators in English and Spanish, check-ins sent at scripted moments (some late, as
"yesterday" before the edit cutoff), a transfer and a leave, a campaign, a tier sweep, a
broadcast and the digests: every figure users read (the rendered boards, /family stats,
/progress, the campaign's board and results, the sweep, the broadcast report, the digest
emails) is checked against :mod:`tests.e2e._month_model`, written from README's rules only.

Creators are driven through the services where the Discord path is covered elsewhere (the
check-in form in ``test_checkins.py``); everything read is read as users see it. The month is
played in both languages: every reader reads it in English, then in Spanish.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.numbers import format_decimal

from bot.services.families import AGREEMENT_VERSION
from tests.e2e._month_model import Month, Person

OCT1, OCT31 = date(2026, 10, 1), date(2026, 10, 31)
CAMPAIGN = (date(2026, 10, 12), date(2026, 10, 25))

# name: (locale, zone, family, leads, the UTC time they usually send their check-in)
PEOPLE = {
    "lena": ("en", "America/New_York", "Lobos", True, time(17, 0)),
    "omar": ("es", "Europe/Madrid", "Osos", True, None),  # never streams: never counted
    "pia": ("es", "America/Bogota", "Pumas", True, time(18, 0)),
    "ana": ("en", "America/New_York", "Lobos", False, time(23, 0)),  # 19:00 EDT
    "beto": ("es", "America/Bogota", "Lobos", False, time(15, 0)),
    # 00:30 CEST (the next day) until 25 October, then 23:30 CET (the same day)
    "tomas": ("es", "Europe/Madrid", "Lobos", False, time(22, 30)),
    "carmen": ("es", "Europe/Madrid", "Osos", False, time(21, 30)),
    "dan": ("en", "America/New_York", "Osos", False, time(3, 30)),  # 23:30 EDT the day before
    "eva": ("es", "America/Bogota", "Pumas", False, time(2, 0)),  # 21:00 the day before
    "fer": ("en", "Europe/Madrid", "Pumas", False, time(10, 0)),
    "gus": ("en", "America/New_York", "Pumas", False, time(16, 0)),
}
TRANSFER = ("tomas", "Osos", datetime(2026, 10, 15, 12, 0, tzinfo=UTC))
LEAVE = ("fer", datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
# (who, their local day) entered late: the next morning, 08:00 local, as "yesterday"
LATE = {("beto", date(2026, 10, 7)), ("ana", date(2026, 10, 18)), ("eva", date(2026, 10, 25)),
        ("beto", date(2026, 10, 25)), ("beto", date(2026, 10, 31)), ("gus", date(2026, 10, 31))}
TARGET = 20.0
ENROLLED = ("ana", "beto", "tomas", "carmen", "eva", "gus", "pia")
HOURS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.5)


def script() -> list[tuple[datetime, str, tuple]]:
    """Every check-in as (moment, "checkin", (who, hours, diamonds, followers, yesterday)),
    drawn from a fixed seed: the same month every run."""
    rng = random.Random(16)
    events = []
    for name, (_, zone, _, leads, at) in PEOPLE.items():
        if at is None:
            continue
        for n in range(31):
            utc_day = OCT1 + timedelta(days=n)
            if rng.random() > (0.3 if leads else 0.8):
                continue
            values = (rng.choice(HOURS), rng.randrange(0, 3000, 50), rng.randrange(0, 40))
            moment = datetime.combine(utc_day, at, tzinfo=UTC)
            local = moment.astimezone(ZoneInfo(zone)).date()
            if (name, local) in LATE:
                late = datetime.combine(local + timedelta(days=1), time(8, 0),
                                        tzinfo=ZoneInfo(zone)).astimezone(UTC)
                events.append((late, "checkin", (name, *values, True)))
            else:
                events.append((moment, "checkin", (name, *values, False)))
    return events


def button(message, prefix):
    return next(c for c in message.custom_ids if c.startswith(prefix))


async def play(app, hooks=()) -> tuple[Month, dict, dict]:
    """The month: the program set up on 30 September, then every scripted event in order of
    its moment, on the bot's clock. Returns the model, the users and the families."""
    s, g = app.services, app.guild.id
    model = Month()
    app.clock.set(datetime(2026, 9, 30, 12, 0, tzinfo=UTC))
    users, families = {}, {}
    for name, (locale, zone, family, leads, _) in PEOPLE.items():
        users[name] = app.user(name, locale="es-ES" if locale == "es" else "en-US")
        model.people[name] = Person(name, locale, zone)
        await s.members.set_timezone(g, users[name].id, zone)
        await s.members.set_locale(g, users[name].id, locale)
        if leads:
            channel = app.emu.create_channel(app.guild, f"family-{family.lower()}")
            families[family] = await s.families.create(g, app.owner.id, family,
                                                       users[name].id, channel_id=channel.id)
            model.people[name].leads = family
            model.join(name, family, app.clock.now())
    for name, (_, _, family, leads, _) in PEOPLE.items():
        if not leads:
            invite = await s.families.invite(g, app.owner.id, families[family].id,
                                             users[name].id, as_manager=True)
            await s.families.decide(g, users[name].id, invite.id, True,
                                    agreement_version=AGREEMENT_VERSION)
            model.join(name, family, app.clock.now())

    events = script()
    who, to, at = TRANSFER
    events.append((at, "transfer", (who, to)))
    events.append((LEAVE[1], "leave", (LEAVE[0],)))
    events += [(at, "hook", (hook,)) for at, hook in hooks]
    events = sorted(events, key=lambda e: e[0])
    for moment, kind, args in events:
        app.clock.set(moment)
        if kind == "checkin":
            name, hours, diamonds, followers, yesterday = args
            if model.family_at(name, moment) is None:
                continue  # left: no more check-ins
            await s.checkins.submit(g, users[name].id, {
                "hours": str(hours), "diamonds": str(diamonds), "followers": str(followers),
                "peak_viewers": "0"}, yesterday=yesterday)
            model.checkin(name, moment, hours, diamonds, followers, yesterday=yesterday)
        elif kind == "transfer":
            name, family = args
            await s.families.request_transfer(g, app.owner.id, users[name].id,
                                              families[family].id, as_manager=True)
            model.transfer(name, family, moment)
        elif kind == "hook":
            await args[0](model, users, families)
        elif kind == "leave":
            (name,) = args
            await s.families.leave(g, users[name].id, "time")
            model.leave(name, moment)
    return model, users, families


def number(value: float, lang: str) -> str:
    """A count or hours as README says users read them: the locale's separators, hours to
    one decimal (none when whole)."""
    return format_decimal(round(value, 1), format="#,##0.#", locale=lang)


def board_lines(text: str) -> list[tuple[str, int, str]]:
    """(rank, user id, value as written) of each line of a creators board."""
    return [(m[1] or {"🥇": "1", "🥈": "2", "🥉": "3"}[m[0]], int(m[2]), m[3])
            for m in re.findall(r"^(?:(🥇|🥈|🥉)|`#(\d+)`) <@(\d+)> — (.+?)(?: ⬅️)?$", text,
                                re.M)]




async def check_creator_boards(app, model, users, lang, locale):
    ids = {u.id: n for n, u in users.items()}
    now = app.clock.now()
    members = {s.person for s in model.active(now)}
    for metric, unit in (("hours", {"en": "hours", "es": "horas"}), ("diamonds", None)):
        text = await app.reply(app.owner, "leaderboard", {"period": "last_month",
                                                          "metric": metric},
                               subcommand="creators", locale=locale)
        expected = {p: v for p, v in model.totals(OCT1, OCT31, metric).items()
                    if p in members and v > 0}
        order = sorted(expected, key=lambda p: (-expected[p], users[p].id))
        ranks = []
        for i, p in enumerate(order):
            same = ranks and expected[order[i - 1]] == expected[p]
            ranks.append(ranks[-1] if same else i + 1)
        shown = board_lines(text)
        assert [ids[u] for _, u, _ in shown] == order, text
        for (rank, _, value), p, r in zip(shown, order, ranks, strict=True):
            assert int(rank) == r
            want = (f"{number(expected[p], lang)} {unit[lang]}" if unit
                    else f"💎 {number(expected[p], lang)}")
            assert value == want, (p, value, want)


async def check_family_board(app, model, lang, locale):
    """README: a family's total ÷ its counted members; boards show the creators in a family
    now (who left is hidden), a leader being a member in a period they streamed."""
    text = await app.reply(app.owner, "leaderboard", {"period": "last_month"},
                           subcommand="families", locale=locale)
    now = app.clock.now()
    shown = re.findall(r"^`#(\d+)` \*\*(\w+)\*\* — \S+ ([\d.,]+) \S+ · total ([\d.,]+) \S+"
                       r" · (\d+) ", text.replace("promedio", "average").replace(
                           "total", "total"), re.M)
    expected = {}
    for family in ("Lobos", "Osos", "Pumas"):
        members = model.members_now(now, OCT1, OCT31, family)
        total = sum(model.total(p, OCT1, OCT31) for p in members)
        expected[family] = (total / len(members), total, len(members))
    order = sorted(expected, key=lambda f: -expected[f][0])
    assert [f for _, f, *_ in shown] == order, text
    for (_, family, average, total, count) in shown:
        a, t, n = expected[family]
        assert (average, total, int(count)) == (number(a, lang), number(t, lang), n), text


async def check_campaign(app, model, users, families, lang, locale):
    """Results once final (the late check-ins for 25 October in), as posted in a family
    channel, and the campaign's board."""
    first, last = CAMPAIGN
    channel = app.emu.channel(families["Pumas"].channel_id)
    [post] = await app.emu.wait_for(lambda: [m for m in app.emu.messages(channel)
                                             if "🏁" in m.content])
    during = {p: model.total(p, first, last) for p in ENROLLED}
    reached = [p for p in ENROLLED if during[p] >= TARGET]
    # "6 of 7 participants reached the goal" / "6 de 7 …": the first line with figures
    counts = re.search(r"^(\d+) \S+ (\d+) ", post.content, re.M)
    assert counts and counts.groups() == (str(len(reached)), str(len(ENROLLED))), post.content
    pumas = sum(during[p] for p in ENROLLED if model.people[p].family == "Pumas"
                or model.people[p].leads == "Pumas")
    assert f"**Pumas**: {number(pumas, lang)} " in post.content, post.content
    named = set(map(int, re.findall(r"<@(\d+)>", post.content.split("🎉", 1)[1])))
    assert named == {users[p].id for p in reached if model.people[p].family == "Pumas"}
    # the board: every participant with hours in the campaign's days (their own local days)
    reader = users["ana" if lang == "en" else "beto"]  # each reads in the language they chose
    board = await app.reply(reader, "campaign", subcommand="board", locale=locale)
    order = sorted((p for p in ENROLLED if during[p] > 0),
                   key=lambda p: (-during[p], users[p].id))
    shown = board_lines(board.replace(" ✅", ""))
    ids = {u.id: n for n, u in users.items()}
    assert [ids[u] for _, u, _ in shown] == order, board
    hours = {"en": "hours", "es": "horas"}[lang]
    for (_, _, value), p in zip(shown, order, strict=True):
        assert value == f"{number(during[p], lang)} {hours}", (p, value)
    assert board.count("✅") == len(reached)


async def check_program_stats(app, model, lang, locale):
    """/family stats for the program over the last 31 days (moments, up to now): counted
    members at the start and now, joins and leaves of creators (a transfer is neither),
    attrition = leaves ÷ the average of both, check-ins sent in the window."""
    end = app.clock.now() + timedelta(seconds=1)
    start = end - timedelta(days=31)
    first, last = start.date(), end.date()
    text = await app.reply(app.owner, "family", {"days": 31}, subcommand="stats",
                           locale=locale)
    now_, at_start = (len(model.members_now(m, first, last)) for m in (end, start))
    leaves = sum(1 for s in model.stays if s.end and start <= s.end < end
                 and not any(o.person == s.person and o.start == s.end for o in model.stays))
    joins = sum(1 for s in model.stays if start <= s.start < end and model.people[
        s.person].leads is None and not any(o.person == s.person and o.end == s.start
                                            for o in model.stays))
    sent = sum(1 for e in model.days.values() if start <= e.created < end)
    figures = [int(n.replace(".", "").replace(",", ""))
               for n in re.findall(r"\d+(?:[.,]\d+)*", text)]
    assert figures[:5] == [31, now_, at_start, joins, leaves], text
    attrition = round(100 * leaves / ((now_ + at_start) / 2))
    assert figures[5] == attrition, text
    assert f"{number(sent, lang)} " in text.split("**", 4)[-1], (sent, text)


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_a_program_month(app, lang):
    locale = "es-ES" if lang == "es" else "en-US"
    campaign = {}

    async def new_campaign(model, users, families):
        it = await app.run(app.owner, "campaign", {
            "name": "Octubre", "metric": "hours", "start": CAMPAIGN[0].isoformat(),
            "end": CAMPAIGN[1].isoformat(), "target": TARGET}, subcommand="new")
        await it.wait_modal()
        head = await (await it.submit({"description": "Stream!", "reward": ""})).wait_message()
        scheduled = await app.emu.click(app.owner, head, button(head, "familia:cp:schedule:"))
        await scheduled.reply_text()
        [found] = await app.services.campaigns.list_campaigns(app.guild.id)
        campaign["id"] = found.id
        for name in ENROLLED:
            await app.services.campaigns.enrol(app.guild.id, users[name].id, found.id,
                                               "command")

    async def tick(model, users, families):
        await app.bot.get_cog("Campaigns").tick()
        await app.bot.get_cog("Campaigns").tick()

    model, users, families = await play(app, [
        (datetime(2026, 10, 10, 12, 0, tzinfo=UTC), new_campaign),
        (datetime(2026, 10, 12, 1, 0, tzinfo=UTC), tick),
        (datetime(2026, 10, 27, 18, 0, tzinfo=UTC), tick)])
    await check_campaign(app, model, users, families, lang, locale)
    app.clock.set(datetime(2026, 11, 2, 18, 0, tzinfo=UTC))
    await check_program_stats(app, model, lang, locale)
    await check_creator_boards(app, model, users, lang, locale)
    await check_family_board(app, model, lang, locale)
