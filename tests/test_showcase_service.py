"""The monthly showcase (#22, must-haves 5 and 7) on real SQLite with time travel: links
checked as text and never fetched, bad input refused with nothing stored, nominations capped
per family, curation (a rejection needs a note, a feature tells the creator once), the
month-end claim that never posts twice, and the playbook grouped by category."""

import csv
import io
from datetime import UTC, date, datetime

import pytest

from bot.delivery.queue import Send
from bot.errors import NotAllowed, UserError
from bot.services.families import AGREEMENT_VERSION
from bot.services.showcase import ShowcaseService, check_url

G, MANAGER, LEADER, OTHER_LEADER, ANA, BEN, CARLA = 1, 10, 20, 21, 30, 40, 50
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LINK = "https://www.tiktok.com/@ana/live/123"


async def _code(call, kind=UserError):
    with pytest.raises(kind) as caught:
        await call
    return caught.value.code


async def _program(services):
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    osos = await services.families.create(G, MANAGER, "Osos", OTHER_LEADER)
    for family, leader, user in ((lobos, LEADER, ANA), (lobos, LEADER, BEN),
                                 (osos, OTHER_LEADER, CARLA)):
        request = await services.families.request_join(G, user, family.id, AGREEMENT_VERSION)
        await services.families.decide(G, leader, request.id, True)
    return lobos, osos


async def _count(services):
    return await services.db.fetchval("SELECT count(*) FROM showcase_entries")


def test_links_are_http_urls_checked_as_text():
    assert check_url("  https://example.com/x?y=1  ") == "https://example.com/x?y=1"
    assert check_url("HTTP://Example.com") == "HTTP://Example.com"
    for bad in ("", "example.com", "ftp://example.com/a", "javascript:alert(1)",
                "https://", "https://localhost", "https://exa mple.com", "http://a.b:99999",
                "https://example.com/<script>", "data:text/html,hi", "https://[::1"):
        with pytest.raises(UserError) as caught:
            check_url(bad)
        assert caught.value.code == "showcase.bad_url", bad
    with pytest.raises(UserError) as caught:
        check_url("https://example.com/" + "a" * 500)
    assert caught.value.code == "showcase.url_too_long"


async def test_bad_submissions_are_refused_and_nothing_is_stored(services, clock):
    clock.set(NOW)
    await _program(services)
    submit = services.showcase.submit
    cases = [
        (submit(G, ANA, "not a link", "Title", "Worked", "gifting"), "showcase.bad_url"),
        (submit(G, ANA, LINK, "   ", "Worked", "gifting"), "showcase.bad_title"),
        (submit(G, ANA, LINK, "x" * 101, "Worked", "gifting"), "showcase.bad_title"),
        (submit(G, ANA, LINK, "Title", "\u200b\u200b", "gifting"), "showcase.bad_what_worked"),
        (submit(G, ANA, LINK, "Title", "w" * 1001, "gifting"), "showcase.bad_what_worked"),
        (submit(G, ANA, LINK, "Title", "Worked", "dancing"), "showcase.bad_category"),
        (submit(G, ANA, LINK, "Title", "Worked", "gifting", date(2026, 3, 11)),
         "showcase.bad_date"),  # tomorrow
        (submit(G, ANA, LINK, "Title", "Worked", "gifting", date(2026, 1, 31)),
         "showcase.bad_date"),  # before last month
    ]
    for call, code in cases:
        assert await _code(call) == code
    assert await _code(submit(G, 99, LINK, "Title", "Worked", "gifting"),
                       NotAllowed) == "showcase.not_in_family"
    assert await _count(services) == 0

    entry = await submit(G, ANA, LINK, "  Big gift\u202e ", "Thanked every gifter by name",
                         "gifting", date(2026, 2, 27))
    assert (entry.title, entry.month, entry.state) == ("Big gift", "2026-02", "submitted")
    assert await _code(submit(G, ANA, LINK, "Again", "Worked", "gifting")) == \
        "showcase.duplicate"
    for n in range(10):  # the February one does not count against March's 10
        await submit(G, ANA, f"https://example.com/{n}", "T", "W", "other")
    assert await _code(submit(G, ANA, "https://example.com/10", "T", "W", "other")) == \
        "showcase.too_many"
    assert await _count(services) == 11


async def test_nominations_are_the_family_leaders_and_capped(services, clock):
    clock.set(NOW)
    await _program(services)
    await services.showcase.set_settings(G, MANAGER, nominations=2)
    entries = [await services.showcase.submit(G, user, f"https://example.com/{n}", "T", "W",
                                              "collab")
               for n, user in enumerate((ANA, ANA, BEN, CARLA))]
    nominate = services.showcase.nominate
    assert await _code(nominate(G, OTHER_LEADER, entries[0].id), NotAllowed) == \
        "families.not_your_family"  # another family's leader
    assert await _code(nominate(G, ANA, entries[1].id), NotAllowed) == \
        "families.not_your_family"  # a creator
    assert (await nominate(G, LEADER, entries[0].id)).nominated
    assert await _code(nominate(G, LEADER, entries[0].id)) == "showcase.already_nominated"
    await nominate(G, LEADER, entries[1].id)
    assert await _code(nominate(G, LEADER, entries[2].id)) == "showcase.nominations_full"
    await nominate(G, OTHER_LEADER, entries[3].id)  # the cap is per family
    assert await _code(nominate(G, MANAGER, entries[2].id, manager=True)) == \
        "showcase.nominations_full"  # a manager nominates for the family, within its cap
    assert await _code(nominate(G, LEADER, 999)) == "showcase.unknown_entry"


