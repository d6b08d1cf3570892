"""Access tokens for the platform's services (AGS, NRPS): OAuth 2 client credentials with a JWT assertion.

IMS Security Framework 1.0 §4.1: the tool signs a short JWT with its own key (``iss`` = ``sub`` = the
client_id the platform gave it, ``aud`` = the platform's token endpoint, a fresh ``jti``) and POSTs it as
``client_assertion`` with ``grant_type=client_credentials`` and the scopes it needs. The answer is a bearer
token valid ``expires_in`` seconds; `TokenCache` keeps it until shortly before then, so that a batch of
score posts costs one token request, not one each.

Failures are split by what the caller should do: `TokenRefused` (the platform said no: 400/401/403 — a
registration problem an administrator must fix; retrying the same request will not help soon) and
`PlatformUnavailable` (network error, 5xx, an unreadable answer — retry later).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt

from lms.core.db import utc_now

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = timedelta(minutes=5)
EXPIRY_MARGIN = timedelta(seconds=30)  # a token this close to its end is fetched anew

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


class ServiceError(Exception):
    """A platform service call that did not succeed; ``message`` is for logs and the outbox (English)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class TokenRefused(ServiceError):
    """The platform refused the token request (4xx): the registration or the tool key is wrong."""


class PlatformUnavailable(ServiceError):
    """The platform could not be reached or failed (network error, 5xx): retry later."""


@dataclass(frozen=True)
class ToolKey:
    """The tool's signing key as `lms.lti.keys.tool_signing_key` gives it: the ``kid`` and the private key
    (PEM text or a ``cryptography`` key object — anything PyJWT signs RS256 with)."""

    kid: str
    private_key: Any


@dataclass(frozen=True)
class TokenEndpoint:
    """Where and as whom the tool asks for tokens: the platform's token URL and the tool's client_id."""

    token_url: str
    client_id: str
    audience: str | None = None  # some platforms want their issuer as ``aud``; default the token URL


@dataclass(frozen=True)
class AccessToken:
    token: str
    scopes: frozenset[str]
    expires_at: datetime


def client_assertion(*, endpoint: TokenEndpoint, key: ToolKey, now: datetime) -> str:
    """The signed JWT the tool authenticates with (Security Framework §4.1.1)."""
    claims = {
        "iss": endpoint.client_id,
        "sub": endpoint.client_id,
        "aud": endpoint.audience or endpoint.token_url,
        "iat": int(now.timestamp()),
        "exp": int((now + ASSERTION_LIFETIME).timestamp()),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def _describe(response: httpx.Response) -> str:
    body = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code} from {response.request.url}: {body[:300]}"


def request_token(
    client: httpx.Client, *, endpoint: TokenEndpoint, key: ToolKey, scopes: Iterable[str], now: datetime
) -> AccessToken:
    """POST the client-credentials grant; the token, or `TokenRefused` / `PlatformUnavailable`."""
    wanted = sorted(set(scopes))
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion(endpoint=endpoint, key=key, now=now),
        "scope": " ".join(wanted),
    }
    try:
        response = client.post(endpoint.token_url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise PlatformUnavailable(
            f"cannot reach the token endpoint ({type(error).__name__}: {error})"
        ) from error
    if response.status_code >= 500:
        raise PlatformUnavailable(_describe(response))
    if not response.is_success:
        raise TokenRefused(_describe(response))
    try:
        body = response.json()
        token = str(body["access_token"])
        lifetime = int(body.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError) as error:
        raise PlatformUnavailable(f"unreadable token answer: {_describe(response)}") from error
    granted = frozenset(str(body.get("scope") or " ".join(wanted)).split())
    return AccessToken(token=token, scopes=granted, expires_at=now + timedelta(seconds=lifetime))


class TokenCache:
    """Tokens by (token URL, client_id, scopes), reused until `EXPIRY_MARGIN` before they expire.

    One per process (`default_cache`); thread-safe, so the score sender's thread and the request
    handlers can share it. A refused or failed request caches nothing.
    """

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, frozenset[str]], AccessToken] = {}
        self._lock = threading.Lock()

    def get(
        self,
        client: httpx.Client,
        *,
        endpoint: TokenEndpoint,
        key: ToolKey,
        scopes: Iterable[str],
        now: datetime | None = None,
    ) -> str:
        now = now or utc_now()
        wanted = frozenset(scopes)
        slot = (endpoint.token_url, endpoint.client_id, wanted)
        with self._lock:
            cached = self._tokens.get(slot)
            if cached is not None and cached.expires_at - EXPIRY_MARGIN > now:
                return cached.token
        signed_at = utc_now()  # the assertion carries the real time; ``now`` only ages the cache (tests)
        fresh = request_token(client, endpoint=endpoint, key=key, scopes=wanted, now=signed_at)
        fresh = AccessToken(fresh.token, fresh.scopes, now + (fresh.expires_at - signed_at))
        with self._lock:
            self._tokens[slot] = fresh
        return fresh.token

    def clear(self) -> None:
        """Drop every token (tests; a key rotation)."""
        with self._lock:
            self._tokens.clear()

    def forget(self, endpoint: TokenEndpoint) -> None:
        """Drop the endpoint's tokens (after a service answered 401: the token was revoked)."""
        with self._lock:
            for slot in [s for s in self._tokens if s[:2] == (endpoint.token_url, endpoint.client_id)]:
                del self._tokens[slot]


default_cache = TokenCache()
