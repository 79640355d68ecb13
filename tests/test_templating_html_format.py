"""``_("…", x=…)`` in an HTML template escapes what it is given exactly as markupsafe's
``Markup(text) % values`` does (the fast way taken for text, numbers and markup), and the
templates find the same template objects however often they are looked up."""

from __future__ import annotations

from datetime import date

import pytest
from markupsafe import Markup

from bot.i18n import Count
from bot.templating import Templates, _html_format


class Html:
    def __html__(self) -> str:
        return "<b>given</b>"


class Plain:
    def __str__(self) -> str:
        return "a < b & \"c\""


@pytest.mark.parametrize("value", [
    "<script>alert('x')</script> & \"quotes\"", "", "plain", Markup("<i>kept</i>"),
    0, 12345, -3, 2.5, Count(12345, "en"), Count(1, "es"), True, None, date(2026, 3, 2),
    Html(), Plain(),
])
def test_each_value_is_escaped_as_markupsafe_does(value):
    text = "Dear %(name)s — 50%% of <b>%(name)s</b>"
    assert _html_format(text, {"name": value}) == Markup(text) % {"name": value}
    assert type(_html_format(text, {"name": value})) is Markup


def test_several_values_and_none_at_all():
    values = {"a": "<x>", "b": 7, "c": Markup("&amp;"), "d": Plain()}
    text = "%(a)s %(b)s %(c)s %(d)s"
    assert _html_format(text, values) == Markup(text) % values
    assert _html_format("no values, 100%%", {}) == Markup("no values, 100%%") % {}


def test_a_name_is_escaped_in_html_and_left_as_it_is_in_text():
    env = Templates().env("en")
    source = '{{ _("Hello %(name)s, %(n)s", name=who, n=n|whole) }}'
    html = env.from_string(source)  # strings are autoescaped (select_autoescape)
    text = env.from_string("{% autoescape false %}" + source + "{% endautoescape %}")
    assert html.render(who="<Ana & Bo>", n=12345) == "Hello &lt;Ana &amp; Bo&gt;, 12,345"
    assert text.render(who="<Ana & Bo>", n=12345) == "Hello <Ana & Bo>, 12,345"


def test_templates_are_loaded_once_and_found_again():
    env = Templates().env("es")
    first = env.get_template("email/digest_creator.html")
    assert env.get_template("email/digest_creator.html") is first
    assert env.get_template("email/_layout.html", "email/digest_creator.html") is \
        env.get_template("email/_layout.html")