def _tell(entry):
    return Send("showcase_featured", f"showcase-featured:{entry.id}", "dm", entry.user_id,
                {"content": f"featured {entry.id}"}, source=f"showcase:{entry.id}")


async def test_curation_and_the_month_end_claim_happen_once(services, clock):
    clock.set(NOW)
    await _program(services)
    show = services.showcase
    a = await show.submit(G, ANA, LINK, "Gift rain", "Thanked gifters", "gifting")
    b = await show.submit(G, BEN, "https://example.com/b", "Duet", "Split screen", "collab")
    c = await show.submit(G, CARLA, "https://example.com/c", "Q&A", "Questions", "interaction")
    assert await _code(show.curate(G, MANAGER, c.id, "reject")) == "showcase.note_required"
    await show.curate(G, MANAGER, c.id, "reject", "Audio was off")
    await show.curate(G, MANAGER, b.id, "shortlist")
    for entry in (a, b, a):  # featuring twice tells once
        await show.curate(G, MANAGER, entry.id, "feature", tell=_tell)
    told = await services.db.fetchall(
        "SELECT target_id FROM deliveries WHERE kind = 'showcase_featured' ORDER BY target_id")
    assert [r[0] for r in told] == [ANA, BEN]
    page = await show.review_page(G, "2026-03", 0)
    assert [e.id for e in page.items] == [a.id, b.id, c.id] and page.total == 3
    assert (await show.review_page(G, "2026-03", 0, "rejected")).items[0].note == "Audio was off"

    assert await show.due_months() == []  # March is not over
    clock.set(datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
    [due] = await show.due_months()
    assert (due.guild_id, due.month) == (G, "2026-03")
    featured = await show.featured(G, "2026-03")
    assert [e.category for e in featured] == ["collab", "gifting"]
    post = Send("showcase", "showcase:2026-03", "channel", 700, {"content": "showcase"})
    assert await show.claim(due, featured, post, []) is True
    assert await show.claim(due, featured, post, []) is False  # an overlapping sweep
    assert await show.due_months() == []
    assert await services.db.fetchval(
        "SELECT count(*) FROM deliveries WHERE kind = 'showcase'") == 1
    # a posted month is closed
    assert await _code(show.curate(G, MANAGER, c.id, "feature")) == "showcase.month_closed"
    assert await _code(show.submit(G, ANA, "https://example.com/late", "T", "W", "other",
                                   date(2026, 3, 30))) == "showcase.month_closed"


async def test_the_playbook_csv_is_grouped_by_category_and_safe_in_a_spreadsheet(
        services, clock):
    clock.set(NOW)
    await _program(services)
    show = services.showcase
    for user, link, title, worked, category in (
            (ANA, LINK, "Gift rain", "=HYPERLINK(\"x\")", "gifting"),
            (BEN, "https://example.com/b", "Duet", "Split screen", "collab"),
            (CARLA, "https://example.com/c", "Story", "A cliffhanger", "storytelling")):
        entry = await show.submit(G, user, link, title, worked, category)
        await show.curate(G, MANAGER, entry.id, "feature")
    featured = await show.featured(G, "2026-03")
    data = ShowcaseService.playbook_csv(featured, {ANA: "Ana"})
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["category", "title", "creator"]
    assert [r[0] for r in rows[1:]] == ["gifting", "collab", "storytelling"]
    assert rows[1][2] == "Ana" and rows[2][2] == str(BEN)
    assert rows[1][6] == "'=HYPERLINK(\"x\")"  # neutralised, not a formula


def test_a_page_of_the_longest_entries_and_checklists_fits_one_message(templates):
    """The review's page (3 entries) and a family's onboarding page (10 members), with every
    field at its longest and Markdown to escape, fit Discord's 2,000 characters uncut."""
    from bot.paging import Page
    from bot.services.onboarding import STEPS, Checklist
    from bot.services.showcase import Entry

    long_id = 1516774411468800053
    entry = Entry(10**9, 1, long_id, 7, "2026-06", "https://example.com/" + "a" * 180,
                  "*_" * 50, "*" * 1000, "storytelling", date(2026, 6, 30), "shortlisted",
                  "_" * 500, True, long_id, NOW)
    family = type("F", (), {"name": "_" * 60})()
    checklist = Checklist(long_id, "join", None, NOW, STEPS, {"agreement": None})
    for locale in ("en", "es"):
        text = templates.render(locale, "discord/showcase/review.md.j2", month="2026-06",
                                state="shortlisted", page=Page([entry] * 3, 998, 3, 9999),
                                closed=True)
        assert len(text) <= 2000, len(text)
        text = templates.render(locale, "discord/onboarding/family.md.j2", family=family,
                                page=Page([checklist] * 10, 998, 10, 99999))
        assert len(text) <= 2000, len(text)
        text = templates.render(locale, "discord/showcase/mine.md.j2", entries=[entry] * 8)
        assert len(text) <= 2000, len(text)
        for name in ("curated", "submitted", "nominated"):  # one entry, whole (excerpts)
            text = templates.render(locale, f"discord/showcase/{name}.md.j2", entry=entry)
            assert len(text) <= 2000, (name, len(text))
