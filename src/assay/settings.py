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
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from assay._setting import PREFIX, Setting, Spec, declared, setting
from assay.errors import ErrorDetail, Invalid

__all__ = [
    "SETTING",
    "SETTINGS",
    "Config",
    "Setting",
    "Spec",
    "help_text",
    "markdown_table",
    "misspelt",
    "setting",
]

#: Values that look like someone copied an example instead of choosing a secret.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "placeholder", "dev", "development"})
MIN_SECRET_CHARS = 16


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


def _model_hosts(value: Any) -> str | None:
    from assay.llm.hosts import problem

    for entry in value or ():
        found = problem(str(entry))
        if found is not None:
            return f"ASSAY_MODEL_HOSTS: {found}"
    return None


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
    import_workers: int = setting(
        1,
        "Processes that each `assay serve` starts beside itself to run item imports, so that a large "
        "import does not slow other requests down. 0 runs imports in the server's own threads.",
        minimum=0,
        maximum=64,
    )
    quality_delay_s: float = setting(
        2.0,
        "Seconds a queued quality refresh waits, so a burst of answers is folded into one run.",
        minimum=0,
        maximum=3600,
    )
    model_hosts: tuple[str, ...] = setting(
        (),
        "Comma-separated hosts that model connections may call: host names (`api.openai.com`), "
        "`host:port`, or CIDRs (`10.0.0.0/8`, matched by IP-literal URLs only). A manager chooses "
        "among them; redirects are never followed. Unset: none (`assay demo` allows loopback).",
        check=_model_hosts,
        shown="none",
    )
    model_timeout_s: float = setting(
        120.0, "Seconds one call to a model may take before it is retried.", minimum=1, maximum=3600
    )
    model_concurrency: int = setting(
        4,
        "Calls in flight at once per model connection (a connection's `params.concurrency` may lower it).",
        minimum=1,
        maximum=256,
    )
    model_retries: int = setting(
        4,
        "Times a call that met a 429, a 5xx, a timeout or a dropped connection is tried again, with "
        "exponential backoff (honouring `Retry-After`).",
        minimum=0,
        maximum=20,
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


SETTINGS: tuple[Setting, ...] = declared(Config)
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
