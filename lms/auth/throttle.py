"""Login throttling: failures counted per account name and per client IP, with a temporary lock-out.

Keys are strings, so an unknown username is throttled exactly like a real one and the answer never
tells whether the account exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from lms.auth.models import LoginThrottle
from lms.core.settings import Settings
from lms.ops.locks import xact_lock


@dataclass(frozen=True)
class ThrottleState:
    locked: bool
    retry_after_minutes: int = 0


def account_key(username: str) -> str:
    return "account:" + username.strip().casefold()


def ip_key(ip: str | None) -> str:
    return "ip:" + (ip or "unknown")


def _row(session: Session, key: str) -> LoginThrottle | None:
    return session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).first()


def _serialise(session: Session, key: str) -> None:
    """Hold the key's lock until commit, so that failures counted at once by two workers are both counted.

    Without it two workers read the same count and both write count + 1 (or both insert the key's first
    row, and one request fails on the unique key).  PostgreSQL locks per key; SQLite admits one writer at
    a time anyway, so one lock for all keys costs nothing there.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    xact_lock(session, f"login-throttle:{key}" if postgres else "login-throttle")


def _minutes_left(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 59) // 60)


def check(
    *, session: Session, settings: Settings, username: str, ip: str | None, now: datetime
) -> ThrottleState:
    """Whether a sign-in attempt for ``username`` from ``ip`` must be refused right now."""
    for key in (account_key(username), ip_key(ip)):
        row = _row(session, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            return ThrottleState(locked=True, retry_after_minutes=_minutes_left(row.locked_until, now))
    return ThrottleState(locked=False)


def register_failure(
    *, session: Session, settings: Settings, username: str, ip: str | None, now: datetime
) -> bool:
    """Count one failure for the account name and the IP; return True when this failure locked the account."""
    window = timedelta(minutes=settings.login_throttle_window_minutes)
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    limits = {
        account_key(username): settings.login_max_failures,
        ip_key(ip): settings.login_throttle_max_per_ip,
    }
    account_locked = False
    for key, limit in limits.items():
        _serialise(session, key)
        row = _row(session, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_start=now)
        if now - row.window_start > window:
            row.failures, row.window_start = 0, now
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + lockout
            row.failures, row.window_start = 0, now
            if key.startswith("account:"):
                account_locked = True
        session.add(row)
    session.flush()
    return account_locked


def reset_account(*, session: Session, username: str) -> None:
    """Forget the failures of an account after a successful sign-in (the IP count stays)."""
    row = _row(session, account_key(username))
    if row is not None:
        row.failures, row.locked_until = 0, None
        session.add(row)
        session.flush()
