"""LTI Deep Linking 2.0: read the request's settings, build the signed ``LtiDeepLinkingResponse``.

The platform sends an ``LtiDeepLinkingRequest`` launch with a ``deep_linking_settings`` claim (where to
return, which content types it accepts, opaque ``data`` to echo). The tool answers by auto-posting a form
with one field, ``JWT``, to ``deep_link_return_url``: a JWT signed with the tool's key whose ``iss`` is the
tool's client_id and ``aud`` the platform's issuer (Deep Linking 2.0 §4.2), carrying the content items.

We return one ``ltiResourceLink`` whose custom parameter ``giga_assignment_id`` names the assignment the
teacher just created, and — when the platform offers AGS — a ``lineItem`` so that the platform creates the
grade column the scores go to (its ``resourceId`` is ``giga-assignment-<id>``, how `lms.lti.ags` finds the
column again if the launch never told us its URL).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt

from lms.lti.services_token import ToolKey

CLAIM_MESSAGE_TYPE = "https://purl.imsglobal.org/spec/lti/claim/message_type"
CLAIM_VERSION = "https://purl.imsglobal.org/spec/lti/claim/version"
CLAIM_DEPLOYMENT_ID = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
CLAIM_ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
CLAIM_CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
CLAIM_CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
CLAIM_DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
CLAIM_DL_CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
CLAIM_DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
CLAIM_DL_MSG = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
CLAIM_AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
RESPONSE_LIFETIME = timedelta(minutes=5)
ASSIGNMENT_PARAM = "giga_assignment_id"

# LTI 1.3 role URIs that make a launch a teacher's (context roles; the short forms are deprecated but sent)
INSTRUCTOR_ROLES = frozenset(
    {
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
        "Instructor",
    }
)


class DeepLinkingClaimsError(ValueError):
    """The launch is not a usable deep-linking request (which claim is missing is in the message)."""


@dataclass(frozen=True)
class DeepLinkingSettings:
    """The ``deep_linking_settings`` claim, the parts the tool acts on."""

    return_url: str
    accept_types: tuple[str, ...]
    accept_multiple: bool = False
    data: str | None = None
    title: str | None = None

    @property
    def accepts_resource_link(self) -> bool:
        return "ltiResourceLink" in self.accept_types


def read_settings(claims: dict[str, Any]) -> DeepLinkingSettings:
    """The settings of a verified ``LtiDeepLinkingRequest`` id_token; `DeepLinkingClaimsError` if unusable."""
    if claims.get(CLAIM_MESSAGE_TYPE) != DEEP_LINKING_REQUEST:
        raise DeepLinkingClaimsError(f"message_type is not {DEEP_LINKING_REQUEST}")
    raw = claims.get(CLAIM_DL_SETTINGS)
    if not isinstance(raw, dict):
        raise DeepLinkingClaimsError("deep_linking_settings claim missing")
    return_url = raw.get("deep_link_return_url")
    if not isinstance(return_url, str) or not return_url.startswith(("https://", "http://")):
        raise DeepLinkingClaimsError("deep_link_return_url missing or not a URL")
    accept = raw.get("accept_types") or []
    data = raw.get("data")
    return DeepLinkingSettings(
        return_url=return_url,
        accept_types=tuple(str(t) for t in accept) if isinstance(accept, list) else (),
        accept_multiple=bool(raw.get("accept_multiple", False)),
        data=data if isinstance(data, str) else None,
        title=raw.get("title") if isinstance(raw.get("title"), str) else None,
    )


def is_instructor(claims: dict[str, Any]) -> bool:
    """Whether the launch's roles claim names a teaching role in the context."""
    roles = claims.get(CLAIM_ROLES) or []
    return isinstance(roles, list) and any(str(r) in INSTRUCTOR_ROLES for r in roles)


@dataclass(frozen=True)
class LineItemRequest:
    """The ``lineItem`` of a content item: the platform creates this grade column (AGS)."""

    label: str
    score_maximum: float
    resource_id: str
    tag: str = "giga-reading"

    def to_claim(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "scoreMaximum": self.score_maximum,
            "resourceId": self.resource_id,
            "tag": self.tag,
        }


@dataclass(frozen=True)
class ResourceLinkItem:
    """An ``ltiResourceLink`` content item: the link the portal shows, launching the assignment (or the
    notebook lesson its custom ``giga_target`` names)."""

    title: str
    url: str
    assignment_id: int | None  # None for a notebook lesson (its ``giga_target`` names it)
    text: str | None = None
    line_item: LineItemRequest | None = None
    custom: dict[str, str] = field(default_factory=dict)

    def to_claim(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "type": "ltiResourceLink",
            "title": self.title,
            "url": self.url,
            "custom": dict(self.custom),
        }
        if self.assignment_id is not None:
            item["custom"][ASSIGNMENT_PARAM] = str(self.assignment_id)
        if self.text:
            item["text"] = self.text
        if self.line_item is not None:
            item["lineItem"] = self.line_item.to_claim()
        return item


def resource_id_of(assignment_id: int) -> str:
    """The ``resourceId`` the tool gives an assignment's line item (stable: `lms.lti.ags` searches by it)."""
    return f"giga-assignment-{assignment_id}"


def response_jwt(
    *,
    settings: DeepLinkingSettings,
    client_id: str,
    platform_issuer: str,
    deployment_id: str,
    items: list[ResourceLinkItem],
    key: ToolKey,
    now: datetime,
    message: str | None = None,
) -> str:
    """The signed ``LtiDeepLinkingResponse`` (Deep Linking 2.0 §4.2), ready for the auto-post form."""
    claims: dict[str, Any] = {
        "iss": client_id,
        "aud": platform_issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + RESPONSE_LIFETIME).timestamp()),
        "nonce": str(uuid.uuid4()),
        CLAIM_MESSAGE_TYPE: DEEP_LINKING_RESPONSE,
        CLAIM_VERSION: "1.3.0",
        CLAIM_DEPLOYMENT_ID: deployment_id,
        CLAIM_DL_CONTENT_ITEMS: [item.to_claim() for item in items],
    }
    if settings.data is not None:
        claims[CLAIM_DL_DATA] = settings.data  # the platform's opaque value, returned unchanged (§4.2)
    if message:
        claims[CLAIM_DL_MSG] = message
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
