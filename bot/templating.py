"""Jinja2 rendering per locale: Discord messages (``templates/discord``) and email.

Each locale has its own Environment with that locale's gettext catalog installed, so a
template says ``{% trans %}…{% endtrans %}`` or ``{{ _("…") }}`` and renders in the reader's
language. ``.html`` templates are autoescaped; Discord text is not.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape
from jinja2.utils import pass_eval_context
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from bot import i18n
from bot.errors import FamiliaError
from bot.i18n import Catalog, load_catalogs
from bot.text import escape_markdown, excerpt

log = logging.getLogger(__name__)

# Values written into HTML as they are: numbers (no markup in them) and markup.
_AS_IS = frozenset({int, float, i18n.Count, Markup})


class _Environment(Environment):
    """An Environment whose templates see its globals as one plain dict.

    Jinja gives each template a ``ChainMap`` over the environment's globals so that globals
    changed later still show. Familia sets every global before its first template loads, and
    never after, and the ChainMap is slow where it is used most: every render copies it into
    the context and every ``{% import %}`` compares its keys with the context's. A plain dict
    makes an email's render a quarter faster (``bench/digests.py``).

    Templates ship with the code and are never reloaded (``auto_reload`` off), so a template
    once loaded is kept in a plain dict too: a render looks up its parent and each import by
    name, and Jinja's own cache takes a lock and reorders itself on every look-up."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._loaded: dict[tuple[str, str | None], Template] = {}

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

    def get_template(self, name: str | Template, parent: str | None = None,
                     globals: MutableMapping[str, Any] | None = None) -> Template:
        if globals or not isinstance(name, str) or self.auto_reload:
            return super().get_template(name, parent, globals)
        key = (name, parent)
        found = self._loaded.get(key)
        if found is None:
            found = self._loaded[key] = super().get_template(name, parent)
        return found


class Templates:
    """Renders templates by name for a locale."""

    def __init__(self, catalogs: dict[str, Catalog] | None = None) -> None:
        self.catalogs = catalogs if catalogs is not None else load_catalogs()
        self._envs = {locale: self._make_env(cat) for locale, cat in self.catalogs.items()}

    @property
    def locales(self) -> list[str]:
        return list(self._envs)

    def _make_env(self, catalog: Catalog) -> Environment:
        env = _Environment(
            loader=PackageLoader("templates", ""),
            extensions=["jinja2.ext.i18n"],
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            # Templates ship with the code: don't stat the files on every get_template().
            auto_reload=False,
        )
        env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]  # i18n ext
        env.globals.update(_direct_gettext(catalog))
        # A command option's name as the reader's Discord shows it (the names' own catalog
        # context, bot.translator.NAME_CONTEXT), for messages that name an option.
        env.globals["option_name"] = lambda name: catalog.pgettext("command", name)
        locale = catalog.locale
        env.globals["locale"] = locale
        env.filters["md"] = escape_markdown  # user text: bot.text
        env.filters["markdown"] = _markdown_html
        # a moment as Discord shows it in the reader's own zone and language
        env.filters["stamp"] = lambda at: f"<t:{int(at.timestamp())}:f>"
        # Babel formatting costs ~0.1 ms a call, and the same values recur across messages
        # (a digest run formats the same dates and small counts thousands of times): pure
        # functions, so remember them.
        cache = functools.lru_cache(maxsize=4096, typed=True)
        # Numbers are written by bot/i18n.py only (a test keeps raw formatting out of
        # templates): ``|whole`` a whole number with separators (still a number: ngettext's
        # count, arithmetic), ``|hours`` at most one decimal, ``|percent`` a fraction as a
        # percentage (whole; one decimal under 10 %), ``|change`` "▲ 27%" or "" for no
        # visible change, ``|signed`` "+27%", ``|points`` "+5" (percentage points of a
        # difference of fractions), ``|clock`` an hour of the day as a time, ``|number(n)``
        # at most n decimals (default 3: a figure shown as it is).
        env.filters["number"] = cache(
            lambda v, digits=3: i18n.amount(v, locale, digits))
        env.filters["whole"] = cache(lambda v: i18n.whole(v, locale))
        env.filters["hours"] = cache(lambda v: i18n.amount(v, locale, 1))
        env.filters["percent"] = cache(lambda v: i18n.percent(v, locale))
        env.filters["change"] = cache(lambda v: i18n.change(v, locale))
        env.filters["signed"] = cache(lambda v: i18n.signed_percent(v, locale))
        env.filters["points"] = cache(lambda v: i18n.points(v, locale))
        env.filters["clock"] = cache(lambda v: i18n.clock(v, locale))
        env.filters["date"] = cache(
            lambda v, fmt="medium": format_date(v, format=fmt, locale=locale))
        env.filters["datetime"] = cache(_datetime_filter(locale))
        return env

    def env(self, locale: str) -> Environment:
        return self._envs.get(locale) or self._envs["en"]

    def render(self, locale: str, name: str, **context: Any) -> str:
        """Render ``name`` (path under templates/) in ``locale``; surrounding space trimmed."""
        return self.env(locale).get_template(name).render(**context).strip()

    def macro(self, locale: str, template: str, name: str, *args: Any) -> str:
        """One macro of a template, rendered in ``locale`` (button labels, short phrases)."""
        module = self.env(locale).get_template(template).module
        return str(getattr(module, name)(*args)).strip()

    def render_error(self, locale: str, error: FamiliaError) -> str:
        """The message for a domain error: macro ``name`` of ``discord/errors/<area>.j2``.

        An error without a message (an unknown code) or one that fails to render still gets
        an answer: the generic message with a support code, logged with the code it replaced
        (a test checks that every code raised in the code base has its message)."""
        try:
            return self._error_message(locale, error)
        except Exception:  # a missing message, or a value it cannot write (1e30, inf…)
            if error.code == "common.unexpected":  # the fallback itself: a real bug
                raise
            support = secrets.token_hex(3).upper()
            log.exception("no error message for %s (answered with the generic one, code=%s)",
                          error.code, support)
            return self._error_message(locale, FamiliaError("common.unexpected", code=support))

    def _error_message(self, locale: str, error: FamiliaError) -> str:
        area, name = error.code.split(".", 1)
        module = self.env(locale).get_template(f"discord/errors/{area}.j2").module
        found = getattr(module, name, None)
        if found is None:
            raise LookupError(f"no error message for {error.code}")
        params = {key: _excerpts(value) for key, value in error.params.items()}
        return str(found(**params)).strip()


