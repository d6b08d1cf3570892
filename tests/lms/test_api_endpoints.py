"""JSON API: response shapes (no secrets), roster content, roster import upload, audit log search, OpenAPI."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from lms.audit.models import AuditEvent
from lms.roster.models import User
from tests.lms.conftest import csrf_of
from tests.lms.roster_helpers import copy_bundle, set_value

SECRET_FIELDS = {"password_hash", "totp_secret", "token_hash", "failed_logins", "locked_until"}


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, arcname=path.name)
    return target


def test_me_exposes_no_secrets(client: Any, sign_in: Any) -> None:
    sign_in("admin")
    body = client.get("/api/v1/me").json()
    assert body["username"] == "admin" and body["role"] == "admin" and body["totp_enabled"] is True
    assert not SECRET_FIELDS & set(body)


def test_class_roster_lists_members_by_shusseki_no(client: Any, api_token: Any, world: Any) -> None:
    secret = api_token("t-a1", ["roster:read"])
    body = client.get(
        f"/api/v1/classes/{world.classes['A1'].id}", headers={"Authorization": f"Bearer {secret}"}
    ).json()
    assert body["class"]["title"] == "3年1組" and body["class"]["student_count"] == 2
    students = [(m["shusseki_no"], m["given_name"]) for m in body["members"] if m["role"] == "student"]
    assert students == [(1, "一郎"), (2, "花子")]
    assert [m["given_name"] for m in body["members"] if m["role"] == "teacher"] == ["先生A"]
    assert all(not SECRET_FIELDS & set(m) for m in body["members"])


def test_token_without_roster_scope_cannot_read_rosters(client: Any, api_token: Any, world: Any) -> None:
    secret = api_token("t-a1", ["hub"])
    response = client.get(
        f"/api/v1/classes/{world.classes['A1'].id}", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 403 and "roster:read" in response.json()["detail"]


def test_roster_import_upload_via_api(
    client: Any, api_token: Any, tmp_path: Path, db_session: Session
) -> None:
    bundle = zip_folder(copy_bundle(tmp_path / "bundle"), tmp_path / "roster.zip")
    secret = api_token("admin", ["roster:write"])
    response = client.post(
        "/api/v1/roster/import",
        headers={"Authorization": f"Bearer {secret}"},
        files={"bundle": ("roster.zip", bundle.read_bytes(), "application/zip")},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["counts"]["users"]["created"] > 0 and report["source"] == "roster.zip"
    assert db_session.exec(select(User).where(User.username == "es-student-1")).first() is not None
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "roster.import")).one()
    assert event.ip == "testclient" and event.actor_id is not None


def test_refused_bundle_is_400_with_every_error_line_and_changes_nothing(
    client: Any, api_token: Any, tmp_path: Path, db_session: Session
) -> None:
    folder = copy_bundle(tmp_path / "bundle")
    set_value(folder, "users.csv", "stu-es-1", "grades", "P9")
    set_value(folder, "users.csv", "stu-es-2", "primaryOrgSourcedId", "org-nowhere")
    bundle = zip_folder(folder, tmp_path / "broken.zip")
    secret = api_token("admin", ["roster:write"])
    before = len(db_session.exec(select(User)).all())
    response = client.post(
        "/api/v1/roster/import",
        headers={"Authorization": f"Bearer {secret}"},
        files={"bundle": ("broken.zip", bundle.read_bytes(), "application/zip")},
    )
    assert response.status_code == 400
    body = response.json()
    assert "取り込みませんでした" in body["detail"]
    assert len(body["errors"]) >= 2 and all(line.startswith("users.csv:") for line in body["errors"][:2])
    db_session.expire_all()
    assert len(db_session.exec(select(User)).all()) == before


def test_roster_import_refuses_a_non_zip(client: Any, api_token: Any) -> None:
    secret = api_token("admin", ["roster:write"])
    response = client.post(
        "/api/v1/roster/import",
        headers={"Authorization": f"Bearer {secret}"},
        files={"bundle": ("roster.csv", b"a,b\n", "text/csv")},
    )
    assert response.status_code == 400 and "zip" in response.json()["detail"]


def test_audit_api_filters_by_action_and_actor(client: Any, sign_in: Any, api_token: Any, world: Any) -> None:
    sign_in("t-a1")
    client.get(f"/api/v1/classes/{world.classes['A1'].id}")
    client.cookies.clear()
    secret = api_token("admin", ["audit:read"])
    headers = {"Authorization": f"Bearer {secret}"}
    views = client.get("/api/v1/audit", params={"action": "roster.view"}, headers=headers).json()
    assert views["total"] == 1 and views["events"][0]["actor_username"] == "t-a1"
    logins = client.get("/api/v1/audit", params={"action": "auth.", "actor": "t-a1"}, headers=headers).json()
    assert {e["action"] for e in logins["events"]} == {"auth.login"}
    nothing = client.get("/api/v1/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=headers).json()
    assert nothing == {"total": 0, "events": []}


def test_audit_log_has_no_write_routes(app: Any) -> None:
    from lms.permissions import iter_routes

    assert [r for r in iter_routes(app.routes) if "audit" in r[1] and r[0] != "GET"] == []


def test_openapi_documents_the_api(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/me",
        "/api/v1/classes",
        "/api/v1/classes/{class_id}",
        "/api/v1/users/{user_id}",
        "/api/v1/roster/import",
        "/api/v1/audit",
        "/api/v1/tokens",
    ):
        assert path in paths, path
    assert not any(p.startswith("/login") for p in paths)  # pages stay out of the API schema


def test_validation_errors_stay_json(client: Any, sign_in: Any) -> None:
    sign_in("admin")
    response = client.get("/api/v1/classes/not-a-number")
    assert response.status_code == 422 and isinstance(response.json()["detail"], list)


def test_admin_page_upload_shows_the_error_list(client: Any, sign_in: Any, tmp_path: Path) -> None:
    folder = copy_bundle(tmp_path / "bundle")
    set_value(folder, "users.csv", "stu-es-1", "grades", "P9")
    bundle = zip_folder(folder, tmp_path / "broken.zip")
    sign_in("admin")
    page = client.get("/admin/roster")
    response = client.post(
        "/admin/roster",
        data={"csrf_token": csrf_of(page.text)},
        files={"bundle": ("broken.zip", bundle.read_bytes(), "application/zip")},
    )
    assert response.status_code == 400
    assert 'id="problems"' in response.text and "users.csv の " in response.text and "P9" in response.text
    good = zip_folder(copy_bundle(tmp_path / "good"), tmp_path / "good.zip")
    ok = client.post(
        "/admin/roster",
        data={"csrf_token": csrf_of(page.text)},
        files={"bundle": ("good.zip", good.read_bytes(), "application/zip")},
    )
    assert ok.status_code == 200 and 'id="import-report"' in ok.text and "取り込みました" in ok.text
