"""Settings, declared once as data.

Each setting is one field of ``Config``, declared with ``setting(default, help, ...)``: its type is
the field's annotation, its environment variable is ``ASSAY_<NAME>``, and the declaration carries
the bounds, the choices, whether it is a secret and how its default reads in the docs.  Everything
else comes from that: parsing the environment (``Config.from_env``), validation (``Config.check``,
errors naming the variable), the settings listed by ``assay serve --help`` (``help_text``) and the
README's configuration table (``markdown_table``; a test fails when the README differs).  Adding a
setting is adding one field.

This module imports nothing heavy: ``assay serve --help`` reads it.
"""

from __future__ import annotations

import difflib
import math
import os
import secrets
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from assay.errors import ErrorDetail, Invalid

T = TypeVar("T")

PREFIX = "ASSAY_"

#: Values that look like someone copied an example instead of choosing a secret.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "placeholder", "dev", "development"})
MIN_SECRET_CHARS = 16
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Spec:
    """What a setting's declaration says beyond its type and default."""

    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    secret: bool = False  # never shown: not in reprs, errors, logs or docs
    shown: str | None = None  # how the default reads in the docs, when not the value itself
    check: Callable[[Any], str | None] | None = None  # a rule beyond the bounds: the problem, or None


def setting(
    default: T,
    help: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    secret: bool = False,
    shown: str | None = None,
    check: Callable[[Any], str | None] | None = None,
) -> T:
    """Declare one setting (a ``Config`` field): default, help line, bounds, choices, secrecy."""
    spec = Spec(help, minimum, maximum, choices, secret, shown, check)
    made: T = field(default=default, repr=not secret, metadata={"setting": spec})
    return made


def secret_problem(value: str, *, what: str) -> str | None:
    """Why ``value`` cannot be a secret key (a placeholder, too short), or None.  ``what`` names its
    source in the sentence: the variable, or the key file."""
    if value.strip().lower() in PLACEHOLDER_SECRETS:
        return f"{what} is a placeholder; set a long random value (e.g. `openssl rand -hex 32`)"
    if len(value.strip()) < MIN_SECRET_CHARS:
        return f"{what} is too short; use at least {MIN_SECRET_CHARS} random characters"
    return None


def _secret_key(value: Any) -> str | None:
    return None if value is None else secret_problem(str(value), what="ASSAY_SECRET_KEY")


