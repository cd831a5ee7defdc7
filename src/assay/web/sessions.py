"""Browser sessions: a signed cookie naming a session that lives in the database.

The cookie carries a random 256-bit token, signed with ``ASSAY_SECRET_KEY`` (itsdangerous); the
database keeps only the token's SHA-256 (``web_sessions``), with the membership it is bound to, its
CSRF token, and a fingerprint of the membership's credential at sign-in.  Every request looks the
session up, so signing out, a password change, deactivating the member or the end of the session's
twelve hours ends it at once for every copy of the cookie, on every ``assay serve`` process.

Login attempts are rate-limited in memory per process: a small window per email and a larger one
per client address.  Behind a load balancer each process counts its own, which still bounds
guessing to (processes x limit) per window.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from assay.app import Assay
from assay.domain.people import Actor
from assay.security import fingerprint, hash_token, same
from assay.storage import people
from assay.storage import sessions as store
from assay.storage.people import now

COOKIE = "assay_session"
MAX_AGE_S = 12 * 3600
SALT = "assay.session.v2"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SecretMissing(RuntimeError):
    """Pages need ASSAY_SECRET_KEY; the API keeps working without it."""


@dataclass(frozen=True)
class Session:
    """A live session: its token's hash, the membership it is bound to, its CSRF token, and the
    other memberships the sign-in proved (membership id, credential fingerprint)."""

    token_hash: str
    membership_id: int
    csrf: str
    proven: tuple[tuple[int, str], ...]


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


def start(
    hub: Assay,
    *,
    membership_id: int,
    proven: Sequence[tuple[int, str]],
    ip: str | None,
    csrf: str | None = None,
) -> tuple[str, Session]:
    """Open a session bound to ``membership_id``; returns (the cookie's value, the session).

    ``proven`` holds (membership id, fingerprint of its credential) for every membership of the
    same person whose password the sign-in matched: switching to one of those re-checks its
    fingerprint instead of asking for the password again.
    """
    token = secrets.token_urlsafe(32)
    csrf = csrf or secrets.token_urlsafe(24)
    at = now()
    token_hash = hash_token(token)
    with hub.db.write() as conn:
        credential = store.credential_of(conn, membership_id=membership_id)
        assert credential is not None  # the caller has just checked it
        store.prune_sessions(conn, membership_id=membership_id, at=at)
        store.insert_session(
            conn,
            values={
                "org_id": int(credential.org_id),
                "membership_id": membership_id,
                "token_hash": token_hash,
                "csrf": csrf,
                "credential": fingerprint(credential.password_hash),
                "proven": [[int(m), str(f)] for m, f in proven],
                "ip": ip,
                "created_at": at,
                "expires_at": at + timedelta(seconds=MAX_AGE_S),
            },
        )
    session = Session(token_hash, membership_id, csrf, tuple((int(m), str(f)) for m, f in proven))
    return _serializer(hub).dumps({"t": token}), session


def _token(hub: Assay, cookie: str | None) -> str | None:
    if not cookie or not pages_enabled(hub):
        return None
    try:
        data = _serializer(hub).loads(cookie, max_age=MAX_AGE_S)
    except BadSignature:  # also covers an expired signature
        return None
    token = data.get("t") if isinstance(data, dict) else None
    return token if isinstance(token, str) and 0 < len(token) <= 100 else None


def resolve(hub: Assay, cookie: str | None, *, ip: str | None) -> tuple[Actor, Session] | None:
    """The live actor behind a session cookie, or None (bad signature, expired, signed out,
    credential changed, membership or user deactivated)."""
    token = _token(hub, cookie)
    if token is None:
        return None
    with hub.db.read() as conn:
        row = store.session_by_token(conn, token_hash=hash_token(token), at=now())
        if row is None or not same(fingerprint(row.password_hash), row.credential):
            return None
        actor = people.actor_for_membership(conn, membership_id=int(row.membership_id))
    if actor is None:
        return None
    proven = tuple((int(m), str(f)) for m, f in (row.proven or []))
    session = Session(row.token_hash, int(row.membership_id), row.csrf, proven)
    return Actor(**{**{n: getattr(actor, n) for n in actor.__slots__}, "ip": ip}), session


def end(hub: Assay, session: Session) -> None:
    """Sign out: the session row goes, so every copy of the cookie stops working."""
    with hub.db.write() as conn:
        store.delete_session(conn, token_hash=session.token_hash)


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


class FormToken:
    """Double-submit token for the forms used before any session exists (sign-in, setting a
    password through a one-time link): a random value in a cookie scoped to the form's path and
    in the form itself; a cross-site page can make the browser send the cookie but cannot read it."""

    def __init__(self, cookie: str, path: str) -> None:
        self.cookie = cookie
        self.path = path

    @staticmethod
    def new() -> str:
        return secrets.token_urlsafe(24)

    def set(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(
            self.cookie,
            token,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=is_https(request),
            path=self.path,
        )

    def ok(self, request: Request, given: str) -> bool:
        cookie = request.cookies.get(self.cookie)
        return bool(cookie) and csrf_ok(cookie or "", given)

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path=self.path)


LOGIN_FORM = FormToken("assay_login", "/login")
LINK_FORM = FormToken("assay_link", "/invitations")


class LoginLimiter:
    """Sliding-window counts of failed attempts per key (an email, a link) and per client address."""

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
