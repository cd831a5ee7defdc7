"""An OpenAI-compatible server that answers at once, for the benchmarks of assay's own overhead.

    .venv/bin/python bench/instant_server.py 8099     # serves http://127.0.0.1:8099/v1

A bare asyncio HTTP/1.1 server (keep-alive, bodies by content-length: what httpx and openai send)
in its own process, so that it does not share the benchmark's interpreter.  ``POST
…/chat/completions`` answers one fixed completion, or the same text as server-sent events when the
request asks for ``"stream": true``; any other request gets the model list.  With ``--delay-ms``
each completion waits that long first (without blocking the other connections).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time

import httpx

TEXT = "A fixed answer from the instant server."


def _response(body: bytes, kind: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\n"
        f"content-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _chunk(delta: dict[str, str], finish: str | None) -> bytes:
    event = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "instant",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(event).encode() + b"\n\n"


ANSWER = _response(
    json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "instant",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": TEXT}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
        }
    ).encode()
)
STREAM = _response(
    _chunk({"role": "assistant", "content": ""}, None)
    + b"".join(_chunk({"content": word + " "}, None) for word in TEXT.split())
    + _chunk({}, "stop")
    + b"data: [DONE]\n\n",
    "text/event-stream",
)
LIST = _response(json.dumps({"object": "list", "data": [{"id": "instant", "object": "model"}]}).encode())


class _Instant(asyncio.Protocol):
    delay_s = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""
        self.queue: asyncio.Queue[bytes] | None = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop >= 0 else None])
            whole = end + 4 + length
            if len(self.buffer) < whole:
                return
            body = self.buffer[end + 4 : whole]
            self.buffer = self.buffer[whole:]
            path = head.split(b" ", 2)[1]
            if not path.endswith(b"/chat/completions"):
                self._send(LIST)
            elif b'"stream":true' in body.replace(b" ", b""):
                self._send(STREAM)
            else:
                self._send(ANSWER)

    def _send(self, answer: bytes) -> None:
        if not self.delay_s:
            self.transport.write(answer)
            return
        if self.queue is None:  # answers keep their order on the connection
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._drain(self.queue))
        self.queue.put_nowait(answer)

    async def _drain(self, queue: asyncio.Queue[bytes]) -> None:
        while not self.transport.is_closing():
            answer = await queue.get()
            await asyncio.sleep(self.delay_s)
            self.transport.write(answer)


def serve(port: int, delay_ms: float = 0.0) -> None:
    _Instant.delay_s = delay_ms / 1000

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Instant, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class InstantServer:
    """The server in a child process on a free port; ``base_url`` ends in ``/v1``."""

    def __init__(self, *, delay_ms: float = 0.0) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        command = [sys.executable, __file__, str(self.port), "--delay-ms", str(delay_ms)]
        self.process = subprocess.Popen(command)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the instant server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    serve(args.port, args.delay_ms)
