"""The platform side of the LTI Advantage services, for tests: a FastAPI app built on ``lti1p3platform``.

It speaks to the tool the way a 学習eポータル does, with the library's own classes doing the checking:

* ``POST /token`` — `LTI1P3PlatformConfAbstract.get_access_token`: verifies the tool's client assertion
  against the tool's JWKS (a URL or a key set) and signs a bearer token with the platform key;
* ``/lineitems``, ``/lineitems/{id}``, ``/lineitems/{id}/scores``, ``/lineitems/{id}/results`` —
  `AssignmentsGradesService` (bearer token checked against the platform key and the AGS scopes);
* ``GET /memberships`` — `NamesRoleProvisioningService` (NRPS 2.0);
* ``POST /deep_link_return`` — `validate_deeplinking_resp`: the deep-linking response JWT verified against
  the tool's key; the content items are recorded.

What the platform stored is in ``ServicePlatform`` (``line_items``, ``scores``, ``deep_links``); switches make
it misbehave (``fail_scores`` answers 503 that many times, ``refuse_tokens`` answers 401 to token requests).
Use it in-process (``TestClient(platform.app)`` is an ``httpx.Client``) or served by uvicorn
(`tests.lti.platform` serves it on a port).
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from jwt.algorithms import RSAAlgorithm
from lti1p3platform.exceptions import LineItemNotFoundException, LtiException
from lti1p3platform.lineitem import TLineItem
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as LtiRequest
from lti1p3platform.request import TRequest
from lti1p3platform.response import Response as LtiResponse
from lti1p3platform.score import TScore, UpdateScoreStatus
from lti1p3platform.service_connector import (
    AssignmentsGradesService,
    NamesRoleProvisioningService,
    TPage,
)

from lms.lti.services_token import ToolKey

ISSUER = "https://portal.test"
CLIENT_ID = "giga-tool"
DEPLOYMENT_ID = "deployment-1"
CONTEXT_ID = "portal-class-5-1"


def new_rsa_pem() -> tuple[str, str]:
    """A fresh RSA key pair as (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def tool_key_and_jwks(kid: str = "tool-1") -> tuple[ToolKey, dict[str, Any]]:
    """A tool signing key and the JWKS that publishes it (what `lms.lti.keys` does for the real tool)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return ToolKey(kid, key), {"keys": [jwk]}


class HarnessConf(LTI1P3PlatformConfAbstract):  # type: ignore[misc]  # the library ships no types
    """The library's platform configuration over one in-memory registration."""

    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        assert self._registration is not None
        return self._registration


class _Req(LtiRequest):  # type: ignore[misc]  # the library ships no types
    def build_metadata(self, request: Any) -> TRequest:
        return request


async def _lti_request(request: Request) -> _Req:
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return _Req(
        {
            "method": request.method,
            "form_data": {},
            "get_data": dict(request.query_params),
            "headers": request.headers,
            "content_type": content_type,
            "path": request.url.path,
            "json": json.loads(body) if body and "json" in content_type else None,
        }
    )


@dataclass
class Member:
    user_id: str
    roles: list[str]
    name: str = ""
    status: str = "Active"
    lis_person_sourcedid: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"user_id": self.user_id, "roles": self.roles, "status": self.status}
        if self.name:
            out["name"] = self.name
        if self.lis_person_sourcedid:
            out["lis_person_sourcedid"] = self.lis_person_sourcedid
        return out


