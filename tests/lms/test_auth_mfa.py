"""TOTP second factor: enrolment (forced for board/admin by default), the sign-in step, lock-out."""

from __future__ import annotations

from typing import Any

import pyotp
from sqlmodel import Session, select

from lms.audit.models import AuditEvent
from lms.auth import totp
from lms.roster.models import User
from tests.factories import found, get_row
from tests.lms.conftest import csrf_of, new_staff_user, post_login, totp_code


def test_board_without_totp_must_enrol_first(
    client: Any, world: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    user = new_staff_user(db_session, world, "board-2", "board")
    response = post_login(client, "board-2")
    assert response.headers["location"] == "/mfa/enroll"
    # nothing else is reachable before enrolment
    assert client.get("/home", follow_redirects=False).headers["location"] == "/mfa/enroll"
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/mfa/enroll")
    assert page.status_code == 200
    uri = found(r'id="totp-uri">([^<]+)<', page.text).replace("&amp;", "&")
    assert uri.startswith("otpauth://totp/") and "issuer=GIGA" in uri
    secret = found(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    # reloading keeps the same pending secret (an app that already scanned it keeps working)
    assert secret in client.get("/mfa/enroll").text
    bad = client.post("/mfa/enroll", data={"code": "000000", "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 400 and "確認コードがちがいます" in bad.text
    good = client.post(
        "/mfa/enroll",
        data={"code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/home"
    assert client.get("/home").status_code == 200
    db_session.expire_all()
    stored = get_row(db_session, User, user.id)
    assert stored.totp_secret is not None
    assert stored.totp_enabled and stored.totp_secret != secret  # encrypted at rest
    assert totp.reveal_secret(stored.totp_secret, secret_key=settings.secret_key) == secret
    actions = [e.action for e in db_session.exec(select(AuditEvent).where(AuditEvent.actor_id == user.id))]
    assert "auth.mfa_enrolled" in actions and "auth.login" in actions


def test_mfa_requirement_can_be_switched_off(settings: Any, world: Any, db_session: Session) -> None:
    from fastapi.testclient import TestClient

    from lms.main import create_app

    new_staff_user(db_session, world, "board-3", "board")
    with TestClient(create_app(settings.model_copy(update={"require_mfa_for_staff_roles": []}))) as client:
        assert post_login(client, "board-3").headers["location"] == "/home"


def test_teacher_is_not_forced_but_may_enrol(client: Any, sign_in: Any, clock: Any, world: Any) -> None:
    assert sign_in("t-a1").headers["location"] == "/home"
    page = client.get("/mfa/enroll")
    secret = found(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    client.post(
        "/mfa/enroll", data={"code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_of(page.text)}
    )
    assert "設定済み" in client.get("/mfa/enroll").text
    client.cookies.clear()
    assert post_login(client, "t-a1").headers["location"].startswith("/login/mfa")


def test_sign_in_with_totp(client: Any, world: Any, clock: Any, db_session: Session) -> None:
    response = post_login(client, "admin")
    assert response.headers["location"].startswith("/login/mfa")
    assert client.get("/api/v1/me").status_code == 401  # half signed in is not signed in
    assert client.get("/admin/audit", follow_redirects=False).headers["location"] == "/login/mfa"
    page = client.get("/login/mfa")
    wrong = client.post("/login/mfa", data={"code": "123456", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401 and "確認コードがちがいます" in wrong.text
    ok = client.post(
        "/login/mfa",
        data={"code": totp_code(world.totp["admin"], clock), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert client.get("/api/v1/me").json()["username"] == "admin"
    actions = [e.action for e in db_session.exec(select(AuditEvent))]
    assert "auth.mfa_failed" in actions and "auth.login" in actions


def test_code_from_another_time_step_is_refused(client: Any, world: Any, clock: Any) -> None:
    post_login(client, "board")
    page = client.get("/login/mfa")
    old = pyotp.TOTP(world.totp["board"]).at(clock.now().timestamp() - 600)
    assert client.post("/login/mfa", data={"code": old, "csrf_token": csrf_of(page.text)}).status_code == 401


def test_repeated_wrong_codes_lock_the_account(client: Any, world: Any, clock: Any, settings: Any) -> None:
    post_login(client, "board")
    page = client.get("/login/mfa")
    statuses = [
        client.post("/login/mfa", data={"code": "000000", "csrf_token": csrf_of(page.text)}).status_code
        for _ in range(settings.login_max_failures)
    ]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}
    assert client.get("/login/mfa", follow_redirects=False).headers["location"] == "/login"
    assert post_login(client, "board").status_code == 429
