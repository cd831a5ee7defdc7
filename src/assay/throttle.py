"""Bounds on what one client can make the server do, in memory, per process.

- ``TokenBuckets``: the JSON API's request rate per caller (``web.ratelimit``).
- ``Throttle.auth_*``: failed authentications per client address.  A caller sending random bearer
  tokens or cookies gets a fresh rate-limit bucket for each value, so the request rate alone never
  stops them; their failures all count against their address, and once it is out of attempts they
  get 429 without a database lookup (and without an audit row each: one row says they were
  throttled).
- ``Throttle.audit``: denial audit rows per client (token, member or address).  Every denial is
  recorded until a client has caused ``audit_burst`` rows; beyond that, at most ``audit_per_s`` a
  second, and the next row written says how many were folded into it (``detail.suppressed``).

Behind a load balancer each process counts its own, which still bounds a client to (processes x
limit).  Memory is bounded: a bucket that has refilled is forgotten (it behaves like a new one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_BUCKETS = 100_000


class TokenBuckets:
    """Buckets by key; thread-safe; memory bounded by forgetting buckets that have refilled."""

    def __init__(self, *, per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_s = per_s
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.per_s)

    def take(self, key: str) -> float:
        """Take one from ``key``'s bucket: 0 when allowed, else seconds until one is."""
        now = self._clock()
        with self._lock:
            tokens = self._level(key, now)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > MAX_BUCKETS:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.per_s if self.per_s > 0 else float("inf")

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may take one (0: now), without taking it."""
        now = self._clock()
        with self._lock:
            tokens = self._level(key, now)
        if tokens >= 1.0:
            return 0.0
        return (1.0 - tokens) / self.per_s if self.per_s > 0 else float("inf")

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled behaves exactly like a new one: dropping it changes nothing.
        self._buckets = {
            k: (t, at) for k, (t, at) in self._buckets.items() if t + (now - at) * self.per_s < self.burst
        }


class Throttle:
    """The per-process limits on refused work (see the module docstring)."""

    def __init__(
        self,
        *,
        auth_burst: int = 30,
        auth_per_s: float = 0.1,
        audit_burst: int = 1000,
        audit_per_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.auth_failures = TokenBuckets(per_s=auth_per_s, burst=auth_burst, clock=clock)
        self.audit_rows = TokenBuckets(per_s=audit_per_s, burst=audit_burst, clock=clock)
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def auth_wait(self, address: str | None) -> float:
        """Seconds this address must wait before another authentication attempt (0: go ahead)."""
        return self.auth_failures.wait(f"a:{address}")

    def auth_failed(self, address: str | None) -> None:
        self.auth_failures.take(f"a:{address}")

    def audit(self, key: str) -> int | None:
        """Whether to write a denial row for this client: None to skip it (counted), else how many
        earlier denials of theirs were skipped and are reported with this one."""
        if self.audit_rows.take(key) > 0:
            with self._lock:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                if len(self._suppressed) > MAX_BUCKETS:
                    self._suppressed.clear()  # bounded memory; the counts are a courtesy
            return None
        with self._lock:
            return self._suppressed.pop(key, 0)
