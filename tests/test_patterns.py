"""Every regular expression in assay runs in linear time: compiled by RE2, never by ``re``."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest
import re2

import assay
from assay.workflows import flags

SRC = Path(assay.__file__).resolve().parent


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(assay.__path__, "assay.") if ".migrations." not in m.name]


def test_no_module_uses_the_backtracking_engine() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            offenders += [f"{path.relative_to(SRC)}: {n}" for n in names if n in ("re", "regex", "fnmatch")]
    assert not offenders, f"compile patterns with assay.patterns (RE2): {offenders}"


def _patterns() -> dict[str, object]:
    found: dict[str, object] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if type(value).__module__.startswith("re2"):
                found[f"{name}.{attr}"] = value
    return found


def test_the_known_patterns_are_re2_objects() -> None:
    found = _patterns()
    for expected in (
        "assay.workflows.flags._BULLET",
        "assay.workflows.flags._HEADING",
        "assay.workflows.flags._STOCK",
        "assay.workflows.admin.SLUG",
        "assay.workflows.admin.EMAIL",
        "assay.workflows.project_admin._STEP",
        "assay.domain._fields._NAME",
    ):
        assert expected in found, sorted(found)


ADVERSARIAL = [
    "\n" * 200_000,
    " " * 200_000 + "x",
    "\n \t" * 70_000,
    "1" * 200_000,
    "*" * 200_000,
    "#" * 200_000,
    "- " * 100_000,
    "**" + "a" * 200_000,
    "[" * 200_000 + "1",
    "a" * 200_000 + "@",
    "@" * 200_000,
]


@pytest.mark.timeout(60)  # a hang guard: backtracking over these would take hours
def test_every_pattern_is_quick_over_adversarial_text() -> None:
    patterns = _patterns()
    assert patterns
    for pattern in patterns.values():
        assert isinstance(pattern, re2._Regexp)
        for text in ADVERSARIAL:
            pattern.search(text)
            pattern.findall(text)


@pytest.mark.timeout(60)
def test_machine_text_signals_over_runs_of_newlines_and_spaces() -> None:
    for text in ("\n" * 16_384, " \n" * 8_192, "\n- " * 6_000, "\n#" * 8_000, "1." * 8_000):
        flags.machine_text_signals(text)
    assert flags.machine_text_signals(
        "Here is what I found today:\n- one thing\n- another thing\n- a third thing and more\n"
    ) == ["bullet list"]
    assert "markdown headings or bold labels" in flags.machine_text_signals(
        "## Summary\nThe reply explains the refund policy well and points to the right form." * 2
    )
    # A bullet is on its own line: blank lines before a marker do not make one.
    assert flags.machine_text_signals("-\n\nfoo " * 30) == []
