"""A program month, end to end (issue #16, must-have 8): three families in three time zones
(Bogotá, New York, Madrid: Madrid leaves summer time on 25 October 2026, inside the month),
creators in English and Spanish, check-ins sent at scripted moments (some late, as
"yesterday" before the edit cutoff), a break, a transfer and a leave, a campaign, a tier
sweep (refused until New York's last window of October closes, on the day it leaves summer
time), a broadcast over channels, DMs (one closed) and email, and the weekly digests: every
figure users read (the rendered boards, /family stats of the program and of each family,
/progress on three days, the campaign's posts, board and results, the sweep's preview, result
and promotion posts, the broadcast report, the leaders', manager's and creators' digest emails
as the real SMTP server received them) is checked against :mod:`tests.e2e._month_model`,
written from README's rules only: its figures come from the scripted events, never from
Familia's services.

Creators are driven through the services where the Discord path is covered elsewhere (the
check-in form in ``test_checkins.py``); everything read is read as users see it. The month is
played in both languages: the manager reads it in English, then in Spanish; creators and
leaders read in the language they chose, so both runs read both.
"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from babel.numbers import format_decimal

from bot.clock import to_db
from bot.compose import digest_sweep
from bot.mail.smtp import Connection, message_id
from bot.services.families import AGREEMENT_VERSION
from tests._email import body, smtp_config
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
# (who, first and last local day) of a break: no check-ins (the streak breaks meanwhile)
PAUSE = ("dan", date(2026, 10, 9), date(2026, 10, 18))
TARGET = 20.0
ENROLLED = ("ana", "beto", "tomas", "carmen", "eva", "gus", "pia")
HOURS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.5)
CLOSED = {"gus"}  # DMs closed
# The tiers (README: reached when every threshold it sets is met by the month's totals).
TIERS = [{"name": "Bronce", "rank": 1, "thresholds": {"hours": 25, "valid_days": 8}},
         {"name": "Plata", "rank": 2, "thresholds": {"hours": 55, "valid_days": 20}},
         {"name": "Oro", "rank": 3, "thresholds": {"hours": 60, "diamonds": 40000}}]
OPTION = {"hours": "min_hours", "diamonds": "min_diamonds", "valid_days": "min_valid_days",
          "followers": "min_followers"}
# Verified addresses (digests: leaders and managers get theirs; creators opt in) and who takes
# broadcasts by DM (/broadcast optin) or not by email (/email preferences broadcasts:False).
EMAIL = {"owner": "owner@example.org", "lena": "lena@example.org", "pia": "pia@example.org",
         "ana": "ana@example.org", "carmen": "carmen@example.org", "dan": "dan@example.org"}
OPT_IN = ("ana", "carmen", "eva", "gus", "fer")
NO_BROADCAST_MAIL = ("carmen",)
CREATOR_DIGESTS = ("ana", "carmen", "dan")  # creators who switched their digest on
DIGEST_DAY = date(2026, 10, 19)  # a Monday: digests cover 12-18 October against 5-11
# when October is final: New York's and Bogotá's edit window of the 31st closes (12:00 local)
OCTOBER_FINAL = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)
TAKEN = datetime(2026, 10, 27, 18, 0, tzinfo=UTC)  # the campaign sweep that takes the results
BROADCAST_AT = datetime(2026, 10, 21, 12, 0, tzinfo=UTC)  # fer has left
BROADCAST = "Live marathon this Saturday!\n\nBring your best."


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
            if name == PAUSE[0] and PAUSE[1] <= local <= PAUSE[2]:
                continue
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
        users[name] = app.user(name, locale="es-ES" if locale == "es" else "en-US",
                               dms_open=name not in CLOSED)
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


def half_up(value: float, digits: int = 0) -> Decimal:
    """Rounded as people round (halves away from zero)."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def number(value: float, lang: str) -> str:
    """A count or hours as README says users read them: the locale's separators, hours to
    one decimal (none when whole)."""
    return format_decimal(half_up(value, 1), format="#,##0.#", locale=lang)


def whole(value: float, lang: str) -> str:
    return format_decimal(half_up(value), format="#,##0", locale=lang)


