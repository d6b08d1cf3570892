"""1EdTech LTI Dynamic Registration 1.0, the tool's side.

The platform opens ``/lti/register?openid_configuration=…&registration_token=…``. The tool fetches the
platform's OpenID configuration (`fetch_configuration`), checks it (`check_configuration`: the issuer must
be on the same origin as the configuration URL — §3.5.1 — https, RS256 id_tokens, a registration endpoint),
posts its own client registration (`tool_registration`, `register_with_platform`: redirect and login URLs,
JWKS, the LTI services' scopes the platform offers, the messages incl. ``LtiDeepLinkingRequest``) with the
registration token as bearer, and stores the platform and the deployment the answer names through
`lms.lti.registration.register_platform` (the same checks and audit as a manual registration).

Every failure is a `RegistrationFailed` with a Japanese sentence for the administrator's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session

from lms.lti import registration
from lms.lti import tool_messages as msg
from lms.lti.models import LtiPlatform
from lms.lti.services_token import SCOPE_LINEITEM, SCOPE_NRPS, SCOPE_RESULT_READONLY, SCOPE_SCORE

PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
TOOL_SCOPES = (SCOPE_LINEITEM, SCOPE_RESULT_READONLY, SCOPE_SCORE, SCOPE_NRPS)
TOOL_NAME = "GIGA 学習サイト（読解力テスト・練習・ノートブック）"
DEEP_LINK_LABEL = "GIGA 読解力テスト・練習を追加"
TIMEOUT_SECONDS = 10.0
MAX_CONFIG_BYTES = 256 * 1024


class RegistrationFailed(Exception):
    """A dynamic registration that could not be done: ``message`` says why, in Japanese."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class ToolUrls:
    """The tool's own URLs, as the platform must call them."""

    login: str
    launch: str
    jwks: str

    @property
    def domain(self) -> str:
        return urlsplit(self.launch).netloc


@dataclass(frozen=True)
class PlatformConfiguration:
    """What the tool uses of the platform's OpenID configuration (checked)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    scopes_supported: tuple[str, ...]
    product_family_code: str
    deep_linking: bool


def _secure_url(value: Any) -> bool:
    """https, or http on this machine's loopback (development and tests)."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    if not parts.netloc:
        return False
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def fetch_configuration(client: httpx.Client, url: str, token: str) -> dict[str, Any]:
    """GET the platform's OpenID configuration (with the registration token, which some platforms need)."""
    if not _secure_url(url):
        raise RegistrationFailed(msg.DR_CONFIG_URL_BAD)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        response = client.get(url, headers=headers, timeout=TIMEOUT_SECONDS, follow_redirects=False)
    except httpx.HTTPError as error:
        raise RegistrationFailed(msg.DR_CONFIG_UNREACHABLE, status_code=502) from error
    if response.status_code != 200 or len(response.content) > MAX_CONFIG_BYTES:
        raise RegistrationFailed(msg.DR_CONFIG_UNREACHABLE, status_code=502)
    try:
        body = response.json()
    except ValueError as error:
        raise RegistrationFailed(msg.DR_CONFIG_INVALID.format(detail="JSON"), status_code=502) from error
    if not isinstance(body, dict):
        raise RegistrationFailed(msg.DR_CONFIG_INVALID.format(detail="JSON"), status_code=502)
    return body


def check_configuration(config: dict[str, Any], *, config_url: str) -> PlatformConfiguration:
    """The platform's configuration, checked as the spec's §3.5 asks of the tool."""
    issuer = config.get("issuer")
    if not _secure_url(issuer) or urlsplit(str(issuer)).query or urlsplit(str(issuer)).fragment:
        raise RegistrationFailed(msg.DR_CONFIG_INVALID.format(detail="issuer"))
    assert isinstance(issuer, str)
    if _origin(issuer) != _origin(config_url):
        raise RegistrationFailed(msg.DR_ISSUER_MISMATCH.format(issuer=issuer))
    for key in ("authorization_endpoint", "jwks_uri", "registration_endpoint", "token_endpoint"):
        if not _secure_url(config.get(key)):
            raise RegistrationFailed(msg.DR_CONFIG_INVALID.format(detail=key))
    algs = config.get("id_token_signing_alg_values_supported")
    if not isinstance(algs, list) or "RS256" not in algs:
        raise RegistrationFailed(msg.DR_CONFIG_INVALID.format(detail="id_token_signing_alg_values_supported"))
    lti = config.get(PLATFORM_CONFIG)
    if not isinstance(lti, dict):
        raise RegistrationFailed(msg.DR_CONFIG_INVALID.format(detail=PLATFORM_CONFIG))
    scopes = config.get("scopes_supported")
    messages = lti.get("messages_supported")
    deep_linking = isinstance(messages, list) and any(
        isinstance(m, dict) and m.get("type") == "LtiDeepLinkingRequest" for m in messages
    )
    return PlatformConfiguration(
        issuer=issuer,
        authorization_endpoint=str(config["authorization_endpoint"]),
        token_endpoint=str(config["token_endpoint"]),
        jwks_uri=str(config["jwks_uri"]),
        registration_endpoint=str(config["registration_endpoint"]),
        scopes_supported=tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else (),
        product_family_code=str(lti.get("product_family_code") or ""),
        deep_linking=deep_linking,
    )


