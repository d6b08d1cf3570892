"""``giga db``: the database schema (Alembic migrations)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from lms.core.cli import fail, safe_url, settings_or_exit
from lms.core.db import engine_for
from lms.migrations import current_revisions, head_revisions, upgrade

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "heads") -> None:
    """Apply all migrations up to the newest (or REVISION)."""

    settings = settings_or_exit()
    try:
        upgrade(settings.database_url, revision)
    except SQLAlchemyError as error:
        fail(f"cannot migrate the database ({type(error).__name__}: {str(error).splitlines()[0]})")
    typer.echo(f"database is at the newest schema ({safe_url(settings.database_url)})")


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and whether it is up to date."""

    settings = settings_or_exit()
    try:
        current = current_revisions(engine_for(settings))
    except SQLAlchemyError as error:
        fail(f"cannot reach the database ({type(error).__name__}); check GIGA_DATABASE_URL")
    heads = head_revisions()
    state = "up to date" if current == heads else "behind: run `giga db upgrade`"
    typer.echo(
        f"current: {', '.join(sorted(current)) or '(empty)'}  head: {', '.join(sorted(heads))}  ({state})"
    )
