"""Encryption at rest of the TOTP secrets (so a database backup does not carry everyone's second factor).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with a key derived from ``GIGA_SECRET_KEY``:
``key = urlsafe_b64encode(HKDF-SHA256(secret_key, length=32, salt=None, info=INFO))``.  A Fernet token
always starts with ``gAAAAA`` (version byte 0x80 and a 64-bit timestamp), which no base32 secret can
(uppercase A-Z and 2-7 only): that is how a legacy plaintext value, written before encryption, is told
apart from a token.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"giga-totp-secret"
TOKEN_PREFIX = "gAAAAA"
_BASE32 = re.compile(r"[A-Z2-7]+=*")

log = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _fernet(secret_key: str, info: bytes = INFO) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


@dataclass(frozen=True)
class Opened:
    """What a stored value held: the secret (None when unusable) and whether it was legacy plaintext."""

    secret: str | None
    legacy: bool = False


def seal(secret: str, *, secret_key: str, info: bytes = INFO) -> str:
    """The Fernet token (text, about 140 characters for a 32-character secret) to store for ``secret``.

    ``info`` separates the keys of different uses (the LTI tool key has its own) under one
    ``GIGA_SECRET_KEY``.
    """
    return _fernet(secret_key, info).encrypt(secret.encode()).decode("ascii")


def unseal(stored: str, *, secret_key: str, info: bytes) -> str | None:
    """The secret sealed with ``info``; None when it does not decrypt (``GIGA_SECRET_KEY`` changed)."""
    try:
        return _fernet(secret_key, info).decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        return None


def is_sealed(stored: str) -> bool:
    return stored.startswith(TOKEN_PREFIX)


def open_stored(stored: str, *, secret_key: str) -> Opened:
    """Decrypt a stored value; a legacy base32 plaintext is returned as it is (``legacy=True``).

    A token that does not decrypt (``GIGA_SECRET_KEY`` changed since enrolment) or a value that is neither
    gives ``Opened(None)`` and a warning in the log: the check fails, it does not crash.
    """
    if is_sealed(stored):
        try:
            return Opened(_fernet(secret_key).decrypt(stored.encode("ascii")).decode())
        except (InvalidToken, UnicodeError):
            log.warning(
                "a stored TOTP secret cannot be decrypted with the current GIGA_SECRET_KEY "
                "(was the key changed?); the second-factor check fails until an administrator resets it"
            )
            return Opened(None)
    if _BASE32.fullmatch(stored):
        return Opened(stored, legacy=True)
    log.warning("a stored TOTP secret is neither a Fernet token nor a base32 secret; the check fails")
    return Opened(None)