@dataclass
class ServicePlatform:
    """A platform's service endpoints and what it stored; ``base_url`` is where the app is reachable."""

    base_url: str = "http://portal.test"
    tool_jwks_url: str | None = None
    tool_jwks: dict[str, Any] | None = None
    line_items: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    deep_links: list[list[dict[str, Any]]] = field(default_factory=list)
    token_requests: int = 0
    fail_scores: int = 0
    refuse_tokens: bool = False
    context_id: str = CONTEXT_ID
    context_title: str = "5年1組"
    issuer: str = ISSUER
    client_id: str = CLIENT_ID
    deployment_id: str = DEPLOYMENT_ID
    keys: tuple[str, str] | None = None  # (private PEM, public PEM): the launch platform's, when shared

    def __post_init__(self) -> None:
        self.private_pem, self.public_pem = self.keys or new_rsa_pem()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.include_router(self.router())

    # --- configuration -------------------------------------------------------------------------------------

    def registration(self) -> Registration:
        reg = (
            Registration()
            .set_iss(self.issuer)
            .set_client_id(self.client_id)
            .set_deployment_id(self.deployment_id)
            .set_platform_public_key(self.public_pem)
            .set_platform_private_key(self.private_pem)
        )
        if self.tool_jwks is not None:
            reg.set_tool_key_set(self.tool_jwks)
        elif self.tool_jwks_url is not None:
            reg.set_tool_key_set_url(self.tool_jwks_url)
        return reg

    def conf(self) -> HarnessConf:
        conf = HarnessConf(registration=self.registration())
        return conf

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def lineitems_url(self) -> str:
        return f"{self.base_url}/lineitems"

    @property
    def memberships_url(self) -> str:
        return f"{self.base_url}/memberships"

    @property
    def deep_link_return_url(self) -> str:
        return f"{self.base_url}/deep_link_return"

    def add_line_item(self, **fields: Any) -> dict[str, Any]:
        with self._lock:
            item_id = f"{self.lineitems_url}/{next(self._ids)}"
            item = {**fields, "id": item_id}
            self.line_items[item_id] = item
            return item

    def scores_of(self, line_item_id: str) -> list[dict[str, Any]]:
        return [s for lid, s in self.scores if lid == line_item_id]

    # --- the routes ----------------------------------------------------------------------------------------

    def router(self) -> APIRouter:
        router = APIRouter()
        platform = self

        @router.post("/token")
        async def token(request: Request) -> Response:
            platform.token_requests += 1
            if platform.refuse_tokens:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = dict((await request.form()).items())
            try:
                answer = platform.conf().get_access_token(form)
            except (LtiException, KeyError, ValueError) as error:
                return JSONResponse({"error": "invalid_request", "error_description": str(error)}, 400)
            except Exception as error:
                return JSONResponse({"error": "invalid_client", "error_description": str(error)}, 401)
            return JSONResponse(dict(answer))

        def ags(request_obj: _Req, lineitem: str | None = None) -> AgS:
            return AgS(request_obj, platform.conf(), platform.lineitems_url, lineitem, platform=platform)

        def guarded(call: Any, *args: Any, **kwargs: Any) -> LtiResponse:
            try:
                answer: LtiResponse = call(*args, **kwargs)
            except jwt.PyJWTError as error:  # a token this platform did not sign (another test's platform)
                return LtiResponse(result=None, code=401, message=str(error))
            return answer

        def send(answer: LtiResponse) -> Response:
            if answer.result is None:
                return Response(status_code=answer.code, content=answer.message)
            return JSONResponse(answer.result, status_code=answer.code, media_type=answer.media_type)

        @router.get("/lineitems")
        async def get_lineitems(request: Request) -> Response:
            service = ags(await _lti_request(request))
            return send(guarded(service.handle_resp, service.handle_get_lineitems))

        @router.post("/lineitems")
        async def post_lineitem(request: Request) -> Response:
            service = ags(await _lti_request(request))
            return send(guarded(service.handle_resp, service.handle_create_lineitem))

        @router.get("/lineitems/{number}")
        async def get_lineitem(request: Request, number: str) -> Response:
            service = ags(await _lti_request(request))
            item_id = f"{platform.lineitems_url}/{number}"
            return send(guarded(service.handle_resp, service.handle_get_lineitem, line_item_id=item_id))

        @router.post("/lineitems/{number}/scores")
        async def post_score(request: Request, number: str) -> Response:
            if platform.fail_scores > 0:
                platform.fail_scores -= 1
                return Response("the gradebook is down for maintenance", status_code=503)
            service = ags(await _lti_request(request))
            item_id = f"{platform.lineitems_url}/{number}"
            return send(guarded(service.handle_resp, service.handle_update_score, line_item_id=item_id))

        @router.get("/memberships")
        async def memberships(request: Request) -> Response:
            service = Nrps(await _lti_request(request), platform.conf(), platform.memberships_url, platform)
            return send(guarded(service.handle_resp, service.handle_get_members))

        @router.post("/deep_link_return")
        async def deep_link_return(request: Request) -> Response:
            form = dict((await request.form()).items())
            try:
                items = platform.conf().validate_deeplinking_resp(form)
            except Exception as error:
                return Response(f"deep linking response refused: {error}", status_code=400)
            platform.deep_links.append(items)
            for item in items:
                if "lineItem" in item:
                    platform.add_line_item(
                        **item["lineItem"], resourceLinkId=f"rl-{len(platform.deep_links)}-{item['title']}"
                    )
            return Response("<p>保存しました</p>", media_type="text/html")

        return router


