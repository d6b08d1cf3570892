"""API tokens: created once-shown, stored hashed, scoped, revocable, last-used time, audited."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session, select

from lms.audit.models import AuditEvent
from lms.auth.models import ApiToken
from tests.factories import get_row
from tests.lms.conftest import csrf_of


def _csrf_header(client: Any) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_of(client.get("/tokens").text)}


def test_create_use_and_revoke_a_token_through_the_api(
    client: Any, sign_in: Any, db_session: Session, world: Any
) -> None:
    sign_in("admin")
    created = client.post(
        "/api/v1/tokens", json={"name": "hub", "scopes": ["hub", "roster:read"]}, headers=_csrf_header(client)
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("giga_") and body["scopes"] == ["hub", "roster:read"]
    stored = get_row(db_session, ApiToken, body["id"])
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    listed = client.get("/api/v1/tokens").json()
    assert "secret" not in listed[0] and "token_hash" not in listed[0] and secret not in str(listed)

    bearer = {"Authorization": f"Bearer {secret}"}
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=bearer).json()["username"] == "admin"
    assert client.get("/api/v1/classes", headers=bearer).status_code == 200
    db_session.expire_all()
    assert get_row(db_session, ApiToken, body["id"]).last_used_at is not None
    # scope: this token has no audit:read, so the admin-only audit API is refused
    denied = client.get("/api/v1/audit", headers=bearer)
    assert denied.status_code == 403 and "audit:read" in denied.json()["detail"]
    # a token cannot mint tokens
    assert (
        client.post("/api/v1/tokens", json={"name": "x", "scopes": ["hub"]}, headers=bearer).status_code
        == 403
    )

    sign_in("admin")
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=_csrf_header(client)).status_code == 204
    client.cookies.clear()
    revoked = client.get("/api/v1/me", headers=bearer)
    assert revoked.status_code == 401 and "無効" in revoked.json()["detail"]
    actions = [e.action for e in db_session.exec(select(AuditEvent))]
    assert "token.create" in actions and "token.revoke" in actions


def test_unknown_bearer_token_is_401(client: Any, world: Any) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer giga_not-a-token"})
    assert response.status_code == 401


def test_cookie_session_api_write_needs_the_csrf_header(client: Any, sign_in: Any) -> None:
    sign_in("t-a1")
    assert client.post("/api/v1/tokens", json={"name": "x", "scopes": ["hub"]}).status_code == 403
    assert (
        client.post(
            "/api/v1/tokens", json={"name": "x", "scopes": ["hub"]}, headers=_csrf_header(client)
        ).status_code
        == 201
    )


def test_unknown_scope_is_a_400_with_the_list(client: Any, sign_in: Any) -> None:
    sign_in("t-a1")
    response = client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["everything"]}, headers=_csrf_header(client)
    )
    assert response.status_code == 400 and "roster:read" in response.json()["detail"]


def test_only_admins_create_tokens_for_others_and_students_none(
    client: Any, sign_in: Any, world: Any
) -> None:
    sign_in("t-a1")
    other = client.post(
        "/api/v1/tokens",
        json={"name": "x", "scopes": ["hub"], "user_id": world.users["t-b1"].id},
        headers=_csrf_header(client),
    )
    assert other.status_code == 403
    client.cookies.clear()
    sign_in("s-a1")
    assert (
        client.post(
            "/api/v1/tokens", json={"name": "x", "scopes": ["hub"]}, headers=_csrf_header(client)
        ).status_code
        == 403
    )


def test_admin_creates_a_token_for_the_hub_user(client: Any, sign_in: Any, world: Any) -> None:
    sign_in("admin")
    response = client.post(
        "/api/v1/tokens",
        json={"name": "hub", "scopes": ["hub"], "user_id": world.users["t-a1"].id},
        headers=_csrf_header(client),
    )
    assert response.status_code == 201 and response.json()["user_id"] == world.users["t-a1"].id


def test_someone_elses_token_cannot_be_revoked(
    client: Any, sign_in: Any, api_token: Any, db_session: Session
) -> None:
    api_token("t-b1", ["roster:read"])
    token_id = db_session.exec(select(ApiToken)).one().id
    sign_in("t-a1")
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=_csrf_header(client)).status_code == 404
    assert client.get("/api/v1/tokens").json() == []


def test_tokens_page_creates_shows_once_and_revokes(client: Any, sign_in: Any, db_session: Session) -> None:
    sign_in("t-a1")
    page = client.get("/tokens")
    created = client.post(
        "/tokens", data={"name": "スクリプト", "scopes": ["roster:read"], "csrf_token": csrf_of(page.text)}
    )
    assert created.status_code == 200 and 'id="new-token-secret">giga_' in created.text
    token = db_session.exec(select(ApiToken)).one()
    again = client.get("/tokens")
    assert "new-token-secret" not in again.text and "スクリプト" in again.text
    revoked = client.post(f"/tokens/{token.id}/revoke", data={"csrf_token": csrf_of(again.text)})
    assert revoked.status_code == 200 and "取り消し済み" in revoked.text
