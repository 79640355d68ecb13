"""Find every translatable message (templates and the command tree) and what a catalog lacks.

Used by the translation test and by ``familia i18n missing``, which prints ``.po`` entries to
fill in.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import discord
from discord import app_commands
from jinja2.ext import babel_extract

from bot.i18n import Catalog
from bot.translator import NAME_CONTEXT, NAME_PLACES


@dataclass(frozen=True)
class Message:
    msgid: str
    plural: str | None = None
    context: str | None = None
    where: str = ""


def _walk(folder, prefix=""):
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith((".j2", ".html", ".txt")):
            yield f"{prefix}{entry.name}", entry


def template_messages() -> list[Message]:
    found = []
    options = {"extensions": "jinja2.ext.i18n", "trimmed": "false"}
    keywords = ("_", "gettext", "ngettext", "pgettext", "npgettext")
    for name, entry in sorted(_walk(resources.files("templates"))):
        with entry.open("rb") as handle:
            for lineno, func, message, _comments in babel_extract(handle, keywords, [], options):
                where = f"templates/{name}:{lineno}"
                if isinstance(message, str):
                    found.append(Message(message, where=where))
                elif not message:
                    continue
                elif func in ("ngettext",) and message[0] is not None:
                    found.append(Message(message[0], message[1], where=where))
                elif func == "pgettext" and message[1] is not None:
                    found.append(Message(message[1], context=message[0], where=where))
                elif message[0]:
                    found.append(Message(message[0], where=where))
    return found


class _Recorder(app_commands.Translator):
    def __init__(self) -> None:
        self.seen: list[Message] = []

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContext,
    ) -> str | None:
        ctx = NAME_CONTEXT if context.location in NAME_PLACES else None
        self.seen.append(Message(string.message, context=ctx, where=context.location.name))
        return None


async def command_messages(tree: app_commands.CommandTree) -> list[Message]:
    """Every name, description and choice the translator will be asked for."""
    recorder = _Recorder()
    for command in tree.get_commands():
        await command.get_translated_payload(tree, recorder)
    unique = {(m.context, m.msgid): m for m in recorder.seen}
    return list(unique.values())


def missing(catalog: Catalog, messages: list[Message]) -> list[Message]:
    return [m for m in messages if not catalog.has(m.msgid, m.context)]


def po_stub(messages: list[Message]) -> str:
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    out = []
    seen = set()
    for m in messages:
        if (m.context, m.msgid) in seen:
            continue
        seen.add((m.context, m.msgid))
        out.append(f"#: {m.where}")
        if m.context:
            out.append(f"msgctxt {quote(m.context)}")
        out.append(f"msgid {quote(m.msgid)}")
        if m.plural:
            out.append(f"msgid_plural {quote(m.plural)}")
            out.append('msgstr[0] ""')
            out.append('msgstr[1] ""')
        else:
            out.append('msgstr ""')
        out.append("")
    return "\n".join(out)
