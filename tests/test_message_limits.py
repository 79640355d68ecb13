"""Every Discord template, rendered with big data, fits Discord once on the send path; every
listing page fits on its own, without the cut.

1. Each ``templates/discord/**/*.md.j2`` is rendered in both languages with an "anything"
   value for each variable (:class:`Big`: a 60-character text, a big number, a list of 300
   of itself...), so every loop runs long; :func:`bot.limits.fit_message` (the one place every
   send goes through) must bring it within every limit, keeping its first line and marking
   the cut in the reader's language. A new template is covered without touching this test.
2. Each paged listing renders one page of its service's size with the longest realistic rows
   (names at their length limit, 18-digit ids, big numbers): the page fits with no cut; and
   every page of each listing over the builder's ``program`` size, as the services page it.
3. What is split (``reply(split=True)`` and the delivery queue's parts) splits into parts
   that each fit.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from jinja2 import meta

from bot import limits
from bot.delivery.queue import Delivery
from bot.i18n import Count
from bot.paging import page_of
from bot.services.checkins import HISTORY_PAGE, Checkin
from bot.services.families import Family, Membership, RosterEntry
from bot.services.families.memberships import HISTORY_PAGE as FAMILY_HISTORY_PAGE
from bot.services.families.memberships import ROSTER_PAGE
from bot.services.families.records import FAMILIES_PAGE
from bot.services.leaderboards import FAMILY_PAGE, FamilyRow, Period
from bot.services.pace import RISK_PAGE, Pace, Risk
from bot.services.tickets import LIST_PAGE as TICKET_PAGE
from bot.services.tickets import LIST_SUBJECT, Ticket
from bot.services.tiers import Tier
from bot.templating import Templates
from bot.text import split_text
from tests._listings import family_listings

ROOT = Path(__file__).resolve().parents[1] / "templates"
TEMPLATES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "discord").rglob("*.md.j2"))
NOW = datetime(2026, 6, 17, 12, tzinfo=UTC)
ID = 1516774411468800030  # a real snowflake's length


class Big:
    """Any value a template may ask for, as big as it gets: text of 60 characters, a number in
    the tens of thousands, a list of 300 (nested lists shorter), an object whose every
    attribute is another Big. ``fields`` pins the attributes a template unpacks."""

    def __init__(self, depth: int = 0, **fields):
        self._depth = depth
        self._fields = fields

    def __str__(self):
        return "Ñandú *bold* _x_ " * 3 + "end"

    __repr__ = __str__

    def __getattr__(self, name):
        if name.startswith("__") or name == "_fields":
            raise AttributeError(name)
        if name in self._fields:
            return self._fields[name]
        return Big(self._depth + 1)

    def __iter__(self):
        return iter([Big(self._depth + 1) for _ in range(300 if self._depth < 3 else 2)])

    def __len__(self):
        return 300

    def __int__(self):
        return 12345

    def __float__(self):
        return 12345.5

    def __index__(self):
        return 1

    def __round__(self, digits=None):
        return 12345

    def __bool__(self):
        return True

    def __eq__(self, other):
        return other is self

    def __hash__(self):
        return id(self)

    def __lt__(self, other):
        return False

    __gt__ = __le__ = __ge__ = __lt__

    def __add__(self, other):
        return Big(self._depth)

    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __add__
    __floordiv__ = __mod__ = __add__

    def __neg__(self):
        return Big(self._depth)

    def __getitem__(self, key):
        return Big(self._depth + 1)

    def __call__(self, *args, **kwargs):
        return Big(self._depth + 1)

    def __contains__(self, item):
        return False


def rows(*shape):
    return [tuple(Big(3) if kind is None else [Big(3)] * 3 for kind in shape)] * 300


# What a template unpacks (``for a, b in x``) or looks up by name: pinned.
OVERRIDES = {
    "discord/campaigns/announcement.md.j2": {
        "results": Big(reached_in=lambda family_id: ([Big(3)] * 300, 12))},
    "discord/broadcasts/report.md.j2": {"report": Big(failures=rows(None, None, None))},
    "discord/campaigns/family.md.j2": {"family": Big(members=rows(None, None, None))},
    "discord/checkins/summary.md.j2": {"due": Big(missed=rows(None, None))},
    "discord/families/sync.md.j2": {"plan": Big(changes=rows(None, [], []))},
    "discord/families/invite.md.j2": {"version": 1},
    "discord/families/join.md.j2": {"version": 1},
    "discord/families/appointed.md.j2": {"version": 1, "position": "leader"},
    "discord/stats/preview.md.j2": {"refused": rows(None, None)},
    "discord/stats/reconcile.md.j2": {"metrics": ("hours", "diamonds", "followers")},
    "discord/creators/placed.md.j2": {"version": 1},
    "discord/policies/status.md.j2": {"page": Big(items=rows(None, None))},
    "discord/tickets/stats.md.j2": {"stats": Big(assignees=rows(None, None))},
    "discord/setup/status.md.j2": {"problems": rows(None, None, None)},
    "discord/setup/step.md.j2": {"problems": rows(None, None, None), "step": "channels",
                                 "purposes": ("announcements", "leaderboard")},
    "discord/showcase/post.md.j2": {"groups": rows(None, [])},
    "discord/showcase/playbook.md.j2": {"groups": rows(None, []), "names": {}},
}


@pytest.fixture(scope="module")
def tolerant():
    """Templates of their own whose filters take a Big (a number or date filter given a Big
    answers as a big number would)."""
    templates = Templates()
    for locale in templates.locales:
        env = templates.env(locale)
        for name, original in list(env.filters.items()):
            @functools.wraps(original)  # keeps what Jinja passes first (environment, context)
            def tolerant_filter(*args, _original=original, _name=name, **kwargs):
                if not any(isinstance(a, Big) for a in args):
                    return _original(*args, **kwargs)
                try:
                    return _original(*args, **kwargs)
                except Exception:
                    text = next(a for a in args if isinstance(a, Big))
                    if _name == "whole":  # a number still (templates do arithmetic with it)
                        return Count(12_345_678, "en")
                    return str(text) if _name in ("md", "markdown") else "12,345,678.5"
            env.filters[name] = tolerant_filter
    return templates


def big_context(templates, name):
    env = templates.env("en")
    source = (ROOT / name).read_text(encoding="utf-8")
    wanted = meta.find_undeclared_variables(env.parse(source)) - set(env.globals)
    context = {variable: Big() for variable in wanted}
    context.update(OVERRIDES.get(name, {}))
    return context


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_with_big_data_fits_on_the_send_path(tolerant, name, locale):
    text = tolerant.render(locale, name, **big_context(tolerant, name))
    sent = limits.fit_message(tolerant, locale, text)["content"]
    assert len(sent) <= limits.CONTENT
    if len(text) > limits.CONTENT:  # cut: the top kept, the cut said in the reader's words
        first = text.split("\n", 1)[0]
        assert sent.startswith(first[:200].rstrip("…"))
        assert sent.endswith(" more" if locale == "en" else " más")
    else:
        assert sent == text


def test_big_data_does_grow_the_listings(tolerant):
    """The test above means something: the listings do run past the limit with big data."""
    over = [name for name in TEMPLATES
            if len(tolerant.render("en", name, **big_context(tolerant, name))) > limits.CONTENT]
    for listing in ("discord/families/roster.md.j2", "discord/checkins/rollcall.md.j2",
                    "discord/families/sweep.md.j2", "discord/checkins/why.md.j2"):
        assert listing in over


# -- 2. a page of each listing fits as it is ----------------------------------------------

LONG_FAMILY = "Los Lobos del Sur de la Gran Ciudad de México y Alrededores 1"[:60]
LONG_TIER = "Diamante Platino Estrella Máxima Elite 1"[:40]
FAMILY = Family(7, 9, LONG_FAMILY, ID, ID + 1, 999, ID + 2, ID + 3, NOW, None, 999)
TIER = Tier(3, LONG_TIER, 3, ID + 4, 120.0, 1_000_000, 28, 10_000)
NOTE = ("Long stream today with a great raid from a friend, new followers and a giveaway "
        "at the end. ") * 6


def checkin(n):
    return Checkin(n, 9, ID, 7, date(2026, 6, 17 - n), "America/Mexico_City", 12345.25,
                   12_345_678, 123_456, 123_456, 5, NOTE[:500], NOW, NOW, ID, ID)


def ticket(n):
    """A ticket with the longest row /ticket list shows: a subject of 100 characters to
    escape, every mark (priority, waiting, assignee, thread)."""
    return Ticket(n, 9, 99_999, ID, 3, "*_`|~>" * 17, "d", "dm", "open", ID + 1, ID + 2,
                  "urgent", NOW, None, None, None, None, waiting_since=NOW)


def pace(metric):
    return Pace(metric, 1.0, 1_000_000.0, LONG_TIER, 12.0, 123_456.75, 14)


PAGES = {
    "discord/families/roster.md.j2": lambda: {
        "family": FAMILY,
        "page": page_of([RosterEntry(ID + n, "co_leader", LONG_TIER, NOW, None, "h" * 30)
                         for n in range(40)], 1, ROSTER_PAGE)},
    "discord/families/list.md.j2": lambda: {
        "page": page_of([FAMILY] * 250, 2, FAMILIES_PAGE)},
    "discord/families/history.md.j2": lambda: {
        "user_id": ID, "page": page_of([Membership(n, 7, LONG_FAMILY, ID, NOW, 1, NOW, "manager",
                                                   "moved_agency", "x" * 200)
                                        for n in range(40)], 1, FAMILY_HISTORY_PAGE)},
    "discord/checkins/history.md.j2": lambda: {
        "user_id": ID, "streak": 365, "best": 365, "days": 90, "own": True,
        "page": page_of([checkin(n) for n in range(14)], 1, HISTORY_PAGE)},
    "discord/leaderboards/families.md.j2": lambda: {
        "metric": "diamonds", "period": Period("month", "2026-06"), "by": "average",
        "page": page_of([FamilyRow(n, n, LONG_FAMILY, 999, 123_456_789.5, 1_234_567.5)
                         for n in range(200)], 3, FAMILY_PAGE)},
    "discord/tickets/list.md.j2": lambda: {
        "state": "waiting", "keys": {3: "safety"}, "subject_max": LIST_SUBJECT,
        "page": page_of([ticket(n) for n in range(300)], 2, TICKET_PAGE)},
    "discord/leaderboards/risk.md.j2": lambda: {
        "family": FAMILY, "has_tiers": True,
        "page": page_of([Risk(ID + n, TIER, True,
                              [pace(m) for m in ("hours", "diamonds", "days", "followers")])
                         for n in range(30)], 1, RISK_PAGE)},
}


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_page_of_each_listing_fits_without_a_cut(templates, name, locale):
    context = PAGES[name]()
    text = templates.render(locale, name, **context)
    page = context["page"]
    assert page.paged and len(page.items) == page.size
    assert len(text) <= limits.CONTENT, f"{name} ({locale}): {len(text)} characters"
    assert ("page 2 of" in text or "page 3 of" in text or "page 4 of" in text
            or "página" in text)


@pytest.mark.slow  # every page of 400 people's 90 days, twice: a few seconds
async def test_every_page_of_every_listing_over_a_program_fits_without_a_cut(
        services, templates, make_program):
    """The same listings over a real program (``bot/program.py``'s ``program`` size: 30
    families of 12 or so, 90 days, its leavers, tiers and campaign), every page the services
    hand out, in both languages: each fits as it is. (The rows above are the longest there
    can be; these are the ones a program has, every one of them.)"""
    made = await make_program("program")
    g, sizes = made.guild_id, {}

    async def pages(name, fetch, **context):
        number, page = 0, None
        while page is None or page.has_next:
            page = await fetch(number)
            for locale in ("en", "es"):
                text = templates.render(locale, name, page=page, **context)
                assert len(text) <= limits.CONTENT, f"{name} ({locale}): {len(text)}"
            sizes[name] = sizes.get(name, 0) + len(page.items)
            number += 1

    families = services.families
    await family_listings(services, g, made.families, pages)
    for person in made.people.values():
        await pages("discord/families/history.md.j2",
                    lambda n, p=person: families.history_page(g, p.user_id, n),
                    user_id=person.user_id)
    for user_id in made.people:
        history = await services.checkins.history(g, user_id, user_id, 90)

        async def days(n, u=user_id):
            return (await services.checkins.history(g, u, u, 90, page=n)).page

        await pages("discord/checkins/history.md.j2", days, user_id=user_id,
                    streak=history.streak, best=history.best, days=90, own=True)
    boards = services.leaderboards
    period = await boards.resolve_period(g, "last_month")
    for metric in ("hours", "diamonds", "followers", "days"):
        for by in ("average", "total"):
            await pages("discord/leaderboards/families.md.j2",
                        lambda n, m=metric, b=by, p=period: boards.family_board_page(
                            g, m, p, b, n), metric=metric, period=period, by=by)
    for manager in (True, False):
        states = ("draft", "scheduled", "running", "finished")[0 if manager else 1:]
        await pages("discord/campaigns/list.md.j2",
                    lambda n, s=states: services.campaigns.campaigns_page(g, s, n),
                    manager=manager)
    # every listing ran over all of it: every family, member, membership and day (at the
    # frozen 15:00 UTC every zone of the program is on the same date)
    members = sum(len(f.member_ids) for f in made.families)
    assert sizes["discord/families/list.md.j2"] == 2 * len(made.families)  # active, all
    assert sizes["discord/families/roster.md.j2"] == members
    assert sizes["discord/families/history.md.j2"] == members + len(made.leavers)
    assert sizes["discord/checkins/history.md.j2"] == await services.db.fetchval(
        "SELECT count(*) FROM checkins WHERE guild_id = ? AND local_date > ?",
        (g, str(services.clock.now().date() - timedelta(days=90))))
    assert sizes["discord/leaderboards/families.md.j2"] == 8 * len(made.families)


# -- 3. what is split splits into parts that fit -------------------------------------------

def test_a_split_reply_and_a_queued_message_come_in_parts_that_fit():
    rollcall = "\n".join(f"- <@{ID + n}> ✅ {LONG_FAMILY}" for n in range(300))
    assert all(len(part) <= limits.CONTENT for part in split_text(rollcall))
    delivery = Delivery(1, 9, "summary", None, "dm", ID, None, None,
                        {"parts": ["short", rollcall]}, 0, 0, [], None)
    parts = delivery.parts
    assert parts[0] == "short" and len(parts) > 2
    assert all(len(part) <= limits.CONTENT for part in parts)
