"""A small platform side of LTI Dynamic Registration 1.0, for the tool's tests.

``lti1p3platform`` (the platform the launch tests use) has no dynamic registration, so this follows the
spec's platform side by hand: ``/.well-known/openid-configuration`` (§3.5: issuer, endpoints, the LTI
platform configuration) and ``/register`` (§3.6: the registration token as bearer, an OpenID client
registration with the LTI tool configuration; answers ``client_id`` and the ``deployment_id``). It keeps
what it was sent, so a test can read the platform's records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

ISSUER = "https://portal.example.jp"
CONFIG_URL = ISSUER + "/.well-known/openid-configuration"
TOKEN = "reg-token-1"
LTI_PLATFORM = "https://purl.imsglobal.org/spec/lti-platform-configuration"
LTI_TOOL = "https://purl.imsglobal.org/spec/lti-tool-configuration"


@dataclass
class RegistrationPlatform:
    """The platform's state: its configuration (tests may change it) and the registrations it accepted."""

    config: dict[str, Any] = field(
        default_factory=lambda: {
            "issuer": ISSUER,
            "authorization_endpoint": ISSUER + "/auth",
            "token_endpoint": ISSUER + "/token",
            "jwks_uri": ISSUER + "/jwks",
            "registration_endpoint": ISSUER + "/register",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "scopes_supported": [
                "openid",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
            ],
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public", "pairwise"],
            "claims_supported": ["sub", "iss", "name", "given_name", "family_name"],
            LTI_PLATFORM: {
                "product_family_code": "kawasemi-portal",
                "version": "1.0",
                "messages_supported": [
                    {"type": "LtiResourceLinkRequest"},
                    {"type": "LtiDeepLinkingRequest", "placements": ["ContentArea"]},
                ],
            },
        }
    )
    registrations: list[dict[str, Any]] = field(default_factory=list)
    config_requests: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def configuration() -> JSONResponse:
            self.config_requests += 1
            return JSONResponse(self.config)

        @app.post("/register")
        async def register(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != "Bearer " + TOKEN:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            body = await request.json()
            tool = body.get(LTI_TOOL, {})
            if (
                not body.get("redirect_uris")
                or not body.get("initiate_login_uri")
                or not body.get("jwks_uri")
                or not tool.get("domain")
                or body.get("token_endpoint_auth_method") != "private_key_jwt"
            ):
                return JSONResponse({"error": "invalid_client_metadata"}, status_code=400)
            self.registrations.append(body)
            number = len(self.registrations)
            return JSONResponse(
                {
                    **body,
                    "client_id": f"giga-dyn-{number}",
                    LTI_TOOL: {**tool, "deployment_id": f"dep-dyn-{number}"},
                },
                status_code=201,
            )

        return app
