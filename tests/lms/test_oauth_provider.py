"""The LMS as OAuth2 provider for JupyterHub: code + PKCE S256 flow, and the denials."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from lms.oauth_provider.service import s256
from lms.oauth_provider.settings import OAuthProviderSettings

CLIENT_ID = "jupyterhub"
SECRET = "test-hub-client-secret-0123456789abcdef"
REDIRECT = "http://127.0.0.1:8001/hub/oauth_callback"


@pytest.fixture
def oauth(app: Any, world: Any, db_session: Any) -> dict[str, Any]:
    from lms.notebooks.models import NotebookCourse
    from lms.oauth_provider.routes import get_oauth_settings

    settings = OAuthProviderSettings(hub_client_secret=SECRET, hub_redirect_uri=REDIRECT)
    app.dependency_overrides[get_oauth_settings] = lambda: settings
    db_session.add(NotebookCourse(class_id=world.classes["A1"].id, course_id="a1-prog"))
    db_session.commit()
    return {"settings": settings}


def authorize_params(verifier: str, **changes: str) -> dict[str, str]:
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": "st-" + secrets.token_hex(4),
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    params.update(changes)
    return params


def get_code(client: Any, verifier: str) -> tuple[str, str]:
    params = authorize_params(verifier)
    response = client.get("/oauth/authorize", params=params, follow_redirects=False)
    assert response.status_code == 303, response.text
    location = urlparse(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [params["state"]]
    return query["code"][0], params["state"]


def exchange(client: Any, code: str, verifier: str, **changes: str) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }
    data.update(changes)
    return client.post("/api/v1/oauth/token", data={k: v for k, v in data.items() if v is not None})


def test_full_flow_gives_userinfo_with_groups(client: Any, sign_in: Any, oauth: Any) -> None:
    sign_in("s-a1")
    verifier = secrets.token_urlsafe(48)
    code, _state = get_code(client, verifier)
    client.cookies.clear()  # the hub calls the token endpoint without the browser's cookies
    response = exchange(client, code, verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    info = client.get("/api/v1/oauth/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    groups = ["giga-notebook-students", "nbgrader-a1-prog"]
    assert info.json() == {"name": "s-a1", "groups": groups, "admin": False}


def test_teacher_gets_the_formgrade_group_and_basic_auth_works(client: Any, sign_in: Any, oauth: Any) -> None:
    sign_in("t-a1")
    verifier = secrets.token_urlsafe(48)
    code, _ = get_code(client, verifier)
    client.cookies.clear()
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    response = client.post(
        "/api/v1/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    info = client.get("/api/v1/oauth/userinfo", headers={"Authorization": f"Bearer {token}"}).json()
    assert info["groups"] == ["formgrade-a1-prog"] and info["admin"] is False


def test_not_signed_in_goes_to_the_sign_in_page_and_back(client: Any, world: Any, oauth: Any) -> None:
    response = client.get("/oauth/authorize", params=authorize_params("v" * 50), follow_redirects=False)
    assert response.status_code == 303
    target = response.headers["location"]
    assert target.startswith("/login?next=%2Foauth%2Fauthorize%3F")


def test_token_is_stored_hashed(client: Any, sign_in: Any, oauth: Any, db_session: Any) -> None:
    from sqlmodel import select

    from lms.oauth_provider.models import OAuthAccessToken, OAuthCode

    sign_in("s-a1")
    verifier = secrets.token_urlsafe(48)
    code, _ = get_code(client, verifier)
    token = exchange(client, code, verifier).json()["access_token"]
    db_session.expire_all()
    stored_tokens = [t.token_hash for t in db_session.exec(select(OAuthAccessToken))]
    stored_codes = [c.code_hash for c in db_session.exec(select(OAuthCode))]
    assert token not in stored_tokens and len(stored_tokens) == 1 and len(stored_tokens[0]) == 64
    assert code not in stored_codes


@pytest.mark.parametrize(
    ("change", "message_part"),
    [
        ({"redirect_uri": "http://127.0.0.1:8001/hub/oauth_callback/evil"}, "戻り先URL"),
        ({"redirect_uri": "http://evil.example/hub/oauth_callback"}, "戻り先URL"),
        ({"client_id": "someone-else"}, "client_id"),
        ({"code_challenge_method": "plain"}, "PKCE"),
        ({"response_type": "token"}, "response_type"),
        ({"state": ""}, "state"),
    ],
)
def test_bad_authorize_requests_never_redirect(
    client: Any, sign_in: Any, oauth: Any, change: dict[str, str], message_part: str
) -> None:
    sign_in("s-a1")
    response = client.get(
        "/oauth/authorize", params=authorize_params("v" * 50, **change), follow_redirects=False
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert message_part in response.text


def test_user_without_notebook_course_is_refused(client: Any, sign_in: Any, oauth: Any) -> None:
    sign_in("s-b1")  # class B1 is not a notebook course
    response = client.get("/oauth/authorize", params=authorize_params("v" * 50), follow_redirects=False)
    assert response.status_code == 403
    assert "ノートブック" in response.text


def test_reused_code_is_refused_and_revokes_the_first_token(client: Any, sign_in: Any, oauth: Any) -> None:
    sign_in("s-a1")
    verifier = secrets.token_urlsafe(48)
    code, _ = get_code(client, verifier)
    first = exchange(client, code, verifier)
    assert first.status_code == 200
    again = exchange(client, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    info = client.get(
        "/api/v1/oauth/userinfo", headers={"Authorization": f"Bearer {first.json()['access_token']}"}
    )
    assert info.status_code == 401 and info.json()["error"] == "invalid_token"


def test_wrong_verifier_is_refused_and_burns_the_code(client: Any, sign_in: Any, oauth: Any) -> None:
    sign_in("s-a1")
    verifier = secrets.token_urlsafe(48)
    code, _ = get_code(client, verifier)
    wrong = exchange(client, code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and "code_verifier" in wrong.json()["error_description"]
    assert exchange(client, code, verifier).status_code == 400  # single use, even after a failed try


def test_wrong_client_secret_is_refused(client: Any, sign_in: Any, oauth: Any) -> None:
    sign_in("s-a1")
    verifier = secrets.token_urlsafe(48)
    code, _ = get_code(client, verifier)
    response = exchange(client, code, verifier, client_secret="not-the-secret")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert "not-the-secret" not in response.text
    assert exchange(client, code, verifier).status_code == 200  # the code was not consumed by the bad client


def test_token_redirect_uri_must_match_the_authorization(client: Any, sign_in: Any, oauth: Any) -> None:
    sign_in("s-a1")
    verifier = secrets.token_urlsafe(48)
    code, _ = get_code(client, verifier)
    response = exchange(client, code, verifier, redirect_uri=REDIRECT + "x")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_expired_code_is_refused(client: Any, sign_in: Any, oauth: Any, clock: Any) -> None:
    sign_in("s-a1")
    verifier = secrets.token_urlsafe(48)
    code, _ = get_code(client, verifier)
    clock.advance(seconds=oauth["settings"].code_lifetime_seconds + 1)
    response = exchange(client, code, verifier)
    assert response.status_code == 400 and "expired" in response.json()["error_description"]


def test_userinfo_needs_a_valid_token(client: Any, oauth: Any) -> None:
    assert client.get("/api/v1/oauth/userinfo").status_code == 401
    bad = client.get("/api/v1/oauth/userinfo", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"].startswith("Bearer")


def test_production_refuses_the_default_client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGA_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="GIGA_OAUTH_HUB_CLIENT_SECRET"):
        OAuthProviderSettings()
