"""Server settings: one declaration each, and everything else (parsing, checks, docs) read from it."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from assay.errors import Invalid
from assay.settings import SETTING, SETTINGS, Config, Setting, markdown_table, misspelt

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TABLE = re.compile(
    r"<!-- settings table: generated, do not edit by hand -->\n(.*?)<!-- end of settings table -->", re.S
)


def _words(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def test_the_readme_table_is_the_generated_one() -> None:
    found = TABLE.search(README.read_text(encoding="utf-8"))
    assert found is not None, "README.md lost the markers around its settings table"
    assert found.group(1) == markdown_table(), (
        "README.md's settings table differs from the declarations; replace it with the output of "
        "`python -m assay.settings`"
    )


def test_serve_help_lists_every_setting_with_its_default_and_help() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    shown = _words(result.stdout)
    for s in SETTINGS:
        assert _words(f"{s.env} (default: {s.default_text}): {s.doc}") in shown, s.env


def test_every_assay_variable_the_code_or_the_docs_name_is_a_declared_setting() -> None:
    declared = {s.env for s in SETTINGS}
    texts = [p for p in (ROOT / "src" / "assay").rglob("*.py")] + [README, ROOT / "SECURITY.md"]
    named = {
        (name, path.relative_to(ROOT).as_posix())
        for path in texts
        for name in re.findall(r"\bASSAY_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8"))
    }
    assert {pair for pair in named if pair[0] not in declared} == set()
    assert len(declared) >= 15


def test_every_config_field_but_extra_is_a_declared_setting() -> None:
    assert [f.name for f in fields(Config) if f.name != "extra"] == [s.name for s in SETTINGS]
    defaults = Config()
    for s in SETTINGS:
        assert getattr(defaults, s.name) == s.default, s.name
        assert s.help.endswith("."), f"{s.env}: the help is a sentence"


def _valid_text(s: Setting) -> str:
    """A value other than the default, within the declared bounds, as an operator would type it."""
    spec = s.spec
    if s.kind is bool:
        return "off" if s.default else "on"
    if spec.choices:
        return spec.choices[-1]
    if s.kind in (int, float):
        base = s.default if s.default is not None else 0
        value = base + 1 if spec.maximum is None or base + 1 <= spec.maximum else base - 1
        return str(value)
    if s.kind is tuple:
        return "10.0.0.1, 10.0.0.2"
    return "/srv/assay/" + "x" * 24 if s.kind is Path else "k" * 40


@pytest.mark.parametrize("s", SETTINGS, ids=lambda s: s.env)
def test_each_setting_is_read_from_its_variable(s: Setting) -> None:
    text = _valid_text(s)
    config = Config.from_env({s.env: text})
    assert getattr(config, s.name) == s.parse(text) != s.default


@pytest.mark.parametrize("s", [s for s in SETTINGS if s.spec.minimum is not None], ids=lambda s: s.env)
def test_the_declared_minimum_is_enforced_naming_the_variable(s: Setting) -> None:
    assert s.spec.minimum is not None
    below = s.spec.minimum - 1
    with pytest.raises(Invalid) as info:
        Config.from_env({s.env: str(int(below) if s.kind is int else below)})
    shown = f"{below:g}" if s.kind is float else str(int(below))
    problem = {"loc": s.env, "msg": f"{s.env}={shown} is not allowed: must be at least {s.spec.minimum:g}"}
    assert info.value.errors[0] == problem


@pytest.mark.parametrize("s", [s for s in SETTINGS if s.spec.maximum is not None], ids=lambda s: s.env)
def test_the_declared_maximum_is_enforced_naming_the_variable(s: Setting) -> None:
    assert s.spec.maximum is not None
    above = s.spec.maximum + 1
    with pytest.raises(Invalid, match=f"^{s.env}=.* is not allowed: must be at most {s.spec.maximum:g}$"):
        Config.from_env({s.env: str(int(above))})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ASSAY_JOB_WORKERS": "many"}, "ASSAY_JOB_WORKERS='many' is not valid: expected a whole number"),
        ({"ASSAY_JOB_WORKERS": "1.5"}, "ASSAY_JOB_WORKERS='1.5' is not valid: expected a whole number"),
        ({"ASSAY_QUALITY_DELAY_S": "nan"}, "ASSAY_QUALITY_DELAY_S='nan' is not valid: expected a finite number"),
        ({"ASSAY_RATE_LIMIT_PER_S": "inf"}, "ASSAY_RATE_LIMIT_PER_S='inf' is not valid: expected a finite number"),
        ({"ASSAY_ACCESS_LOG": "maybe"}, "ASSAY_ACCESS_LOG='maybe' is not valid: expected on or off (1/0, true/false, yes/no)"),
        ({"ASSAY_LOG_FORMAT": "xml"}, "ASSAY_LOG_FORMAT='xml' is not allowed: choose one of text, json"),
        ({"ASSAY_RATE_LIMIT_BURST": "0"}, "ASSAY_RATE_LIMIT_BURST must be at least 1 while ASSAY_RATE_LIMIT_PER_S is set"),
        ({"ASSAY_SECRET_KEY": "k" * 32, "ASSAY_SECRET_KEY_FILE": "/srv/key"}, "set ASSAY_SECRET_KEY or ASSAY_SECRET_KEY_FILE, not both"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_in_one_sentence_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(Invalid) as info:
        Config.from_env(env)
    assert info.value.message == message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(Invalid) as info:
        Config.from_env({"ASSAY_JOB_WORKERS": "65", "ASSAY_QUALITY_DELAY_S": "-1", "ASSAY_LOG_LEVEL": "loud"})
    assert [e["loc"] for e in info.value.errors] == [
        "ASSAY_JOB_WORKERS",
        "ASSAY_QUALITY_DELAY_S",
        "ASSAY_LOG_LEVEL",
    ]
    assert info.value.message.endswith("(and 2 more problems)")


@pytest.mark.parametrize("value", ["changeme", " Placeholder ", "short-key", "s3cr3t\x00"])
def test_a_refused_secret_is_never_repeated(value: str) -> None:
    with pytest.raises(Invalid) as info:
        Config.from_env({"ASSAY_SECRET_KEY": value})
    assert "ASSAY_SECRET_KEY" in info.value.message
    assert value not in str(info.value.to_dict())


def test_the_repr_of_a_config_hides_its_secret() -> None:
    config = Config(secret_key="k" * 40)
    assert "k" * 40 not in repr(config) and "secret_key=" not in repr(config)


def test_cli_flags_win_over_the_environment(tmp_path: Path) -> None:
    config = Config.from_env({"ASSAY_DATA_DIR": "/elsewhere"}, data_dir=str(tmp_path), database_url=None)
    assert config.data_dir == tmp_path


def test_a_misspelt_variable_is_named_with_the_setting_meant() -> None:
    env: dict[str, Any] = {
        "ASSAY_JOB_WORKER": "2",
        "ASSAY_SECRETKEY": "x",
        "ASSAY_JOB_WORKERS": "2",
        "ASSAY_TEST_PG_URL": "postgresql://",  # the test suite's own: nothing like a setting
        "ASSAY_SIM_ITEMS": "10",
    }
    assert misspelt(env) == [
        ("ASSAY_JOB_WORKER", "ASSAY_JOB_WORKERS"),
        ("ASSAY_SECRETKEY", "ASSAY_SECRET_KEY"),
    ]


def test_the_job_workers_are_described_as_what_they_are() -> None:
    # The old help said "threads per process" while the workers ran in a process of their own.
    assert "job process" in SETTING["job_workers"].help


def test_a_path_given_as_text_in_code_is_a_path() -> None:
    assert Config(data_dir="data", secret_key_file="k").data_dir == Path("data")  # type: ignore[arg-type]
    assert Config(secret_key_file="k").secret_key_file == Path("k")  # type: ignore[arg-type]
