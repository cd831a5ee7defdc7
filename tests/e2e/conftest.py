"""Real ``assay serve`` processes for end-to-end tests.

``launch(database_url)`` starts a server as a subprocess in its own process group on a free port,
waits for ``/healthz`` and returns a handle that can stop it gracefully or SIGKILL it.  Every server a
test started is killed at teardown, also when the test fails, so no process outlives its test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

START_TIMEOUT_S = 60.0  # a cold start imports FastAPI, SQLAlchemy and runs the migrations


def free_port() -> int:
    """A port the kernel just handed out; a clash with another process is retried by ``Server.start``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_command(*args: str) -> list[str]:
    """The ``assay`` command line run by this interpreter (the installed script may not be on PATH)."""
    return [sys.executable, "-m", "assay.cli.main", *args]


def cli_env(data_dir: Path) -> dict[str, str]:
    # Only the flags the test passes may configure the server, never the developer's own ASSAY_* settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env["ASSAY_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    # The servers' job workers refresh quality while the crowd works, as they do in production.
    env["ASSAY_QUALITY_DELAY_S"] = "1"
    return env


class Server:
    """One ``assay serve`` process; it can be started again on the same database after a kill."""

    def __init__(self, database_url: str, workdir: Path, name: str) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.name = name
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}-{self.starts}.log"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def spawn(self) -> None:
        """Start the process without waiting for it (so that several servers boot side by side)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        self.port = free_port()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                cli_command(
                    "serve",
                    "--database-url",
                    self.database_url,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=cli_env(self.workdir / "data"),
                start_new_session=True,  # its own process group, so a kill reaches every child
            )

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode} before it was ready:\n"
                        + self.log_tail()
                    )
                try:
                    if http.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not answer /healthz within {timeout} s:\n{self.log_tail()}")

    def start(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            self.spawn()
            try:
                self.wait_ready()
                return
            except RuntimeError:
                # The port may have been taken between free_port() and bind(); try another one.
                if attempt == attempts - 1 or "address already in use" not in self.log_tail().lower():
                    raise

    def tracebacks(self) -> list[str]:
        """Unhandled errors this server logged, over all of its starts."""
        found = []
        for start in range(1, self.starts + 1):
            path = self.workdir / f"{self.name}-{start}.log"
            text = path.read_text(errors="replace") if path.exists() else ""
            found += [chunk[:3000] for chunk in text.split("Traceback (most recent call last):")[1:]]
        return found

    def _signal_group(self, sig: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown hooks, no flushes, like a power cut of the process."""
        if self.process is None or self.process.poll() is not None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), escalating to SIGKILL if the server hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


Launch = Callable[..., Server]


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    """``launch(url, name=..., wait=True)`` starts a server on ``url``; all are killed at teardown."""
    started: list[Server] = []

    def _launch(database_url: str, *, name: str | None = None, wait: bool = True) -> Server:
        server = Server(database_url, tmp_path, name or f"server{len(started) + 1}")
        started.append(server)
        if wait:
            server.start()
        else:
            server.spawn()
        return server

    try:
        yield _launch
    finally:
        for server in started:
            server.kill()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'assay.db'}"
