"""Random secrets for session cookies and API tokens; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "giga_"


def new_session_secret() -> str:
    """An opaque random session id for the cookie (256 bits)."""
    return secrets.token_urlsafe(32)


def new_api_secret() -> str:
    """A new API token as shown once to its owner: ``giga_`` + 256 random bits."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def sha256_hex(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
