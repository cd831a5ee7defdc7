"""The model caller against real HTTP servers: a scripted one (stdlib ``http.server``) for the
failures a model server can have, and the real model for a streamed answer."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assay.llm.client import MAX_BODY, Caller, Endpoint, ModelError, check_params

OK = {
    "choices": [{"message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 11, "completion_tokens": 3},
}


class Scripted:
    """Answers each POST with the next (status, headers, body) of its script; records requests."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                owner.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                owner.times.append(time.monotonic())
                status, headers, body = (
                    owner.script.pop(0) if owner.script else (200, {}, json.dumps(OK).encode())
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(
            name="m", base_url=f"http://127.0.0.1:{self.port}/v1", model="x", api_key="sk-test-1234567890"
        )


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _call(
    endpoint: Endpoint, *, retries: int = 3, hosts: tuple[str, ...] = ("127.0.0.1",), **params: Any
) -> Any:
    async def go() -> Any:
        async with Caller(
            allowed_hosts=hosts, timeout_s=5, retries=retries, concurrency=2, backoff_s=0.01
        ) as caller:
            return await caller.complete(endpoint, [{"role": "user", "content": "hi"}], params=params)

    return asyncio.run(go())


def test_a_plain_answer_carries_usage_cost_and_the_sent_parameters(scripted: Scripted) -> None:
    endpoint = Endpoint(
        name="m",
        base_url=scripted.endpoint.base_url,
        model="x",
        api_key="sk-test-1234567890",
        params={"temperature": 0.3, "concurrency": 1},
        price_in=2.0,
        price_out=4.0,
    )
    got = _call(endpoint, max_tokens=5)
    assert (got.content, got.tokens_in, got.tokens_out, got.finish_reason) == ("fine", 11, 3, "stop")
    assert got.cost == pytest.approx((11 * 2 + 3 * 4) / 1e6)
    sent = scripted.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert {k.lower(): v for k, v in sent["headers"].items()}["authorization"] == "Bearer sk-test-1234567890"
    assert sent["body"] == {
        "model": "x",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.3,
        "max_tokens": 5,
    }


def test_429_and_5xx_are_retried_with_backoff_honouring_retry_after(scripted: Scripted) -> None:
    scripted.script = [
        (429, {"Retry-After": "0.3"}, b"slow down"),
        (503, {}, b"busy"),
        (500, {}, b"oops"),
    ]
    got = _call(scripted.endpoint)
    assert got.content == "fine" and len(scripted.requests) == 4
    assert scripted.times[1] - scripted.times[0] >= 0.29  # Retry-After was waited out


def test_retries_run_out_with_a_clear_message(scripted: Scripted) -> None:
    scripted.script = [(503, {}, b"")] * 3
    with pytest.raises(ModelError, match=r"busy or failing \(HTTP 503\)") as caught:
        _call(scripted.endpoint, retries=2)
    assert caught.value.retryable and len(scripted.requests) == 3


@pytest.mark.parametrize(
    ("status", "headers", "body", "message"),
    [
        (200, {}, b"<html>not json</html>", "not JSON"),
        (200, {}, b'{"choices": []}', "without choices"),
        (200, {}, b'{"choices": [{"message": {"content": 7}}]}', "without choices"),
        (400, {}, b'{"error": "bad"}', r"refused the request \(HTTP 400\)"),
        (401, {}, b"", r"HTTP 401"),
        (302, {"Location": "http://169.254.169.254/latest"}, b"", "redirects are not followed"),
    ],
)
def test_garbage_refusals_and_redirects_are_errors_never_retried(
    scripted: Scripted, status: int, headers: dict[str, str], body: bytes, message: str
) -> None:
    scripted.script = [(status, headers, body)]
    with pytest.raises(ModelError, match=message) as caught:
        _call(scripted.endpoint)
    assert len(scripted.requests) == 1
    assert "sk-test" not in caught.value.message


def test_an_answer_beyond_the_size_bound_is_refused(scripted: Scripted) -> None:
    scripted.script = [(200, {}, b" " * (MAX_BODY + 10))]
    with pytest.raises(ModelError, match="more than"):
        _call(scripted.endpoint)


def test_a_host_taken_off_the_list_is_not_called_any_more(scripted: Scripted) -> None:
    with pytest.raises(ModelError, match="not among the hosts"):
        _call(scripted.endpoint, hosts=("api.example.com",))
    assert scripted.requests == []


def test_a_connection_never_has_more_calls_in_flight_than_its_concurrency(scripted: Scripted) -> None:
    endpoint = Endpoint(name="m", base_url=scripted.endpoint.base_url, model="x", params={"concurrency": 1})
    active = {"now": 0, "max": 0}
    lock = threading.Lock()
    original = scripted.server.RequestHandlerClass.do_POST  # type: ignore[attr-defined]

    def slow(handler: Any) -> None:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        original(handler)

    scripted.server.RequestHandlerClass.do_POST = slow  # type: ignore[attr-defined]

    async def go() -> None:
        async with Caller(allowed_hosts=("127.0.0.1",), timeout_s=5, retries=0, concurrency=4) as caller:
            await asyncio.gather(
                *(caller.complete(endpoint, [{"role": "user", "content": "hi"}]) for _ in range(5))
            )

    asyncio.run(go())
    assert active["max"] == 1 and len(scripted.requests) == 5


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"temperature": "hot"}, "params.temperature"),
        ({"max_tokens": 1.5}, "params.max_tokens"),
        ({"stop": [1]}, "params.stop"),
        ({"concurrency": 1000}, "params.concurrency"),
        ({"tools": []}, "params.tools"),
        ("x", "params must be an object"),
    ],
)
def test_connection_parameters_are_checked(params: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_params(params)


def test_the_real_model_streams_its_answer(model_server: Any) -> None:
    endpoint = Endpoint(
        name="real", base_url=model_server.base_url, model="smollm2", params={"max_tokens": 16}
    )

    async def go() -> list[str]:
        async with Caller(allowed_hosts=("127.0.0.1",), timeout_s=60, retries=0, concurrency=1) as caller:
            return [p async for p in caller.stream(endpoint, [{"role": "user", "content": "Say hello."}])]

    pieces = asyncio.run(go())
    assert len(pieces) >= 2 and "".join(pieces).strip()


def _stream(endpoint: Endpoint) -> tuple[list[str], Any]:
    from assay.llm.client import StreamStats

    async def go() -> tuple[list[str], Any]:
        stats = StreamStats()
        async with Caller(
            allowed_hosts=("127.0.0.1",), timeout_s=5, retries=0, concurrency=2, backoff_s=0.01
        ) as caller:
            pieces = [
                p async for p in caller.stream(endpoint, [{"role": "user", "content": "hi"}], stats=stats)
            ]
        return pieces, stats

    return asyncio.run(go())


def _sse(*events: Any) -> bytes:
    return b"".join(
        b"data: " + (e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n\n" for e in events
    )


def test_a_streamed_answer_reports_its_tokens_and_finish_when_the_server_sends_them(
    scripted: Scripted,
) -> None:
    chunk = {"choices": [{"delta": {"content": "he"}, "finish_reason": None}]}
    last = {"choices": [{"delta": {"content": "llo"}, "finish_reason": "stop"}]}
    usage = {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}
    scripted.script = [(200, {"content-type": "text/event-stream"}, _sse(chunk, last, usage, b"[DONE]"))]
    pieces, stats = _stream(scripted.endpoint)
    assert pieces == ["he", "llo"]
    assert (stats.finish_reason, stats.tokens_in, stats.tokens_out) == ("stop", 5, 2)
    assert scripted.requests[0]["body"]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    "body",
    [_sse(b"{not json"), _sse({"choices": "nope"}), _sse([1, 2])],
)
def test_a_stream_of_garbage_is_an_error(scripted: Scripted, body: bytes) -> None:
    scripted.script = [(200, {"content-type": "text/event-stream"}, body)]
    with pytest.raises(ModelError, match="not a chunk"):
        _stream(scripted.endpoint)


def test_every_caller_checks_certificates_with_one_context_built_once() -> None:
    # A chat turn makes a Caller of its own: building the context (reading the CA bundle) each time
    # was most of assay's own time per turn.  Shared, it still checks certificates and host names.
    from assay.llm.client import tls_context

    async def contexts() -> list[Any]:
        found = []
        for _ in range(2):
            async with Caller(allowed_hosts=(), timeout_s=5, retries=0, concurrency=1) as caller:
                pool = caller._http._transport._pool  # type: ignore[attr-defined]
                found.append(pool._ssl_context)
        return found

    first, second = asyncio.run(contexts())
    assert first is second is tls_context()
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    assert first.get_ca_certs()
