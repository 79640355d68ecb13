"""Acknowledge first: a command, button, select or modal whose work calls Discord (other than
its own answer) or waits for the delivery queue acknowledges the interaction before that work.
Discord drops an interaction not acknowledged within 3 s, and under load (a channel's 5 posts
per 5 s, a server's 10 role changes per 10 s) such work takes longer; the end-to-end tests in
``tests/e2e/test_answered_in_time.py`` show it with Discord's rate limits.

Read from the source: in every function of ``cogs/`` and ``bot/cogkit/`` that takes an
``interaction``, the first call that reaches Discord comes after an acknowledgement
(``acknowledge(…)`` or a ``defer(…)``). A call reaches Discord when it is one of the Discord
calls below, or a function of these modules that makes one (followed through calls by name).
A chart drawn in a thread counts too: not a Discord call, but as slow when many ask at once.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACKS = {"acknowledge", "defer"}
# Discord calls (and waits for the delivery queue) other than an interaction's own answer;
# and every coroutine of bot/cogkit/discord_ops.py (``dd.…``) but its pure checks
DISCORD = {"wait_settled", "create_dm", "fetch_channel", "fetch_member", "fetch_message",
           "add_roles", "remove_roles", "edit_role", "channel_of",
           "to_thread"}  # not Discord, but as slow under load: a chart drawn in a thread
CHECKS = {"need", "can_give", "plan", "missing"}


def _functions() -> dict[str, list[ast.AsyncFunctionDef | ast.FunctionDef]]:
    """The functions of cogs/ and bot/cogkit/ by name, slash commands left out (no code calls
    a command: their names are free to match a service's method)."""
    found: dict[str, list[ast.AsyncFunctionDef | ast.FunctionDef]] = {}
    for path in sorted([*ROOT.glob("cogs/*.py"), *ROOT.glob("bot/cogkit/*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
                node.path = path.relative_to(ROOT)  # type: ignore[attr-defined]
                found.setdefault(node.name, []).append(node)
    return found


def _is_command(function: ast.AST) -> bool:
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
               and d.func.attr == "command" for d in getattr(function, "decorator_list", []))


def _called(node: ast.Call) -> str | None:
    """A call's name, ``dd.<name>`` for the Discord helpers."""
    func = node.func
    if isinstance(func, ast.Attribute):
        if isinstance(func.value, ast.Name) and func.value.id == "dd":
            return None if func.attr in CHECKS else "dd"
        return func.attr
    return getattr(func, "id", None)


def _calls(function: ast.AsyncFunctionDef | ast.FunctionDef) -> list[tuple[int, int, str]]:
    """The names a function's body calls, in source order (decorators and nested functions
    left out: these run at another time)."""
    calls = []
    todo: list[ast.AST] = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Call) and (name := _called(node)):
            calls.append((node.lineno, node.col_offset, name))
        todo.extend(ast.iter_child_nodes(node))
    return sorted(calls)


def _reaching_discord(functions) -> set[str]:
    """Names whose call reaches Discord: the Discord calls, and functions calling them."""
    reaching = DISCORD | {"dd"}
    changed = True
    while changed:
        changed = False
        for name, defs in functions.items():
            if name in reaching or name in ACKS:
                continue
            if any(called in reaching for d in defs if not _is_command(d)
                   for _, _, called in _calls(d)):
                reaching.add(name)
                changed = True
    return reaching


def _first(function, acks: set[str], reaching: set[str]) -> str | None:
    """What comes first in a function: "ack", "discord" or None (neither)."""
    for _, _, name in _calls(function):
        if name in acks:
            return "ack"
        if name in reaching:
            return "discord"
    return None


def _acknowledging(functions, reaching: set[str]) -> set[str]:
    """Names whose call acknowledges: ``acknowledge``/``defer``, and functions that start
    with one (a helper the handler calls first)."""
    acks = set(ACKS)
    changed = True
    while changed:
        changed = False
        for name, defs in functions.items():
            if name not in acks and all(_first(d, acks, reaching) == "ack" for d in defs):
                acks.add(name)
                changed = True
    return acks


# A page's renderers run inside ``PageButton.run`` (bot/cogkit/pages.py), after its defer:
# ``run`` is a handler itself, checked like every other.
AFTER_ACK = {"render", "render_files"}


def _handlers(functions):
    for name, defs in functions.items():
        for function in defs:
            if name not in AFTER_ACK and any(a.arg == "interaction" for a in function.args.args):
                yield function


def test_the_scan_sees_the_handlers_and_their_discord_work():
    functions = _functions()
    reaching = _reaching_discord(functions)
    assert {"posted", "_repair", "post_checkin"} <= reaching  # followed through helpers
    handlers = {f.name for f in _handlers(functions)}
    assert {"rename", "optin", "sync", "run", "on_submit", "admit", "authorize"} <= handlers


def test_interactions_acknowledge_before_their_work_reaches_discord():
    functions = _functions()
    reaching = _reaching_discord(functions)
    acks = _acknowledging(functions, reaching)
    late = []
    for function in _handlers(functions):
        for line, _, name in _calls(function):
            if name in acks:
                break
            if name in reaching:
                late.append(f"{function.path}:{line} {function.name}() calls {name}() "
                            "before acknowledging")
                break
    assert not late, "\n".join(late)
