"""Calls to an OpenAI-compatible chat-completions endpoint: bounded, retried, checked.

One ``Caller`` per job (or per chat turn): it keeps one HTTP connection pool and one semaphore per
model connection, so that no connection has more than its concurrency in flight.  Every call
re-checks the URL against the operator's hosts (``assay.llm.hosts``), never follows a redirect,
reads at most ``MAX_BODY`` bytes of an answer, and retries what is worth retrying (429, 5xx,
timeouts, dropped connections) with exponential backoff that honours ``Retry-After``.  Whatever
goes wrong ends as a ``ModelError`` whose message an annotator or a manager can act on; it never
holds the API key.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import ssl
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from assay.llm import hosts

MAX_BODY = 8 * 1024 * 1024  # an answer larger than this is garbage, not a response
MAX_BACKOFF_S = 30.0
#: Parameters a connection (or a call) may pass on to the model, with their types.
PARAMS: Mapping[str, tuple[type, ...]] = {
    "temperature": (int, float),
    "top_p": (int, float),
    "max_tokens": (int,),
    "seed": (int,),
    "stop": (str, list),
    "presence_penalty": (int, float),
    "frequency_penalty": (int, float),
}
#: Our own knobs in ``params``, never sent to the model.
OWN = ("concurrency",)


@dataclass(frozen=True)
class Endpoint:
    """A model connection as a call needs it (the key already unsealed, held only in memory)."""

    name: str
    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    params: Mapping[str, Any] = field(default_factory=dict)
    price_in: float | None = None
    price_out: float | None = None

    def sent_params(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        merged = {**self.params, **(extra or {})}
        return {k: v for k, v in merged.items() if k in PARAMS}

    def cost(self, tokens_in: int | None, tokens_out: int | None) -> float | None:
        """What the call cost at the connection's prices per million tokens (None without prices)."""
        if self.price_in is None and self.price_out is None:
            return None
        total = (tokens_in or 0) * (self.price_in or 0.0) + (tokens_out or 0) * (self.price_out or 0.0)
        return round(total / 1_000_000, 8)


@dataclass(frozen=True)
class Completion:
    content: str
    latency_ms: int
    tokens_in: int | None
    tokens_out: int | None
    cost: float | None
    finish_reason: str | None
    params: dict[str, Any]


@dataclass
class StreamStats:
    """What a streamed response reported besides its text (when the server sends it)."""

    finish_reason: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    params: dict[str, Any] = field(default_factory=dict)


