"""Every command fuzzed (#17, must-have 2): for every slash command and option of the tree the
bot synced (read from the tree, so a new command or option is fuzzed without editing this
file), hypothesis draws values — empty, whitespace, 5,000 characters, unicode (RTL, zero-width,
emoji), mentions of a user, a role and @everyone, Markdown and HTML, negative, huge and
non-finite numbers (``nan``, ``1e309``), impossible dates — next to values that name the world
(a family, a campaign, a member), and a creator, a leader and a manager run each draw.

Half the draws stay within what each option declares (its choices, lengths and bounds: what
Discord's own client lets through) and half are raw (what a hand-written API call can send:
any string for a choice, a string over ``max_length``, a number past ``min_value``/
``max_value``, ``nan``; a ``1e309`` in the JSON reaches the bot as infinity). Whatever comes:

- an answer comes: a reply, a "thinking…" followed by one, or a form (modal);
- never "Something went wrong" (an unexpected error);
- no message the bot sends meanwhile may ping anyone the command did not name (read from the
  ``allowed_mentions`` of every message it posts, answers or edits, by Discord's rules);
- a refusal leaves the database as it was.

A form the command opens is filled in with drawn text too, and judged the same way.

Besides the draws, every command gets one run per kind of hostile value (each text option of
that kind, numbers past their bounds on the "number" run) and three runs with its options
right and a hostile form, so each kind meets each command. The world, the tree walker and
the database snapshot are the permission matrix's (:mod:`test_permission_matrix`). ``make
test`` runs a few fixed draws per command (``FAMILIA_FUZZ_EXAMPLES``, default 6, seed
``FAMILIA_FUZZ_SEED``, default 17); ``FAMILIA_FUZZ_EXAMPLES=40 FAMILIA_FUZZ_SEED=$RANDOM``
for a long run, ``FAMILIA_FUZZ_ONLY=regex`` for some commands, ``FAMILIA_FUZZ_LOG=file`` to
follow it run by run. The commands are shared out over :data:`PARTS` tests (each in its own
world) so that ``pytest -n`` runs them side by side; each part prints how many inputs it
tried.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from emulator import models as m
from tests.e2e._buttons import Outcomes
from tests.e2e.test_permission_matrix import COMMANDS, NAMED, changed, fill, leaves, snapshot
from tests.e2e.test_permission_matrix import world as matrix_world

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FAMILIA_FUZZ_EXAMPLES", "6"))
SEED = int(os.environ.get("FAMILIA_FUZZ_SEED", "17"))
LOG = os.environ.get("FAMILIA_FUZZ_LOG")  # a file: one line per run, as it goes
ONLY = os.environ.get("FAMILIA_FUZZ_ONLY")  # a regex: fuzz only the commands it finds
ACTORS = ("creator", "leader", "manager")
# The commands are fuzzed in this many tests (each a fresh world, every PARTS-th command of the
# tree), so that pytest -n runs them side by side.
PARTS = 4
FORM = " form"  # in a draw, what to type in a form (modal) the command opens: not an option
UNEXPECTED = ("Something went wrong", "Algo salió mal")

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")


def hostile(ids: dict[str, int]) -> dict[str, list[str]]:
    """Hostile strings by kind; ``ids`` are people and a role of the world to mention."""
    return {
        "empty": [""],
        "whitespace": [" ", "   ", "\t\n", "\u3000", "\u00a0\u2003", "\n\n\n"],
        "long": ["x" * 5000, "Lobos " * 834, "🦊" * 5000, "\u200b" * 5000],
        "unicode": ["\u202eLobos\u202c", "Lo\u200bbos", "\u200d\u200c\ufeff", "🦊🔥👨‍👩‍👧‍👦",
                    "Z\u0351\u0334a\u0336l\u0335g\u0337o", "ﷺ ﷽ مرحبا", "𝕃𝕠𝕓𝕠𝕤", "ＬＯＢＯＳ",
                    "İı ß ǅ", "\u0007\u001b[31m"],
        "mention": [f"<@{ids['member2']}>", f"<@!{ids['leader']}>", f"<@&{ids['role']}>",
                    "@everyone", "@here", f"hi @everyone <@{ids['member3']}> <@&{ids['role']}>"],
        "markup": ["**bold** __u__ ~~s~~ ||spoiler||", "# BIG\n> quote\n- item",
                   "[claim prize](https://evil.example/x)", "```py\nx\n```",
                   "<script>alert(1)</script>", "<b>x</b> &amp; &lt;",
                   "'; DROP TABLE families; --", "%s %(x)s {x} {{ x }}"],
        "number": ["-1", "0", "-0", "1e309", "-1e309", "nan", "NaN", "inf", "9" * 400,
                   "0x10", "1_000", "٣", "-5", "99999999999999999999"],
        "date": ["2026-02-30", "2026-13-01", "0000-00-00", "9999-12-31", "0001-01-01",
                 "2026-06-31", "31/02/2026", "25:61", "24:00", "-1:00", "12:60", "2026-W54",
                 "2026-00", "2026-06-17T99:99", "tomorrow", "2026-06-17 20:00 +99:00"],
    }


# Values that point a command at the world, by option name (besides the matrix's own).
GOOD: dict[str, list[Any]] = {
    "family": ["family", "other", "spare"], "campaign": ["running_campaign", "draft_campaign"],
    "name": ["Nuevos", "family"], "zone": ["UTC", "America/Bogota", "Asia/Jakarta"],
    "start": ["{day+2}", "{day-3}"], "end": ["{day+9}", "{day+1}"],
    "from": ["{day-7}"], "to": ["{day}"], "at": ["{day+1} 20:00"], "month": ["2026-05"],
    "time": ["20:00", "8pm"], "roll-call": ["21:00"], "summary": ["22:00"],
    "address": ["fuzz@example.org"], "code": ["123456"], "families": ["family", "family,other"],
    "tiers": ["Bronze"], "tier": ["Bronze"], "note": ["Moving on"], "reason": ["Inactive"],
    "target": [5.0], "document": ["policy_doc", "policy_spare"], "query": ["matrix rules"],
    "title": ["Matrix policy", "A new policy"],
    "link": ["https://example.com/fuzz", "http://www.tiktok.com/@ana/live/1"],
    "entry": ["showcase_entry"], "what-worked": ["Thanked every gifter by name"],
}
NEEDED = {"target"}  # optional, but a command needs it in practice (a campaign, a goal)


def place(value: Any, names: dict[str, Any], day) -> Any:
    if not isinstance(value, str):
        return value
    found = re.fullmatch(r"\{day([+-]\d+)?\}(.*)", value)
    if found:
        return f"{day + timedelta(days=int(found.group(1) or 0))}{found.group(2)}"
    return names.get(value, value)


class Fuzz:
    """The world, and the strategies for one option of the synced tree."""

    def __init__(self, app, people: dict, names: dict, role: m.Role) -> None:
        self.app, self.people, self.names = app, people, names
        day = app.clock.now().date()
        self.day = day
        guild = app.guild
        mentioned = {"member2": names["member2"].id, "member3": names["member3"].id,
                     "leader": people["leader"].id, "role": role.id}
        self.hostile = hostile(mentioned)
        self.strangers = [("self", None), ("creator", people["creator"]),
                          ("leader", people["leader"]), ("manager", people["manager"]),
                          ("other_leader", people["other_leader"]),
                          ("member2", names["member2"]), ("outsider", names["outsider"]),
                          ("bot", app.emu.app.bot),
                          ("not_in_server", app.emu.create_user("passer-by"))]
        everyone = guild.roles[guild.id]
        bot_role = next((r for r in guild.roles.values() if r.managed), everyone)
        self.roles = [("everyone", everyone), ("plain", role), ("bot", bot_role),
                      ("above_bot", app.emu.create_role(guild, "Admins", position=99))]
        self.channels = [
            ("general", app.emu.default_channel(guild)),
            ("category", app.emu.create_channel(guild, "Fuzz", type=m.CATEGORY)),
            ("hidden", app.emu.create_channel(guild, "hidden", overwrites=[
                m.Overwrite(app.emu.app.bot.id, 1, deny=m.VIEW_CHANNEL)])),
        ]
        self.tried: Counter[str] = Counter()
        self.turn = 0

    def good(self, option: dict) -> list[Any]:
        names = [*GOOD.get(option["name"], []), NAMED.get(option["name"])]
        return [place(v, self.names, self.day) for v in names if v is not None]

    def option(self, option: dict, raw: bool) -> st.SearchStrategy[tuple[str, Any]]:
        """(kind of value, value) for one option; ``raw`` ignores its declared limits."""
        kind, choices = option["type"], [c["value"] for c in option.get("choices") or []]
        if kind == 5:
            return st.tuples(st.just("bool"), st.booleans())
        if kind == 6:
            return st.sampled_from([(f"user:{n}", u) for n, u in self.strangers])
        if kind == 8:
            return st.sampled_from([(f"role:{n}", r) for n, r in self.roles])
        if kind == 7:
            allowed = option.get("channel_types")
            found = [(f"channel:{n}", c) for n, c in self.channels
                     if raw or not allowed or c.type in allowed]
            return st.sampled_from(found)
        if kind in (4, 10):
            return self._number(option, choices, raw)
        if kind == 11:
            return st.sampled_from([(f"file:{name}", (name, data)) for name, data in FILES])
        if kind != 3:
            raise AssertionError(f"no strategy for option type {kind} ({option['name']})")
        if choices and not raw:
            return st.tuples(st.just("choice"), st.sampled_from(choices))
        texts = st.sampled_from(list(self.hostile)).flatmap(
            lambda kind: st.tuples(st.just(kind), st.sampled_from(self.hostile[kind])))
        good = [("good", v) for v in [*choices, *self.good(option)] if isinstance(v, str)]
        strategies = [texts, st.tuples(st.just("random"), st.text(max_size=40))]
        if good:
            strategies += [st.sampled_from(good), st.sampled_from(good).map(_decorated)]
        drawn = st.one_of(*strategies)
        if raw:
            return drawn
        low, high = option.get("min_length", 0), option.get("max_length", 6000)
        return drawn.map(lambda kv: (kv[0], kv[1][:high])).filter(lambda kv: len(kv[1]) >= low)

    def _number(self, option: dict, choices: list, raw: bool) -> st.SearchStrategy:
        integer = option["type"] == 4
        low = option.get("min_value", -(2 ** 53) if integer else -1e15)
        high = option.get("max_value", 2 ** 53 if integer else 1e15)
        if choices:
            within: st.SearchStrategy = st.sampled_from(choices)
        elif integer:
            within = st.integers(int(low), int(high))
        else:
            within = st.floats(low, high, allow_nan=False, allow_infinity=False)
        if not raw:
            return st.tuples(st.just("number:within"), within)
        others = st.integers() if integer else st.floats()
        return st.one_of(st.tuples(st.just("number:outside"),
                                   st.sampled_from(_outside(option))),
                         st.tuples(st.just("number:any"), others),
                         st.tuples(st.just("number:within"), within))

    def sweep(self, options: list[dict], good: dict[str, Any]
              ) -> list[dict[str, tuple[str, Any]]]:
        """One run per kind of hostile value, every text option given one of that kind
        (numbers, on the "number" run, one past their bounds, ``nan`` or infinity), the other
        required options pointing at the world: each kind is tried on every command."""
        runs = []
        for kind, values in self.hostile.items():
            drawn: dict[str, tuple[str, Any]] = {}
            for option in options:
                name, choices = option["name"], option.get("choices")
                if option["type"] == 3 and not choices:
                    self.turn += 1
                    drawn[name] = (kind, values[self.turn % len(values)])
                elif option["type"] in (4, 10) and not choices and kind == "number":
                    self.turn += 1
                    outside = _outside(option)
                    drawn[name] = ("number:outside", outside[self.turn % len(outside)])
                elif name in good:
                    drawn[name] = ("good", good[name])
            drawn[FORM] = ("form", (True, [(kind, values[(self.turn + i) % len(values)])
                                           for i in range(5)]))
            runs.append(drawn)
        mixed = [(kind, values[self.turn % len(values)])
                 for kind, values in self.hostile.items()]
        numbers_then_text = [("good", "2")] * 4 + [("mention", self.hostile["mention"][-1])]
        for raw, form in ((True, mixed[self.turn % 3:] + mixed[:self.turn % 3]),
                          (False, mixed), (False, numbers_then_text)):
            self.turn += 1  # the options right, the form (if one opens) hostile
            runs.append({**{name: ("good", value) for name, value in good.items()},
                         FORM: ("form", (raw, form))})
        return runs

    def draws(self, options: list[dict]) -> st.SearchStrategy[dict[str, tuple[str, Any]]]:
        """The options of one run: every required one, each optional one half the time."""
        return _one_run(self, options)


# Files for an attachment option: empty, not a spreadsheet, broken, every encoding, formulas,
# names that are not files' names.
FILES = [
    ("empty.csv", b""), ("blank.csv", b"\n\n \n"), ("photo.png", b"\x89PNG\r\n\x1a\n"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), ("broken.xlsx", b"PK\x03\x04broken"),
    ("binary.csv", bytes(range(256))),
    ("formulas.csv", b"Discord user,Family,Notes\n=cmd|' /C calc'!A0,@SUM(1),+1\n"),
    ("utf16.csv", "Usuario de Discord;Familia\nJos\u00e9;Lobos\n".encode("utf-16")),
    ("latin1.csv", "Usuario de Discord;Familia\nJos\u00e9;Lobos\n".encode("latin-1")),
    ("\u202eevil\u200b.csv", b"Discord user,Family\n<@1>,@everyone\n"),
    ("noheader.csv", b"1,2,3\n4,5,6\n"),
]


@st.composite
def _one_run(draw, fuzz: Fuzz, options: list[dict]) -> dict[str, tuple[str, Any]]:
    raw = draw(st.booleans())
    values = {}
    for option in options:
        if option.get("required") or draw(st.booleans()):
            values[option["name"]] = draw(fuzz.option(option, raw))
    form = draw(st.lists(fuzz.option({"name": "text", "type": 3}, True), min_size=5,
                         max_size=5))
    values[FORM] = ("form", (raw, form))
    return values


def _outside(option: dict) -> list[Any]:
    """Numbers no client of Discord's sends for ``option``, but a raw API call can."""
    if option["type"] == 4:
        low, high = option.get("min_value", -(2 ** 53)), option.get("max_value", 2 ** 53)
        return [-1, 0, -(2 ** 53) - 1, 2 ** 53 + 1, 2 ** 63, -(2 ** 63) - 1, 10 ** 30,
                int(low) - 1, int(high) + 1]
    low, high = option.get("min_value", -1e15), option.get("max_value", 1e15)
    return [math.nan, math.inf, -math.inf, -0.0, 1e308, -1e308, 5e-324, low - 1, high * 10,
            2.0 ** 53 + 1]


