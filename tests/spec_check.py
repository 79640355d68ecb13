"""Every HTTP exchange between the bot and the emulator, checked against Discord's own OpenAPI
3.1 description of REST v10 (vendored in ``tests/data/discord-api-spec/``).

For each exchange: the route (the spec's path template), method and query parameters exist;
the JSON request body (for multipart, its ``payload_json``) validates against the operation's
request schema; the status is one the spec lists for the operation; the response body
validates against that status's schema. OpenAPI 3.1 schemas are JSON Schema 2020-12, checked
with ``jsonschema``; ``$ref``s resolve inside the whole document.

Where the spec is known to be loose or wrong, the exception is written down once, with its
reason, in :data:`EXCEPTIONS`. The end-to-end fixture turns the check on; the mode comes from
``FAMILIA_SPEC_CHECK``: ``strict`` (the default, and what ``make test`` and CI run) fails the
test whose exchange does not validate; ``report`` only counts and prints a summary at the end;
``off`` skips it.

The run's figures are summed over the whole session, also when ``pytest -n`` (pytest-xdist)
spreads the tests over several processes: each worker checks its own tests' exchanges (and
fails them there, in strict mode) and hands its figures to the controller at its end
(:class:`Summary`, registered by ``tests/conftest.py``), which prints one summary.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parent / "data" / "discord-api-spec" / "openapi.json"
SPEC_URI = "urn:discord-api-spec"
MODE_VARIABLE = "FAMILIA_SPEC_CHECK"
SNOWFLAKE_AS_INTEGER = "snowflake sent as a JSON integer"
INTEGER_AS_STRING = "integer sent as a string of digits"


@dataclass(frozen=True)
class Exception_:
    """A known gap between the spec and Discord: where it applies and why.

    ``method``/``route`` (the spec's template) may be ``"*"``; ``part`` is ``route``,
    ``query``, ``request``, ``status`` or ``response``; ``path`` is a glob over the dotted
    JSON path of the offending value (``resource.message.*``), the query parameter's name or,
    for ``status``, the status code; ``message`` a glob over the mismatch's message;
    ``status`` a glob over the status.
    """

    method: str
    route: str
    part: str
    path: str
    reason: str
    message: str = "*"
    status: str = "*"

    def covers(self, mismatch: Mismatch) -> bool:
        return (self.part == mismatch.part
                and self.method in ("*", mismatch.method)
                and self.route in ("*", mismatch.route)
                and fnmatch.fnmatchcase(mismatch.path, self.path)
                and fnmatch.fnmatchcase(mismatch.message, self.message)
                and fnmatch.fnmatchcase(str(mismatch.status), self.status))


# The one list of spec exceptions: each a place where the spec is known to be loose or wrong.
EXCEPTIONS: list[Exception_] = [
    Exception_(
        "*", "*", "status", "5??",
        "The spec lists no 5xx answer for any route, yet Discord answers 500/502/503/504 "
        "at times (the README of discord-api-spec calls the spec a preview); the emulator's "
        "fault injection sends them so that the client's retries are tested.",
    ),
    Exception_(
        "*", "*", "request", "*",
        "Discord accepts a snowflake sent as a JSON integer in a request body, and discord.py "
        "sends them so (recipient_id, permission overwrite ids, allowed_mentions users, the "
        "ids of new attachments); the spec's SnowflakeType allows strings only. Responses are "
        "held to strings.",
        message=SNOWFLAKE_AS_INTEGER,
    ),
    Exception_(
        "*", "*", "request", "*",
        "Discord's documentation gives permission bit sets as strings (they overflow a "
        "double) and discord.py sends role and overwrite permissions so; the spec types "
        "these request fields as integers.",
        message=INTEGER_AS_STRING,
    ),
    Exception_(
        "*", "*", "response", "",
        "Discord's documentation shows a per-route 429 body without \"code\" (only the global "
        "limit's body has \"code\": 0), and the emulator answers so; the spec's "
        "RatelimitedResponse requires \"code\" on every 429.",
        message="'code' is a required property", status="429",
    ),
    Exception_(
        "*", "*", "response", "errors*",
        "In a 400 / 50035 body, the spec's InnerErrors lists each field error as an Error, "
        "whose code is an integer; Discord's field errors carry string codes "
        "(\"BASE_TYPE_MAX_LENGTH\"), as its documentation shows.",
        status="400",
    ),
]


@dataclass(frozen=True)
class Mismatch:
    method: str
    route: str  # the spec's template, or the request path when no route matched
    part: str  # route, request, status, response
    path: str  # dotted JSON path of the offending value ("" = the whole body), or the status
    message: str
    status: int

    def describe(self, general: bool = False) -> str:
        """One line; ``general``: list indexes in the path shown as ``*``."""
        path = re.sub(r"(?<![^.])\d+(?![^.])", "*", self.path) if general else self.path
        where = f" at {path or '(body)'}" if self.part in ("request", "response") else ""
        where = f" {path}" if self.part == "query" else where
        return f"{self.method} {self.route} → {self.status}: {self.part}{where}: {self.message}"


@dataclass
class Figures:
    exchanges: int = 0
    routes: Counter[str] = field(default_factory=Counter)  # "METHOD /template" → exchanges
    mismatches: list[Mismatch] = field(default_factory=list)
    excused: Counter[Exception_] = field(default_factory=Counter)
    valid: int = 0  # exchanges with no mismatch left once the exceptions are applied

    def to_json(self) -> dict[str, Any]:
        """The figures as plain JSON (a worker of ``pytest -n`` hands them to the controller);
        an exception is named by its place in :data:`EXCEPTIONS`."""
        return {
            "exchanges": self.exchanges, "valid": self.valid, "routes": dict(self.routes),
            "mismatches": [asdict(m) for m in self.mismatches],
            "excused": {str(EXCEPTIONS.index(e)): n for e, n in self.excused.items()},
        }

    def merge(self, data: dict[str, Any]) -> None:
        """Add another process's figures (:meth:`to_json`) to these."""
        self.exchanges += data["exchanges"]
        self.valid += data["valid"]
        self.routes.update(data["routes"])
        self.mismatches.extend(Mismatch(**m) for m in data["mismatches"])
        self.excused.update({EXCEPTIONS[int(i)]: n for i, n in data["excused"].items()})

    def summary(self, limit: int = 40) -> list[str]:
        distinct = len({m.describe() for m in self.mismatches})
        lines = [
            f"routes used: {len(self.routes)}; exchanges checked: {self.exchanges}; "
            f"valid: {self.valid}/{self.exchanges}; "
            f"exceptions listed: {len(EXCEPTIONS)} (applied {sum(self.excused.values())} "
            f"times); mismatches: {len(self.mismatches)} ({distinct} distinct)",
        ]
        seen: Counter[str] = Counter(m.describe(general=True) for m in self.mismatches)
        lines.extend(f"  {count}× {text}" for text, count in seen.most_common(limit))
        return lines


def mode() -> str:
    value = os.environ.get(MODE_VARIABLE, "strict").strip().lower() or "strict"
    if value not in ("strict", "report", "off"):
        raise ValueError(f"{MODE_VARIABLE} must be strict, report or off, not {value!r}")
    return value


class Spec:
    """The parsed spec: route matching and compiled validators (built once per process)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        self._routes: list[tuple[int, re.Pattern[str], str]] = []
        for template in document["paths"]:
            literal = sum(1 for part in template.split("/") if part and "{" not in part)
            pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
            self._routes.append((literal, re.compile(f"^{pattern}$"), template))
        self._routes.sort(key=lambda item: -item[0])  # literal segments (@me, @original) first

    def route(self, path: str) -> str | None:
        for _literal, pattern, template in self._routes:
            if pattern.match(path):
                return template
        return None

    def operation(self, template: str, method: str) -> dict[str, Any] | None:
        found = self.document["paths"][template].get(method.lower())
        return found if isinstance(found, dict) else None

    def _resolve(self, pointer: str) -> tuple[str, Any]:
        """Follow OpenAPI (not JSON Schema) ``$ref``s from ``pointer``: (pointer, object)."""
        node = self.registry.resolver(SPEC_URI).lookup(f"{SPEC_URI}#{pointer}").contents
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            pointer = node["$ref"].removeprefix("#")
            node = self.registry.resolver(SPEC_URI).lookup(f"{SPEC_URI}#{pointer}").contents
        return pointer, node

    def validator(self, pointer: str) -> Draft202012Validator:
        found = self._validators.get(pointer)
        if found is None:
            found = self._validators[pointer] = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry)
        return found

    def query_parameters(self, template: str, method: str) -> set[str]:
        """The names of the query parameters of the operation (and of its path)."""
        item = self.document["paths"][template]
        every = [*item.get("parameters", []),
                 *(self.operation(template, method) or {}).get("parameters", [])]
        return {p["name"] for p in every if p.get("in") == "query"}

    def request_schema(self, template: str, method: str) -> str | None:
        """The pointer of the operation's JSON request schema, if it takes a body."""
        base = _pointer("paths", template, method.lower())
        operation = self.operation(template, method) or {}
        if "requestBody" not in operation:
            return None
        pointer, body = self._resolve(base + "/requestBody")
        for kind in ("application/json", "multipart/form-data"):
            if kind in body.get("content", {}):
                return pointer + _pointer("content", kind, "schema")
        return None

    def response(self, template: str, method: str, status: int
                 ) -> tuple[bool, str | None]:
        """(whether the operation lists ``status``, pointer of its JSON schema if any)."""
        responses = (self.operation(template, method) or {}).get("responses", {})
        key = next((k for k in (str(status), f"{str(status)[0]}XX", "default")
                    if k in responses), None)
        if key is None:
            return False, None
        base = _pointer("paths", template, method.lower(), "responses", key)
        pointer, answer = self._resolve(base)
        if "application/json" not in answer.get("content", {}):
            return True, None
        return True, pointer + _pointer("content", "application/json", "schema")


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _discriminator(document: dict[str, Any], branch: Any) -> list[Any] | None:
    """The values of a ``oneOf`` branch's required ``type`` property (``enum``/``const``)."""
    while isinstance(branch, dict) and "$ref" in branch:
        node: Any = document
        for part in branch["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        branch = node
    if not isinstance(branch, dict) or "type" not in branch.get("required", ()):
        return None
    kind = branch.get("properties", {}).get("type", {})
    if "const" in kind:
        return [kind["const"]]
    return list(kind["enum"]) if "enum" in kind else None


def dispatch_on_type(document: dict[str, Any]) -> None:
    """Rewrite each ``oneOf`` of objects told apart by their ``type`` (message components,
    callback resources…) as ``if type is X then branch X``: the same rule, since those
    values are disjoint, but each value is checked against its one branch instead of all of
    them (ten times faster on messages), and an error names the branch that was meant."""

    def rewrite(node: dict[str, Any]) -> None:
        branches = node["oneOf"]
        keyed = [(b, _discriminator(document, b)) for b in branches]
        tagged = [(b, values) for b, values in keyed if values]
        seen = [v for _, values in tagged for v in values]
        if len(tagged) < 2 or len(seen) != len(set(map(repr, seen))):
            return
        combined = {
            "type": "object", "required": ["type"], "properties": {"type": {"enum": seen}},
            "allOf": [{"if": {"properties": {"type": {"enum": values}}}, "then": b}
                      for b, values in tagged],
        }
        others = [b for b, values in keyed if not values]
        if others:
            node["oneOf"] = [*others, combined]
        else:
            del node["oneOf"]
            node["allOf"] = [*node.get("allOf", []), combined]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in list(node.values()):
                walk(value)
            if isinstance(node.get("oneOf"), list):
                rewrite(node)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


@cache
def load_spec() -> Spec:
    document = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    dispatch_on_type(document)
    return Spec(document)


def _wrong_branch(errors: list[ValidationError]) -> bool:
    """Whether a ``oneOf``/``anyOf`` branch failed because it describes another kind of value
    (another JSON type, or another ``type`` discriminator): not the branch that was meant."""
    for error in errors:
        where = tuple(error.relative_path)
        if where == () and error.validator == "type":
            return True
        if where == ("type",) and error.validator in ("const", "enum"):
            return True
    return False


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors that say what is wrong: inside ``oneOf``/``anyOf``, the errors of the branch
    that was meant (the one of the value's type and discriminator), followed down."""
    if not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = [errors for errors in branches.values() if not _wrong_branch(errors)]
    if not meant:  # no branch of the value's kind: a snowflake as a number, or say so here
        named = [sub for sub in error.context if _message(sub) == SNOWFLAKE_AS_INTEGER]
        return named[:1] or [error]
    found: list[ValidationError] = []
    for sub in min(meant, key=len):
        found.extend(_leaves(sub))
    return found


def _message(error: ValidationError) -> str:
    """jsonschema's message, with the two usual request shapes named (see EXCEPTIONS)."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    if error.validator == "type" and schema.get("format") == "snowflake" and (
            isinstance(value, int) and not isinstance(value, bool)):
        return SNOWFLAKE_AS_INTEGER
    if (error.validator == "type" and isinstance(value, str) and value.isdigit()
            and "integer" in (schema.get("type") or [])):
        return INTEGER_AS_STRING
    return error.message[:300]


def _dotted(error: ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path)


class SpecChecker:
    """Checks exchanges (see :meth:`check`) and keeps the figures."""

    def __init__(self, spec: Spec | None = None) -> None:
        self.spec = spec or load_spec()
        self.figures = Figures()
        self._known: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}

    def check(self, method: str, path: str, request_body: Any, status: int,
              response_body: Any, query: Iterable[str] = ()) -> list[Mismatch]:
        """Check one exchange (``query``: the names of its query parameters); returns the
        mismatches no exception covers (also recorded)."""
        self.figures.exchanges += 1
        found: list[Mismatch] = []
        template = self.spec.route(path)
        operation = self.spec.operation(template, method) if template else None
        if template is None or operation is None:
            found.append(Mismatch(method, template or path, "route", "", "no such route and "
                                  "method in the spec", status))
            return self._record(found)
        self.figures.routes[f"{method} {template}"] += 1
        known = self.spec.query_parameters(template, method)
        found.extend(Mismatch(method, template, "query", name, "query parameter not in the "
                              "spec", status) for name in query if name not in known)

        def invalid(part: str, pointer: str, body: Any) -> None:
            for where, message in self._errors(pointer, body):
                found.append(Mismatch(method, template, part, where, message, status))

        if request_body is not None:
            pointer = self.spec.request_schema(template, method)
            if pointer is None:
                if request_body not in ({}, b"", ""):
                    found.append(Mismatch(method, template, "request", "",
                                          "the operation takes no body", status))
            else:
                invalid("request", pointer, request_body)
        listed, pointer = self.spec.response(template, method, status)
        if not listed:
            found.append(Mismatch(method, template, "status", str(status),
                                  "status not listed for this operation", status))
        elif pointer is None:
            if response_body is not None:
                found.append(Mismatch(method, template, "response", "",
                                      "the spec lists no body for this status", status))
        elif response_body is None:
            found.append(Mismatch(method, template, "response", "", "a body is expected",
                                  status))
        else:
            invalid("response", pointer, response_body)
        return self._record(found)

    def _errors(self, pointer: str, body: Any) -> tuple[tuple[str, str], ...]:
        """(dotted path, message) of each error of ``body`` against the schema at ``pointer``,
        remembered per body: most tests sync the same commands and fetch the same user."""
        key = (pointer, json.dumps(body, sort_keys=True))
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = tuple(
                (_dotted(leaf), _message(leaf))
                for error in self.spec.validator(pointer).iter_errors(body)
                for leaf in _leaves(error))
        return found

    def _record(self, found: list[Mismatch]) -> list[Mismatch]:
        left = []
        for mismatch in found:
            excuse = next((e for e in EXCEPTIONS if e.covers(mismatch)), None)
            if excuse is None:
                left.append(mismatch)
            else:
                self.figures.excused[excuse] += 1
        self.figures.mismatches.extend(left)
        if not left:
            self.figures.valid += 1
        return left


# -- the session: one checker per process, one summary per run ---------------------------------

_CHECKER: SpecChecker | None = None
WORKER_OUTPUT = "familia_spec_check"  # the key of the figures in a worker's xdist output


def checker() -> SpecChecker | None:
    """This process's checker (made on first use), or None when the mode is ``off``."""
    global _CHECKER
    if mode() == "off":
        return None
    if _CHECKER is None:
        _CHECKER = SpecChecker()
    return _CHECKER


class Summary:
    """A pytest plugin: the figures of this process and of every xdist worker, summed, and
    printed at the end of the run (``FAMILIA_SPEC_SHOW``: how many kinds of mismatch)."""

    def __init__(self) -> None:
        self.workers = Figures()  # the figures handed over by workers (the controller's)
        self.heard = 0  # workers that handed figures over

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist, in the controller: a worker finished; take its figures."""
        data = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
        if data is not None:
            self.workers.merge(json.loads(data))
            self.heard += 1

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """In an xdist worker: hand this process's figures to the controller."""
        output = getattr(session.config, "workeroutput", None)
        if output is not None and _CHECKER is not None:
            output[WORKER_OUTPUT] = json.dumps(_CHECKER.figures.to_json())

    def figures(self) -> Figures | None:
        if _CHECKER is None and not self.heard:
            return None
        total = Figures()
        total.merge(self.workers.to_json())
        if _CHECKER is not None:
            total.merge(_CHECKER.figures.to_json())
        return total

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        figures = self.figures()
        if figures is None:
            return
        terminalreporter.section(f"Discord OpenAPI spec check ({mode()})")
        for line in figures.summary(int(os.environ.get("FAMILIA_SPEC_SHOW", "40"))):
            terminalreporter.write_line(line)
