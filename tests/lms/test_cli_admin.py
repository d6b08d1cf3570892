"""`giga admin create`: the first system administrator of a production installation.

The new account is proved through the real sign-in pages (password, then the enforced TOTP enrolment);
refusals exit 2 with one sentence and leave the user table and the audit log as they were.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from lms.audit.models import AuditEvent
from lms.cli import app
from lms.core.db import dispose_engine
from lms.core.settings import get_settings
from lms.roster.models import User
from tests.lms.conftest import csrf_of, post_login

runner = CliRunner()
NEW_PASSWORD = "kumo-no-ue-2027!"


def _create(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, ["admin", "create", *args], input=stdin)


def _counts(db_session: Session) -> tuple[int, int]:
    db_session.expire_all()
    users = db_session.exec(select(func.count()).select_from(User)).one()
    events = db_session.exec(select(func.count()).select_from(AuditEvent)).one()
    return users, events


@pytest.mark.db
def test_created_admin_signs_in_and_must_enrol_totp(
    settings: Any, client: Any, clock: Any, db_session: Session
) -> None:
    result = _create("city-admin", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created system administrator 'city-admin' (システム 管理者" in result.stdout
    assert "must set up a second factor" in result.stdout  # admins are in require_mfa_for_staff_roles
    assert NEW_PASSWORD not in result.output

    user = db_session.exec(select(User).where(User.username == "city-admin")).one()
    assert (user.role, user.status, user.enabled, user.sourced_id) == ("admin", "active", True, None)
    assert (user.family_name, user.given_name, user.kana_given_name) == ("システム", "管理者", "カンリシャ")
    assert user.password_hash and user.password_hash.startswith("$argon2id$")
    assert NEW_PASSWORD not in user.password_hash
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert (event.actor_id, event.target_type, event.target_id) == (None, "user", str(user.id))
    assert '"role": "admin"' in (event.detail or "") and NEW_PASSWORD not in (event.detail or "")

    assert post_login(client, "city-admin", "wrong-password-1").status_code == 401
    _sign_in_and_enrol(client, clock, "city-admin")
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["username"] == "city-admin"


def _sign_in_and_enrol(client: Any, clock: Any, username: str) -> None:
    """Password step, then the enforced TOTP enrolment, through the real pages."""
    response = post_login(client, username, NEW_PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/mfa/enroll"
    page = client.get("/mfa/enroll")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)  # type: ignore[union-attr]
    done = client.post(
        "/mfa/enroll",
        data={"code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/home"


@pytest.mark.db
def test_reset_mfa_sends_the_user_back_to_enrolment(
    settings: Any, client: Any, clock: Any, db_session: Session
) -> None:
    assert _create("city-admin", "--password-stdin", stdin=NEW_PASSWORD + "\n").exit_code == 0
    _sign_in_and_enrol(client, clock, "city-admin")
    client.cookies.clear()
    clock.advance(seconds=60)
    assert post_login(client, "city-admin", NEW_PASSWORD).headers["location"].startswith("/login/mfa")

    result = runner.invoke(app, ["admin", "reset-mfa", "city-admin"])
    assert result.exit_code == 0, result.output
    assert "removed their second factor for 'city-admin'" in result.stdout
    db_session.expire_all()
    user = db_session.exec(select(User).where(User.username == "city-admin")).one()
    assert (user.totp_enabled, user.totp_secret, user.totp_last_step) == (False, None, None)
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "auth.mfa_reset")).one()
    assert (event.actor_id, event.target_id) == (None, str(user.id))
    client.cookies.clear()
    _sign_in_and_enrol(client, clock, "city-admin")  # a new phone, a new secret

    before = _counts(db_session)
    unknown = runner.invoke(app, ["admin", "reset-mfa", "nobody-here"])
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == "error: no user is named 'nobody-here'; nothing was changed"
    assert _counts(db_session) == before


@pytest.mark.db
def test_prompt_asks_twice_and_never_echoes(settings: Any, db_session: Session) -> None:
    result = _create(
        "ops-admin",
        "--family-name",
        "情報",
        "--given-name",
        "太郎",
        stdin=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password:" in result.output and "Repeat for confirmation:" in result.output
    assert NEW_PASSWORD not in result.output
    user = db_session.exec(select(User).where(User.username == "ops-admin")).one()
    assert user.display_name == "情報 太郎"


@pytest.mark.db
def test_prompt_with_different_entries_creates_nothing(settings: Any, db_session: Session) -> None:
    before = _counts(db_session)
    result = _create("ops-admin", stdin=f"{NEW_PASSWORD}\n{NEW_PASSWORD}x\n")
    assert result.exit_code == 2
    assert "do not match" in result.output
    assert result.stderr.strip() == "error: no password was entered; nothing was created"
    assert NEW_PASSWORD not in result.output
    assert _counts(db_session) == before


@pytest.mark.db
def test_duplicate_username_exits_2_before_asking(settings: Any, db_session: Session) -> None:
    assert _create("city-admin", "--password-stdin", stdin=NEW_PASSWORD + "\n").exit_code == 0
    before = _counts(db_session)
    again = _create("city-admin", stdin=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert again.exit_code == 2
    assert again.stderr.splitlines() == [
        "error: a user named 'city-admin' already exists (role admin); nothing was created"
    ]
    assert "Password" not in again.output  # refused before anyone types a password
    padded = _create("  city-admin ", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert padded.exit_code == 2 and "already exists" in padded.stderr
    assert _counts(db_session) == before


@pytest.mark.db
@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("short12\n", "too short: use at least 8 characters"),
        ("\n", "the password is empty"),
        ("", "the password is empty"),
        ("        \n", "the password is empty"),
        ("x" * 1025 + "\n", "at most 1024 characters"),
    ],
)
def test_refused_password_exits_2_and_writes_nothing(
    settings: Any, db_session: Session, stdin: str, message: str
) -> None:
    before = _counts(db_session)
    result = _create("city-admin", "--password-stdin", stdin=stdin)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert "Traceback" not in result.output
    if stdin.strip():
        assert stdin.strip() not in result.output
    assert _counts(db_session) == before


@pytest.mark.db
def test_password_stdin_reads_one_line_exactly(settings: Any, client: Any, db_session: Session) -> None:
    # Spaces belong to the password; only the line ending goes; a second line is not read.
    spaced = " two words here "
    result = _create("city-admin", "--password-stdin", stdin=spaced + "\r\nsecond line\n")
    assert result.exit_code == 0, result.output
    assert post_login(client, "city-admin", spaced.strip()).status_code == 401
    assert post_login(client, "city-admin", spaced).status_code == 303


@pytest.mark.db
@pytest.mark.parametrize("username", ["", "   ", "two words"])
def test_bad_username_exits_2(settings: Any, db_session: Session, username: str) -> None:
    before = _counts(db_session)
    result = _create(username, "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert "username" in result.stderr
    assert _counts(db_session) == before


@pytest.mark.db
def test_message_when_admins_need_no_second_factor(
    settings: Any, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIGA_REQUIRE_MFA_FOR_STAFF_ROLES", '["board"]')
    get_settings.cache_clear()
    result = _create("city-admin", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "not required for admins here" in result.stdout and "must" not in result.stdout


@pytest.mark.parametrize(
    "command", [["admin", "create", "city-admin", "--password-stdin"], ["sessions", "purge"]]
)
def test_database_behind_migrations_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("GIGA_DATABASE_URL", f"sqlite:///{tmp_path / 'giga.db'}")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, command, input=NEW_PASSWORD + "\n")
    finally:
        get_settings.cache_clear()
        dispose_engine(f"sqlite:///{tmp_path / 'giga.db'}")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "run `giga db upgrade`" in result.stderr
    from sqlalchemy import create_engine, inspect

    engine = create_engine(f"sqlite:///{tmp_path / 'giga.db'}")
    try:
        assert "user" not in inspect(engine).get_table_names()  # nothing created, not even tables
    finally:
        engine.dispose()
