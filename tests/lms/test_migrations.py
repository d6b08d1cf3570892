"""Alembic migrations are the only way the schema changes; start-up refuses a database that is behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import lms.models
from lms.core.db import make_engine
from lms.core.errors import SchemaOutOfDate
from lms.core.settings import load_settings
from lms.main import create_app
from lms.migrations import current_revisions, head_revisions, upgrade


def test_migrated_database_matches_the_models(engine: Any) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, lms.models.metadata)
    assert diff == []


def test_migrated_database_is_at_head(engine: Any) -> None:
    assert current_revisions(engine) == head_revisions()
    assert "0001_core" in {rev for rev in _all_revisions()}


def _all_revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    from lms.migrations import MIGRATIONS_DIR

    return [rev.revision for rev in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()]


def test_startup_refuses_a_database_behind_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001_core")
    settings = load_settings(database_url=url, environment="test")
    with pytest.raises(SchemaOutOfDate, match="giga db upgrade"), TestClient(create_app(settings)):
        pass


def test_startup_refuses_an_empty_database(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", environment="test")
    with pytest.raises(SchemaOutOfDate, match="run `giga db upgrade`"), TestClient(create_app(settings)):
        pass


def test_audit_log_is_append_only_in_the_database(engine: Any, db_session: Any) -> None:
    from lms.audit.service import record_event

    event = record_event(session=db_session, actor_id=None, action="test.event", detail={"k": "値"})
    db_session.commit()
    assert event.id is not None
    for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT action, detail FROM audit_event")).one() == (
            "test.event",
            '{"k": "値"}',
        )


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    from alembic import command

    from lms.migrations import alembic_config

    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = make_engine(url)
    assert current_revisions(engine) == set()
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    assert current_revisions(engine) == head_revisions()
    engine.dispose()
