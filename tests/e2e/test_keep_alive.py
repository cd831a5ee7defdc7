"""A real ``assay serve`` keeps an idle connection open longer than the proxies in front of it do.

A server that drops idle connections first (uvicorn's default is 5 s) races the proxy's next request
on the same connection, which then fails with "connection reset" (a 502 for the user).
"""

from __future__ import annotations

import socket
import time

import pytest

from assay.web.server import KEEP_ALIVE_S
from tests.e2e.conftest import Launch

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"


def _exchange(sock: socket.socket) -> bytes:
    sock.sendall(REQUEST)
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = sock.recv(4096)
        assert chunk, f"the server closed the connection; got so far: {got!r}"
        got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head.split(b"\r\n", 1)[0]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_an_idle_connection_outlives_uvicorns_default(launch: Launch, sqlite_url: str) -> None:
    assert KEEP_ALIVE_S > 60  # longer than the usual proxy idle timeout
    server = launch(sqlite_url)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        assert _exchange(sock) == b"HTTP/1.1 200 OK"
        time.sleep(7)  # past uvicorn's default of 5 s
        assert _exchange(sock) == b"HTTP/1.1 200 OK"
