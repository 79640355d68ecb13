"""Numbers as a reader sees them: written in one place (bot/i18n.py, Babel) per locale, reached
by templates only through its filters; and the pace wording that read "0 days a day needed"."""

from __future__ import annotations

import re
from datetime import date
from importlib import resources
from types import SimpleNamespace

import pytest

from bot.services.pace import Change, Pace, pace
from bot.templating import Templates

# Formatting a template must not do itself: Python %-formats, Jinja's format/round/int/float,
# percentages made by hand, %d in a msgid (no locale separators).
RAW_NUMBER_FORMATTING = re.compile(
    r"\|\s*format\b|\bround\b|\|\s*int\b|\|\s*float\b|%\(\w+\)d|\*\s*100\b|~\s*\"%\"|%%"
    r"|\"%[-+ 0#]*\d*(?:\.\d+)?[dfeg]\"")


@pytest.fixture(scope="module")
def templates():
    return Templates()


def _template_files():
    def walk(folder, prefix=""):
        for entry in folder.iterdir():
            if entry.is_dir():
                yield from walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith((".j2", ".html", ".txt")):
                yield f"{prefix}{entry.name}", entry.read_text(encoding="utf-8")
    return sorted(walk(resources.files("templates")))


def test_templates_format_numbers_only_through_the_filters():
    offending = []
    for name, text in _template_files():
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)  # comments may say anything
        for lineno, line in enumerate(text.splitlines(), 1):
            if RAW_NUMBER_FORMATTING.search(line):
                offending.append(f"templates/{name}:{lineno}: {line.strip()[:120]}")
    assert not offending, "use |whole |hours |percent |change |signed |points:\n" + "\n".join(
        offending)


def test_the_scan_finds_what_it_forbids():
    for raw in ('{{ "%.1f"|format(x) }}', "{{ x|round|int }}", "{{ (r * 100)|whole }}",
                '{{ ngettext("%(num)d day", "%(num)d days", n) }}', '{{ x ~ "%" }}',
                '{{ _("(%(rate)s %%)", rate=r) }}', '{{ round(x, 1) }}'):
        assert RAW_NUMBER_FORMATTING.search(raw), raw
    for fine in ("{{ x|hours }}", "{{ r|percent }}", '{% include "v%d.md.j2" % version %}'):
        assert not RAW_NUMBER_FORMATTING.search(fine), fine


@pytest.mark.parametrize(("locale", "expected"), [
    ("en", ["27%", "5.3%", "0%", "150%", "12,345", "2.5", "1,234.6", "+20%", "−5.3%", "−46"]),
    ("es", ["27\xa0%", "5,3\xa0%", "0\xa0%", "150\xa0%", "12.345", "2,5", "1.234,6",
            "+20\xa0%", "−5,3\xa0%", "−46"]),
])
def test_filters_write_numbers_the_locales_way(templates, locale, expected):
    env = templates.env(locale)
    shown = env.from_string(
        "{{ 0.268|percent }}|{{ 0.0531|percent }}|{{ 0.0004|percent }}|{{ 1.5|percent }}|"
        "{{ 12345.4|whole }}|{{ 2.5|hours }}|{{ 1234.56|hours }}|{{ 0.2|signed }}|"
        "{{ -0.053|signed }}|{{ -0.464|points }}").render()
    assert shown.split("|") == expected


def test_an_arrow_only_for_a_change_that_shows(templates):
    env = templates.env("en")
    assert env.from_string("{{ 0.268|change }}/{{ -0.0531|change }}").render() == "▲ 27%/▼ 5.3%"
    assert env.from_string("[{{ 0.0004|change }}][{{ 0|change }}]").render() == "[][]"
    report = SimpleNamespace(user_id=5, today=date(2026, 12, 2), tier=None, next_tier=None,
                             changes=[Change("hours", 10, 10), Change("diamonds", 120, 100),
                                      Change("followers", 3, 0)], paces=[])
    text = templates.render("en", "discord/leaderboards/progress.md.j2", report=report)
    assert "(no change)" in text and "▲ 0" not in text
    assert "(▲ 20%)" in text and "(nothing the week before)" in text
    es = templates.render("es", "discord/leaderboards/progress.md.j2", report=report)
    assert "(sin cambios)" in es and "(▲ 20\xa0%)" in es


