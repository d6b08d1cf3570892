"""Alembic migrations — the only way the schema changes.

`alembic_config` builds the configuration programmatically, so ``giga db upgrade`` works from any directory.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from lms.core.db import normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def head_revisions(database_url: str = "sqlite://") -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def schema_problem(engine: Engine) -> str | None:
    """None when the database is at the newest revision, else a sentence saying what to do."""
    current = current_revisions(engine)
    heads = head_revisions()
    if current == heads:
        return None
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = current - known
    if unknown:
        return (
            f"the database is at revision {', '.join(sorted(unknown))}, which this version of the platform "
            "does not know (newer code was run against it?)"
        )
    shown = ", ".join(sorted(current)) or "empty"
    return (
        f"the database schema is behind (at {shown}, newest is {', '.join(sorted(heads))}): "
        "run `giga db upgrade`"
    )