def _decorated(kv: tuple[str, str]) -> tuple[str, str]:
    """A good value, a little wrong: spaces around, another case, a zero-width space."""
    value = kv[1]
    return "decorated", {0: f"  {value}  ", 1: value.upper(), 2: f"{value}\u200b"}[
        len(value) % 3]


def pinged(payload: dict[str, Any]) -> set[str]:
    """Who a message pings, by Discord's rules: mentions in the content, filtered by
    ``allowed_mentions`` (absent: everything in the content pings)."""
    content = str(payload.get("content") or "")
    allowed = payload.get("allowed_mentions")
    parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
    users = {str(u) for u in (allowed or {}).get("users") or []}
    roles = {str(r) for r in (allowed or {}).get("roles") or []}
    found = {f"user:{u}" for u in USER_MENTION.findall(content) if "users" in parse or u in users}
    found |= {f"role:{r}" for r in ROLE_MENTION.findall(content)
              if "roles" in parse or r in roles}
    if ("@everyone" in content or "@here" in content) and "everyone" in parse:
        found.add("everyone")
    return found


def messages_sent(exchanges: list) -> list[tuple[str, dict]]:
    """Every message the bot posted, answered, followed up or edited (accepted by Discord)."""
    found = []
    for x in exchanges:
        if x.status >= 300 or not isinstance(x.request, dict):
            continue
        path = x.path
        if x.method == "POST" and path.endswith("/callback"):
            if x.request.get("type") in (4, 7):
                found.append((path, x.request.get("data") or {}))
        elif x.method in ("POST", "PATCH") and (
                "/messages" in path or path.startswith("/webhooks/")):
            found.append((path, x.request))
    return found


