"""Alembic environment: SQLModel metadata of every table module; URL from the config or GIGA_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool
from sqlmodel import create_engine

import lms.models
from lms.core.db import normalise_url
from lms.core.settings import get_settings

config = context.config
target_metadata = lms.models.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return normalise_url(url or get_settings().database_url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = _url()
    if url.startswith("sqlite"):
        from lms.core.db import make_engine

        engine = make_engine(url)
    else:
        engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