class ModelError(Exception):
    """A call that did not give a response; ``message`` is safe to show (no key, no body dump)."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, min(float(raw), 60.0))
    except ValueError:
        return None


def _usage(body: Mapping[str, Any]) -> tuple[int | None, int | None]:
    usage = body.get("usage")
    if not isinstance(usage, Mapping):
        return None, None

    def count(key: str) -> int | None:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    return count("prompt_tokens"), count("completion_tokens")


def parse_completion(raw: bytes, *, name: str) -> tuple[str, str | None, int | None, int | None]:
    """(content, finish_reason, tokens in, tokens out) from a chat-completions body, or ModelError."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise ModelError(f"model {name!r} answered with something that is not JSON") from None
    choices = body.get("choices") if isinstance(body, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise ModelError(f"model {name!r} answered without choices[0].message.content")
    finish = first.get("finish_reason") if isinstance(first, dict) else None
    tokens_in, tokens_out = _usage(body)
    return content, finish if isinstance(finish, str) else None, tokens_in, tokens_out


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificate checks of every call (httpx's own: the system's and certifi's authorities,
    host names checked), built once per process.  Building one reads the whole CA bundle, about
    20 ms, which a ``Caller`` made for every chat turn paid each time."""
    return httpx.create_ssl_context(trust_env=False)


class Caller:
    """Makes calls for one job or one chat turn (``async with Caller(...) as caller``)."""

    def __init__(
        self,
        *,
        allowed_hosts: tuple[str, ...],
        timeout_s: float,
        retries: int,
        concurrency: int,
        backoff_s: float = 0.5,
    ) -> None:
        self.allowed_hosts = allowed_hosts
        self.timeout_s = timeout_s
        self.retries = retries
        self.concurrency = concurrency
        self.backoff_s = backoff_s
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._http = httpx.AsyncClient(
            verify=tls_context(),
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            trust_env=False,  # a proxy from the environment would be a host the operator did not list
        )

    async def __aenter__(self) -> Caller:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    def _limit(self, endpoint: Endpoint) -> asyncio.Semaphore:
        found = self._limits.get(endpoint.name)
        if found is None:
            own = endpoint.params.get("concurrency")
            width = self.concurrency
            if isinstance(own, int) and not isinstance(own, bool) and own >= 1:
                width = min(width, own)
            found = self._limits[endpoint.name] = asyncio.Semaphore(width)
        return found

    def _request(
        self, endpoint: Endpoint, messages: Sequence[Mapping[str, str]], params: dict[str, Any], stream: bool
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        try:
            hosts.allowed(endpoint.base_url, self.allowed_hosts)
        except ValueError as exc:
            raise ModelError(f"model {endpoint.name!r}: {exc}") from None
        url = endpoint.base_url.rstrip("/") + "/chat/completions"
        headers = {"content-type": "application/json"}
        if endpoint.api_key:
            headers["authorization"] = f"Bearer {endpoint.api_key}"
        body: dict[str, Any] = {
            "model": endpoint.model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            **params,
        }
        if stream:
            body["stream"] = True
            # The token counts (and so the cost) of a streamed answer come in a last chunk on request.
            body["stream_options"] = {"include_usage": True}
        return url, headers, body

    async def complete(
        self,
        endpoint: Endpoint,
        messages: Sequence[Mapping[str, str]],
        *,
        params: Mapping[str, Any] | None = None,
    ) -> Completion:
        """One response, retried as the settings say; ``ModelError`` when there is none."""
        sent = endpoint.sent_params(params)
        url, headers, body = self._request(endpoint, messages, sent, stream=False)
        attempt = 0
        async with self._limit(endpoint):
            while True:
                started = time.perf_counter()
                try:
                    raw = await self._post(endpoint, url, headers, body)
                    content, finish, tokens_in, tokens_out = parse_completion(raw, name=endpoint.name)
                    latency = round((time.perf_counter() - started) * 1000)
                    return Completion(
                        content=content,
                        latency_ms=latency,
                        tokens_in=tokens_in,
                        tokens_out=tokens_out,
                        cost=endpoint.cost(tokens_in, tokens_out),
                        finish_reason=finish,
                        params=sent,
                    )
                except _Retry as again:
                    if attempt >= self.retries:
                        raise again.error from None
                    delay = again.wait
                    if delay is None:
                        delay = min(MAX_BACKOFF_S, self.backoff_s * 2**attempt) * (0.5 + random.random())
                    attempt += 1
                    await asyncio.sleep(delay)

    async def _post(
        self, endpoint: Endpoint, url: str, headers: dict[str, str], body: dict[str, Any]
    ) -> bytes:
        name = endpoint.name
        try:
            async with self._http.stream("POST", url, headers=headers, json=body) as response:
                if response.is_redirect:
                    raise ModelError(
                        f"model {name!r} answered with a redirect ({response.status_code}); redirects "
                        "are not followed: give the final URL as base_url",
                        status=response.status_code,
                    )
                if response.status_code == 429 or response.status_code >= 500:
                    raise _Retry(
                        ModelError(
                            f"model {name!r} is busy or failing (HTTP {response.status_code})",
                            retryable=True,
                            status=response.status_code,
                        ),
                        _retry_after(response),
                    )
                if response.status_code != 200:
                    raise ModelError(
                        f"model {name!r} refused the request (HTTP {response.status_code})",
                        status=response.status_code,
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_BODY:
                        raise ModelError(f"model {name!r} answered with more than {MAX_BODY} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TimeoutException:
            raise _Retry(
                ModelError(f"model {name!r} did not answer within {self.timeout_s:g} s", retryable=True), None
            ) from None
        except httpx.TransportError as exc:
            raise _Retry(
                ModelError(f"model {name!r} is unreachable ({type(exc).__name__})", retryable=True), None
            ) from None

    async def stream(
        self,
        endpoint: Endpoint,
        messages: Sequence[Mapping[str, str]],
        *,
        params: Mapping[str, Any] | None = None,
        stats: StreamStats | None = None,
    ) -> AsyncIterator[str]:
        """The response's text as the server streams it (server-sent events), piece by piece.  Not
        retried once text has been given out; a failure before that is a ``ModelError``.  ``stats``
        receives the finish reason and the token counts a server reports in its chunks."""
        sent = endpoint.sent_params(params)
        if stats is not None:
            stats.params = sent
        url, headers, body = self._request(endpoint, messages, sent, stream=True)
        async with self._limit(endpoint):
            try:
                async with self._http.stream("POST", url, headers=headers, json=body) as response:
                    if response.status_code != 200:
                        raise ModelError(
                            f"model {endpoint.name!r} refused the request (HTTP {response.status_code})",
                            retryable=response.status_code == 429 or response.status_code >= 500,
                            status=response.status_code,
                        )
                    size = 0
                    async for line in response.aiter_lines():
                        size += len(line)
                        if size > MAX_BODY:
                            raise ModelError(f"model {endpoint.name!r} streamed more than {MAX_BODY} bytes")
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            return
                        try:
                            event = json.loads(data)
                            choices = event.get("choices") or [{}]
                            piece = choices[0].get("delta", {}).get("content")
                            if stats is not None:
                                stats.finish_reason = choices[0].get("finish_reason") or stats.finish_reason
                                if isinstance(event.get("usage"), dict):
                                    stats.tokens_in, stats.tokens_out = _usage(event)
                        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                            raise ModelError(
                                f"model {endpoint.name!r} streamed an event that is not a chunk"
                            ) from None
                        if isinstance(piece, str) and piece:
                            yield piece
            except httpx.TimeoutException:
                raise ModelError(
                    f"model {endpoint.name!r} did not answer within {self.timeout_s:g} s", retryable=True
                ) from None
            except httpx.TransportError as exc:
                raise ModelError(
                    f"model {endpoint.name!r} is unreachable ({type(exc).__name__})", retryable=True
                ) from None


class _Retry(Exception):
    def __init__(self, error: ModelError, wait: float | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.wait = wait


def check_params(value: Any, *, where: str = "params") -> dict[str, Any]:
    """A connection's default parameters: only known keys, each of its type; ValueError naming the key."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be an object")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in OWN:
            if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item <= 256:
                raise ValueError(f"{where}.{key} must be an integer from 1 to 256")
        elif key in PARAMS:
            if isinstance(item, bool) or not isinstance(item, PARAMS[key]):
                raise ValueError(f"{where}.{key} has the wrong type")
            if isinstance(item, list) and not all(isinstance(s, str) for s in item):
                raise ValueError(f"{where}.{key} must be a string or a list of strings")
        else:
            known = ", ".join([*PARAMS, *OWN])
            raise ValueError(f"{where}.{key} is not a parameter assay passes on; use {known}")
        out[str(key)] = item
    return out
