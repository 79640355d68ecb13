"""The spec check under ``pytest -n`` (pytest-xdist, what ``make test`` runs): each worker
checks its own tests' exchanges and fails the test whose exchange does not validate, and the
run's summary sums every worker's figures (tests/spec_check.py's ``Summary``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from emulator import models as m
from tests.spec_check import Figures, Mismatch, SpecChecker, Summary

ROOT = Path(__file__).resolve().parent.parent
USER = m.User(1_300_000_000_000_000_002, "Familia", bot=True).payload()
AT = "/users/1300000000000000002"


def test_figures_travel_whole_from_a_worker(tmp_path):
    checker = SpecChecker()
    checker.check("GET", AT, None, 200, USER)
    checker.check("GET", AT, None, 503, {"message": "busy", "code": 0})  # excused
    checker.check("GET", AT, None, 200, {**USER, "id": 5})
    checker.check("GET", "/no/such/route", None, 404, None)
    total = Figures()
    total.merge(checker.figures.to_json())
    total.merge(checker.figures.to_json())
    assert (total.exchanges, total.valid) == (8, 4)
    assert total.routes == {"GET /users/{user_id}": 6}
    assert [m.part for m in total.mismatches] == ["response", "route"] * 2
    assert all(isinstance(m, Mismatch) for m in total.mismatches)
    assert sum(total.excused.values()) == 2 and total.summary()[0] == (
        "routes used: 1; exchanges checked: 8; valid: 4/8; exceptions listed: 5 (applied 2 "
        "times); mismatches: 4 (2 distinct)")


CONFTEST = """
from tests.spec_check import Summary


def pytest_configure(config):  # as tests/conftest.py does (see the test below)
    config.pluginmanager.register(Summary(), "familia-spec-check")
"""


def test_the_suite_registers_the_summary(pytestconfig):
    plugin = pytestconfig.pluginmanager.get_plugin("familia-spec-check")
    assert isinstance(plugin, Summary)

TESTS = """
import pytest

from tests import spec_check

USER = {user!r}
AT = {at!r}


def check(response):
    found = spec_check.checker().check("GET", AT, None, 200, response)
    if found and spec_check.mode() == "strict":  # as the e2e fixture does at teardown
        pytest.fail(f"{{len(found)}} mismatch(es)", pytrace=False)


def test_valid():
    check(USER)


def test_also_valid():
    check(USER)


def test_invalid():
    check({{**USER, "id": 5}})
"""


@pytest.mark.slow
def test_workers_fail_their_tests_and_the_controller_sums_their_figures(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_exchanges.py").write_text(textwrap.dedent(TESTS.format(user=USER, at=AT)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FAMILIA_SPEC_CHECK": "strict"}
    # --dist each: every test runs in both workers, so both hand figures over
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
         "--dist", "each", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "2 failed, 4 passed" in out
    assert "Discord OpenAPI spec check (strict)" in out
    assert ("routes used: 1; exchanges checked: 6; valid: 4/6; exceptions listed: 5 "
            "(applied 0 times); mismatches: 2 (1 distinct)") in out
    assert "2× GET /users/{user_id} → 200: response at id: snowflake sent as a JSON integer" in out
