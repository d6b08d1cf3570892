"""Database engine and the per-request session.

The request owns the transaction: `get_session` commits when the handler returns and rolls back when it
raises; services only ``flush()``. SQLite gets foreign keys and WAL; PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

from lms.core.settings import Settings


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2, not shipped)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine (no connection is opened until first use)."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        echo=echo,
        # Pre-ping costs one loopback round trip per checkout (small next to an answer's ~16 ms of CPU) and
        # means a database restart or failover costs no failed request: a teacher's page has no retry queue.
        pool_pre_ping=True,
        pool_recycle=3600,
        # A request holds one connection from its first query to its commit, and it waits for FastAPI's
        # thread pool (40 threads) several times meanwhile.  So (1) the pool's maximum must cover every
        # request a worker may have in flight: a thread waiting for a connection that a request waiting
        # for a thread holds stalls the worker until pool_timeout; bound in-flight requests in front of
        # the workers (proxy upstream pool, or uvicorn --limit-concurrency) to at most 50 per worker; and
        # (2) keep as many connections as the usual concurrency (24 per worker in the benchmarks): one
        # opened beyond pool_size is closed again on return, and opening one (a PostgreSQL backend fork)
        # costs more CPU than a whole answer.  See docs/performance.md.
        pool_size=24,
        max_overflow=26,
        pool_timeout=30,
        connect_args={"connect_timeout": 5},
    )


_engines: dict[str, Engine] = {}


def engine_for_url(url: str) -> Engine:
    """One engine per database URL for the process (CLI commands and the app share it)."""
    url = normalise_url(url)
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def engine_for(settings: Settings) -> Engine:
    return engine_for_url(settings.database_url)


def dispose_engine(url: str) -> None:
    """Close the pooled connections of ``url``'s engine and forget it (tests, shutdown)."""
    engine = _engines.pop(normalise_url(url), None)
    if engine is not None:
        engine.dispose()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work outside a request (CLI, scripts): commit on success, roll back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_session(request: Request) -> AsyncIterator[Session]:
    """FastAPI dependency: the request's session; commits after the handler returns, rolls back on error.

    An async generator so that FastAPI does not spend a thread-pool hop on entering it: creating a
    `Session` opens no connection (the first query does, on the handler's thread).  Commit and rollback
    talk to the database, so they run on the thread pool; closing after them does no I/O (the connection
    goes back to the pool outside any transaction)."""
    session = Session(get_engine(request), expire_on_commit=False)
    try:
        yield session
        if session.in_transaction():
            await run_in_threadpool(session.commit)
    except BaseException:
        await run_in_threadpool(session.rollback)
        raise
    finally:
        session.close()


# scope="function": commit before the response is sent, so a client never sees "saved" for work that a
# failing commit then loses.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# --- column types shared by every table module -------------------------------------------------------------


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the server owns the clock)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
