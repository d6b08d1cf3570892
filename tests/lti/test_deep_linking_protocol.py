"""The deep-linking response JWT as the platform library verifies it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lms.core.db import utc_now
from lms.lti.deep_linking import (
    CLAIM_DL_SETTINGS,
    CLAIM_MESSAGE_TYPE,
    CLAIM_ROLES,
    DeepLinkingClaimsError,
    LineItemRequest,
    ResourceLinkItem,
    is_instructor,
    read_settings,
    resource_id_of,
    response_jwt,
)
from tests.lti.services_platform import CLIENT_ID, DEPLOYMENT_ID, ISSUER, ServicePlatform, tool_key_and_jwks


def request_claims(return_url: str, **settings: Any) -> dict[str, Any]:
    return {
        CLAIM_MESSAGE_TYPE: "LtiDeepLinkingRequest",
        CLAIM_ROLES: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
        CLAIM_DL_SETTINGS: {
            "deep_link_return_url": return_url,
            "accept_types": ["ltiResourceLink"],
            "data": "opaque-42",
            **settings,
        },
    }


def test_the_platform_accepts_the_signed_response_and_creates_the_line_item() -> None:
    platform = ServicePlatform()
    key, jwks = tool_key_and_jwks()
    platform.tool_jwks = jwks
    settings = read_settings(request_claims(platform.deep_link_return_url))
    item = ResourceLinkItem(
        title="読解力テスト（2学期）",
        url="https://tool.test/lti/launch",
        assignment_id=17,
        line_item=LineItemRequest(
            label="読解力テスト（2学期）", score_maximum=1000, resource_id=resource_id_of(17)
        ),
    )
    token = response_jwt(
        settings=settings,
        client_id=CLIENT_ID,
        platform_issuer=ISSUER,
        deployment_id=DEPLOYMENT_ID,
        items=[item],
        key=key,
        now=utc_now(),
    )
    with TestClient(platform.app) as client:
        answer = client.post(settings.return_url, data={"JWT": token})
    assert answer.status_code == 200, answer.text
    [items] = platform.deep_links
    assert items[0]["type"] == "ltiResourceLink"
    assert items[0]["custom"] == {"giga_assignment_id": "17"}
    [line_item] = platform.line_items.values()
    assert line_item["resourceId"] == "giga-assignment-17" and line_item["scoreMaximum"] == 1000


def test_a_response_signed_by_another_key_is_refused_by_the_platform() -> None:
    platform = ServicePlatform()
    _, jwks = tool_key_and_jwks()
    stranger, _ = tool_key_and_jwks()
    platform.tool_jwks = jwks
    settings = read_settings(request_claims(platform.deep_link_return_url))
    token = response_jwt(
        settings=settings,
        client_id=CLIENT_ID,
        platform_issuer=ISSUER,
        deployment_id=DEPLOYMENT_ID,
        items=[ResourceLinkItem(title="x", url="https://tool.test/lti/launch", assignment_id=1)],
        key=stranger,
        now=utc_now(),
    )
    with TestClient(platform.app) as client:
        assert client.post(settings.return_url, data={"JWT": token}).status_code == 400
    assert platform.deep_links == [] and platform.line_items == {}


def test_settings_are_read_and_bad_requests_named() -> None:
    claims = request_claims("https://portal.test/return")
    settings = read_settings(claims)
    assert settings.accepts_resource_link and settings.data == "opaque-42"
    assert is_instructor(claims)
    assert not is_instructor({CLAIM_ROLES: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]})
    with pytest.raises(DeepLinkingClaimsError, match="message_type"):
        read_settings({**claims, CLAIM_MESSAGE_TYPE: "LtiResourceLinkRequest"})
    with pytest.raises(DeepLinkingClaimsError, match="deep_link_return_url"):
        read_settings(request_claims("javascript:alert(1)"))
