"""TOTP hardening: a code is accepted once (RFC 6238 §5.2, the database decides); secrets encrypted."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyotp
import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lms.audit.models import AuditEvent
from lms.auth import service, totp
from lms.roster.models import User
from tests.factories import found
from tests.lms.conftest import csrf_of, new_staff_user, post_login, totp_code

REFUSED = "確認コードがちがいます"
REUSED = "この確認コードはもう使われました。アプリに次のコードが出てから入力してください"


@contextmanager
def second_browser(app: Any) -> Iterator[TestClient]:
    """Another browser (its own cookies) on the same app, clock and database."""
    with TestClient(app) as other:
        yield other


def _post_code(client: Any, code: str) -> Any:
    page = client.get("/login/mfa")
    return client.post(
        "/login/mfa", data={"code": code, "csrf_token": csrf_of(page.text)}, follow_redirects=False
    )


def _mfa_sign_in(client: Any, username: str, code: str) -> Any:
    assert post_login(client, username).headers["location"].startswith("/login/mfa")
    return _post_code(client, code)


def _stored(db_session: Session, username: str) -> User:
    db_session.expire_all()
    user = db_session.exec(select(User).where(User.username == username)).one()
    return user


def _step(clock: Any) -> int:
    return int(clock.now().timestamp()) // 30


def _independent_open(token: str, secret_key: str) -> str:
    """Decrypt as docs/operations.md describes it, with `cryptography` directly (not through lms)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"giga-totp-secret").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw)).decrypt(token.encode()).decode()


