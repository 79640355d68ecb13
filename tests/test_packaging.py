"""The package metadata installs without setuptools' deprecation warnings: the licence is an
SPDX expression (PEP 639), which setuptools reads from version 77 on."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_licence_is_an_spdx_string_and_setuptools_can_read_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"  # a table is deprecated (warned 3 times)
    assert "License ::" not in " ".join(project["project"].get("classifiers", []))
    [setuptools] = [r for r in project["build-system"]["requires"]
                    if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", setuptools)
    assert minimum is not None and int(minimum.group(1)) >= 77
