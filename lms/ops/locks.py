"""Named locks shared by every LMS process (uvicorn workers, ``giga`` jobs on any machine), in the database.

`xact_lock` — wait for the lock, hold it until the session's transaction ends (for work inside one
    transaction, e.g. the board refresh's delete-and-insert).  PostgreSQL: ``pg_advisory_xact_lock``.  SQLite:
    an upsert of the lock's row in ``ops_lock``: SQLite admits one writer at a time, so from that statement
    on the transaction holds the database's write lock (other writers wait up to the busy timeout), which is
    the same exclusion.
`job_lock` — take the lock now or raise `LockBusy` (for long jobs that must not run twice, e.g.
    ``giga irt recalibrate``), held for the ``with`` block, across the block's own commits.  PostgreSQL:
    ``pg_try_advisory_xact_lock`` in a transaction of a dedicated connection, ended after the block (a
    crashed process's lock ends with its connection).  SQLite: a lease on the ``ops_lock`` row, taken and
    given back in short transactions of their own (holding SQLite's write lock for a whole job would stop
    every answer); a crashed holder's lease runs out after ``lease``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col

from lms.core.db import utc_now
from lms.core.errors import Conflict
from lms.ops.models import OpsLock


class LockBusy(Conflict):
    """Another process holds the lock; the message names it (and, on SQLite, until when)."""


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks (the same in every process)."""
    return int.from_bytes(
        hashlib.blake2b(f"giga:{name}".encode(), digest_size=8).digest(), "big", signed=True
    )


def _ensure_row(connection: Connection | Session, name: str) -> None:
    connection.execute(
        sqlite_insert(OpsLock).values(name=name).on_conflict_do_nothing(index_elements=["name"])
    )


def xact_lock(session: Session, name: str) -> None:
    """Wait for the named lock and hold it until ``session``'s transaction commits or rolls back."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(advisory_key(name))))
        return
    now = utc_now()
    session.execute(
        sqlite_insert(OpsLock)
        .values(name=name, acquired_at=now)
        .on_conflict_do_update(index_elements=["name"], set_={"acquired_at": now})
    )


def _describe(name: str, until: datetime | None) -> str:
    held = f" (its lease runs until {until:%Y-%m-%d %H:%M} UTC)" if until else ""
    return f"another process is already running '{name}'{held}; wait for it to finish and try again"


@contextmanager
def job_lock(engine: Engine, name: str, *, lease: timedelta = timedelta(hours=2)) -> Iterator[None]:
    """Hold the named lock for the block, or raise `LockBusy` at once (see the module docstring)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                taken = connection.execute(
                    select(func.pg_try_advisory_xact_lock(advisory_key(name)))
                ).scalar()
                if not taken:
                    raise LockBusy(_describe(name, None))
                yield
            finally:
                transaction.rollback()  # ends the transaction and so the lock
        return
    holder = uuid.uuid4().hex
    now = utc_now()
    with engine.begin() as connection:
        _ensure_row(connection, name)
        taken = connection.execute(
            update(OpsLock)
            .where(
                col(OpsLock.name) == name,
                (col(OpsLock.locked_until).is_(None)) | (col(OpsLock.locked_until) <= now),
            )
            .values(holder=holder, acquired_at=now, locked_until=now + lease)
        ).rowcount
        until = None
        if taken != 1:
            until = connection.execute(
                select(col(OpsLock.locked_until)).where(col(OpsLock.name) == name)
            ).scalar()
    if taken != 1:
        raise LockBusy(_describe(name, until))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(
                update(OpsLock)
                .where(col(OpsLock.name) == name, col(OpsLock.holder) == holder)
                .values(holder=None, locked_until=None)
            )
