"""Login throttling: attempts counted per account name and per client IP, with a temporary lock-out.

Keys are strings, so an unknown username is throttled exactly like a real one and the answer never
tells whether the account exists.

An attempt takes a slot *before* its password is checked: one atomic upsert per key (``INSERT … ON
CONFLICT DO UPDATE … RETURNING``, the same on PostgreSQL and SQLite) counts it and says whether it may go
on, in a short transaction of its own that commits before the password hash starts.  So however many
requests arrive at once, at most ``limit`` passwords are checked per key and window, and no request holds
a row lock while it waits for anything else (a lock held across the request's commit, which waits for a
thread-pool thread that the lock's waiters hold, once hung every worker: issue 15).  The counter saturates
at ``limit + 1``: a returned count above the limit means "refused", without a second statement.  A
successful sign-in gives its slot back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col

from lms.auth.models import LoginThrottle
from lms.core.settings import Settings

_table = LoginThrottle.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ThrottleState:
    locked: bool
    retry_after_minutes: int = 0


@dataclass(frozen=True)
class Slot:
    """The outcome of `reserve`: whether the attempt may check a password, and the slots it took."""

    allowed: bool
    retry_after_minutes: int = 0
    keys: tuple[str, ...] = ()


def account_key(username: str) -> str:
    return "account:" + username.strip().casefold()


def ip_key(ip: str | None) -> str:
    return "ip:" + (ip or "unknown")


def _minutes_left(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 59) // 60)


@contextmanager
def _own_transaction(session: Session) -> Iterator[Connection]:
    """PostgreSQL: a transaction of its own, committed before returning (row locks held for microseconds).
    SQLite: the request's own transaction: SQLite admits one writer at a time, so a second connection would
    wait for the request's write lock (taken e.g. by a second-factor check) until the busy timeout."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name != "postgresql":
        yield session.connection()
        return
    with engine.begin() as connection:
        yield connection


def _take(
    connection: Connection, key: str, limit: int, window: timedelta, now: datetime
) -> tuple[int, datetime | None]:
    """Count one attempt for ``key`` atomically; return the new count (above ``limit``: refused), the lock."""
    c = _table.c
    locked = c.locked_until > now
    fresh = c.window_start < now - window
    expired_lock = c.locked_until <= now
    dialect = connection.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_table).values(key=key, failures=1, window_start=now, locked_until=None)
    upsert = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "failures": case(
                (locked, limit + 1),
                (fresh | expired_lock, 1),
                (c.failures >= limit, limit + 1),
                else_=c.failures + 1,
            ),
            "window_start": case((locked, c.window_start), (fresh | expired_lock, now), else_=c.window_start),
            "locked_until": case((locked, c.locked_until), else_=None),
        },
    ).returning(c.failures, c.locked_until)
    row = connection.execute(upsert).one()
    locked_until: datetime | None = row.locked_until
    if locked_until is not None and locked_until.tzinfo is None:  # SQLite through the Core table: naive UTC
        locked_until = locked_until.replace(tzinfo=now.tzinfo)
    return int(row.failures), locked_until


def _give_back(connection: Connection, key: str, limit: int) -> None:
    c = _table.c
    connection.execute(
        update(_table)
        .where(c.key == key, c.failures > 0)
        .values(failures=case((c.failures > limit, limit - 1), else_=c.failures - 1))
    )


def _limits(settings: Settings, username: str, ip: str | None) -> dict[str, int]:
    return {
        account_key(username): settings.login_max_failures,
        ip_key(ip): settings.login_throttle_max_per_ip,
    }


def reserve(*, session: Session, settings: Settings, username: str, ip: str | None, now: datetime) -> Slot:
    """Take one attempt slot for the account name and for the IP, committed at once (own transaction)."""
    window = timedelta(minutes=settings.login_throttle_window_minutes)
    taken: list[str] = []
    limits = _limits(settings, username, ip)
    with _own_transaction(session) as connection:
        for key, limit in limits.items():
            count, locked_until = _take(connection, key, limit, window, now)
            if count > limit:
                for earlier in taken:
                    _give_back(connection, earlier, limits[earlier])
                minutes = _minutes_left(locked_until, now) if locked_until else settings.login_lockout_minutes
                return Slot(allowed=False, retry_after_minutes=minutes)
            taken.append(key)
    return Slot(allowed=True, keys=tuple(taken))


def release(*, session: Session, settings: Settings, slot: Slot, username: str) -> None:
    """After a successful sign-in: forget the account's failures and give the IP's slot back."""
    limits = _limits(settings, username, None)
    with _own_transaction(session) as connection:
        for key in slot.keys:
            if key.startswith("account:"):
                connection.execute(
                    update(_table).where(_table.c.key == key).values(failures=0, locked_until=None)
                )
            else:
                _give_back(connection, key, limits.get(key, settings.login_throttle_max_per_ip))


def lock_if_full(*, session: Session, settings: Settings, slot: Slot, now: datetime) -> bool:
    """After a failed attempt: start the lock-out of every key whose slots are used up; True if the
    account's lock-out started now."""
    lockout = now + timedelta(minutes=settings.login_lockout_minutes)
    account_locked = False
    with _own_transaction(session) as connection:
        for key in slot.keys:
            limit = (
                settings.login_max_failures
                if key.startswith("account:")
                else settings.login_throttle_max_per_ip
            )
            c = _table.c
            started = connection.execute(
                update(_table)
                .where(
                    c.key == key, c.failures >= limit, (c.locked_until.is_(None)) | (c.locked_until <= now)
                )
                .values(locked_until=lockout)
            )
            if key.startswith("account:") and int(started.rowcount) > 0:
                account_locked = True
    return account_locked


def register_failure(
    *, session: Session, settings: Settings, username: str, ip: str | None, now: datetime
) -> bool:
    """Count one failure that was not reserved first (a wrong second-factor code); True when this failure
    locked the account."""
    slot = reserve(session=session, settings=settings, username=username, ip=ip, now=now)
    if not slot.allowed:
        return False
    return lock_if_full(session=session, settings=settings, slot=slot, now=now)


def reset_account(*, session: Session, username: str) -> None:
    """Forget the failures of an account after a successful sign-in (the IP count stays)."""
    with _own_transaction(session) as connection:
        connection.execute(
            update(_table)
            .where(col(LoginThrottle.key) == account_key(username))
            .values(failures=0, locked_until=None)
        )