def pct(fraction: float, lang: str) -> str:
    """A percentage's number as README says: whole, one decimal under 10 %."""
    digits = 1 if abs(fraction) < 0.0995 else 0
    return format_decimal(half_up(abs(fraction) * 100, digits),
                          format="#,##0.#" if digits else "#,##0", locale=lang)


def tokens(line: str) -> list[str]:
    """The numbers of a line as written (12,345.5 / 12.345,5)."""
    return re.findall(r"\d[\d.,]*\d|\d", line)


def lines_after(text: str, start: int) -> list[str]:
    """The lines with something on them, from the ``start``-th of those."""
    return [line for line in text.splitlines() if line.strip()][start:]


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


async def check_board_posts(app, model, users, channel):
    """The scheduled final boards (hours, the program): the week of 19-25 October (Madrid's
    days include the one it leaves summer time) is posted on the 1 November sweep; October's
    only once final (:data:`OCTOBER_FINAL`). Read once before it and once after, each board
    ranking the creators in a family now (Fer, who left, is hidden) by their own local days."""
    sweep = app.bot.get_cog("Leaderboards").sweep
    ids = {u.id: n for n, u in users.items()}

    def expected(first, last):
        members = {st.person for st in model.active(app.clock.now())}
        found = {p: v for p, v in model.totals(first, last).items() if p in members and v > 0}
        return [(p, found[p]) for p in sorted(found, key=lambda p: (-found[p], users[p].id))]

    def shown(post):
        return [(ids[u], value) for _, u, value in board_lines(post.content)]

    def hours(v):
        return f"{number(v, 'en')} hours"  # the server's language: English
    await sweep()
    if app.clock.now() < OCTOBER_FINAL:
        [week] = await app.emu.wait_for(lambda: app.emu.messages(channel))
        assert shown(week) == [(p, hours(v)) for p, v in expected(
            date(2026, 10, 19), date(2026, 10, 25))], week.content
        assert week.mentions == []
        return
    [_, month] = await app.emu.wait_for(lambda: len(app.emu.messages(channel)) == 2
                                        and app.emu.messages(channel))
    assert shown(month) == [(p, hours(v)) for p, v in expected(OCT1, OCT31)], month.content
    assert month.mentions == []


