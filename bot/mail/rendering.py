"""Render an email kind in a language: ``templates/email/<kind>.txt`` (with a ``subject``
block) and ``templates/email/<kind>.html`` (autoescaped), both extending the shared layout."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from bot.templating import Templates


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _memoised(env) -> None:
    """Babel formatting costs ~0.1 ms a call and a digest makes a dozen calls with values
    that repeat across recipients: remember them (same output, pure functions)."""
    if env.globals.get("_email_memo"):
        return
    for name in ("number", "date"):
        env.filters[name] = functools.lru_cache(maxsize=4096)(env.filters[name])
    env.globals["_email_memo"] = True


def render_email(templates: Templates, locale: str, kind: str, **context: Any) -> Rendered:
    env = templates.env(locale)
    _memoised(env)
    text_template = env.get_template(f"email/{kind}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(context)))
    subject = " ".join(subject.split())
    text = text_template.render(subject=subject, **context).strip() + "\n"
    html = env.get_template(f"email/{kind}.html").render(subject=subject, **context)
    return Rendered(subject, text, html)