# A refusal that must still write (one row, one column): why.
WRITES_ON_REFUSAL = {
    "refused:email.wrong_code": ("email_addresses", "code_attempts",
                                 "a wrong code counts towards the tries: no guessing"),
}


async def changed_on_refusal(app, result: str, before: dict, after: dict) -> list[str]:
    tables = changed(before, after)
    if result in WRITES_ON_REFUSAL and tables == [WRITES_ON_REFUSAL[result][0]]:
        table, column, _ = WRITES_ON_REFUSAL[result]
        names = [r[1] for r in await app.services.db.fetchall(f"PRAGMA table_info({table})")]
        at = names.index(column)

        def without(rows: list[tuple]) -> list[tuple]:
            return [row[:at] + row[at + 1:] for row in rows]
        if without(before[table]) == without(after[table]):
            return []
    return tables


def note(line: str) -> None:
    """One line per run in ``FAMILIA_FUZZ_LOG``, as it goes (to follow a long run)."""
    if LOG:
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(f"{time.monotonic():.1f} {line}\n")


def shown(values: dict[str, tuple[str, Any]]) -> str:
    def one(value: Any) -> str:
        if isinstance(value, m.User | m.Role | m.Channel):
            return f"{type(value).__name__.lower()}:{value.name}"
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], list):
            return "[" + ", ".join(one(v) for _, v in value[1]) + "]" + (" raw" * value[0])
        text = repr(value)
        return text if len(text) <= 40 else f"{text[:30]}…({len(str(value))} chars)"
    return ", ".join(f"{k.strip()}={one(v)}" for k, (_, v) in values.items())


