"""Security headers on every response, no inline script in any template, and production mode: Secure
cookies whatever GIGA_HTTPS says, no API documentation unless enabled (issue 15)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.lms.conftest import PASSWORD, csrf_of

LMS = Path(__file__).resolve().parents[3] / "lms"
EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def _assert_hardened(response: Any) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "camera=()" in response.headers["permissions-policy"]


def test_every_kind_of_response_carries_the_headers(client: Any, world: Any, sign_in: Any) -> None:
    answers = [
        client.get("/login"),  # a page
        client.get("/healthz"),  # operations
        client.get("/static/app.css"),  # a static file
        client.get("/no-such-page"),  # an error page
        client.get("/api/v1/me"),  # an API error (401)
        client.post("/login", data={"username": "x", "password": "y", "csrf_token": "bad"}),  # 403
    ]
    sign_in("t-a1")
    answers.append(client.get("/home"))
    answers.append(client.get(f"/api/v1/classes/{2**40}"))  # refused input (422)
    for response in answers:
        _assert_hardened(response)


def test_a_refusal_of_the_concurrency_limit_carries_them_too(settings: Any) -> None:
    from lms.main import create_app

    app = create_app(settings.model_copy(update={"max_concurrent_requests": 1}))
    app.middleware_stack = app.build_middleware_stack()
    # the limiter is inside the headers middleware: fill it and ask once more
    inner: Any = app.middleware_stack
    while not hasattr(inner, "in_flight"):
        inner = inner.app
    inner.in_flight = 1
    with TestClient(app) as client:
        response = client.get("/login")
        assert response.status_code == 503
        _assert_hardened(response)


TEMPLATES = sorted(LMS.rglob("*.html"))
INLINE = [
    # a data block (type="application/json") is never executed, so the CSP allows it; other inline script is
    (
        re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE),
        "an inline <script>",
    ),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "an inline event handler"),
    (re.compile(r"javascript:", re.IGNORECASE), "a javascript: URL"),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(LMS)))
def test_no_template_has_inline_script(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    for pattern, what in INLINE:
        assert not pattern.search(text), f"{template.relative_to(LMS)} has {what}: move it to lms/static/"


def test_templates_were_found() -> None:
    assert len(TEMPLATES) > 20


@pytest.fixture
def production(settings: Any) -> Iterator[Any]:
    from lms.core.settings import load_settings

    yield load_settings(
        database_url=settings.database_url,
        environment="production",
        secret_key="a-production-secret-of-at-least-32-characters",
        https=False,
    )


def test_production_cookies_are_secure_even_without_giga_https(production: Any, world: Any) -> None:
    from lms.main import create_app

    with TestClient(create_app(production), base_url="https://lms.example.jp") as client:
        page = client.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()  # the pre-session (CSRF) cookie
        signed_in = client.post(
            "/login",
            data={"username": "t-a1", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        session_cookie = signed_in.headers["set-cookie"].lower()
        assert (
            "giga_session=" in session_cookie and "secure" in session_cookie and "httponly" in session_cookie
        )
        assert signed_in.headers["strict-transport-security"].startswith("max-age=")


def test_production_serves_no_api_documentation_unless_enabled(production: Any) -> None:
    from lms.main import create_app

    with TestClient(create_app(production)) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 404, path
    enabled = production.model_copy(update={"api_docs": True})
    with TestClient(create_app(enabled)) as client:
        assert client.get("/openapi.json").status_code == 200
        docs = client.get("/docs")
        assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
