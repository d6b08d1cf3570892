"""Optional OpenID Connect sign-in (Google Workspace, Microsoft 365), authorization code flow with PKCE.

Disabled unless ``GIGA_OIDC_ISSUER`` and ``GIGA_OIDC_CLIENT_ID`` are set. The id_token is verified against
the provider's JWKS (signature, issuer, audience, expiry, nonce) with joserfc (authlib's JOSE library);
the user is matched to a roster account by the ``email`` claim or by a ``userMasterIdentifier`` claim.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import func
from sqlmodel import Session, select

from lms.auth import messages as msg
from lms.core.errors import InvalidInput, Unauthorized
from lms.core.settings import OidcSettings
from lms.roster.models import User

STATE_COOKIE = "giga_oidc"
STATE_MAX_AGE_SECONDS = 600


@dataclass(frozen=True)
class PendingLogin:
    state: str
    nonce: str
    verifier: str
    next_path: str


class OidcClient:
    """Talks to one provider; ``transport`` lets tests route HTTP to an in-process fake provider."""

    def __init__(self, config: OidcSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.transport = transport
        self._metadata: dict[str, Any] | None = None

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=10.0)

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            async with self._http() as http:
                response = await http.get(url)
                response.raise_for_status()
                self._metadata = dict(response.json())
        return self._metadata

    async def authorization_url(self, *, redirect_uri: str, next_path: str) -> tuple[str, PendingLogin]:
        meta = await self.metadata()
        pending = PendingLogin(
            state=generate_token(32),
            nonce=generate_token(32),
            verifier=generate_token(64),
            next_path=next_path,
        )
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.config.scope,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": create_s256_code_challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
        return meta["authorization_endpoint"] + "?" + urlencode(params), pending

    async def exchange(self, *, code: str, redirect_uri: str, pending: PendingLogin) -> dict[str, Any]:
        """Trade the code for tokens and return the verified id_token claims."""
        meta = await self.metadata()
        async with self._http() as http:
            response = await http.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": self.config.client_id,
                    "client_secret": self.config.client_secret,
                    "code_verifier": pending.verifier,
                },
            )
            if response.status_code != 200:
                raise Unauthorized(msg.OIDC_FAILED)
            id_token = response.json().get("id_token")
            keys_response = await http.get(meta["jwks_uri"])
            keys_response.raise_for_status()
        if not id_token:
            raise Unauthorized(msg.OIDC_NO_ID_TOKEN)
        keys = KeySet.import_key_set(keys_response.json())
        try:
            token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256"])
            JWTClaimsRegistry(
                now=int(time.time()),
                leeway=60,
                iss={"essential": True, "value": meta.get("issuer", self.config.issuer)},
                aud={"essential": True, "value": self.config.client_id},
                exp={"essential": True},
                sub={"essential": True},
                nonce={"essential": True, "value": pending.nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as error:
            raise Unauthorized(msg.OIDC_CHECK_FAILED) from error
        return dict(token.claims)


def pack_state(pending: PendingLogin, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt="oidc").dumps(pending.__dict__)


def unpack_state(value: str | None, secret_key: str) -> PendingLogin:
    if not value:
        raise InvalidInput(msg.OIDC_FLOW_NOT_FOUND)
    try:
        data = URLSafeTimedSerializer(secret_key, salt="oidc").loads(value, max_age=STATE_MAX_AGE_SECONDS)
    except BadSignature as error:
        raise InvalidInput(msg.OIDC_FLOW_EXPIRED) from error
    return PendingLogin(**data)


def match_user(*, session: Session, claims: dict[str, Any], claim: str) -> User | None:
    """The roster user the provider's claims name (email, case-insensitive; or userMasterIdentifier)."""
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        return None
    if claim == "email":
        if claims.get("email_verified") is False:
            return None
        query = select(User).where(func.lower(User.email) == value.strip().lower())
    else:
        query = select(User).where(func.lower(User.user_master_identifier) == value.strip().lower())
    users = list(session.exec(query))
    if len(users) != 1:  # none, or ambiguous: refuse rather than guess
        return None
    user = users[0]
    if not user.enabled or user.status != "active":
        return None
    return user
