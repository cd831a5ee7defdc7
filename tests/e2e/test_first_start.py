"""`assay serve` on an empty data directory, with no ASSAY_* variable but the directory: the pages work.

A real server process, as an operator starts it: the organisation and a manager are made with the
CLI, the server makes its secret key on first start, a browser-like client signs in, and after a
restart the same session cookie still works (the key was kept, not made again).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import START_TIMEOUT_S, cli_command, free_port

PASSWORD = "a long enough password"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    return {**env, "ASSAY_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


def _cli(env: dict[str, str], *args: str, input: str | None = None) -> None:
    done = subprocess.run(
        cli_command(*args), env=env, input=input, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def _serving(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            cli_command("serve", "--port", str(port)),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _sign_in(client: httpx.Client, email: str) -> httpx.Response:
    form = client.get("/login")
    assert form.status_code == 200, form.text[:300]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1), "next": "/projects"},
    )


@pytest.mark.slow
def test_serve_on_an_empty_data_dir_serves_the_pages_and_keeps_its_key(tmp_path: Path) -> None:
    data = tmp_path / "assay-data"
    env = _env(data)
    _cli(env, "org", "create", "acme")
    _cli(env, "user", "create", "--org", "acme", "--email", "lead@acme.test", "--role", "manager",
         "--password-stdin", input=PASSWORD + "\n")  # fmt: skip
    assert not (data / "secret_key").exists()  # only the server makes it

    with _serving(env, tmp_path / "first.log") as url, httpx.Client(base_url=url) as browser:
        assert httpx.get(url + "/", follow_redirects=False).status_code == 303  # the pages are on
        signed_in = _sign_in(browser, "lead@acme.test")
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/projects"
        assert browser.get("/projects").status_code == 200
        session = browser.cookies["assay_session"]

    key_file = data / "secret_key"
    key = key_file.read_text().strip()
    assert len(key) == 64 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first_log = (tmp_path / "first.log").read_text()
    assert "event=secret_key.generated" in first_log and f"path={key_file}" in first_log
    assert key not in first_log

    with _serving(env, tmp_path / "second.log") as url:
        again = httpx.get(url + "/projects", cookies={"assay_session": session}, follow_redirects=False)
        assert again.status_code == 200  # the same key signed it: sessions survive a restart
    second_log = (tmp_path / "second.log").read_text()
    assert "event=secret_key.loaded" in second_log and "source=file" in second_log
    assert key not in second_log and key_file.read_text().strip() == key


def test_a_key_file_others_can_read_stops_start_up_before_the_database_is_touched(tmp_path: Path) -> None:
    data = tmp_path / "assay-data"
    data.mkdir()
    (data / "secret_key").write_text("k" * 64 + "\n")
    (data / "secret_key").chmod(0o644)
    done = subprocess.run(
        cli_command("serve", "--port", str(free_port())),
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: the secret key file {data / 'secret_key'} can be read by other users (mode 0644); "
        f"make it owner-only with `chmod 600 {data / 'secret_key'}`"
    )
    assert "k" * 64 not in done.stdout + done.stderr
    assert sorted(p.name for p in data.iterdir()) == ["secret_key"]  # no database made, no key replaced
