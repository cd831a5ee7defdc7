"""Session cookies and CSRF on every form, secrets at start-up, the API rate limit, huge uploads."""

from __future__ import annotations

import dataclasses
import os
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.settings import Config
from assay.web import pages
from assay.web.app import create_app
from assay.web.ratelimit import TokenBuckets
from assay.workflows import projects as project_flows
from tests.factories import TEXT_SCHEMA, make_member, make_org
from tests.web.test_pages import PASSWORD, Site, sign_in, site  # noqa: F401  (site is a fixture)

PAGES = Path(pages.__file__).resolve().parent
TEMPLATES = PAGES.parent / "templates"
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


# --- CSRF -------------------------------------------------------------------------------------------


def test_every_post_form_in_the_templates_carries_the_csrf_token() -> None:
    forms = 0
    for template in sorted(TEMPLATES.glob("*.html")):
        for form in re.findall(r"<form\b[^>]*>.*?</form>", template.read_text(), flags=re.S | re.I):
            if re.search(r'method="post"', form, flags=re.I):
                forms += 1
                assert 'name="csrf_token"' in form, (
                    f"{template.name}: a POST form without its token: {form[:120]}"
                )
    assert forms >= 5  # login, sign out, review, members, tokens at least


def test_every_page_post_route_refuses_a_request_without_the_token(site: Site) -> None:  # noqa: F811
    client = site.client("owner")  # the one role every page POST route admits
    # Every POST route the pages declare (the page modules are the one place they are written).
    posts = sorted(
        {
            path
            for module in PAGES.glob("*.py")
            for path in re.findall(r'@router\.post\("([^"]+)"', module.read_text())
        }
    )
    assert len(posts) >= 4
    for path in posts:
        url = re.sub(r"\{project_id\}", str(site.project_id), path)
        url = re.sub(r"\{[a-z_]+\}", "1", url)
        response = client.post(
            url, data={"email": "x@y.example", "verdict": "accept"}, follow_redirects=False
        )
        # The forms used before a session exists (sign-in, a one-time link) have their own
        # double-submit token: 400; every other form needs the session's: 403.
        expected = 400 if path in ("/login", "/invitations/{token}") else 403
        assert response.status_code == expected, (path, response.status_code, response.text[:200])
        cross = client.post(url, data={"csrf_token": "forged"}, follow_redirects=False)
        assert cross.status_code == expected, (path, cross.status_code)


# --- cookies ----------------------------------------------------------------------------------------


def _session_cookie(client: TestClient, site: Site) -> str:  # noqa: F811
    response = sign_in(client, site.emails["manager"], PASSWORD)
    assert response.status_code == 303
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie" and "assay_session=" in v]
    assert len(cookies) == 1
    return cookies[0].lower()


def test_session_cookie_is_httponly_samesite_and_secure_only_over_tls(site: Site) -> None:  # noqa: F811
    plain = _session_cookie(TestClient(site.app), site)
    assert "httponly" in plain and "samesite=lax" in plain and "secure" not in plain
    tls = _session_cookie(TestClient(site.app, base_url="https://testserver"), site)
    assert "httponly" in tls and "samesite=lax" in tls and "; secure" in tls


def test_forwarded_proto_counts_only_from_a_trusted_proxy(site: Site) -> None:  # noqa: F811
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "secure" not in _session_cookie(TestClient(site.app, headers=forwarded), site)
    site.hub.config = dataclasses.replace(site.hub.config, trusted_proxies=("10.0.0.1",))
    assert "secure" not in _session_cookie(TestClient(site.app, headers=forwarded), site)
    site.hub.config = dataclasses.replace(site.hub.config, trusted_proxies=("testclient",))
    assert "; secure" in _session_cookie(TestClient(site.app, headers=forwarded), site)
    assert "secure" not in _session_cookie(TestClient(site.app, headers={"X-Forwarded-Proto": "http"}), site)


def test_trusted_proxies_setting_is_read_from_the_environment() -> None:
    config = Config.from_env({"ASSAY_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2"})
    assert config.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert Config.from_env({}).trusted_proxies == ()


