"""Authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636 S256): issue, exchange, resolve tokens.

Errors of the token endpoint are `OAuthError` (RFC 6749 §5.2 names); the authorize step raises domain errors
because it never redirects to an unverified URI.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from lms.audit.service import record_event
from lms.auth.tokens import sha256_hex
from lms.core.errors import Forbidden, InvalidInput
from lms.oauth_provider import messages as msg
from lms.oauth_provider.models import OAuthAccessToken, OAuthCode
from lms.oauth_provider.settings import OAuthClient, OAuthProviderSettings, registered_clients
from lms.roster.models import User

PKCE_CHALLENGE_LENGTH = 43  # base64url(SHA-256) without padding


class OAuthError(Exception):
    """An RFC 6749 error answer of the token or userinfo endpoint."""

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code


@dataclass(frozen=True)
class AuthorizeRequest:
    client: OAuthClient
    redirect_uri: str
    state: str
    code_challenge: str


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier``: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def validate_authorize(
    *,
    settings: OAuthProviderSettings,
    client_id: str | None,
    redirect_uri: str | None,
    response_type: str | None,
    state: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
) -> AuthorizeRequest:
    """Check an authorization request; errors are shown to the person, never sent to the redirect URI."""
    client = registered_clients(settings).get(client_id or "")
    if client is None:
        raise InvalidInput(msg.UNKNOWN_CLIENT)
    if redirect_uri != client.redirect_uri:
        raise InvalidInput(msg.REDIRECT_URI_MISMATCH)
    if response_type != "code":
        raise InvalidInput(msg.CODE_FLOW_ONLY)
    if not state:
        raise InvalidInput(msg.NO_STATE)
    if code_challenge_method != "S256" or not code_challenge or len(code_challenge) != PKCE_CHALLENGE_LENGTH:
        raise InvalidInput(msg.PKCE_REQUIRED)
    return AuthorizeRequest(client, redirect_uri, state, code_challenge)


def issue_code(
    *,
    session: Session,
    settings: OAuthProviderSettings,
    request: AuthorizeRequest,
    user: User,
    now: datetime,
    allowed: bool,
) -> str:
    """A new single-use code for ``user`` (stored hashed); ``allowed``: may the user use the client."""
    if not allowed:
        raise Forbidden(msg.NOT_IN_NOTEBOOK_CLASS)
    assert user.id is not None
    code = secrets.token_urlsafe(32)
    session.add(
        OAuthCode(
            code_hash=sha256_hex(code),
            client_id=request.client.client_id,
            user_id=user.id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.code_lifetime_seconds),
        )
    )
    session.flush()
    return code


def authenticate_client(
    *, settings: OAuthProviderSettings, client_id: str | None, client_secret: str | None
) -> OAuthClient:
    """The client named by ``client_id`` if its secret matches (constant-time compare)."""
    client = registered_clients(settings).get(client_id or "")
    if client is None or client_secret is None or not client.check_secret(client_secret):
        raise OAuthError("invalid_client", "client authentication failed", status_code=401)
    return client


def exchange_code(
    *,
    session: Session,
    settings: OAuthProviderSettings,
    client: OAuthClient,
    grant_type: str | None,
    code: str | None,
    redirect_uri: str | None,
    code_verifier: str | None,
    now: datetime,
) -> tuple[str, int]:
    """Trade a code for an access token: (token, lifetime in seconds). A reused code revokes its tokens."""
    if grant_type != "authorization_code":
        raise OAuthError("unsupported_grant_type", "only authorization_code is supported")
    if not code or not code_verifier:
        raise OAuthError("invalid_request", "code and code_verifier are required")
    row = session.exec(select(OAuthCode).where(OAuthCode.code_hash == sha256_hex(code))).first()
    if row is None or row.client_id != client.client_id:
        raise OAuthError("invalid_grant", "unknown authorization code")
    if row.used_at is not None:
        # RFC 6749 §4.1.2: a replayed code may mean it leaked; revoke what it produced.
        for issued in session.exec(select(OAuthAccessToken).where(OAuthAccessToken.code_id == row.id)):
            issued.revoked_at = now
            session.add(issued)
        session.flush()
        raise OAuthError("invalid_grant", "authorization code already used")
    row.used_at = now
    session.add(row)
    session.flush()
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "authorization code expired")
    if redirect_uri != row.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
    if not secrets.compare_digest(s256(code_verifier), row.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    token = secrets.token_urlsafe(32)
    lifetime = settings.token_lifetime_seconds
    session.add(
        OAuthAccessToken(
            token_hash=sha256_hex(token),
            client_id=client.client_id,
            user_id=row.user_id,
            code_id=row.id,
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    record_event(
        session=session,
        actor_id=row.user_id,
        action="oauth.token_issued",
        target_type="oauth_client",
        target_id=client.client_id,
    )
    session.flush()
    return token, lifetime


def user_for_token(*, session: Session, token: str | None, now: datetime) -> User:
    """The active user behind a live access token."""
    if not token:
        raise OAuthError("invalid_token", "a bearer access token is required", status_code=401)
    row = session.exec(
        select(OAuthAccessToken).where(OAuthAccessToken.token_hash == sha256_hex(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise OAuthError("invalid_token", "the access token is invalid or expired", status_code=401)
    user = session.get(User, row.user_id)
    if user is None or user.status != "active":
        raise OAuthError("invalid_token", "the account is not active", status_code=401)
    return user
