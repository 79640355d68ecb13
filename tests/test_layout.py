"""The house reads top-down: cogs → services → db/mail/delivery. These rules are checked on
the source, so a change that breaks one fails here rather than in review."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_domain_and_the_queue_never_import_discord():
    pure = [*_modules("bot/services"), ROOT / "bot/delivery/queue.py", ROOT / "bot/leases.py",
            ROOT / "bot/text.py", ROOT / "bot/events.py", ROOT / "bot/paging.py"]
    offending = {str(p.relative_to(ROOT)): sorted(i for i in _imports(p)
                                                  if i.split(".")[0] == "discord")
                 for p in pure}
    assert {p: i for p, i in offending.items() if i} == {}


def test_no_cog_imports_another_cog():
    """A cog may use private helper modules (``cogs/_x.py``), each belonging to one feature
    (imported by one cog only); everything shared lives in ``bot/``."""
    users: dict[str, set[str]] = {}
    for path in _modules("cogs"):
        for name in _imports(path):
            if name.startswith("cogs.") and name.count(".") == 1:
                users.setdefault(name.removeprefix("cogs."), set()).add(path.stem)
    public = {m: sorted(u) for m, u in users.items() if not m.startswith("_")}
    assert public == {}, "a cog imports another cog"
    shared = {m: sorted(u - {m}) for m, u in users.items() if len(u - {m}) > 1}
    assert shared == {}, "a private helper serves more than one cog: move it to bot/"


def test_services_do_not_import_cogs_or_the_bot():
    for path in [*_modules("bot/services"), *_modules("bot/delivery")]:
        assert not {i for i in _imports(path)
                    if i.split(".")[0] == "cogs" or i in ("bot.app", "bot.compose")}, path


def test_no_sql_in_cogs():
    """Cogs call services; statements live in named service or query methods."""
    for path in _modules("cogs"):
        text = path.read_text(encoding="utf-8")
        for verb in (".execute(", ".fetchall(", ".fetchone(", ".fetchval(", ".transaction("):
            assert verb not in text, f"{path.name} runs SQL ({verb})"
