"""Server-side sessions: a random id in an HttpOnly cookie, the row keyed by its SHA-256."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, select

from lms.auth.models import AuthSession
from lms.auth.tokens import new_session_secret, sha256_hex
from lms.core.settings import Settings
from lms.roster.models import User

SESSION_COOKIE = "giga_session"
# Refreshing last_seen_at on every request would write on every page view; once a minute is enough.
_TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class LoadedSession:
    row: AuthSession
    user: User


def create_session(
    *, session: Session, user: User, stage: str, ip: str | None, user_agent: str | None, now: datetime
) -> tuple[AuthSession, str]:
    """Start a session; return the row and the raw id for the cookie (never stored)."""
    assert user.id is not None
    raw = new_session_secret()
    row = AuthSession(
        token_hash=sha256_hex(raw),
        user_id=user.id,
        stage=stage,
        created_at=now,
        last_seen_at=now,
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
    )
    session.add(row)
    session.flush()
    return row, raw


def expired(row: AuthSession, *, settings: Settings, now: datetime) -> bool:
    """Idle timeout (since the last request) or absolute timeout (since sign-in)."""
    return _timed_out(row.created_at, row.last_seen_at, settings=settings, now=now)


def _timed_out(created_at: datetime, last_seen_at: datetime, *, settings: Settings, now: datetime) -> bool:
    idle = timedelta(minutes=settings.session_idle_timeout_minutes)
    absolute = timedelta(minutes=settings.session_absolute_timeout_minutes)
    return now - last_seen_at > idle or now - created_at > absolute


def session_usable(
    *,
    user_enabled: bool,
    user_status: str,
    created_at: datetime,
    last_seen_at: datetime,
    settings: Settings,
    now: datetime,
) -> bool:
    """The one rule for a session found by its cookie: its user may sign in and it has not timed out."""
    return (
        user_enabled
        and user_status == "active"
        and not _timed_out(created_at, last_seen_at, settings=settings, now=now)
    )


def touch_due(last_seen_at: datetime, now: datetime) -> bool:
    """Whether ``last_seen_at`` should move to ``now`` (at most once a minute: not a write per request)."""
    return now - last_seen_at >= _TOUCH_INTERVAL


# Session row and user in one round trip (every signed-in request runs this), built once: building the
# statement on every request cost about as much as running it (docs/performance.md, third round).
_LOAD_SESSION = (
    select(AuthSession, User)
    .join(User, col(User.id) == col(AuthSession.user_id))
    .where(col(AuthSession.token_hash) == bindparam("token_hash"))
)


def load_session(*, session: Session, raw: str, settings: Settings, now: datetime) -> LoadedSession | None:
    """The live session for a cookie value, or None (unknown, timed out, user disabled).  An unusable row
    is deleted in the request's transaction — which a refused request rolls back, so such rows stay
    (refused at every use) until `purge_expired_sessions` removes them once timed out (``giga sessions
    purge``, daily)."""
    found = session.exec(_LOAD_SESSION, params={"token_hash": sha256_hex(raw)}).first()
    if found is None:
        return None
    row, user = found
    usable = session_usable(
        user_enabled=user.enabled,
        user_status=user.status,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        settings=settings,
        now=now,
    )
    if not usable:
        session.delete(row)
        session.flush()
        return None
    if touch_due(row.last_seen_at, now):
        row.last_seen_at = now
        session.add(row)
        session.flush()
    return LoadedSession(row=row, user=user)


def set_stage(*, session: Session, row: AuthSession, stage: str) -> None:
    row.stage = stage
    session.add(row)
    session.flush()


def end_session(*, session: Session, row: AuthSession) -> None:
    session.delete(row)
    session.flush()


def end_all_sessions(*, session: Session, user_id: int) -> None:
    """Sign a user out everywhere (e.g. after the account is disabled)."""
    session.exec(delete(AuthSession).where(col(AuthSession.user_id) == user_id))
    session.flush()


def purge_expired_sessions(*, session: Session, settings: Settings, now: datetime) -> int:
    """Delete sessions past their idle or absolute timeout (``giga sessions purge``); return how many.

    One DELETE statement: the first purge of a city's old table may remove millions of rows."""
    idle_cutoff = now - timedelta(minutes=settings.session_idle_timeout_minutes)
    absolute_cutoff = now - timedelta(minutes=settings.session_absolute_timeout_minutes)
    result = session.exec(
        delete(AuthSession).where(
            (col(AuthSession.last_seen_at) < idle_cutoff) | (col(AuthSession.created_at) < absolute_cutoff)
        )
    )
    session.flush()
    return int(result.rowcount)
