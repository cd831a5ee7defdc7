"""Secrets: API tokens and passwords.

Tokens carry 256 random bits, so a plain SHA-256 is the right hash at rest (fast lookups, nothing to
brute-force); passwords are low-entropy and get argon2id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "assay_"
_hasher = PasswordHasher()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_display_prefix(token: str) -> str:
    return token[: len(TOKEN_PREFIX) + 6]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        # Spend the same time as a real check so that unknown accounts are not revealed by timing.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    return secrets.token_urlsafe(12)


MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a bound keeps a sign-in from hashing megabytes


def check_password(password: str) -> str:
    """The one password rule, for every front door: 8 to 1024 characters, not only spaces."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValueError(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if not password.strip() or "\x00" in password:
        raise ValueError("a password cannot be only spaces or hold a NUL character")
    return password


def new_link_token() -> str:
    """The secret of a one-time link (an invitation or a password reset): 256 random bits."""
    return secrets.token_urlsafe(32)


def fingerprint(secret_hash: str | None) -> str:
    """A short stand-in for a stored credential, kept in a session to notice that it changed."""
    return hashlib.sha256((secret_hash or "").encode()).hexdigest()[:32]


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