@pytest.mark.parametrize("locale", ["en", "es"])
def test_counts_in_sentences_get_the_locales_separators(templates, locale):
    text = templates.render(locale, "discord/me/deleted.md.j2", rows=12345)
    assert ("12,345" if locale == "en" else "12.345") in text
    assert templates.render(locale, "discord/me/deleted.md.j2", rows=1).count("1") >= 1


def _tier(**thresholds):
    base = {"min_hours": None, "min_diamonds": None, "min_valid_days": None,
            "min_followers": None}
    return SimpleNamespace(name="Bronce", **{**base, **thresholds})


def test_no_zero_a_day_needed_on_the_second_of_the_month(templates):
    """The /progress view on the 2nd said "10 days short of Bronce at this pace — 0 days a
    day needed": valid days say on how many of the days left; hours and diamonds never round
    the daily need down to nothing; a tier that cannot be reached any more says so."""
    today = date(2026, 12, 2)
    days = pace("valid_days", 1, _tier(min_valid_days=20), today)
    diamonds = pace("diamonds", 0, _tier(min_diamonds=10), today)
    hours = pace("hours", 1, _tier(min_hours=40), today)
    assert days and diamonds and hours
    report = SimpleNamespace(user_id=5, today=today, tier=None, next_tier=_tier(), changes=[],
                             paces=[days, diamonds, hours])
    for locale in ("en", "es"):
        text = templates.render(locale, "discord/leaderboards/progress.md.j2", report=report)
        assert not re.search(r"\b0 (days?|días?|hours?|horas?) (a|al) d", text), text
        assert "💎 0 a day" not in text and "💎 0 al día" not in text
    text = templates.render("en", "discord/leaderboards/progress.md.j2", report=report)
    assert "needed on 19 of the 30 days left" in text
    assert "💎 1 a day needed" in text  # 10 over 30 days: a whole diamond a day, not 0
    assert "1.3 hours a day needed" in text  # 39 h over 30 days, rounded up

    late = date(2026, 12, 25)
    out = [pace("valid_days", 3, _tier(min_valid_days=20), late),
           pace("hours", 2, _tier(min_hours=300), late)]
    assert all(p and not p.reachable for p in out)
    report = SimpleNamespace(user_id=5, today=late, tier=None, next_tier=_tier(), changes=[],
                             paces=out)
    text = templates.render("en", "discord/leaderboards/progress.md.j2", report=report)
    assert text.count("out of reach this month") == 2 and "a day needed" not in text
    es = templates.render("es", "discord/leaderboards/progress.md.j2", report=report)
    assert es.count("ya no se alcanza este mes") == 2


def test_the_digest_pace_line_counts_valid_days_as_days(templates):
    """The email digest's pace line had no valid-days wording ("0 days a day needed")."""
    p = Pace("valid_days", 1, 20, "Bronce", 15.5, 19 / 30, 30)
    module = templates.env("en").get_template("email/_digest.j2").module
    line = str(module.pace_line(p))
    assert "needed on 19 of the 30 days left" in line and "a day needed" not in line


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize("reward", ["A badge", None])
def test_the_campaign_start_post_keeps_each_line_apart(templates, locale, reward):
    """"…30 hours each.👪 Family goal…", "…any time.-# Posted late…" ran together; a post
    without a reward left an empty line."""
    c = SimpleNamespace(name="Spring", description="Stream more", metric="hours",
                        target_creator=30.0, target_family=1234.5, whole_days=True,
                        first_day=date(2026, 12, 1), last_day=date(2026, 12, 14),
                        starts_at=None, ends_at=None, timezone="UTC", reward_text=reward,
                        reward_role_id=None, opt_in=True)
    text = templates.render(locale, "discord/campaigns/announcement.md.j2", campaign=c,
                            stage="start", family=None, results=None, late=True, family_id=1)
    lines = text.split("\n")
    assert "\n\n\n" not in text
    marks = ("🎯", "👪", "📅", "-#")
    assert [m for line in lines for m in marks if line.startswith(m)] == list(marks)
    assert ("1,234.5" if locale == "en" else "1.234,5") in text
