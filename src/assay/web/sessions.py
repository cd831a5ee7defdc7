"""Browser sessions: a signed, stateless cookie checked against the database on every request.

The cookie carries the membership id, the CSRF token, a fingerprint of the password hash and its
issue time, signed with ``ASSAY_SECRET_KEY`` (itsdangerous).  Nothing is stored server-side, so any
number of ``assay serve`` processes share sessions; yet every request re-reads the membership, so
deactivating a member or changing their password ends their sessions at once.

Login attempts are rate-limited in memory per process: a small window per email and a larger one
per client address.  Behind a load balancer each process counts its own, which still bounds
guessing to (processes x limit) per window.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from assay.app import Assay
from assay.domain.people import Actor
from assay.security import same
from assay.storage import sessions as store

COOKIE = "assay_session"
LOGIN_COOKIE = "assay_login"  # double-submit token for the login form, before any session exists
MAX_AGE_S = 12 * 3600
SALT = "assay.session.v1"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SecretMissing(RuntimeError):
    """Pages need ASSAY_SECRET_KEY; the API keeps working without it."""


@dataclass(frozen=True)
class Session:
    membership_id: int
    csrf: str
    password: str  # fingerprint of the password hash at login


def _serializer(hub: Assay) -> URLSafeTimedSerializer:
    key = hub.config.secret_key
    if not key:
        raise SecretMissing(
            "the web pages need a secret key to sign session cookies: set ASSAY_SECRET_KEY to a long "
            "random value (e.g. `openssl rand -hex 32`) and restart `assay serve`"
        )
    return URLSafeTimedSerializer(key, salt=SALT)


def pages_enabled(hub: Assay) -> bool:
    return bool(hub.config.secret_key)


def fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def new_session(*, membership_id: int, password_hash: str | None) -> Session:
    return Session(membership_id, secrets.token_urlsafe(24), fingerprint(password_hash))


def encode(hub: Assay, session: Session) -> str:
    return _serializer(hub).dumps({"m": session.membership_id, "c": session.csrf, "p": session.password})


def decode(hub: Assay, cookie: str | None) -> Session | None:
    if not cookie or not pages_enabled(hub):
        return None
    try:
        data = _serializer(hub).loads(cookie, max_age=MAX_AGE_S)
    except BadSignature:  # also covers an expired signature
        return None
    if not isinstance(data, dict):
        return None
    m, c, p = data.get("m"), data.get("c"), data.get("p")
    if not isinstance(m, int) or not isinstance(c, str) or not isinstance(p, str):
        return None
    return Session(m, c, p)


def resolve(hub: Assay, cookie: str | None, *, ip: str | None) -> tuple[Actor, Session] | None:
    """The live actor behind a session cookie, or None (bad signature, expired, revoked, new password)."""
    session = decode(hub, cookie)
    if session is None:
        return None
    with hub.db.read() as conn:
        found = store.session_actor(conn, membership_id=session.membership_id)
    if found is None:
        return None
    actor, password_hash = found
    if not same(fingerprint(password_hash), session.password):
        return None
    return Actor(**{**{n: getattr(actor, n) for n in actor.__slots__}, "ip": ip}), session


def is_https(request: Request) -> bool:
    """Did the browser reach us over TLS?  Cookies are marked ``Secure`` when it did.

    ``X-Forwarded-Proto`` is believed only from a proxy the operator named in
    ``ASSAY_TRUSTED_PROXIES``: from anyone else it is a header a client may forge.
    """
    if request.url.scheme == "https":
        return True
    hub: Assay = request.app.state.assay
    trusted = hub.config.trusted_proxies
    peer = request.client.host if request.client else None
    if not trusted or ("*" not in trusted and peer not in trusted):
        return False
    forwarded = request.headers.get("x-forwarded-proto", "")
    # A chain of proxies appends: the first value is what the browser used.
    return forwarded.split(",")[0].strip().lower() == "https"


def set_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and same(expected, given or "")


class LoginLimiter:
    """Sliding-window counts of failed logins per email and per client address."""

    def __init__(
        self,
        *,
        per_email: int = 5,
        per_ip: int = 30,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_email = per_email
        self.per_ip = per_ip
        self.window_s = window_s
        self._clock = clock
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def retry_after(self, *, email: str, ip: str | None) -> int:
        """Seconds to wait before another attempt is allowed (0: go ahead)."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key, limit in ((f"e:{email.strip().lower()}", self.per_email), (f"i:{ip}", self.per_ip)):
                q = self._recent(key, now)
                if len(q) >= limit:
                    wait = max(wait, q[0] + self.window_s - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, *, email: str, ip: str | None) -> None:
        now = self._clock()
        with self._lock:
            for key in (f"e:{email.strip().lower()}", f"i:{ip}"):
                self._recent(key, now).append(now)
            if len(self._fails) > 100_000:  # bound memory under a spray of distinct emails
                self._fails = {k: v for k, v in self._fails.items() if v}

    def succeeded(self, *, email: str) -> None:
        with self._lock:
            self._fails.pop(f"e:{email.strip().lower()}", None)