def tool_registration(platform: PlatformConfiguration, tool: ToolUrls) -> dict[str, Any]:
    """The client registration the tool posts (OpenID Connect registration + the LTI tool configuration)."""
    messages: list[dict[str, Any]] = [{"type": "LtiResourceLinkRequest", "target_link_uri": tool.launch}]
    if platform.deep_linking:
        messages.append(
            {"type": "LtiDeepLinkingRequest", "target_link_uri": tool.launch, "label": DEEP_LINK_LABEL}
        )
    scopes = [s for s in TOOL_SCOPES if s in platform.scopes_supported]
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": tool.login,
        "redirect_uris": [tool.launch],
        "client_name": TOOL_NAME,
        "jwks_uri": tool.jwks,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(scopes),
        TOOL_CONFIG: {
            "domain": tool.domain,
            "target_link_uri": tool.launch,
            "custom_parameters": {"userMasterIdentifier": "$User.userMasterIdentifier"},
            "claims": ["iss", "sub", "name", "given_name", "family_name"],
            "messages": messages,
        },
    }


def register_with_platform(
    client: httpx.Client, platform: PlatformConfiguration, tool: ToolUrls, token: str
) -> tuple[str, str]:
    """POST the registration; return the platform's ``(client_id, deployment_id)``."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        response = client.post(
            platform.registration_endpoint,
            json=tool_registration(platform, tool),
            headers=headers,
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        raise RegistrationFailed(msg.DR_REGISTER_UNREACHABLE, status_code=502) from error
    if response.status_code not in (200, 201):
        detail = (
            response.text[:200] if response.headers.get("content-type", "").startswith("application/") else ""
        )
        raise RegistrationFailed(
            msg.DR_REGISTER_REFUSED.format(status=response.status_code, detail=detail), status_code=502
        )
    try:
        body = response.json()
    except ValueError as error:
        raise RegistrationFailed(msg.DR_REGISTER_ANSWER_BAD, status_code=502) from error
    client_id = body.get("client_id") if isinstance(body, dict) else None
    lti = body.get(TOOL_CONFIG) if isinstance(body, dict) else None
    deployment_id = lti.get("deployment_id") if isinstance(lti, dict) else None
    if (
        not isinstance(client_id, str)
        or not client_id
        or not isinstance(deployment_id, str)
        or not deployment_id
    ):
        raise RegistrationFailed(msg.DR_REGISTER_ANSWER_BAD, status_code=502)
    return client_id, deployment_id


def register(
    *,
    session: Session,
    client: httpx.Client,
    config_url: str,
    token: str,
    tool: ToolUrls,
    name: str,
    district_id: int | None,
    actor_id: int | None,
    ip: str | None,
) -> LtiPlatform:
    """The whole registration: fetch and check the configuration, register, store platform + deployment."""
    platform = check_configuration(fetch_configuration(client, config_url, token), config_url=config_url)
    client_id, deployment_id = register_with_platform(client, platform, tool, token)
    return registration.register_platform(
        session=session,
        data=registration.PlatformInput(
            name=name or platform.product_family_code or platform.issuer,
            issuer=platform.issuer,
            client_id=client_id,
            auth_login_url=platform.authorization_endpoint,
            auth_token_url=platform.token_endpoint,
            jwks_url=platform.jwks_uri,
            deployment_ids=(deployment_id,),
            district_id=district_id,
        ),
        actor_id=actor_id,
        ip=ip,
    )