async def settled(app, before: dict) -> None:
    """The deliveries the run queued, sent (or failed) — those due now."""
    known = {row[0] for row in before.get("deliveries", [])}

    async def quiet() -> bool:
        rows = await app.services.db.fetchall(
            "SELECT id, next_attempt_at FROM deliveries WHERE state IN ('queued', 'sending')")
        now = app.clock.now()
        return not [r for r in rows if r[0] not in known and _due(r[1], now)]
    await app.emu.wait_for(quiet, timeout=15, what="the run's deliveries")


def _due(when: str, now) -> bool:
    try:
        return datetime.fromisoformat(when) <= now
    except (TypeError, ValueError):
        return True


async def attempt(app, outcomes: Outcomes, exchanges: list, user: m.User, path: str,
                  values: dict[str, Any], form: tuple[bool, list] | None
                  ) -> tuple[str, str, dict, dict, list]:
    """Run once, and submit the form it opens with ``form`` (raw: past the fields' lengths
    too; the texts in turn): (outcome, text shown, database before, after, exchanges
    meanwhile)."""
    outcomes.lines.clear()
    before = await snapshot(app)
    exchanges.clear()
    it = await app.run(user, path, dict(values))
    result = await answered(app, outcomes, it, user)
    shown_in = [it]
    if result == "ok:modal" and form:
        raw, texts = form
        fields = modal_fields(it.modal or {})
        typed = {}
        for number, (custom_id, field) in enumerate(fields.items()):
            text = texts[number % len(texts)][1]
            if not raw:
                text = text[:field.get("max_length", 4000)]
                text += "x" * max(0, field.get("min_length", 0) - len(text))
            typed[custom_id] = text
        outcomes.lines.clear()
        submitted = await it.submit(typed)
        result = f"form {await answered(app, outcomes, submitted, user)}"
        shown_in.append(submitted)
    await settled(app, before)
    text = "\n".join(msg.content for one in shown_in for msg in one.messages)
    return result, text, before, await snapshot(app), list(exchanges)