@dataclass(frozen=True)
class Config:
    data_dir: Path = setting(
        Path("./assay-data"),
        "Directory of the embedded SQLite database (`assay.db`) and of the secret key the server "
        "generates on first start (`secret_key`).",
        shown="`./assay-data`",
    )
    database_url: str | None = setting(
        None,
        "SQLAlchemy URL of an external database, e.g. `postgresql+psycopg://user@host/db`.",
        shown="SQLite in the data directory",
    )
    secret_key: str | None = setting(
        None,
        "Key that signs session cookies for the web pages (at least 16 characters; placeholders such "
        "as `changeme` are refused). Unset, the key is read from `ASSAY_SECRET_KEY_FILE`.",
        secret=True,
        check=_secret_key,
    )
    secret_key_file: Path | None = setting(
        None,
        "File holding the secret key, owner-only (mode 0600; a file others can read is refused). "
        "`assay serve` creates it with a new random key when it is missing. Unset: `secret_key` in "
        "the data directory, created only while the database is the embedded one; with "
        "`ASSAY_DATABASE_URL` set, point every server at one shared file (or set `ASSAY_SECRET_KEY`).",
        shown="`secret_key` in the data directory",
    )
    max_body_bytes: int = setting(
        16 * 1024 * 1024, "Largest JSON request body (413 beyond).", minimum=1, shown="16 MiB"
    )
    max_import_bytes: int = setting(
        2 * 1024**3 - 1,
        "Largest import upload (413 beyond, refused while streaming, never buffered in memory).",
        minimum=1,
        shown="2 GiB - 1",
    )
    import_error_limit: int = setting(20, "How many problems a failed import reports.", minimum=1)
    trusted_proxies: tuple[str, ...] = setting(
        (),
        "Comma-separated addresses of reverse proxies whose `X-Forwarded-Proto` is believed (`*`: any); "
        "session cookies are `Secure` when the browser came over https. Unset, the header is ignored.",
    )
    rate_limit_per_s: float = setting(
        50.0,
        "JSON API requests per second per token (per client address without one), per process; "
        "beyond it 429 with `Retry-After`. 0 turns it off.",
        minimum=0,
    )
    rate_limit_burst: int = setting(
        200, "Requests a token may make at once before the per-second rate applies.", minimum=0
    )
    job_workers: int = setting(
        1,
        "Worker threads of the job process that each `assay serve` starts beside itself (quality "
        "refreshes). 0 starts no job process: the quality report then refreshes when read, or run "
        "`assay jobs run`.",
        minimum=0,
        maximum=64,
    )
    quality_delay_s: float = setting(
        2.0,
        "Seconds a queued quality refresh waits, so a burst of answers is folded into one run.",
        minimum=0,
        maximum=3600,
    )
    log_level: str = setting(
        "info",
        "Least severe server log lines written to stderr.",
        choices=("debug", "info", "warning", "error"),
    )
    log_format: str = setting(
        "text",
        "Server log lines: `text` (one `key=value` line per event) or `json` (one object per line).",
        choices=("text", "json"),
    )
    access_log: bool = setting(
        False,
        "Log one line per HTTP request: method, path (no query string), status, milliseconds, client address.",
    )
    extra: Mapping[str, Any] = field(default_factory=dict)  # not a setting: room for embedders

    def __post_init__(self) -> None:
        # Embedders write Config(data_dir="…"): a path given as text is still a path.
        for s in SETTINGS:
            value = getattr(self, s.name)
            coerced = s.coerce(value)
            if coerced is not value:
                object.__setattr__(self, s.name, coerced)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        """Read ``ASSAY_*`` variables, then apply explicit overrides (CLI flags win); then ``check``."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        problems: list[ErrorDetail] = []
        for s in SETTINGS:
            raw = env.get(s.env)
            if raw is None or raw == "":
                continue
            try:
                values[s.name] = s.parse(raw)
            except ValueError as exc:
                shown = "" if s.secret else f"={raw!r}"
                problems.append({"loc": s.env, "msg": f"{s.env}{shown} is not valid: {exc}"})
        _raise(problems)
        values.update({name: value for name, value in overrides.items() if value is not None})
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        """Refuse values outside the declared bounds and choices, and broken combinations."""
        problems: list[ErrorDetail] = []
        for s in SETTINGS:
            msg = s.problem(getattr(self, s.name))
            if msg is not None:
                problems.append({"loc": s.env, "msg": msg})
        for rule in RULES:
            found = rule(self)
            if found is not None:
                problems.append({"loc": found[0], "msg": found[1]})
        _raise(problems)

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assay.db').resolve()}"

    @property
    def embedded(self) -> bool:
        """Whether the database is the SQLite file in the data directory (no ASSAY_DATABASE_URL)."""
        return not self.database_url

    def with_generated_secret(self) -> Config:
        return replace(self, secret_key=secrets.token_hex(32))


def _raise(problems: list[ErrorDetail]) -> None:
    if not problems:
        return
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    raise Invalid(f"{problems[0]['msg']}{more}", errors=problems)


def _burst_with_rate(config: Config) -> tuple[str, str] | None:
    if config.rate_limit_per_s > 0 and config.rate_limit_burst < 1:
        return (
            "ASSAY_RATE_LIMIT_BURST",
            "ASSAY_RATE_LIMIT_BURST must be at least 1 while ASSAY_RATE_LIMIT_PER_S is set",
        )
    return None


def _one_key_source(config: Config) -> tuple[str, str] | None:
    if config.secret_key is not None and config.secret_key_file is not None:
        return "ASSAY_SECRET_KEY_FILE", "set ASSAY_SECRET_KEY or ASSAY_SECRET_KEY_FILE, not both"
    return None


#: Rules over several settings: each returns (variable, problem) or None.
RULES: tuple[Callable[[Config], tuple[str, str] | None], ...] = (_burst_with_rate, _one_key_source)


# --- the declarations, read back --------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One declared setting, as the parser, the checks and the docs see it."""

    name: str
    kind: type  # int, float, bool, str, Path or tuple (of str)
    optional: bool
    default: Any
    spec: Spec

    @property
    def env(self) -> str:
        return PREFIX + self.name.upper()

    @property
    def help(self) -> str:
        return self.spec.help

    @property
    def secret(self) -> bool:
        return self.spec.secret

    def parse(self, text: str) -> Any:
        """The value of the environment variable's text; ValueError saying what was expected."""
        if self.kind is bool:
            word = text.strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            raise ValueError("expected on or off (1/0, true/false, yes/no)")
        if self.kind is int:
            try:
                return int(text.strip().replace("_", ""))
            except ValueError:
                raise ValueError("expected a whole number") from None
        if self.kind is float:
            try:
                number = float(text.strip().replace("_", ""))
            except ValueError:
                raise ValueError("expected a number") from None
            if not math.isfinite(number):
                raise ValueError("expected a finite number")
            return number
        if self.kind is tuple:
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if self.kind is Path:
            return Path(text)
        return text.strip().lower() if self.spec.choices else text

    def coerce(self, value: Any) -> Any:
        """A value given in code or by a CLI flag, in the field's type."""
        if self.kind is Path and isinstance(value, str):
            return Path(value)
        return value

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` by the declaration (bounds, choices, its own check), or None."""
        if value is None:
            return None if self.optional else f"{self.env} must be set"
        spec = self.spec
        shown = "" if spec.secret else f"={_show(value)}"
        if spec.minimum is not None and value < spec.minimum:
            return f"{self.env}{shown} is not allowed: must be at least {_show(spec.minimum)}"
        if spec.maximum is not None and value > spec.maximum:
            return f"{self.env}{shown} is not allowed: must be at most {_show(spec.maximum)}"
        if spec.choices and value not in spec.choices:
            return f"{self.env}{shown} is not allowed: choose one of {', '.join(spec.choices)}"
        return spec.check(value) if spec.check is not None else None

    @property
    def default_text(self) -> str:
        """The default as the docs show it."""
        if self.spec.shown is not None:
            return self.spec.shown
        value = self.default
        if value is None or value == ():
            return "none"
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, int | float):
            return _show(value)
        return f"`{value}`"

    @property
    def doc(self) -> str:
        """The help line, with the bounds and choices the declaration enforces."""
        spec = self.spec
        if spec.choices:
            allowed = "one of " + ", ".join(f"`{c}`" for c in spec.choices)
        elif spec.minimum is not None and spec.maximum is not None:
            allowed = f"{_show(spec.minimum)} to {_show(spec.maximum)}"
        elif spec.minimum is not None:
            allowed = f"at least {_show(spec.minimum)}"
        elif spec.maximum is not None:
            allowed = f"at most {_show(spec.maximum)}"
        elif self.kind is bool:
            allowed = "`on` or `off` (also 1/0, true/false, yes/no)"
        else:
            return spec.help
        return f"{spec.help} Allowed: {allowed}."


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str | Path):
        return repr(str(value))
    return str(value)


def _kind(hint: Any) -> tuple[type, bool]:
    """(the base type, whether None is allowed) of a field's annotation."""
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        (hint,) = args
    origin = typing.get_origin(hint)
    base = origin if origin is not None else hint
    if base not in (int, float, bool, str, Path, tuple):
        raise TypeError(f"setting of type {hint!r}: declare int, float, bool, str, Path or tuple[str, ...]")
    return base, optional


def _declared() -> tuple[Setting, ...]:
    hints = typing.get_type_hints(Config)
    found = []
    for f in fields(Config):
        spec = f.metadata.get("setting")
        if spec is None:
            continue
        kind, optional = _kind(hints[f.name])
        found.append(Setting(f.name, kind, optional, f.default, spec))
    return tuple(found)


SETTINGS: tuple[Setting, ...] = _declared()
SETTING: dict[str, Setting] = {s.name: s for s in SETTINGS}


def misspelt(env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """``ASSAY_*`` variables that name no setting but look like one: (the variable, the setting).

    Variables like nothing declared are left alone: the test suite and other tools have their own.
    """
    env = os.environ if env is None else env
    known = sorted(s.env for s in SETTINGS)
    found = []
    for name in sorted(env):
        if name.startswith(PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
            if close:
                found.append((name, close[0]))
    return found


# --- the docs, generated ----------------------------------------------------------------------------


@cache
def help_text() -> str:
    """The settings as ``assay serve --help`` lists them."""

    def plain(text: str) -> str:
        return text.replace("`", "")

    lines = ["Settings (environment variables; the flags above win over their variables):"]
    lines += [f"{s.env} (default: {plain(s.default_text)}): {plain(s.doc)}" for s in SETTINGS]
    return "\n\n".join(lines)


def markdown_table() -> str:
    """The README's configuration table."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{s.env}` | {s.default_text} | {s.doc} |" for s in SETTINGS]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # `python -m assay.settings` prints the README's table
    print(markdown_table(), end="")