async def check_family_board(app, model, lang, locale):
    """README (*Figures*): a family's total ÷ its counted members, who are its members now,
    each with their whole period's values wherever they streamed them (Tomás's October in
    Lobos counts for Osos, Fer's counts nowhere), a leader being a member in a period they
    streamed (Omar never is)."""
    text = await app.reply(app.owner, "leaderboard", {"period": "last_month"},
                           subcommand="families", locale=locale)
    now = app.clock.now()
    moved, left = TRANSFER[0], LEAVE[0]
    assert model.total(moved, OCT1, TRANSFER[2].date()) > 0 and model.total(left, OCT1, OCT31)
    assert moved in model.members_now(now, OCT1, OCT31, "Osos")
    assert moved not in model.members_now(now, OCT1, OCT31, "Lobos")
    assert "omar" not in model.members_now(now, OCT1, OCT31)
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
    assert text.rstrip().splitlines()[-1].startswith("-# "), text  # who is counted
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
    # /campaign results: participation over the counted audience when the results were taken
    # (the creators in a family then, leaders who streamed during the campaign), completion,
    # each side's plain averages, no uplift without a baseline (everyone joined on 30
    # September: nobody was in the program before the 14 days before the campaign)
    it = await app.run(app.owner, "campaign", {"campaign": "Octubre"}, subcommand="results",
                       locale=locale)
    text = await it.reply_text()
    [csv_file] = [a for m in it.messages for a in m.attachments]
    taken = TAKEN  # the sweep that took them (after the last window closed)
    audience = [st.person for st in model.active(taken) if model.people[st.person].leads is None
                or model.checkin_days(st.person, first, last)]
    assert set(ENROLLED) <= set(audience)
    others = [p for p in audience if p not in ENROLLED]
    span = (last - first).days + 1
    before = (first - timedelta(days=span), first - timedelta(days=1))

    def mean(people, days):
        return sum(model.total(p, *days) for p in people) / len(people)
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert [tokens(line) for line in items] == [
        [whole(len(ENROLLED), lang), whole(len(audience), lang),
         pct(len(ENROLLED) / len(audience), lang)],
        [whole(len(reached), lang), whole(len(ENROLLED), lang),
         pct(len(reached) / len(ENROLLED), lang)],
        [number(mean(ENROLLED, before), lang), number(mean(ENROLLED, CAMPAIGN), lang)],
        [number(mean(others, before), lang), number(mean(others, CAMPAIGN), lang)],
        ["3", "7"]], text  # not enough data: 3 creators a side, 7 days
    families_now = {f: [p for p in ENROLLED if model.family_at(p, taken) == f]
                    for f in ("Lobos", "Osos", "Pumas")}
    ranked = sorted(families_now, key=lambda f: -sum(during[p] for p in families_now[f]))
    rows = [line for line in text.splitlines() if re.match(r"^\d\. ", line)]
    assert [tokens(line) for line in rows] == [
        [str(i), number(sum(during[p] for p in families_now[f]), lang),
         whole(sum(during[p] >= TARGET for p in families_now[f]), lang),
         whole(len(families_now[f]), lang)] for i, f in enumerate(ranked, 1)], text
    assert [line.split(" ")[1] for line in rows] == ranked
    # the CSV: everyone in the audience's families (Omar, a leader who never streamed, too:
    # a leader may earn a reward), with the late entries of the last day in
    ids = {u.id: n for n, u in users.items()}
    table = {ids[int(r["user_id"])]: r for r in csv.DictReader(
        io.StringIO(csv_file.data.decode()))}
    assert set(table) == {st.person for st in model.active(taken)} == {*audience, "omar"}
    for p, r in table.items():
        assert (float(r["hours"]), float(r["hours_before"]), r["participant"], r["reached"]) == (
            model.total(p, *CAMPAIGN), model.total(p, *before), str(int(p in ENROLLED)),
            str(int(p in reached))), (p, r)
        assert r["family"] == model.family_at(p, taken)