# --- secrets ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env.update(ASSAY_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def test_serve_refuses_a_placeholder_secret_key(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "assay.cli.main", "serve", "--port", str(_free_port())],
        env=_env(tmp_path, ASSAY_SECRET_KEY="changeme"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ASSAY_SECRET_KEY is a placeholder" in done.stdout + done.stderr
    assert time.monotonic() - started < 30  # refused at start-up, not after serving


@pytest.mark.parametrize("value", ["secret", " CHANGEME ", "short-key"])
def test_placeholder_and_short_keys_are_refused(value: str) -> None:
    with pytest.raises(Exception, match="ASSAY_SECRET_KEY"):
        Config.from_env({"ASSAY_SECRET_KEY": value})


def test_without_a_key_every_page_is_503_and_the_api_works(hub: Assay) -> None:
    assert hub.config.secret_key is None
    member = make_member(hub, make_org(hub), role="manager")
    client = TestClient(create_app(hub), raise_server_exceptions=False)
    for path in ("/login", "/projects", "/members", "/review", "/projects/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 503, path
        assert "ASSAY_SECRET_KEY" in response.text
    assert client.post("/login", data={"email": member.email, "password": "x"}).status_code == 503
    assert client.get("/api/v1/projects", headers=member.headers).status_code == 200


# --- rate limit -------------------------------------------------------------------------------------


def test_token_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    buckets = TokenBuckets(per_s=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # buckets are per caller
    now[0] += 0.5
    assert buckets.take("a") == 0.0
    now[0] += 100.0
    assert [buckets.take("a") for _ in range(4)][:3] == [0.0, 0.0, 0.0]


def test_the_api_answers_429_with_retry_after_per_token(hub: Assay) -> None:
    hub.config = dataclasses.replace(hub.config, rate_limit_per_s=0.5, rate_limit_burst=3)
    org = make_org(hub)
    first, second = make_member(hub, org, role="manager"), make_member(hub, org, role="manager")
    with TestClient(create_app(hub)) as api:
        assert [api.get("/api/v1/projects", headers=first.headers).status_code for _ in range(3)] == [200] * 3
        limited = api.get("/api/v1/projects", headers=first.headers)
        assert limited.status_code == 429
        body = limited.json()
        assert set(body) == {"ok", "error", "errors", "status"} and body["status"] == 429
        assert "too many requests" in body["error"]
        assert int(limited.headers["retry-after"]) >= 1
        assert all(name in limited.headers for name in SECURITY_HEADERS)
        assert api.get("/api/v1/projects", headers=second.headers).status_code == 200
        # Without a token the client address is the caller.
        anonymous = [api.get("/api/v1/projects").status_code for _ in range(4)]
        assert anonymous == [401, 401, 401, 429]
        assert api.get("/healthz").status_code == 200  # only the API is limited


def test_a_zero_rate_turns_the_limit_off(hub: Assay) -> None:
    hub.config = dataclasses.replace(hub.config, rate_limit_per_s=0.0, rate_limit_burst=1)
    member = make_member(hub, make_org(hub), role="manager")
    with TestClient(create_app(hub)) as api:
        assert {api.get("/api/v1/projects", headers=member.headers).status_code for _ in range(30)} == {200}
    with pytest.raises(Exception, match="ASSAY_RATE_LIMIT"):
        Config.from_env({"ASSAY_RATE_LIMIT_PER_S": "-1"})


# --- a 2 GiB upload ---------------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, int, str, int]]:
    """A real `assay serve` on SQLite with one project: (port, project id, manager token, pid)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the server's memory")
    with Assay(Config(data_dir=tmp_path)) as hub:
        hub.migrate()
        org = make_org(hub)
        manager = make_member(hub, org, role="manager")
        project = project_flows.create(hub, manager.actor(hub), name="big", schema=TEXT_SCHEMA, settings={})
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "assay.cli.main", "serve", "--port", str(port)],
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "assay serve exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "assay serve did not start"
            time.sleep(0.1)
        yield port, project.id, manager.token, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def _stream(port: int, path: str, token: str, content_type: str) -> tuple[str, int, float]:
    """Declare 2 GiB, then send 1 MiB chunks until the server answers: (status line, bytes sent, seconds)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {2 * 1024**3}\r\n\r\n"
    ).encode()
    line = b'{"data": {"text": "' + b"x" * 90 + b'"}}\n'
    chunk = line * (1024 * 1024 // len(line))
    sent, started = 0, time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        while sent < 256 * 1024**2:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        reply = sock.recv(4096).decode(errors="replace")
    return reply.split("\r\n", 1)[0], sent, time.monotonic() - started


def test_a_2_gib_upload_is_refused_promptly_without_filling_memory(server: tuple[int, int, str, int]) -> None:
    port, project_id, token, pid = server
    before = _rss_kib(pid)
    for path, kind in (
        (f"/api/v1/projects/{project_id}/items", "application/x-ndjson"),
        ("/api/v1/projects", "application/json"),
    ):
        status, sent, seconds = _stream(port, path, token, kind)
        assert status.startswith("HTTP/1.1 413"), (path, status)
        assert seconds < 10 and sent < 64 * 1024**2, (path, sent, seconds)
    grown_mib = (_rss_kib(pid) - before) / 1024
    assert grown_mib < 64, f"the server grew by {grown_mib:.0f} MiB"
