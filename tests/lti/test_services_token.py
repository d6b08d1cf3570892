"""Client-credentials tokens for the platform's services, checked by the platform library itself."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from lms.core.db import utc_now
from lms.lti.services_token import (
    SCOPE_NRPS,
    SCOPE_SCORE,
    TokenCache,
    TokenEndpoint,
    TokenRefused,
    client_assertion,
    request_token,
)
from tests.lti.services_platform import CLIENT_ID, ISSUER, ServicePlatform, tool_key_and_jwks


@pytest.fixture
def platform() -> ServicePlatform:
    return ServicePlatform()


def test_the_platform_grants_a_token_for_a_signed_assertion(platform: ServicePlatform) -> None:
    key, jwks = tool_key_and_jwks()
    platform.tool_jwks = jwks
    endpoint = TokenEndpoint(token_url=platform.token_url, client_id=CLIENT_ID)
    with TestClient(platform.app) as client:
        token = request_token(
            client, endpoint=endpoint, key=key, scopes=[SCOPE_SCORE, SCOPE_NRPS], now=utc_now()
        )
    claims = jwt.decode(token.token, platform.public_pem, algorithms=["RS256"])
    assert claims["iss"] == ISSUER and claims["sub"] == CLIENT_ID
    assert set(claims["scopes"].split()) == {SCOPE_SCORE, SCOPE_NRPS}
    assert token.scopes == {SCOPE_SCORE, SCOPE_NRPS}
    assert token.expires_at > utc_now() + timedelta(minutes=50)


def test_the_assertion_names_the_tool_and_the_token_endpoint() -> None:
    key, _ = tool_key_and_jwks()
    endpoint = TokenEndpoint(token_url="https://portal.test/token", client_id=CLIENT_ID)
    now = utc_now()
    text = client_assertion(endpoint=endpoint, key=key, now=now)
    assert jwt.get_unverified_header(text)["kid"] == "tool-1"
    claims = jwt.decode(text, options={"verify_signature": False})
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == "https://portal.test/token"
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert (
        claims["jti"]
        != jwt.decode(
            client_assertion(endpoint=endpoint, key=key, now=now), options={"verify_signature": False}
        )["jti"]
    )


def test_an_assertion_signed_by_another_key_is_refused(platform: ServicePlatform) -> None:
    _, jwks = tool_key_and_jwks()
    stranger, _ = tool_key_and_jwks()  # same kid, different key: the signature does not verify
    platform.tool_jwks = jwks
    endpoint = TokenEndpoint(token_url=platform.token_url, client_id=CLIENT_ID)
    with TestClient(platform.app) as client, pytest.raises(TokenRefused) as refused:
        request_token(client, endpoint=endpoint, key=stranger, scopes=[SCOPE_SCORE], now=utc_now())
    assert "401" in refused.value.message


def test_tokens_are_cached_until_shortly_before_expiry(platform: ServicePlatform) -> None:
    key, jwks = tool_key_and_jwks()
    platform.tool_jwks = jwks
    endpoint = TokenEndpoint(token_url=platform.token_url, client_id=CLIENT_ID)
    cache = TokenCache()
    now = utc_now()
    with TestClient(platform.app) as client:
        first = cache.get(client, endpoint=endpoint, key=key, scopes=[SCOPE_SCORE], now=now)
        again = cache.get(
            client, endpoint=endpoint, key=key, scopes=[SCOPE_SCORE], now=now + timedelta(minutes=30)
        )
        assert again == first and platform.token_requests == 1
        cache.get(client, endpoint=endpoint, key=key, scopes=[SCOPE_NRPS], now=now)  # other scopes: own token
        assert platform.token_requests == 2
        cache.get(
            client,
            endpoint=endpoint,
            key=key,
            scopes=[SCOPE_SCORE],
            now=now + timedelta(minutes=59, seconds=45),
        )
        assert platform.token_requests == 3  # within the margin of its expiry: fetched anew
        cache.forget(endpoint)
        cache.get(client, endpoint=endpoint, key=key, scopes=[SCOPE_SCORE], now=now)
        assert platform.token_requests == 4


def test_a_refused_token_is_not_cached(platform: ServicePlatform) -> None:
    key, jwks = tool_key_and_jwks()
    platform.tool_jwks = jwks
    platform.refuse_tokens = True
    endpoint = TokenEndpoint(token_url=platform.token_url, client_id=CLIENT_ID)
    cache = TokenCache()
    with TestClient(platform.app) as client:
        with pytest.raises(TokenRefused):
            cache.get(client, endpoint=endpoint, key=key, scopes=[SCOPE_SCORE])
        platform.refuse_tokens = False
        assert cache.get(client, endpoint=endpoint, key=key, scopes=[SCOPE_SCORE])
    assert platform.token_requests == 2
