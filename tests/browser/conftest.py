"""Browser tests: real Chromium (the Debian package) driving a real ``assay serve`` process.

Fixtures:
- ``live`` (session): a database seeded with the demo, known passwords, and ``assay serve`` on a free
  port in a subprocess; yields a ``Live`` with ``url``, ``data_dir``, ``database_url`` and ``logins``.
- ``browser`` (session): headless Chromium from /usr/bin/chromium (never a downloaded browser).
- ``page``: a fresh browser context per test (its own cookies), ``base_url`` set to the server.
- ``login(page, email, password)``: sign in through the login form.

Without /usr/bin/chromium or Playwright the tests skip with a one-line notice, except in CI
(CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from assay.app import Assay
from assay.demo import content
from assay.demo.seed import seed
from assay.settings import Config
from assay.workflows import admin

CHROMIUM = os.environ.get("ASSAY_TEST_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "browser-test-password"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 60.0


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; never download its browsers)"
    return None


def _require_browser() -> None:
    reason = _missing()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"browser tests are required in CI: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    role: str
    workforce: str | None


@dataclass
class Live:
    url: str
    data_dir: Path
    database_url: str
    secret_key: str
    logins: dict[str, Login] = field(default_factory=dict)  # by email, and "owner"/"manager"/… → first

    def hub(self) -> Assay:
        """An in-process hub on the server's database (for arranging data a test needs)."""
        return Assay(Config(data_dir=self.data_dir, secret_key=self.secret_key), rng=random.Random(7))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(data_dir: Path, secret: str) -> dict[str, Login]:
    with Assay(Config(data_dir=data_dir, secret_key=secret), rng=random.Random(20261127)) as hub:
        hub.migrate()
        seed(hub)
        logins: dict[str, Login] = {}
        for person in content.DEMO_PEOPLE:
            admin.create_user(
                hub,
                org=content.DEMO_ORG_SLUG,
                email=person.email,
                role=person.role,
                workforce=person.workforce,
                workforce_kind=person.workforce_kind or "in_house",
                password=PASSWORD,
            )
            login = Login(person.email, PASSWORD, person.role, person.workforce)
            logins[person.email] = login
            logins.setdefault(person.role, login)
    return logins


@contextmanager
def serving(data_dir: Path, secret: str, logins: dict[str, Login], **env_extra: str) -> Iterator[Live]:
    """``assay serve`` on a free port over ``data_dir``, with ``env_extra`` as further settings
    (``ASSAY_MODEL_HOSTS=...``); stopped when the block ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env.update(ASSAY_DATA_DIR=str(data_dir), ASSAY_SECRET_KEY=secret, PYTHONUNBUFFERED="1")
    env.update(env_extra)
    port = _free_port()
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "assay.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"assay serve exited: {(data_dir / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("assay serve did not answer /healthz in time")
            time.sleep(0.1)
        yield Live(url, data_dir, f"sqlite:///{data_dir / 'assay.db'}", secret, logins)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def seeded_server(data_dir: Path, **env_extra: str) -> AbstractContextManager[Live]:
    """A fresh demo database in ``data_dir`` and ``assay serve`` over it."""
    secret = secrets.token_hex(32)
    logins = _seed(data_dir, secret)
    return serving(data_dir, secret, logins, **env_extra)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _require_browser()
    with seeded_server(tmp_path_factory.mktemp("browser-data")) as server:
        yield server


@pytest.fixture(scope="package")
def browser(live: Live) -> Iterator[Any]:
    # Package scope, not session: while Playwright's sync API is open it marks its event loop as
    # running on the main thread, and every later test would then believe it runs inside a loop.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def login(page: Any, email: str, password: str) -> None:
    """Sign in through the form and wait until the browser has left /login."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
