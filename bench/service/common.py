"""Shared helpers for the service benchmarks: processes, memory, HTTP polling, annotator loops."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

OVERLAP = 1
TEXTS = ("the parcel arrived late", "great support, thanks", "refund still pending", "app crashes on start")


def item_text(i: int) -> str:
    """A short, deterministic text (both systems import exactly the same strings)."""
    return f"message {i}: {TEXTS[i % len(TEXTS)]}"


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0


def children(pid: int) -> list[int]:
    """The pid and all its descendants (a server may fork workers)."""
    out = [pid]
    for p in list(out):
        try:
            with open(f"/proc/{p}/task/{p}/children") as fh:
                kids = [int(x) for x in fh.read().split()]
        except OSError:
            kids = []
        out.extend(kids)
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of a process tree in MB."""
    return sum(_status_kb(p, "VmRSS") for p in children(pid)) / 1024


def hwm_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of the process itself, in MB."""
    return _status_kb(pid, "VmHWM") / 1024


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process tree (load on the machine does not inflate it)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in children(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def load_average() -> float:
    return os.getloadavg()[0]


class RssSampler:
    """Samples a process tree's RSS every ``interval`` seconds (``peak``); ``cpu``: CPU seconds used inside."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0.0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = rss_mb(self.pid)
        self.cpu = -cpu_s(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.peak = max(self.peak, rss_mb(self.pid))
        self.cpu += cpu_s(self.pid)


def wait_http(url: str, *, started: float, timeout: float, alive: Callable[[], bool]) -> float:
    """Poll ``url`` every 20 ms until it answers 2xx; seconds since ``started``."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(url).is_success:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if not alive():
                raise RuntimeError(f"the server behind {url} exited before answering")
            time.sleep(0.02)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class AnnotatorLog:
    """What one annotator saw: items handed out, items answered, latencies, errors."""

    handed: list[int] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    exhausted: bool = False


# lease(client) -> (item id, handle) or None when nothing is left; answer(client, handle) -> ok
Lease = Callable[[httpx.Client], "tuple[int, Any] | None"]
Answer = Callable[[httpx.Client, Any], bool]


def annotate_loop(
    client: httpx.Client, *, lease: Lease, answer: Answer, count: int, deadline: float
) -> AnnotatorLog:
    """Lease and answer up to ``count`` items, stopping at ``deadline`` (monotonic) or when empty."""
    log = AnnotatorLog()
    for _ in range(count):
        if time.monotonic() >= deadline:
            break
        t0 = time.perf_counter()
        try:
            got = lease(client)
        except (httpx.HTTPError, RuntimeError) as exc:
            log.errors[f"next: {type(exc).__name__}: {str(exc)[:80]}"] += 1
            continue
        t1 = time.perf_counter()
        log.next_ms.append((t1 - t0) * 1000)
        if got is None:
            log.exhausted = True
            break
        item_id, handle = got
        log.handed.append(item_id)
        try:
            ok = answer(client, handle)
        except (httpx.HTTPError, RuntimeError) as exc:
            log.errors[f"submit: {type(exc).__name__}: {str(exc)[:80]}"] += 1
            continue
        log.submit_ms.append((time.perf_counter() - t1) * 1000)
        if ok:
            log.answered.append(item_id)
        else:
            log.errors["submit refused"] += 1
    return log


def crowd(
    clients: list[httpx.Client], *, lease: Lease, answer: Answer, seconds: float, per_annotator: int
) -> dict[str, Any]:
    """Run one annotator per client concurrently for ``seconds``; throughput and overlap violations."""
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        logs = list(
            pool.map(
                lambda c: annotate_loop(
                    c, lease=lease, answer=answer, count=per_annotator, deadline=deadline
                ),
                clients,
            )
        )
    wall = time.perf_counter() - started
    answered = Counter(i for log in logs for i in log.answered)
    handed = Counter(i for log in logs for i in log.handed)
    errors: Counter[str] = Counter()
    for log in logs:
        errors.update(log.errors)
    total = sum(answered.values())
    next_ms = [v for log in logs for v in log.next_ms]
    submit_ms = [v for log in logs for v in log.submit_ms]
    return {
        "annotators": len(clients),
        "wall_s": round(wall, 2),
        "answers": total,
        "answers_per_s": round(total / wall, 2),
        "items_answered_more_than_overlap": sum(1 for n in answered.values() if n > OVERLAP),
        "extra_answers_beyond_overlap": sum(n - OVERLAP for n in answered.values() if n > OVERLAP),
        "items_handed_out_more_than_overlap": sum(1 for n in handed.values() if n > OVERLAP),
        "next_p50_ms": round(percentile(next_ms, 50), 1),
        "next_p99_ms": round(percentile(next_ms, 99), 1),
        "submit_p50_ms": round(percentile(submit_ms, 50), 1),
        "submit_p99_ms": round(percentile(submit_ms, 99), 1),
        "errors": dict(errors.most_common(5)),
        "exhausted": any(log.exhausted for log in logs),
    }


def single(client: httpx.Client, *, lease: Lease, answer: Answer, count: int, warmup: int) -> dict[str, Any]:
    """One annotator, ``count`` next+submit pairs after ``warmup`` unmeasured ones; p50/p99 each."""
    far = time.monotonic() + 600
    annotate_loop(client, lease=lease, answer=answer, count=warmup, deadline=far)
    log = annotate_loop(client, lease=lease, answer=answer, count=count, deadline=far)
    return {
        "pairs": len(log.submit_ms),
        "next_p50_ms": round(percentile(log.next_ms, 50), 2),
        "next_p99_ms": round(percentile(log.next_ms, 99), 2),
        "submit_p50_ms": round(percentile(log.submit_ms, 50), 2),
        "submit_p99_ms": round(percentile(log.submit_ms, 99), 2),
        "errors": dict(log.errors.most_common(5)),
    }