async def check_stats(app, model, lang, locale, family=None):
    """/family stats of the program or of one family over the last 31 days (moments, up to
    now): counted members at the start and now, joins and leaves of creators (a transfer is
    neither for the program, a leave and a join for the two families), attrition = leaves ÷
    the average of both, the median tenure of who left, check-ins sent in the window."""
    end = app.clock.now() + timedelta(seconds=1)
    start = end - timedelta(days=31)
    options = {"days": 31, **({"family": family} if family else {})}
    text = await app.reply(app.owner, "family", options, subcommand="stats", locale=locale)
    want = model.stats(start, end, family)
    lines = lines_after(text, 0)
    assert (family or "**") in lines[0] and tokens(lines[0]) == ["31"], text
    assert tokens(lines[1]) == [whole(want["members"], lang),
                                whole(want["members_start"], lang)], text
    assert tokens(lines[2]) == [whole(want["joins"], lang), whole(want["leaves"], lang)], text
    average = (want["members"] + want["members_start"]) / 2
    assert tokens(lines[3]) == ([pct(want["leaves"] / average, lang)] if average else []), text
    tenures = want["tenures"]
    median = (tenures[len(tenures) // 2] if len(tenures) % 2
              else (tenures[len(tenures) // 2 - 1] + tenures[len(tenures) // 2]) / 2
              if tenures else None)
    assert tokens(lines[4]) == ([whole(median, lang)] if tenures else []), text
    reasons = [line for line in lines[5:] if line.startswith("- ")]
    assert sum(int(tokens(r)[-1]) for r in reasons) == want["leaves"], text
    heading = max(i for i, line in enumerate(lines) if line.startswith("**"))
    assert tokens(lines[heading + 1])[0] == whole(want["checkins"], lang), (want, text)


def pace_tokens(p: dict, metric: str, lang: str) -> list[str]:
    """The numbers of a pace line: value / threshold, then the month-end projection (on
    pace), the shortfall and what a day needs (or on how many of the days left), or nothing
    (reached)."""
    def v(x):
        return number(x, lang) if metric == "hours" else whole(x, lang)
    out = [v(p["value"]), v(p["threshold"])]
    if p["reached"]:
        return out
    if p["on_track"]:
        return [*out, v(p["projected"])]
    if not p["reachable"]:
        return [*out, v(p["short"])]
    if metric == "valid_days":
        return [*out, v(p["short"]), whole(p["days_needed"], lang),
                whole(p["days_left"], lang)]
    return [*out, v(p["short"]), v(p["per_day"])]


async def check_progress(app, model, users, who, lang):
    """/progress view as the creator reads it: the last 7 local days against the 7 before
    (hours, diamonds, followers: the change in % or words), and the month's pace towards the
    first tier (README's pace rule)."""
    text = await app.reply(users[who], "progress", subcommand="view")
    today = model.local_day(who, app.clock.now())
    lines = lines_after(text, 2)  # after the title and the first heading
    for metric, line in zip(("hours", "diamonds", "followers"), lines[:3], strict=True):
        now = model.total(who, today - timedelta(days=6), today, metric)
        before = model.total(who, today - timedelta(days=13), today - timedelta(days=7), metric)
        want = [number(now, lang) if metric == "hours" else whole(now, lang)]
        if before and pct((now - before) / before, lang) not in ("0", "0.0", "0,0"):
            want.append(pct((now - before) / before, lang))
            assert ("▲" if now > before else "▼") in line, line
        else:
            assert "▲" not in line and "▼" not in line, line
        assert tokens(line) == want, (who, metric, line, now, before)
    totals = model.month_totals(who, today, today)
    first = TIERS[0]
    paces = [line for line in lines[3:] if line.startswith("- ")]
    metrics = [m for m in ("hours", "diamonds", "valid_days", "followers")
               if m in first["thresholds"]]
    assert len(paces) == len(metrics), text
    for metric, line in zip(metrics, paces, strict=True):
        p = model.pace(metric, totals[metric], first["thresholds"][metric], today)
        assert tokens(line) == pace_tokens(p, metric, lang), (who, metric, line, p)
        mark = "✅" if p["reached"] else "🟢" if p["on_track"] else "🟠"
        assert mark in line, line


async def check_sweep(app, model, users, families, lang, locale):
    """The tier sweep of October: refused before the month is final (the latest zone's edit
    window of 31 October: New York's and Bogotá's, 1 November 12:00, 17:00 UTC), then its
    preview and its changes: each active member with October data gets the highest tier whose
    every threshold their October totals meet; promotions posted in each family channel. Read
    once before :data:`OCTOBER_FINAL` and once after."""
    ids = {u.id: n for n, u in users.items()}
    if app.clock.now() < OCTOBER_FINAL:
        refused = await app.reply(app.owner, "tier", {"month": "2026-10", "apply": True},
                                  subcommand="sweep", locale=locale)
        assert "<@" not in refused, refused
        assert await app.services.db.fetchval("SELECT count(*) FROM member_tiers") == 0
        return
    now = app.clock.now()
    want = {}
    for stay in model.active(now):
        if model.checkin_days(stay.person, OCT1, OCT31):
            tier = model.reached(TIERS, model.month_totals(stay.person, OCT1))
            if tier:
                want[stay.person] = tier
    pattern = r"^- <@(\d+)>: — → (\w+) ⬆️$"
    preview = await app.reply(app.owner, "tier", {"month": "2026-10"}, subcommand="sweep",
                              locale=locale)
    assert {ids[int(u)]: t for u, t in re.findall(pattern, preview, re.M)} == want, preview
    applied = await app.reply(app.owner, "tier", {"month": "2026-10", "apply": True},
                              subcommand="sweep", locale=locale)
    assert {ids[int(u)]: t for u, t in re.findall(pattern, applied, re.M)} == want, applied
    for family, found in families.items():
        channel = app.emu.channel(found.channel_id)
        mine = {p: t for p, t in want.items() if model.people[p].family == family}
        [post] = await app.emu.wait_for(lambda c=channel: [
            m for m in app.emu.messages(c) if "🎉" in m.content and "**" in m.content
            and "<@" in m.content and "🏁" not in m.content])
        shown = {}
        for line in post.content.splitlines():
            if found_id := re.search(r"<@(\d+)>", line):
                shown[ids[int(found_id[1])]] = next(t["name"] for t in TIERS
                                                    if t["name"] in line)
        assert shown == mine, post.content
        assert post.mentions == []


async def check_broadcast_report(app, model, users, lang, locale):
    """/broadcast report once everything went: one post per family channel; a DM to each
    member of the audience (everyone in a family when it was confirmed, leaders too) who opted
    in, failed for closed DMs; an email to each with a verified address and broadcasts on."""
    audience = {s.person for s in model.active(BROADCAST_AT)}
    dms = [p for p in OPT_IN if p in audience]
    mails = [p for p in EMAIL if p in audience and p not in NO_BROADCAST_MAIL]

    async def done():
        await app.services.broadcasts.finish()
        return not await app.services.db.fetchval(
            "SELECT count(*) FROM broadcasts WHERE state = 'sending'")
    await app.emu.wait_for(done, timeout=15, what="the broadcast sent")
    report = await app.reply(app.owner, "broadcast", subcommand="report", locale=locale)
    routes = [line for line in report.splitlines() if line.startswith("- ")]
    failed = sum(1 for p in dms if p in CLOSED)
    assert [tokens(r) for r in routes[:3]] == [
        ["3", "0", "0"], [str(len(dms) - failed), str(failed), "0"], [str(len(mails)), "0", "0"]
    ], report
    assert [tokens(r) for r in routes[3:]] == ([[str(failed)]] if failed else []), report
    for p in audience:
        got = [m for m in app.emu.dms(users[p]) if m.content == BROADCAST]
        assert len(got) == (p in dms and p not in CLOSED), p


def digest_of(mail, app, users, who, kind):
    user = app.owner if who == "owner" else users[who]
    key = f"digest:{app.guild.id}:{user.id}:{kind}:2026-W43"
    found = [m for m in mail.to(EMAIL[who]) if m["Message-ID"] == message_id(key)]
    return body(found[0], "plain") if found else None


def named(label: str, users) -> str | None:
    """Who a digest names: their server display name, or "member …1234" (the end of their
    id) for someone the bot has not seen yet."""
    for name, user in users.items():
        if label == name or (label.endswith("…" + str(user.id)[-4:]) and " " in label):
            return name
    return None


def possible_days(model, family, first, last) -> int:
    """README: each creator's days of membership in the week, a leader's the days they
    streamed (the default rule)."""
    begins = datetime.combine(first, time(0), tzinfo=UTC)
    after = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)
    days: dict[str, set] = {}
    for s in model.stays:
        if (family and s.family != family) or not (s.start < after and (
                s.end is None or s.end >= begins)):
            continue
        lo = max(first, s.start.date())
        hi = last if s.end is None else min(last, (s.end - timedelta(microseconds=1)).date())
        days.setdefault(s.person, set()).update(lo + timedelta(days=i)
                                               for i in range((hi - lo).days + 1))
    return sum(len(model.checkin_days(p, first, last)) if model.people[p].leads else len(d)
               for p, d in days.items())


def week_rows(model, family, first):
    """Per person: (days, hours, diamonds, followers) this week and the week before, of the
    check-ins sent from the family (all, for the program)."""
    rows = {}
    for (p, d), e in model.days.items():
        if family and e.family != family:
            continue
        for this, lo in ((1, first), (0, first - timedelta(days=7))):
            if lo <= d <= lo + timedelta(days=6):
                r = rows.setdefault((p, this), [0, 0.0, 0, 0])
                r[0] += 1
                r[1] += e.hours
                r[2] += e.diamonds
                r[3] += e.followers
    return rows


def sums(rows, this):
    found = [r for (p, t), r in rows.items() if t == this]
    return [sum(r[i] for r in found) for i in range(4)], len(found)


async def check_digests(app, model, users, families, mail, lang):
    """The weekly digests as emailed (the real SMTP server), each in its reader's language:
    the leaders' (Lobos: English; Pumas: Spanish), the manager's (the test's language) and two
    creators' (opt-in). Each covers the 7 local days before the digest day against the 7
    before; memberships over the 7 × 24 hours before its moment (Monday 09:00, the reader's
    zone)."""
    first, last = DIGEST_DAY - timedelta(days=7), DIGEST_DAY - timedelta(days=1)

    def moment(who):
        zone = model.people[who].zone if who in model.people else "UTC"
        return datetime.combine(DIGEST_DAY, time(9), tzinfo=ZoneInfo(zone)).astimezone(UTC)

    for leader, family in (("lena", "Lobos"), ("pia", "Pumas")):
        end = moment(leader)
        start = end - timedelta(days=7)
        stats = model.stats(start, end, family)
        prev = model.stats(start - timedelta(days=7), start, family)
        text = await app.emu.wait_for(lambda w=leader: digest_of(mail, app, users, w,
                                                                 "digest_leader"))
        ln = model.people[leader].locale
        lines = lines_after(text, 1)
        assert tokens(lines[0]) == [whole(stats["members"], ln), whole(prev["members"], ln)], text
        assert tokens(lines[1]) == [whole(stats["joins"], ln), whole(stats["leaves"], ln)], text
        rows = week_rows(model, family, first)
        (n, hours, diamonds, _), _ = sums(rows, 1)
        (n0, hours0, diamonds0, _), _ = sums(rows, 0)
        rate = min(1.0, n / possible_days(model, family, first, last))
        at = next(i for i, line in enumerate(lines) if "%" in line)
        assert tokens(lines[at]) == [whole(n, ln), pct(rate, ln), whole(n0, ln)], text
        assert tokens(lines[at + 1]) == [number(hours, ln), number(hours0, ln)], text
        assert tokens(lines[at + 2]) == [whole(diamonds, ln), whole(diamonds0, ln)], text
        top = sorted(((p, r) for (p, t), r in rows.items() if t == 1 and r[1] > 0),
                     key=lambda pr: (-pr[1][1], -pr[1][2], users[pr[0]].id))[:3]
        shown = [line for line in lines if re.match(r"^[123]\. ", line)]
        assert [named(line.split(". ", 1)[1].split(":")[0], users) for line in shown] == [
            p for p, _ in top], text
        for line, (_, r) in zip(shown, top, strict=True):
            tail = line.split(":", 1)[1]
            assert tokens(tail) == [number(r[1], ln), whole(r[2], ln), whole(r[0], ln)], line
        # the campaign: its participants in the family now, their hours in its days so far
        running = [p for p in ENROLLED if model.people[p].family == family]
        values = {p: model.total(p, *CAMPAIGN) for p in running}
        [line] = [line for line in lines if "Octubre" in line] or [text]
        assert tokens(line.split("):", 1)[1]) == [
            whole(sum(v >= TARGET for v in values.values()), ln), whole(len(running), ln),
            whole(TARGET, ln), number(sum(values.values()), ln)], line
        # slipping: a creator of the family (now) since before the week who checked in on
        # fewer days than the week before, or on none
        def days(p, this, rows=rows):
            return rows.get((p, this), [0])[0]
        slipping = sorted((s.person for s in model.active(end) if s.family == family
                           and s.start < start and not model.people[s.person].leads
                           and (days(s.person, 1) == 0
                                or days(s.person, 1) < days(s.person, 0))),
                          key=lambda p: (days(p, 1), -days(p, 0), users[p].id))
        listed = [named(line.strip()[2:].split(":")[0], users) for line in lines
                  if line.startswith("  - ") and named(line.strip()[2:].split(":")[0], users)]
        assert listed == slipping, text
    # the manager's: the program's week
    end = moment("owner")
    start = end - timedelta(days=7)
    stats, prev = model.stats(start, end), model.stats(start - timedelta(days=7), start)
    text = await app.emu.wait_for(lambda: digest_of(mail, app, users, "owner",
                                                    "digest_manager"))
    lines = lines_after(text, 1)
    assert tokens(lines[0]) == [whole(stats["members"], lang), whole(prev["members"], lang)]
    assert tokens(lines[1]) == [whole(stats["joins"], lang), whole(stats["leaves"], lang)]
    rows = week_rows(model, None, first)
    (n, hours, diamonds, followers), people = sums(rows, 1)
    (n0, hours0, diamonds0, followers0), people0 = sums(rows, 0)
    at = next(i for i, line in enumerate(lines) if "%" in line and "(" in line) - 1
    assert tokens(lines[at]) == [whole(people, lang), whole(people0, lang)], text
    rate = min(1.0, n / possible_days(model, None, first, last))
    assert tokens(lines[at + 1]) == [whole(n, lang), pct(rate, lang), whole(n0, lang)], text
    assert tokens(lines[at + 2]) == [number(hours, lang), number(hours0, lang)], text
    assert tokens(lines[at + 3]) == [whole(diamonds, lang), whole(diamonds0, lang)], text
    assert tokens(lines[at + 4]) == [whole(followers, lang), whole(followers0, lang)], text
    per = {f: (model.stats(start, end, f), sums(week_rows(model, f, first), 1)[0][1])
           for f in families}
    ranked = sorted(families, key=lambda f: (-per[f][0]["members"], -per[f][1], f))
    shown = [line for line in lines[at + 5:] if re.match(r"^\d\. \w+: ", line)]
    assert [line.split(". ", 1)[1].split(":")[0] for line in shown] == ranked, text
    for line, f in zip(shown, ranked, strict=True):
        st, h = per[f]
        # then the family's service-quality score and rank (the scorecard's own test)
        assert tokens(line)[1:5] == [whole(st["members"], lang), whole(st["joins"], lang),
                                     whole(st["leaves"], lang), number(h, lang)], line
    # creators: their own week, streak and pace towards the first tier
    for who in CREATOR_DIGESTS:
        text = await app.emu.wait_for(lambda w=who: digest_of(mail, app, users, w,
                                                              "digest_creator"))
        ln = model.people[who].locale
        lines = lines_after(text, 1)
        mine = {t: r for (p, t), r in week_rows(model, None, first).items() if p == who}
        now, before = mine.get(1, [0, 0.0, 0, 0]), mine.get(0, [0, 0.0, 0, 0])
        assert [tokens(line) for line in lines[:4]] == [
            [whole(now[0], ln), whole(before[0], ln)],
            [number(now[1], ln), number(before[1], ln)],
            [whole(now[2], ln), whole(before[2], ln)],
            [whole(now[3], ln), whole(before[3], ln)]], text
        streak = model.streak(who, model.local_day(who, moment(who)))
        # the streak as the rule gives it on the digest day: Dan's stopped on his break
        assert tokens(lines[4]) == ([whole(streak, ln)] if streak else []), (streak, text)
        totals = model.month_totals(who, last, last)
        paces = [line for line in lines if line.startswith("  - ") and "/" in line]
        tier = TIERS[0]
        metrics = [m for m in ("hours", "diamonds", "valid_days", "followers")
                   if m in tier["thresholds"]]
        assert len(paces) == len(metrics), text
        for metric, line in zip(metrics, paces, strict=True):
            p = model.pace(metric, totals[metric], tier["thresholds"][metric], last)
            assert tokens(line) == pace_tokens(p, metric, ln), (who, metric, line, p)
        # the running campaign: their hours in its days so far, their place among the
        # participants with some (ties shared)
        standing = [line for line in lines if "Octubre" in line]
        if who not in ENROLLED:
            assert standing == [], text
            continue
        values = {p: model.total(p, *CAMPAIGN) for p in ENROLLED}
        place = 1 + sum(1 for v in values.values() if v > values[who])
        assert tokens(standing[0].split("):", 1)[1]) == [
            number(values[who], ln), whole(TARGET, ln), whole(place, ln),
            whole(sum(1 for v in values.values() if v > 0), ln)], standing


@pytest.fixture
def mail(app, smtp):
    """The running bot's email sender points at the test's SMTP server."""
    sender = app.bot.email_sender
    sender.config = smtp_config(smtp)
    sender.connections = [Connection(sender.config)]
    return smtp


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "es"])
async def test_a_program_month(app, mail, lang):
    locale = "es-ES" if lang == "es" else "en-US"
    campaign, boards = {}, {}
    s, g = app.services, app.guild.id

    async def prepare(model, users, families):
        """Tiers, verified addresses (the owner reads in the test's language), opt-ins."""
        for tier in TIERS:
            await s.tiers.define(g, app.owner.id, tier["name"], tier["rank"], **{
                OPTION[m]: v for m, v in tier["thresholds"].items()})
        stamp = to_db(app.clock.now())
        async with s.db.transaction() as tx:
            for who, address in EMAIL.items():
                user = app.owner if who == "owner" else users[who]
                await s.members.ensure(tx, g, user.id)
                await tx.execute(
                    "INSERT INTO email_addresses (guild_id, user_id, address, verified_at,"
                    " weekly_digest, broadcasts, locale, manager, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (g, user.id, address, stamp, 1 if who in CREATOR_DIGESTS else None,
                     0 if who in NO_BROADCAST_MAIL else 1, lang if who == "owner" else None,
                     int(who == "owner"), stamp, stamp))
        for who in OPT_IN:
            await app.reply(users[who], "broadcast", {"enabled": True}, subcommand="optin")
        boards["channel"] = app.emu.create_channel(app.guild, "leaderboard")
        await s.guilds.set_channel(g, app.owner.id, "leaderboard", boards["channel"].id)

    async def new_campaign(model, users, families):
        it = await app.run(app.owner, "campaign", {
            "name": "Octubre", "metric": "hours", "start": CAMPAIGN[0].isoformat(),
            "end": CAMPAIGN[1].isoformat(), "target": TARGET}, subcommand="new")
        await it.wait_modal()
        head = await (await it.submit({"description": "Stream!", "reward": ""})).wait_message()
        scheduled = await app.emu.click(app.owner, head, button(head, "familia:cp:schedule:"))
        await scheduled.reply_text()
        [found] = await s.campaigns.list_campaigns(g)
        campaign["id"] = found.id
        for name in ENROLLED:
            await s.campaigns.enrol(g, users[name].id, found.id, "command")

    async def tick(model, users, families):
        await app.bot.get_cog("Campaigns").tick()
        await app.bot.get_cog("Campaigns").tick()

    async def progress(model, users, families):
        # New York in English, Madrid in Spanish; a leader streaming now and then
        for who in ("gus", "carmen", "lena", "pia"):
            await check_progress(app, model, users, who, model.people[who].locale)

    async def digests(model, users, families):
        await digest_sweep(app.bot, s)()
        await check_digests(app, model, users, families, mail, lang)

    async def broadcast(model, users, families):
        it = await app.run(app.owner, "broadcast", {"audience": "all",
                                                    "routes": "channel,dm,email"},
                           subcommand="new", locale=locale)
        preview = await it.submit({"text": BROADCAST})
        await preview.wait_followups(1)
        head = preview.messages[0]
        done = await app.emu.click(app.owner, head, button(head, "familia:bc:confirm:"))
        await done.reply_text()

    model, users, families = await play(app, [
        (datetime(2026, 9, 30, 12, 30, tzinfo=UTC), prepare),
        (datetime(2026, 10, 10, 12, 0, tzinfo=UTC), new_campaign),
        (datetime(2026, 10, 12, 1, 0, tzinfo=UTC), tick),
        (datetime(2026, 10, 6, 20, 0, tzinfo=UTC), progress),
        (datetime(2026, 10, 16, 20, 0, tzinfo=UTC), progress),
        (datetime(2026, 10, 29, 3, 0, tzinfo=UTC), progress),
        (datetime(2026, 10, 19, 15, 0, tzinfo=UTC), digests),
        (BROADCAST_AT, broadcast),
        (TAKEN, tick)])
    await check_broadcast_report(app, model, users, lang, locale)
    await check_campaign(app, model, users, families, lang, locale)
    for moment in (OCTOBER_FINAL - timedelta(minutes=1), OCTOBER_FINAL):
        app.clock.set(moment)
        await check_board_posts(app, model, users, boards["channel"])
        await check_sweep(app, model, users, families, lang, locale)
    app.clock.set(datetime(2026, 11, 2, 18, 0, tzinfo=UTC))
    for family in (None, "Lobos", "Osos", "Pumas"):
        await check_stats(app, model, lang, locale, family)
    await check_creator_boards(app, model, users, lang, locale)
    await check_family_board(app, model, lang, locale)
