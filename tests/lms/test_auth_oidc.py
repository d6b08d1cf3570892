"""OpenID Connect sign-in against a fake provider served in-process (discovery, authorize, token, JWKS)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from lms.audit.models import AuditEvent
from lms.auth.oidc import OidcClient
from lms.core.settings import OidcSettings

ISSUER = "https://idp.example.test"
CLIENT_ID = "giga-lms"
CLIENT_SECRET = "s3cret"


class FakeProvider:
    """A minimal OpenID provider: it signs in whoever ``next_claims`` describes."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "alg": "RS256", "use": "sig"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.next_claims: dict[str, Any] = {}
        self.tamper_nonce = False
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    async def discovery(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def authorize(self, request: Request) -> RedirectResponse:
        q = request.query_params
        assert (
            q["client_id"] == CLIENT_ID
            and q["response_type"] == "code"
            and q["code_challenge_method"] == "S256"
        )
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": q["nonce"],
            "challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"],
        }
        return RedirectResponse(q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]}))

    async def token(self, request: Request) -> JSONResponse:
        form = await request.form()
        grant = self.codes.pop(str(form["code"]), None)
        if (
            grant is None
            or form["client_secret"] != CLIENT_SECRET
            or form["redirect_uri"] != grant["redirect_uri"]
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        digest = hashlib.sha256(str(form["code_verifier"]).encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "sub": "subject-1",
            "nonce": "wrong" if self.tamper_nonce else grant["nonce"],
            **self.next_claims,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)
        return JSONResponse({"access_token": "at", "token_type": "Bearer", "id_token": id_token})

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))


@pytest.fixture
def provider(app: Any) -> FakeProvider:
    fake = FakeProvider()
    config = OidcSettings(issuer=ISSUER, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    app.state.oidc = OidcClient(config, transport=httpx.ASGITransport(app=fake.app))
    return fake


def _round_trip(client: Any, provider: FakeProvider) -> Any:
    start = client.get("/login/oidc", follow_redirects=False)
    assert start.status_code == 303
    location = urlparse(start.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == ISSUER
    with TestClient(provider.app, base_url=ISSUER) as idp:
        back = idp.get(f"{location.path}?{location.query}", follow_redirects=False)
    callback = urlparse(back.headers["location"])
    assert callback.path == "/login/oidc/callback"
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def test_sign_in_by_email(client: Any, world: Any, provider: FakeProvider, db_session: Session) -> None:
    assert "学校のアカウント" in client.get("/login").text
    provider.next_claims = {"email": "S-A1@school.example.jp", "email_verified": True}
    response = _round_trip(client, provider)
    assert response.status_code == 303 and response.headers["location"] == "/home"
    assert client.get("/api/v1/me").json()["username"] == "s-a1"
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "auth.login")).one()
    assert event.detail is not None and "oidc" in event.detail


def test_sign_in_by_user_master_identifier(
    client: Any, world: Any, provider: FakeProvider, app: Any, db_session: Session
) -> None:
    user = world.users["t-a1"]
    user.user_master_identifier = "2f1c6a3e-8d1b-4a57-9d3c-6b2a1e0f9c11"
    db_session.add(user)
    db_session.commit()
    app.state.oidc.config = OidcSettings(
        issuer=ISSUER, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, user_claim="userMasterIdentifier"
    )
    provider.next_claims = {"userMasterIdentifier": "2F1C6A3E-8D1B-4A57-9D3C-6B2A1E0F9C11"}
    assert _round_trip(client, provider).headers["location"] == "/home"
    assert client.get("/api/v1/me").json()["username"] == "t-a1"


def test_unknown_account_is_refused_and_audited(
    client: Any, world: Any, provider: FakeProvider, db_session: Session
) -> None:
    provider.next_claims = {"email": "stranger@example.com"}
    response = _round_trip(client, provider)
    assert response.status_code == 403 and "名簿に登録されていません" in response.text
    assert client.get("/api/v1/me").status_code == 401
    assert (
        db_session.exec(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).first()
        is not None
    )


def test_board_account_still_needs_its_second_factor(client: Any, world: Any, provider: FakeProvider) -> None:
    provider.next_claims = {"email": "board@school.example.jp"}
    assert _round_trip(client, provider).headers["location"].startswith("/login/mfa")


def test_wrong_nonce_is_rejected(client: Any, world: Any, provider: FakeProvider) -> None:
    provider.tamper_nonce = True
    provider.next_claims = {"email": "s-a1@school.example.jp"}
    response = _round_trip(client, provider)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get("/api/v1/me").status_code == 401


def test_state_mismatch_is_rejected(client: Any, world: Any, provider: FakeProvider) -> None:
    client.get("/login/oidc", follow_redirects=False)
    response = client.get("/login/oidc/callback?code=abc&state=forged")
    assert response.status_code == 400 and "やりなおして" in response.text


def test_oidc_is_off_without_settings(client: Any, world: Any) -> None:
    assert client.get("/login/oidc").status_code == 404
    assert "学校のアカウント" not in client.get("/login").text
