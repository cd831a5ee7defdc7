"""Settings, declared once as data.

Every setting has a name, an environment variable (``ASSAY_<NAME>``), a default and a help line; the
README's configuration table and ``assay serve --help`` come from the same declarations.  Bad values
are refused at start-up with a message naming the variable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assay.errors import Invalid

#: Values that look like someone copied an example instead of choosing a secret.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "placeholder", "dev", "development"})


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        return "ASSAY_" + self.name.upper()


def _int(text: str) -> int:
    return int(text.replace("_", ""))


def _addresses(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "./assay-data", "Directory of the embedded SQLite database and uploads."),
    Setting(
        "database_url",
        None,
        "SQLAlchemy URL of the database, e.g. postgresql+psycopg://user@host/db. "
        "Unset: SQLite in the data directory.",
    ),
    Setting(
        "secret_key",
        None,
        "Key that signs session cookies. Required by `assay serve` for the web pages; "
        "a placeholder value is refused. `assay demo` generates one.",
    ),
    Setting("max_body_bytes", 16 * 1024 * 1024, "Largest JSON request body accepted (bytes).", _int),
    Setting("max_import_bytes", 2 * 1024**3 - 1, "Largest import upload accepted (bytes).", _int),
    Setting("import_error_limit", 20, "How many problems an import reports before it stops looking.", _int),
    Setting(
        "trusted_proxies",
        (),
        "Comma-separated addresses of reverse proxies whose X-Forwarded-Proto is believed (`*`: any). "
        "Unset: the header is ignored, and cookies are Secure only on a direct https connection.",
        _addresses,
    ),
    Setting(
        "rate_limit_per_s",
        50.0,
        "JSON API requests per second allowed per token (per client address without one), per process; "
        "0 turns the limit off.",
        float,
    ),
    Setting(
        "rate_limit_burst", 200, "Requests a token may make at once before the per-second rate applies.", _int
    ),
    Setting(
        "job_workers",
        1,
        "Background job threads per `assay serve` process (quality refreshes from the database-backed "
        "queue); 0 runs none, and the quality report then refreshes when it is read.",
        _int,
    ),
    Setting(
        "quality_delay_s",
        2.0,
        "Seconds a quality refresh waits after the answer that queued it, so a burst of answers "
        "is folded into one run.",
        float,
    ),
)


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path("./assay-data")
    database_url: str | None = None
    secret_key: str | None = None
    max_body_bytes: int = 16 * 1024 * 1024
    max_import_bytes: int = 2 * 1024**3 - 1
    import_error_limit: int = 20
    trusted_proxies: tuple[str, ...] = ()
    rate_limit_per_s: float = 50.0
    rate_limit_burst: int = 200
    job_workers: int = 1
    quality_delay_s: float = 2.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        """Read ``ASSAY_*`` variables, then apply explicit overrides (CLI flags win)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for s in SETTINGS:
            raw = env.get(s.env)
            if raw is None or raw == "":
                continue
            try:
                values[s.name] = s.parse(raw)
            except ValueError:
                raise Invalid(f"{s.env}={raw!r} is not valid: {s.help}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        for name in ("max_body_bytes", "max_import_bytes", "import_error_limit"):
            if getattr(self, name) <= 0:
                raise Invalid(f"ASSAY_{name.upper()} must be a positive number")
        if self.rate_limit_per_s < 0 or self.rate_limit_burst < 0:
            raise Invalid("ASSAY_RATE_LIMIT_PER_S and ASSAY_RATE_LIMIT_BURST must be 0 (off) or positive")
        if self.rate_limit_per_s > 0 and self.rate_limit_burst < 1:
            raise Invalid("ASSAY_RATE_LIMIT_BURST must be at least 1 while ASSAY_RATE_LIMIT_PER_S is set")
        if self.job_workers < 0 or self.job_workers > 64:
            raise Invalid("ASSAY_JOB_WORKERS must be between 0 and 64")
        if not 0 <= self.quality_delay_s <= 3600:
            raise Invalid("ASSAY_QUALITY_DELAY_S must be between 0 and 3600 seconds")
        if self.secret_key is not None and self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            raise Invalid(
                "ASSAY_SECRET_KEY is a placeholder; set a long random value (e.g. `openssl rand -hex 32`)"
            )
        if self.secret_key is not None and len(self.secret_key) < 16:
            raise Invalid("ASSAY_SECRET_KEY is too short; use at least 16 random characters")

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assay.db').resolve()}"

    def with_generated_secret(self) -> Config:
        return replace(self, secret_key=secrets.token_hex(32))
