"""`giga sessions purge`: expired sign-in sessions whose cookie never came back are deleted by a daily job.

Sessions are opened through the real sign-in page with the app's frozen clock set in the past; the command
runs at the real time, so the margins below (ten minutes or more) make the outcome certain.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from lms.auth.models import AuthSession
from lms.cli import app

runner = CliRunner()


def _session_owners(db_session: Session, world: Any) -> list[str]:
    db_session.expire_all()
    names = {user.id: name for name, user in world.users.items()}
    return sorted(names[row.user_id] for row in db_session.exec(select(AuthSession)))


@pytest.mark.db
def test_purge_removes_only_expired_sessions(
    client: Any, world: Any, clock: Any, sign_in: Any, settings: Any, db_session: Session
) -> None:
    idle = timedelta(minutes=settings.session_idle_timeout_minutes)
    absolute = timedelta(minutes=settings.session_absolute_timeout_minutes)
    now = datetime.now(UTC)

    def sign_in_at(at: datetime, username: str) -> None:
        clock.current = at
        client.cookies.clear()  # keep the previous session (a new sign-in on one browser ends the old one)
        sign_in(username)

    sign_in_at(now - idle - timedelta(minutes=90), "s-a1")  # idle for two hours: expired
    # signed in 12 h 10 min ago, busy all day until 20 min ago: past the absolute timeout only
    sign_in_at(now - absolute - timedelta(minutes=10), "s-a2")
    while clock.current < now - timedelta(minutes=20):
        clock.current = min(clock.current + idle / 2, now - timedelta(minutes=20))
        assert client.get("/home", follow_redirects=False).status_code == 200
    sign_in_at(now - idle + timedelta(minutes=10), "s-b1")  # idle 20 min: alive
    sign_in_at(now, "t-a1")  # alive
    assert _session_owners(db_session, world) == ["s-a1", "s-a2", "s-b1", "t-a1"]

    result = runner.invoke(app, ["sessions", "purge"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("removed 2 expired sign-in session(s)")
    assert _session_owners(db_session, world) == ["s-b1", "t-a1"]

    # the live session still works (its cookie is t-a1's), and a second run finds nothing
    clock.current = now
    assert client.get("/api/v1/me").json()["username"] == "t-a1"
    again = runner.invoke(app, ["sessions", "purge"])
    assert again.exit_code == 0 and again.stdout.startswith("removed 0 expired")
    assert db_session.exec(select(func.count()).select_from(AuthSession)).one() == 2


@pytest.mark.db
def test_purge_of_an_empty_table(settings: Any) -> None:
    result = runner.invoke(app, ["sessions", "purge"])
    assert result.exit_code == 0 and result.stdout.startswith("removed 0 expired")