def _enrol(client: Any, clock: Any, username: str) -> str:
    """Sign in a staff member without TOTP and confirm enrolment with the current code; the secret."""
    post_login(client, username)
    page = client.get("/mfa/enroll")
    secret = found(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    done = client.post(
        "/mfa/enroll",
        data={"code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/home"
    return secret


@pytest.fixture
def new_board_user(db_session: Session, world: Any) -> User:
    user: User = new_staff_user(db_session, world, "board-new", "board")
    return user


def test_a_code_is_accepted_once_and_the_next_steps_code_works(
    client: Any, app: Any, world: Any, clock: Any, db_session: Session
) -> None:
    code = totp_code(world.totp["board"], clock)
    assert _mfa_sign_in(client, "board", code).status_code == 303
    assert _stored(db_session, "board").totp_last_step == _step(clock)
    with second_browser(app) as other:
        replay = _mfa_sign_in(other, "board", code)
        assert replay.status_code == 401 and REUSED in replay.text and REFUSED not in replay.text
        assert other.get("/api/v1/me").status_code == 401
        # the previous step's code is within the drift window, but older than the accepted one
        older = pyotp.TOTP(world.totp["board"]).at(clock.now(), counter_offset=-1)
        assert _post_code(other, older).status_code == 401
        clock.advance(seconds=30)
        fresh = _post_code(other, totp_code(world.totp["board"], clock))
        assert fresh.status_code == 303
        assert other.get("/api/v1/me").json()["username"] == "board"
    assert _stored(db_session, "board").totp_last_step == _step(clock)
    reasons = [
        json.loads(e.detail or "{}").get("reason")
        for e in db_session.exec(select(AuditEvent).where(AuditEvent.action == "auth.mfa_failed"))
    ]
    assert reasons == ["reused", "reused"]


def test_the_same_code_at_the_same_moment_passes_once(
    engine: Any, settings: Any, world: Any, clock: Any
) -> None:
    """Two requests, each with the user loaded before either checks: only the database can refuse one."""
    code = totp_code(world.totp["admin"], clock)
    sessions = [Session(engine, expire_on_commit=False) for _ in range(2)]
    users = [s.exec(select(User).where(User.username == "admin")).one() for s in sessions]
    assert [u.totp_last_step for u in users] == [None, None]
    start = threading.Barrier(2)
    results: list[str] = []
    errors: list[BaseException] = []

    def attempt(session: Session, user: User) -> None:
        try:
            start.wait()
            ok = service.check_totp_code(
                session=session, settings=settings, user=user, code=code, ip=None, now=clock.now()
            )
            session.commit()
            results.append(ok)
        except BaseException as error:  # surfaced below
            session.rollback()
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(sessions, users, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for session in sessions:
        session.close()
    assert errors == []
    assert sorted(results) == ["accepted", "reused"]
    with Session(engine) as fresh:
        stored = fresh.exec(select(User).where(User.username == "admin")).one()
        assert stored.totp_last_step == _step(clock)


def test_a_stale_copy_of_the_user_cannot_reuse_a_code(
    engine: Any, settings: Any, world: Any, clock: Any
) -> None:
    """The same race, one after the other: the second session's copy still says no step was used."""
    code = totp_code(world.totp["admin"], clock)
    with Session(engine) as first, Session(engine) as second:
        user_1 = first.exec(select(User).where(User.username == "admin")).one()
        user_2 = second.exec(select(User).where(User.username == "admin")).one()
        accepted = service.check_totp_code(
            session=first, settings=settings, user=user_1, code=code, ip=None, now=clock.now()
        )
        assert accepted == "accepted"
        first.commit()
        assert user_2.totp_last_step is None
        refused = service.check_totp_code(
            session=second, settings=settings, user=user_2, code=code, ip=None, now=clock.now()
        )
        second.commit()
    assert refused == "reused"


def test_enrolment_records_the_step_and_encrypts_the_secret(
    client: Any, app: Any, clock: Any, db_session: Session, settings: Any, new_board_user: User
) -> None:
    secret = _enrol(client, clock, "board-new")
    stored = _stored(db_session, "board-new")
    assert stored.totp_enabled and stored.totp_last_step == _step(clock)
    assert stored.totp_secret is not None and secret not in stored.totp_secret
    assert len(stored.totp_secret) > 64  # the widened column holds it
    assert _independent_open(stored.totp_secret, settings.secret_key) == secret
    with pytest.raises(InvalidToken):
        _independent_open(stored.totp_secret, settings.secret_key + "-other")
    assert totp.reveal_secret(stored.totp_secret, secret_key=settings.secret_key + "-other") is None
    # the code that confirmed enrolment cannot also sign in, in this step
    with second_browser(app) as other:
        assert _mfa_sign_in(other, "board-new", pyotp.TOTP(secret).at(clock.now())).status_code == 401
        clock.advance(seconds=30)
        assert _post_code(other, pyotp.TOTP(secret).at(clock.now())).status_code == 303


def test_pending_secret_survives_reloads_encrypted(
    client: Any, clock: Any, db_session: Session, settings: Any, new_board_user: User
) -> None:
    post_login(client, "board-new")
    first = found(r'id="totp-secret">([A-Z2-7]+)<', client.get("/mfa/enroll").text)
    stored = _stored(db_session, "board-new").totp_secret
    assert stored is not None and first not in stored and stored.startswith("gAAAAA")
    again = found(r'id="totp-secret">([A-Z2-7]+)<', client.get("/mfa/enroll").text)
    assert again == first


def test_legacy_plaintext_secret_signs_in_and_is_encrypted_afterwards(
    client: Any, world: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    plain = world.totp["admin"]
    assert _stored(db_session, "admin").totp_secret == plain  # as written before encryption existed
    assert _mfa_sign_in(client, "admin", totp_code(plain, clock)).status_code == 303
    stored = _stored(db_session, "admin").totp_secret
    assert stored is not None and stored != plain and plain not in stored
    assert _independent_open(stored, settings.secret_key) == plain
    client.cookies.clear()
    clock.advance(seconds=30)
    assert _mfa_sign_in(client, "admin", totp_code(plain, clock)).status_code == 303


def test_a_changed_secret_key_refuses_the_code_without_crashing(
    client: Any, clock: Any, db_session: Session, settings: Any, new_board_user: User, caplog: Any
) -> None:
    from lms.core.clock import get_clock
    from lms.main import create_app

    secret = _enrol(client, clock, "board-new")
    clock.advance(seconds=30)
    rotated = create_app(settings.model_copy(update={"secret_key": settings.secret_key + "-rotated"}))
    rotated.dependency_overrides[get_clock] = lambda: clock
    with TestClient(rotated) as other, caplog.at_level(logging.WARNING, logger="lms.auth.secret_box"):
        refused = _mfa_sign_in(other, "board-new", pyotp.TOTP(secret).at(clock.now()))
        assert refused.status_code == 401 and REFUSED in refused.text
        assert other.get("/api/v1/me").status_code == 401
    assert "cannot be decrypted" in caplog.text
    stored = _stored(db_session, "board-new")
    assert stored.totp_last_step == _step(clock) - 1  # nothing accepted under the wrong key
    # the way out: an administrator resets the second factor, the user sets it up again under the new key
    service.reset_totp(session=db_session, actor_id=None, user=stored, ip=None)
    db_session.commit()
    with TestClient(rotated) as other:
        new_secret = _enrol(other, clock, "board-new")
    assert new_secret != secret
    stored = _stored(db_session, "board-new")
    assert _independent_open(stored.totp_secret or "", settings.secret_key + "-rotated") == new_secret
    actions = [
        e.action for e in db_session.exec(select(AuditEvent).where(AuditEvent.target_id == str(stored.id)))
    ]
    assert "auth.mfa_reset" in actions


def test_garbage_in_the_secret_column_is_a_refusal(
    client: Any, world: Any, clock: Any, db_session: Session
) -> None:
    admin = _stored(db_session, "admin")
    admin.totp_secret = "not a secret!"
    db_session.add(admin)
    db_session.commit()
    assert _mfa_sign_in(client, "admin", "123456").status_code == 401


def _mfa_form(client: Any, username: str) -> str:
    """Password step; return the second-factor page's CSRF token."""
    assert post_login(client, username).headers["location"].startswith("/login/mfa")
    return csrf_of(client.get("/login/mfa").text)


def _failures_and_logins(engine: Any) -> tuple[int, int]:
    with Session(engine) as fresh:
        actions = [e.action for e in fresh.exec(select(AuditEvent))]
    return actions.count("auth.mfa_failed"), actions.count("auth.login")


def test_a_second_click_after_signing_in_goes_on_instead_of_failing(
    client: Any, engine: Any, world: Any, clock: Any
) -> None:
    token = _mfa_form(client, "admin")
    form = {"code": totp_code(world.totp["admin"], clock), "csrf_token": token, "next": "/admin/audit"}
    first = client.post("/login/mfa", data=form, follow_redirects=False)
    second = client.post("/login/mfa", data=form, follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/admin/audit")
    assert (second.status_code, second.headers["location"]) == (303, "/admin/audit")
    assert _failures_and_logins(engine) == (0, 1)


def test_a_double_click_at_the_same_moment_signs_in_once_without_a_failure(
    app: Any, client: Any, engine: Any, world: Any, clock: Any
) -> None:
    token = _mfa_form(client, "admin")
    form = {"code": totp_code(world.totp["admin"], clock), "csrf_token": token}
    start = threading.Barrier(2)
    responses: list[Any] = []

    def click() -> None:
        with TestClient(app, cookies=dict(client.cookies)) as browser:  # the same browser session
            start.wait()
            responses.append(browser.post("/login/mfa", data=form, follow_redirects=False))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((r.status_code, r.headers.get("location")) for r in responses) == [(303, "/home")] * 2
    assert _failures_and_logins(engine) == (0, 1)
    assert client.get("/api/v1/me").json()["username"] == "admin"


def test_another_browser_with_the_same_code_is_still_refused(
    app: Any, client: Any, engine: Any, world: Any, clock: Any
) -> None:
    code = totp_code(world.totp["admin"], clock)
    token = _mfa_form(client, "admin")
    assert client.post("/login/mfa", data={"code": code, "csrf_token": token}).status_code == 200
    with TestClient(app) as other:
        other_token = _mfa_form(other, "admin")
        refused = other.post("/login/mfa", data={"code": code, "csrf_token": other_token})
    assert refused.status_code == 401
    assert _failures_and_logins(engine) == (1, 1)