async def answered(app, outcomes: Outcomes, it, user: m.User) -> str:
    """The outcome line of an interaction once it is answered: "ok:modal" for a form."""
    try:
        await it.wait_response(10)
        if it.response_type == 9:
            return "ok:modal"
        await it._until(lambda: _answered(it), 10, "an answer")
        return await app.emu.wait_for(lambda: outcomes.of(user.id), timeout=10,
                                      what="the outcome line")
    except AssertionError as exc:
        return f"no answer ({exc})"


def modal_fields(modal: dict) -> dict[str, dict]:
    """The text inputs of a modal by custom_id (inside action rows or labels)."""
    found: dict[str, dict] = {}

    def walk(items: list[dict]) -> None:
        for item in items:
            if item.get("type") == 4:
                found[item["custom_id"]] = item
            walk(item.get("components", []) + ([item["component"]] if "component" in item
                                               else []))
    walk(modal.get("components", []))
    return found


def _answered(it) -> bool:
    return any(not (msg is it.original and it.loading) and (
        msg.content or msg.embeds or msg.attachments or msg.components) for msg in it.messages)


@pytest.mark.parametrize("part", range(PARTS))
async def test_every_command_fuzzed(app, capsys, part):
    outcomes = Outcomes()
    logger = logging.getLogger("familia.commands")
    was = logger.level
    logger.addHandler(outcomes)
    logger.setLevel(logging.INFO)
    exchanges: list = []
    app.emu.observers.append(exchanges.append)
    try:
        people, names, _, _ = await matrix_world(app)
        role = app.emu.create_role(app.guild, "Fans", mentionable=True)
        fuzz = Fuzz(app, people, names, role)
        tree = sorted(leaves(app.emu.app.commands[None]), key=lambda leaf: leaf[0])
        mine = tree[part::PARTS]  # every PARTS-th command: the parts together are the tree
        loop = asyncio.get_running_loop()
        wrong: list[str] = []
        count = Counter[str]()

        async def run(path: str, drawn: dict[str, tuple[str, Any]]) -> None:
            count["inputs"] += 1
            for name, (kind, _) in drawn.items():
                if name != FORM:
                    fuzz.tried[kind.split(":")[0]] += 1
            for actor in ACTORS:
                user = people[actor]
                values = {k: user if v is None else v for k, (_, v) in drawn.items()
                          if k != FORM}
                form = drawn[FORM][1] if FORM in drawn else None
                result, text, before, after, sent = await attempt(
                    app, outcomes, exchanges, user, path, values, form)
                count["runs"] += 1
                where = f"/{path} by {actor} ({shown(drawn)})"
                note(f"{where}: {result}")
                found = []
                count["forms"] += result.startswith("form ")
                result = result.removeprefix("form ")  # judged as the command's own answer
                if result.startswith("no answer"):
                    found.append(f"{where}: {result}")
                elif result.startswith("error") or any(u in text for u in UNEXPECTED):
                    found.append(f"{where}: something went wrong ({result})")
                elif result.startswith("refused:") and (
                        tables := await changed_on_refusal(app, result, before, after)):
                    found.append(f"{where}: refused ({result}) but changed {tables}")
                named = {f"user:{v.id}" for v in values.values() if isinstance(v, m.User)}
                named |= {f"role:{v.id}" for v in values.values() if isinstance(v, m.Role)}
                named.add(f"user:{user.id}")
                if values.get("everyone") is True:
                    named.add("everyone")
                for route, payload in messages_sent(sent):
                    if extra := pinged(payload) - named:
                        seen = ("a private answer" if int(payload.get("flags") or 0) & 64
                                else "a message")
                        found.append(f"{where}: {seen} pinged {len(extra)}: "
                                     f"{sorted(extra)[:3]} ({route.split('/')[1]})")
                wrong.extend(found)

        def fuzzed(path: str, options: list[dict]):
            """Hypothesis draws in a thread; each draw runs on the bot's loop."""
            @seed(SEED)
            @settings(max_examples=EXAMPLES, database=None, deadline=None,
                      phases=(Phase.explicit, Phase.generate),
                      suppress_health_check=list(HealthCheck))
            @given(fuzz.draws(options))
            def fuzz_one(drawn):
                asyncio.run_coroutine_threadsafe(run(path, drawn), loop).result()
            _, given_ = COMMANDS.get(path) or ("", {})
            good = fill(path, options, given_, names, people, app)
            for option in options:  # typed options: a value that names the world
                if (option.get("required") or option["name"] in NEEDED) and not option.get(
                        "choices") and option["name"] not in given_ and fuzz.good(option):
                    good[option["name"]] = fuzz.good(option)[0]
            for drawn in fuzz.sweep(options, good):
                fuzz_one = example(drawn)(fuzz_one)
            return fuzz_one

        for path, options in mine:
            if ONLY and not re.search(ONLY, path):
                continue
            await asyncio.to_thread(fuzzed(path, options))

        with capsys.disabled():
            print(f"\nfuzz, part {part + 1} of {PARTS}: {count['inputs']} inputs over "
                  f"{len(mine)} of {len(tree)} commands, "
                  f"{count['runs']} runs (x{len(ACTORS)} actors), {count['forms']} forms "
                  f"filled in; values by kind: {dict(sorted(fuzz.tried.items()))}")
        assert not wrong, (f"{len(wrong)} of {count['runs']} runs went wrong:\n"
                           + "\n".join(wrong[:80]))
    finally:
        app.emu.observers.remove(exchanges.append)
        logger.removeHandler(outcomes)
        logger.setLevel(was)
