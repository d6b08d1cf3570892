"""A real LTI 1.3 platform for the tool's tests: `lti1p3platform` (PyPI) behind a small FastAPI app, served by
uvicorn on 127.0.0.1 in a thread.

The platform signs id_tokens with its own RSA key and publishes the public half at ``/jwks``; its OIDC
authorization endpoint (``/auth``) validates the tool's redirect (state, nonce, redirect_uri, client_id) and
answers with the auto-submitting form post of LTI Core §5.1.1.  What the next launch says about the user is a
`LaunchSpec` registered under its ``login_hint``.  lti-svc extends this module (token endpoint, AGS, NRPS):
add routes to ``TestPlatform.app`` in `build_app`'s style.

Ports: the first free one in 18100–18199 (this helper's range), else any free port.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape, unescape
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from lti1p3platform.framework.fastapi.message_launch import FastapiMessageLaunch
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.registration import Registration

from tests.lti.services_platform import ServicePlatform

PORTS = range(18100, 18200)
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def bound_socket(exclude: set[int] | None = None) -> socket.socket:
    """A socket bound to 127.0.0.1 on the first free port of ``PORTS`` (``GIGA_TEST_PORTS`` overrides,
    e.g. "18200-18299"), kept open and handed to uvicorn: no other process can take the port in between."""
    low, _, high = os.environ.get("GIGA_TEST_PORTS", f"{PORTS.start}-{PORTS.stop - 1}").partition("-")
    for port in range(int(low), int(high or low) + 1):
        if exclude and port in exclude:
            continue
        sock = socket.socket()  # no SO_REUSEADDR: a port another process has bound stays theirs
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(64)  # claimed now, served by uvicorn later
        except OSError:
            sock.close()
            continue
        return sock
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def serve(app: Any, sock: socket.socket, **ssl: Any) -> tuple[uvicorn.Server, threading.Thread]:
    """Run ``app`` with uvicorn on ``sock`` in a daemon thread; return when it accepts connections."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **ssl))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("a test server did not start")
        time.sleep(0.05)
    return server, thread


def _pem_pair() -> tuple[str, str]:
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


@dataclass
class LaunchSpec:
    """What the platform says in the id_token for one ``login_hint`` (and how it may misbehave)."""

    sub: str
    roles: list[str] = field(default_factory=lambda: [LEARNER])
    name: str | None = None
    context_id: str | None = "portal-course-1"
    context_title: str = "4年1組 国語"
    resource_link_id: str = "resource-link-1"
    custom: dict[str, Any] | None = None
    lis: dict[str, Any] | None = None
    extra_claims: dict[str, Any] = field(default_factory=dict)  # e.g. {"aud": "another-tool"}
    expiration: int = 300  # seconds; negative: an already expired token
    forge_signature: bool = False  # re-sign with a key that is not in the JWKS, keeping the kid


class _Conf(LTI1P3PlatformConfAbstract):  # type: ignore[misc]  # an untyped library
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration_value: Registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration_value


class _Launch(FastapiMessageLaunch):  # type: ignore[misc]
    def __init__(self, request: Any, conf: _Conf, spec: LaunchSpec) -> None:
        super().__init__(request, conf)
        self.spec = spec

    def prepare_launch(self, preflight_response: dict[str, Any]) -> None:
        spec = self.spec
        self.set_user_data(spec.sub, spec.roles, full_name=spec.name)
        self.set_resource_link_claim(spec.resource_link_id, title="読解力テスト")
        if spec.context_id:
            self.set_launch_context_claim(spec.context_id, context_title=spec.context_title)
        if spec.custom:
            self.set_custom_parameters_claim(spec.custom)
        self.set_launch_presentation_claim(document_target="iframe")
        extra = dict(spec.extra_claims)
        if spec.lis:
            extra[LTI + "lis"] = spec.lis
        if extra:
            self.set_extra_claims(extra)
        self.set_id_token_expiration(spec.expiration)


