"""Secrets at rest (a model connection's API key): sealed with AES-256-GCM under a key derived from
the server's secret key (``assay.keys``), bound to the organisation that owns them.

The derived key is HKDF-SHA256 of the secret key with a purpose label, so the key that signs session
cookies is never itself used to encrypt.  The organisation's id is the associated data: a sealed value
copied into another organisation's row (by someone with write access to the database) no longer
opens.  A sealed value reads ``v1:`` + base64(nonce || ciphertext+tag); the plaintext never leaves
this module except to the caller that opens it to make one request.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from assay.errors import Unavailable

VERSION = "v1"
_NONCE = 12
_PURPOSE = b"assay: sealed secrets at rest, v1"


class Unsealable(Exception):
    """A sealed value that does not open: another secret key, another organisation, or tampered."""


def _cipher(secret_key: str | None) -> AESGCM:
    if not secret_key:
        raise Unavailable(
            "this server has no secret key to seal API keys with: set ASSAY_SECRET_KEY or "
            "ASSAY_SECRET_KEY_FILE (the embedded database makes one on first start)"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret_key.encode("utf-8")
    )
    return AESGCM(derived)


def _aad(org_id: int) -> bytes:
    return f"org:{int(org_id)}".encode()


def seal(secret: str, *, secret_key: str | None, org_id: int) -> str:
    """``secret`` encrypted for ``org_id`` (a new random nonce each time)."""
    nonce = os.urandom(_NONCE)
    body = _cipher(secret_key).encrypt(nonce, secret.encode("utf-8"), _aad(org_id))
    return f"{VERSION}:" + base64.urlsafe_b64encode(nonce + body).decode("ascii")


def unseal(sealed: str, *, secret_key: str | None, org_id: int) -> str:
    """The secret, or ``Unsealable`` (never the sealed text in the message)."""
    version, _, text = sealed.partition(":")
    if version != VERSION or not text:
        raise Unsealable("not a sealed value of this version")
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
        plain = _cipher(secret_key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(org_id))
    except (InvalidTag, ValueError) as exc:
        raise Unsealable(
            "the stored API key does not open with this server's secret key (was ASSAY_SECRET_KEY changed?)"
        ) from exc
    return plain.decode("utf-8")
