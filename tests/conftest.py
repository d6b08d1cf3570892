"""Shared test fixtures: a real, migrated database per test, the app, and an HTTP client.

Database: the real Alembic migrations run once per test session, on
- a SQLite file (default), copied fresh for every test that asks for the database, or
- the PostgreSQL server named by ``GIGA_TEST_DATABASE_URL`` (any database on it works as the admin connection,
  e.g. ``postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres``): a database
  ``giga_test_<random>`` is created for the session and dropped at the end; every table is emptied
  after each test that used it.
So the app's own commits are safe: nothing leaks from one test into the next, on either database.

Fixtures (function-scoped unless noted):
- ``database_url``  the URL of this test's fresh, migrated database (tests using it are marked ``db``).
- ``settings``      `lms.core.settings.Settings` for the test database, environment "test"; also exported as
                    ``GIGA_DATABASE_URL`` / ``GIGA_ENVIRONMENT`` so `get_settings()` and the CLI see it.
- ``engine``        the SQLAlchemy engine for it.
- ``db_session``    a `sqlmodel.Session`; call ``db_session.commit()`` before the app must see your rows.
- ``app``           ``create_app(settings)``.
- ``client``        a `fastapi.testclient.TestClient` (lifespan run, so the schema check runs too).
- ``make_user``     factory: ``make_user(role="teacher", username=None, school=None, password=None,
                    **fields)``
                    creates (and commits) a `User`; with ``password`` it stores an argon2 hash.
- ``roster_city``   the small two-school city of ``tests/lms/fixtures/oneroster_basic`` imported through
                    the real OneRoster import; a `RosterCity` with lookups ``user("sourcedId")``,
                    ``org(...)``, ``klass(...)``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select

FIXTURES = Path(__file__).parent / "lms" / "fixtures"
DB_FIXTURES = {
    "database_url",
    "settings",
    "engine",
    "db_session",
    "app",
    "client",
    "make_user",
    "roster_city",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that touches the database with ``db`` (so ``-m db`` / ``-m 'not db'`` select them),
    and leave out the tests written for the other database engine (``sqlite_only`` / ``postgresql_only``):
    they are not skipped, they do not belong to this run."""
    other_engine = "sqlite_only" if _postgres_admin_url() else "postgresql_only"
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        if DB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
        (left_out if item.get_closest_marker(other_engine) else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


# --- the session's database ---------------------------------------------------------------------------------


def _postgres_admin_url() -> str | None:
    url = os.environ.get("GIGA_TEST_DATABASE_URL")
    if not url:
        return None
    from lms.core.db import normalise_url

    return normalise_url(url)


@pytest.fixture(scope="session")
def _migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Session-wide: the URL of a migrated template (SQLite) or the session database (PostgreSQL)."""
    from lms.core.db import make_engine
    from lms.migrations import upgrade

    admin_url = _postgres_admin_url()
    if admin_url is None:
        path = tmp_path_factory.mktemp("db") / "template.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield url
        return

    from tests.factories import fresh_postgres_database

    with fresh_postgres_database(admin_url, "giga_test") as url:
        yield url


def _empty_all_tables(url: str) -> None:
    """Remove every row. DELETE with triggers and FK checks off (superuser) is ~20x faster than TRUNCATE on
    small tables; other roles fall back to TRUNCATE (neither fires the audit log's append-only trigger)."""
    from sqlalchemy.exc import DBAPIError

    from lms.core.db import engine_for_url

    engine = engine_for_url(url)
    with engine.connect() as connection:
        tables = [
            row[0]
            for row in connection.execute(
                text(
                    "SELECT tablename FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
        ]
    if not tables:
        return
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for name in tables:
                connection.exec_driver_sql(f'DELETE FROM "{name}"')
    except DBAPIError:
        quoted = ", ".join(f'"{name}"' for name in tables)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")


@pytest.fixture
def database_url(_migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """This test's fresh, migrated database."""
    if _migrated_database.startswith("sqlite"):
        template = Path(make_url(_migrated_database).database or "")
        target = tmp_path / "giga.db"
        shutil.copyfile(template, target)
        url = f"sqlite:///{target}"
        yield url
        from lms.core.db import dispose_engine

        dispose_engine(url)
        return
    yield _migrated_database
    _empty_all_tables(_migrated_database)


@pytest.fixture
def settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from lms.core.settings import get_settings, load_settings

    monkeypatch.setenv("GIGA_DATABASE_URL", database_url)
    monkeypatch.setenv("GIGA_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield load_settings(database_url=database_url, environment="test")
    get_settings.cache_clear()


@pytest.fixture
def engine(settings: Any) -> Engine:
    from lms.core.db import engine_for

    return engine_for(settings)


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture
def app(settings: Any) -> Any:
    from lms.main import create_app

    return create_app(settings)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def make_user(db_session: Session) -> Callable[..., Any]:
    from lms.roster.models import Org, User

    counter = iter(range(1, 1_000_000))

    def factory(
        role: str = "student",
        *,
        username: str | None = None,
        school: Org | None = None,
        password: str | None = None,
        **fields: Any,
    ) -> User:
        n = next(counter)
        password_hash = None
        if password is not None:
            from lms.auth.passwords import hash_password

            password_hash = hash_password(password)
        user = User(
            username=username or f"{role}-{n}",
            role=role,
            given_name=fields.pop("given_name", f"太郎{n}"),
            family_name=fields.pop("family_name", "山田"),
            kana_given_name=fields.pop("kana_given_name", "タロウ"),
            kana_family_name=fields.pop("kana_family_name", "ヤマダ"),
            primary_org_id=school.id if school is not None else fields.pop("primary_org_id", None),
            password_hash=password_hash,
            **fields,
        )
        db_session.add(user)
        db_session.commit()
        return user

    return factory


class RosterCity:
    """The imported fixture city; look rows up by OneRoster sourcedId."""

    def __init__(self, session: Session, report: Any) -> None:
        self.session = session
        self.report = report

    def user(self, sourced_id: str) -> Any:
        from lms.roster.models import User

        return self.session.exec(select(User).where(User.sourced_id == sourced_id)).one()

    def org(self, sourced_id: str) -> Any:
        from lms.roster.models import Org

        return self.session.exec(select(Org).where(Org.sourced_id == sourced_id)).one()

    def klass(self, sourced_id: str) -> Any:
        from lms.roster.models import SchoolClass

        return self.session.exec(select(SchoolClass).where(SchoolClass.sourced_id == sourced_id)).one()


@pytest.fixture
def roster_city(db_session: Session) -> RosterCity:
    from lms.roster.service import import_bundle

    report = import_bundle(session=db_session, path=FIXTURES / "oneroster_basic")
    db_session.commit()
    return RosterCity(db_session, report)
