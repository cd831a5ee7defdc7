"""The secret key that signs session cookies: from the environment, from a key file, or made on first start.

It is a long-lived secret (it signs sessions, and will encrypt secrets at rest), so it is made once
and kept: never regenerated, never overwritten, never logged.  Where it comes from, first match:

1. ``ASSAY_SECRET_KEY``;
2. the key file: ``ASSAY_SECRET_KEY_FILE``, else ``secret_key`` in the data directory, read when it
   exists (owner-only, or refused);
3. a new random key written to that file, when the file was named (``ASSAY_SECRET_KEY_FILE``) or
   the database is the embedded one: every process that uses the data directory's SQLite file finds
   the key beside it.  With an external database and no key file, processes on several machines
   would each make their own and sessions would fail at random behind a load balancer, so none is
   made: the pages stay off and start-up says, in one line, what to set.

The file is written atomically (a private temporary file hard-linked into place), so servers
starting at once on one data directory or one shared file agree on the first key written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from assay.errors import Invalid
from assay.settings import Config, secret_problem

KEY_FILE = "secret_key"
KEY_BYTES = 32  # 256 bits, written as 64 hex characters


@dataclass(frozen=True)
class Key:
    """What ``load`` found: the config (with ``secret_key`` set, unless ``source`` is ``none``)."""

    config: Config
    source: str  # "environment", "file", "generated" or "none"
    path: Path | None = None


def key_path(config: Config) -> Path:
    return config.secret_key_file if config.secret_key_file is not None else config.data_dir / KEY_FILE


def load(config: Config) -> Key:
    """The secret key for ``config`` by the rules above; ``Invalid`` for a key file that may not be used."""
    if config.secret_key is not None:
        return Key(config, "environment")
    path = key_path(config)
    if path.exists() or path.is_symlink():
        return Key(replace(config, secret_key=read(path)), "file", path)
    if config.secret_key_file is None and not config.embedded:
        return Key(config, "none")
    key, made = create(path, make_parent=config.secret_key_file is None)
    return Key(replace(config, secret_key=key), "generated" if made else "file", path)


def read(path: Path) -> str:
    """The key in ``path``, refused when others may read it or when it is a placeholder."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise Invalid(f"the secret key file {path} is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            raise Invalid(
                f"the secret key file {path} can be read by other users (mode {stat.S_IMODE(info.st_mode):04o}); "
                f"make it owner-only with `chmod 600 {path}`"
            )
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise Invalid(f"cannot read the secret key file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise Invalid(f"the secret key file {path} is not text: write a long random value into it") from None
    problem = secret_problem(text, what=f"the key in {path}")
    if problem is not None:
        raise Invalid(problem)
    return text


def create(path: Path, *, make_parent: bool) -> tuple[str, bool]:
    """Write a new random key to ``path`` unless another process got there first.

    Returns (the key in the file, whether this call wrote it).  The parent directory is made only
    for the data directory: a named key file whose directory is missing is more likely a shared
    volume that is not mounted than a place to start a new key.
    """
    parent = path.parent
    if make_parent:
        parent.mkdir(parents=True, exist_ok=True)
    elif not parent.is_dir():
        raise Invalid(f"ASSAY_SECRET_KEY_FILE={str(path)!r}: its directory {parent} does not exist")
    key = secrets.token_hex(KEY_BYTES)
    tmp = parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)  # whatever the umask said
            os.write(fd, (key + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if the file exists: never replaces a key another process wrote
        except FileExistsError:
            return read(path), False
    except OSError as exc:
        raise Invalid(
            f"cannot create the secret key file {path}: {exc.strerror or exc}; create it yourself "
            f"(`openssl rand -hex 32 > {path} && chmod 600 {path}`) or set ASSAY_SECRET_KEY"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    _sync_directory(parent)
    return key, True


def _sync_directory(directory: Path) -> None:
    """Make the new directory entry durable (a power cut must not lose a key already in use)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def missing(config: Config, *, operator: bool = False) -> str:
    """Why the pages are off, and what to set: one sentence for the start-up log, the landing page
    and every page's 503.  ``operator`` (the log) suggests this server's own path for the key file;
    the pages, which anyone may read, show an example path instead."""
    if not config.embedded:
        shared = (config.data_dir / KEY_FILE).resolve() if operator else Path("/srv/assay") / KEY_FILE
        return (
            "the web pages are off: with ASSAY_DATABASE_URL set, every `assay serve` must sign sessions "
            f"with the same secret key; set ASSAY_SECRET_KEY_FILE to one file all of them read (e.g. "
            f"ASSAY_SECRET_KEY_FILE={shared}; the first server to start creates it) or ASSAY_SECRET_KEY "
            "to a long random value (`openssl rand -hex 32`), and restart; the JSON API works without it"
        )
    return (
        "the web pages are off: this server has no secret key to sign sessions; `assay serve` creates "
        "one in its data directory on first start (or set ASSAY_SECRET_KEY or ASSAY_SECRET_KEY_FILE); "
        "the JSON API works without it"
    )