class TestPlatform:
    """One registration of the tool at this platform (issuer, client id, one deployment) and the server."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        *,
        tool_url: str,
        client_id: str = "giga-tool",
        deployment_id: str = "deployment-1",
        public_host: str | None = None,
    ):
        """``public_host`` (e.g. "portal.test"): browsers reach the platform there over https (a second
        listener, `start`'s certificate); servers still reach its JWKS on 127.0.0.1 over http."""
        self._socket = bound_socket()
        self.port = int(self._socket.getsockname()[1])
        self.local_url = f"http://127.0.0.1:{self.port}"
        self._https_socket = bound_socket(exclude={self.port}) if public_host else None
        self.https_port = int(self._https_socket.getsockname()[1]) if self._https_socket else None
        self.base_url = f"https://{public_host}:{self.https_port}" if public_host else self.local_url
        self.issuer = self.base_url
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.tool_url = tool_url.rstrip("/")
        self.private_key, self.public_key = _pem_pair()
        self.other_private_key, _ = _pem_pair()
        self.registration = (
            Registration()
            .set_iss(self.issuer)
            .set_client_id(client_id)
            .set_deployment_id(deployment_id)
            .set_oidc_login_url(self.tool_url + "/lti/login")
            .set_launch_url(self.tool_url + "/lti/launch")
            .set_tool_key_set_url(self.tool_url + "/lti/jwks.json")
            .set_platform_private_key(self.private_key)
            .set_platform_public_key(self.public_key)
        )
        self.launches: dict[str, LaunchSpec] = {}
        self.jwks_requests = 0
        # the services (lti-svc): token endpoint, AGS line items and scores, NRPS, deep-linking return —
        # tests/lti/services_platform.py, on this platform's issuer, registration and key
        self.services = ServicePlatform(
            base_url=self.base_url,
            issuer=self.issuer,
            client_id=client_id,
            deployment_id=deployment_id,
            keys=(self.private_key, self.public_key),
        )
        self.app = build_app(self)
        self._servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    # --- what the tool's administrator types on /admin/lti ---

    @property
    def auth_login_url(self) -> str:
        return self.base_url + "/auth"

    @property
    def auth_token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def jwks_url(self) -> str:
        return self.local_url + "/jwks"

    # --- the portal's link: the third-party-initiated login ---

    def login_params(self, login_hint: str, *, target: str | None = None, **overrides: str) -> dict[str, str]:
        params = {
            "iss": self.issuer,
            "login_hint": login_hint,
            "target_link_uri": target or self.tool_url + "/lti/launch",
            "lti_message_hint": "resource-link-1",
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }
        params.update(overrides)
        return params

    def login_url(self, login_hint: str, **overrides: str) -> str:
        return self.tool_url + "/lti/login?" + urlencode(self.login_params(login_hint, **overrides))

    def sign(self, launch_message: dict[str, Any], spec: LaunchSpec) -> str:
        token: str = self.registration.platform_encode_and_sign(launch_message, expiration=spec.expiration)
        if spec.forge_signature:
            header = jwt.get_unverified_header(token)
            payload = jwt.decode(token, options={"verify_signature": False})
            token = jwt.encode(
                payload, self.other_private_key, algorithm="RS256", headers={"kid": header["kid"]}
            )
        return token

    # --- the server ---

    def start(self, *, ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:
        self._servers.append(serve(self.app, self._socket))
        if self._https_socket is not None:
            assert ssl_certfile and ssl_keyfile, "a public host is served over https"
            self._servers.append(
                serve(self.app, self._https_socket, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
            )

    def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        for _, thread in self._servers:
            thread.join(timeout=10)
        self._servers.clear()


class _SigningLaunch(_Launch):
    def generate_launch_request(self) -> Any:
        launch_message, state = self.get_launch_data()
        return {"state": state, "id_token": self.platform.sign(launch_message, self.spec)}

    platform: TestPlatform


def build_app(platform: TestPlatform) -> FastAPI:
    app = FastAPI()
    conf = _Conf(registration=platform.registration)

    @app.get("/jwks")
    def jwks() -> JSONResponse:
        platform.jwks_requests += 1
        return JSONResponse({"keys": platform.registration.get_jwks()})

    @app.get("/auth")
    def authorize(request: Request) -> Response:
        """The OIDC authorization endpoint: checks the tool's redirect, answers with the id_token post."""
        hint = request.query_params.get("login_hint", "")
        spec = platform.launches.get(hint)
        if spec is None:
            return HTMLResponse("unknown login_hint", status_code=400)
        launch = _SigningLaunch(request, conf, spec)
        launch.platform = platform
        response: Response = launch.lti_launch()
        return response

    @app.get("/course/{hint}")
    def course_page(hint: str) -> HTMLResponse:
        """The portal's page of a course: the tool in an iframe, opened by a third-party-initiated login."""
        src = escape(platform.login_url(hint))
        return HTMLResponse(
            '<!doctype html><html lang="ja"><title>ポータル</title><h1>学習eポータル（テスト）</h1>'
            f'<iframe id="tool" src="{src}" width="1200" height="760"></iframe></html>'
        )

    @app.get("/course-storage/{hint}")
    def course_page_with_storage(hint: str, tamper: str = "") -> HTMLResponse:
        """The course page of a portal offering the LTI client-side postMessage storage: the login carries
        ``lti_storage_target=_parent`` and this page answers ``lti.capabilities``, ``lti.put_data`` and
        ``lti.get_data`` for its iframe, each tool origin with its own keys. ``tamper``: ``wrong`` answers
        get_data with another value, ``missing`` with an error (a storage that lost it)."""
        src = escape(platform.login_url(hint, lti_storage_target="_parent"))
        return HTMLResponse(
            '<!doctype html><html lang="ja"><title>ポータル</title><h1>学習eポータル（テスト）</h1>'
            f'<iframe id="tool" src="{src}" width="1200" height="760"></iframe>'
            f"<script>{STORAGE_SCRIPT.replace('TAMPER', json.dumps(tamper))}</script></html>"
        )

    @app.get("/probe/embed")
    def probe_embed(frame: str) -> HTMLResponse:
        """A portal page framing another site's cookie probe (is a plain SameSite=None cookie sent?)."""
        return HTMLResponse(f'<!doctype html><iframe id="probe" src="{escape(frame)}"></iframe>')

    @app.get("/probe/set")
    def probe_set() -> HTMLResponse:
        response = HTMLResponse('<!doctype html><meta http-equiv="refresh" content="0;url=/probe/check">set')
        response.headers.append("set-cookie", "probe=1; Path=/; SameSite=None; Secure")
        return response

    @app.get("/probe/check")
    def probe_check(request: Request) -> HTMLResponse:
        sent = "yes" if request.cookies.get("probe") == "1" else "no"
        return HTMLResponse(f'<!doctype html><p id="result">cookie:{sent}</p>')

    app.include_router(platform.services.router())
    return app


# the platform side of LTI client-side postMessages, as a portal's page would run it (test only)
STORAGE_SCRIPT = """
const tamper = TAMPER;
const stored = {};
window.addEventListener("message", (event) => {
  const message = event.data || {};
  if (event.source !== document.getElementById("tool").contentWindow || !message.subject) return;
  const answer = {subject: message.subject + ".response", message_id: message.message_id};
  const reply = (extra) => event.source.postMessage(Object.assign(answer, extra), event.origin);
  const bucket = (stored[event.origin] = stored[event.origin] || {});
  if (message.subject === "lti.capabilities") {
    reply({supported_messages: [{subject: "lti.put_data"}, {subject: "lti.get_data"}]});
  } else if (message.subject === "lti.put_data") {
    bucket[message.key] = message.value;
    reply({key: message.key, value: message.value});
  } else if (message.subject === "lti.get_data") {
    if (tamper === "missing" || !(message.key in bucket)) {
      reply({error: {code: "bad_request", message: "no value for this key"}});
    } else {
      reply({key: message.key, value: tamper === "wrong" ? bucket[message.key] + "x" : bucket[message.key]});
    }
  }
});
"""


@contextmanager
def running_platform(tool_url: str, **kwargs: Any) -> Iterator[TestPlatform]:
    platform = TestPlatform(tool_url=tool_url, **kwargs)
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


FORM_FIELD = re.compile(r'name="(id_token|state)" value="([^"]*)"')
FORM_ACTION = re.compile(r'action="([^"]*)"')


def parse_form_post(html: str) -> tuple[str, dict[str, str]]:
    """The auto-submitting form of the platform's answer: (action URL, {id_token, state})."""
    action = FORM_ACTION.search(html)
    assert action is not None, html[:500]
    return unescape(action.group(1)), {k: unescape(v) for k, v in FORM_FIELD.findall(html)}


def unverified_context() -> ssl.SSLContext:
    """For a client talking to the throwaway self-signed servers of the browser test."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