class AgS(AssignmentsGradesService):  # type: ignore[misc]  # the library ships no types
    """AGS over the platform's dictionaries."""

    def __init__(self, *args: Any, platform: ServicePlatform, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.platform = platform

    def find_lineitems(
        self,
        page: int = 1,
        limit: int | None = None,
        line_item_id: str | None = None,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
    ) -> TPage:
        items = [
            i
            for i in self.platform.line_items.values()
            if (resource_id is None or i.get("resourceId") == resource_id)
            and (resource_link_id is None or i.get("resourceLinkId") == resource_link_id)
            and (tag is None or i.get("tag") == tag)
        ]
        return {"content": items, "has_next": False}

    def find_lineitem(self, line_item_id: str) -> TLineItem:
        try:
            return self.platform.line_items[line_item_id]
        except KeyError as error:
            raise LineItemNotFoundException(line_item_id) from error

    def create_lineitem(self, creation_data: TLineItem) -> TLineItem:
        return self.platform.add_line_item(**creation_data)

    def update_lineitem(self, update_data: TLineItem) -> TLineItem:
        self.platform.line_items[update_data["id"]].update(update_data)
        return update_data

    def delete_lineitem(self, line_item_id: str) -> None:
        self.platform.line_items.pop(line_item_id, None)

    def update_score(self, line_item_id: str, score: TScore) -> UpdateScoreStatus:
        if line_item_id not in self.platform.line_items:
            raise LineItemNotFoundException(line_item_id)
        for lid, old in self.platform.scores:
            same_user = lid == line_item_id and old.get("userId") == score.get("userId")
            if same_user and str(old.get("timestamp")) >= str(score.get("timestamp")):
                return UpdateScoreStatus.OLD_TIMESTAMP  # a resend of the same score, or an older one
        self.platform.scores.append((line_item_id, dict(score)))
        return UpdateScoreStatus.CREATED

    def get_results(
        self, line_item_id: str, page: int = 1, limit: int | None = None, user_id: str | None = None
    ) -> TPage:
        return {"content": self.platform.scores_of(line_item_id), "has_next": False}


class Nrps(NamesRoleProvisioningService):  # type: ignore[misc]  # the library ships no types
    """NRPS over the platform's member list."""

    def __init__(
        self, request: _Req, conf: LTI1P3PlatformConfAbstract, url: str, platform: ServicePlatform
    ) -> None:
        super().__init__(request, conf, url)
        self.platform = platform

    def get_member_data_page(
        self, page: int = 1, limit: int | None = None, role: str | None = None, since: str | None = None
    ) -> TPage:
        return {"content": [m.to_json() for m in self.platform.members], "has_next": False}

    def get_context_by_id(self) -> Context:
        return Context(id=self.platform.context_id, label="5-1", title=self.platform.context_title)
