"""What every ``giga`` command shares: refusing with one sentence, the settings, the schema check.

Here, below the domains, so that a domain's commands (lms/<domain>/cli.py) and the app that gathers them
(lms/cli/) both import it without a cycle.  Exit codes: 0 success; 2 refused input or configuration.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from lms.core.db import engine_for
from lms.core.settings import ConfigError, Settings, get_settings
from lms.migrations import schema_problem


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ConfigError as error:
        fail(str(error))


def require_current_schema(settings: Settings) -> None:
    """Exit 2 when the database cannot be reached or its schema is behind the newest migration."""
    try:
        problem = schema_problem(engine_for(settings))
    except SQLAlchemyError as error:
        fail(f"cannot reach the database ({type(error).__name__}); check GIGA_DATABASE_URL")
    if problem:
        fail(problem)


def safe_url(url: str) -> str:
    """The database URL with its password hidden (for messages)."""
    return make_url(url).render_as_string(hide_password=True)
