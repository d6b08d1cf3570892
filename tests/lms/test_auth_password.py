"""Password sign-in through HTTP: cookies, throttling and lock-out, rehash, timeouts, sign-out, CSRF."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.auth.models import AuthSession
from lms.auth.sessions import SESSION_COOKIE
from lms.roster.models import User
from tests.factories import get_row
from tests.lms.conftest import PASSWORD, csrf_of, post_login


def _actions(db_session: Session) -> list[str]:
    db_session.expire_all()
    return [e.action for e in db_session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def test_sign_in_sets_an_httponly_lax_cookie_and_audits(
    client: Any, world: Any, clock: Any, db_session: Session
) -> None:
    response = post_login(client, "t-a1", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/home"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    raw = client.cookies.get(SESSION_COOKIE)
    stored = db_session.exec(select(AuthSession)).one()
    assert raw and stored.token_hash != raw and len(stored.token_hash) == 64  # only the hash is stored
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "auth.login")).one()
    assert event.actor_id == world.users["t-a1"].id and event.ip == "testclient"


def test_cookie_is_secure_when_served_over_https(settings: Any, world: Any) -> None:
    from fastapi.testclient import TestClient

    from lms.main import create_app

    app = create_app(settings.model_copy(update={"https": True}))
    with TestClient(app, base_url="https://testserver") as client:
        response = post_login(client, "t-a1", PASSWORD)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: Any, world: Any, clock: Any, db_session: Session
) -> None:
    wrong = post_login(client, "t-a1", "nope-nope")
    unknown = post_login(client, "nobody-here", "nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert "ユーザー名またはパスワードがちがいます。" in wrong.text
    assert "ユーザー名またはパスワードがちがいます。" in unknown.text
    assert SESSION_COOKIE not in client.cookies
    assert _actions(db_session).count("auth.login_failed") == 2


def test_lockout_after_repeated_failures_then_release(
    client: Any, world: Any, clock: Any, settings: Any, db_session: Session
) -> None:
    for _ in range(settings.login_max_failures):
        assert post_login(client, "t-a1", "bad-password").status_code == 401
    locked = post_login(client, "t-a1", PASSWORD)  # even the right password is refused now
    assert locked.status_code == 429
    assert "しばらくのあいだサインインできません" in locked.text and "15分ほど" in locked.text
    assert "auth.lockout" in _actions(db_session)
    user = db_session.exec(select(User).where(User.username == "t-a1")).one()
    assert user.locked_until is not None
    clock.advance(minutes=settings.login_lockout_minutes + 1)
    assert post_login(client, "t-a1", PASSWORD).status_code == 303


def test_unknown_account_locks_the_same_way(client: Any, world: Any, clock: Any, settings: Any) -> None:
    for _ in range(settings.login_max_failures):
        post_login(client, "ghost", "bad-password")
    response = post_login(client, "ghost", "bad-password")
    assert response.status_code == 429 and "しばらくのあいだサインインできません" in response.text


def test_lockout_of_one_account_does_not_block_another(
    client: Any, world: Any, clock: Any, settings: Any
) -> None:
    for _ in range(settings.login_max_failures):
        post_login(client, "t-a1", "bad-password")
    assert post_login(client, "t-b1", PASSWORD).status_code == 303


def test_per_ip_throttle(settings: Any, world: Any) -> None:
    from fastapi.testclient import TestClient

    from lms.main import create_app

    app = create_app(settings.model_copy(update={"login_throttle_max_per_ip": 3}))
    with TestClient(app) as client:
        for name in ("x1", "x2", "x3"):
            assert post_login(client, name, "bad").status_code == 401
        response = post_login(client, "t-a1", PASSWORD)  # a different account, same IP
    assert response.status_code == 429


def test_outdated_hash_is_upgraded_on_sign_in(
    client: Any, world: Any, clock: Any, db_session: Session
) -> None:
    user = world.users["t-b1"]
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    user.password_hash = old
    db_session.add(user)
    db_session.commit()
    assert post_login(client, "t-b1", PASSWORD).status_code == 303
    db_session.expire_all()
    new = get_row(db_session, User, user.id).password_hash or ""
    assert new != old and "t=1" in new  # the current (test) parameters


def test_login_form_without_csrf_token_is_refused(client: Any, world: Any) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "t-a1", "password": PASSWORD})
    assert response.status_code == 403
    assert "フォームの有効期限が切れました" in response.text
    forged = client.post("/login", data={"username": "t-a1", "password": PASSWORD, "csrf_token": "0" * 64})
    assert forged.status_code == 403


def test_logout_requires_csrf_and_ends_the_session(client: Any, sign_in: Any, db_session: Session) -> None:
    sign_in("s-a1")
    raw = client.cookies.get(SESSION_COOKIE)
    assert client.post("/logout").status_code == 403  # no token: refused, still signed in
    assert client.get("/home").status_code == 200
    home = client.get("/home")
    response = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?bye=1"
    assert db_session.exec(select(AuthSession)).first() is None
    client.cookies.set(SESSION_COOKIE, raw)  # replaying the old cookie does not work
    assert client.get("/home", follow_redirects=False).status_code == 303
    assert "auth.logout" in _actions(db_session)


def test_session_id_changes_at_sign_in(client: Any, world: Any, clock: Any) -> None:
    post_login(client, "s-a1", PASSWORD)
    first = client.cookies.get(SESSION_COOKIE)
    post_login(client, "s-a1", PASSWORD)
    assert client.cookies.get(SESSION_COOKIE) != first


def test_idle_timeout(client: Any, sign_in: Any, clock: Any, settings: Any) -> None:
    sign_in("s-a1")
    clock.advance(minutes=settings.session_idle_timeout_minutes - 1)
    assert client.get("/home").status_code == 200  # activity keeps the session alive
    clock.advance(minutes=settings.session_idle_timeout_minutes - 1)
    assert client.get("/home").status_code == 200
    clock.advance(minutes=settings.session_idle_timeout_minutes + 1)
    response = client.get("/home", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/home&expired=1"
    assert "しばらく操作がなかったため" in client.get(response.headers["location"]).text


def test_absolute_timeout_even_when_active(client: Any, sign_in: Any, clock: Any, settings: Any) -> None:
    sign_in("t-a1")
    step = max(1, settings.session_idle_timeout_minutes // 2)
    elapsed = 0
    while elapsed + step < settings.session_absolute_timeout_minutes:
        clock.advance(minutes=step)
        elapsed += step
        assert client.get("/api/v1/me").status_code == 200
    clock.advance(minutes=settings.session_absolute_timeout_minutes - elapsed + 1)
    assert client.get("/api/v1/me").status_code == 401


def test_disabled_account_loses_its_session(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    sign_in("s-a1")
    user = world.users["s-a1"]
    user.enabled = False
    db_session.add(user)
    db_session.commit()
    assert client.get("/home", follow_redirects=False).status_code == 303
    assert post_login(client, "s-a1", PASSWORD).status_code == 401


def test_next_parameter_cannot_redirect_off_site(client: Any, world: Any, clock: Any) -> None:
    page = client.get("/login?next=//evil.example/")
    response = client.post(
        "/login",
        data={
            "username": "s-a1",
            "password": PASSWORD,
            "next": "//evil.example/",
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/home"


def test_unauthenticated_page_redirects_and_api_answers_401(client: Any, world: Any) -> None:
    response = client.get(f"/classes/{world.classes['A1'].id}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/classes/")
    api = client.get("/api/v1/me")
    assert api.status_code == 401 and api.headers["www-authenticate"] == "Bearer"
    assert "サインイン" in api.json()["detail"]


def test_expired_sessions_can_be_purged(
    client: Any, sign_in: Any, clock: Any, settings: Any, db_session: Session
) -> None:
    from lms.auth.sessions import purge_expired_sessions

    sign_in("s-a1")
    assert purge_expired_sessions(session=db_session, settings=settings, now=clock.now()) == 0
    clock.advance(minutes=settings.session_idle_timeout_minutes + 1)
    assert purge_expired_sessions(session=db_session, settings=settings, now=clock.now()) == 1
    db_session.commit()
    assert db_session.exec(select(AuthSession)).first() is None