def _excerpts(value: Any) -> Any:
    """An error's parameter as its message shows it: text (what someone typed: a 5,000
    character option) cut to a short excerpt, so that every error answer stays short."""
    if isinstance(value, str):
        return excerpt(value)
    if isinstance(value, list | tuple):
        return type(value)(excerpt(v) if isinstance(v, str) else v for v in value)
    return value


_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("strikethrough")


def _markdown_html(text: str) -> Markup:
    """Discord-style Markdown written by a manager, as HTML for an email: raw HTML in it is
    escaped (``html`` off) and only safe link schemes become links."""
    return Markup(_MARKDOWN.render(text))


def _direct_gettext(catalog: Catalog) -> dict[str, Any]:
    """``_``, ``gettext`` and ``ngettext`` with Jinja's newstyle meaning (the text is always a
    %-format, variables are escaped in autoescaped templates, ``num`` is set for plurals) in
    one call instead of Jinja's three nested context calls: a third of an email's render."""

    @pass_eval_context
    def gettext(eval_ctx: Any, message: str, /, **variables: Any) -> str:
        text = catalog.gettext(message)
        return (_html_format(text, variables) if eval_ctx.autoescape else text % variables)

    @pass_eval_context
    def ngettext(eval_ctx: Any, singular: str, plural: str, num: int, /,
                 **variables: Any) -> str:
        # ``num`` prints with the locale's separators ("12,345 days"), and is still the
        # number for ``%(num)d`` in a msgid
        variables.setdefault("num", i18n.Count(num, catalog.locale)
                             if isinstance(num, int) and not isinstance(num, bool) else num)
        text = catalog.ngettext(singular, plural, num)
        return (_html_format(text, variables) if eval_ctx.autoescape else text % variables)

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def _html_format(text: str, variables: dict[str, Any]) -> Markup:
    """``Markup(text) % variables`` (the variables escaped, the text trusted), with the usual
    values (text, numbers, markup) escaped directly rather than through markupsafe's
    per-value wrapper: a tenth of an email's render. Anything else takes markupsafe's way."""
    values = {}
    for key, value in variables.items():
        kind = type(value)
        if kind is str:
            value = escape(value)
        elif kind not in _AS_IS:
            return Markup(text) % variables
        values[key] = value
    return Markup(text % values)


def _datetime_filter(locale: str):
    def render(value: datetime, tz: str = "UTC", fmt: str = "medium") -> str:
        return format_datetime(value.astimezone(ZoneInfo(tz)), format=fmt, locale=locale)

    return render
