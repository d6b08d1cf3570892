"""The ``giga`` command: database, demo city, roster, server, and the reading-test tools.

Exit codes: 0 success; 2 refused input or configuration, with one sentence (or, for a refused roster bundle,
one ``file.csv:line: column: message`` line per problem) on stderr.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from lms.core.settings import ConfigError, Settings, get_settings
from reading_tests.cli import irt_app, items_app

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(help="GIGA Learning Platform", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
demo_app = typer.Typer(help="The demo city (みどり市).", no_args_is_help=True)
roster_app = typer.Typer(
    help="School roster: OneRoster import and the fiscal-year roll-over.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(roster_app, name="roster")
app.add_typer(irt_app, name="irt")
app.add_typer(items_app, name="items")
import lms.reading.calibration.cli  # noqa: E402,F401  (registers `giga irt recalibrate`)
from lms.xapi_sender.cli import xapi_app  # noqa: E402

app.add_typer(xapi_app, name="xapi")
from lms.board.cli import board_app  # noqa: E402

app.add_typer(board_app, name="board")
from lms.board.research import research_export_command  # noqa: E402

board_app.command("research-export")(research_export_command)
from lms.ops.cli import backup_app, restore  # noqa: E402  (issue 7: giga backup / giga restore)

app.add_typer(backup_app, name="backup")
app.command("restore")(restore)
from lms.auth.cli import admin_app, sessions_app  # noqa: E402  (giga admin create / giga sessions purge)

app.add_typer(admin_app, name="admin")
app.add_typer(sessions_app, name="sessions")


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ConfigError as error:
        fail(str(error))


def _engine(settings: Settings) -> Engine:
    from lms.core.db import engine_for

    return engine_for(settings)


def _require_current_schema(settings: Settings) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from lms.migrations import schema_problem

    try:
        problem = schema_problem(_engine(settings))
    except SQLAlchemyError as error:
        fail(f"cannot reach the database ({type(error).__name__}); check GIGA_DATABASE_URL")
    if problem:
        fail(problem)


# --- db -----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "heads") -> None:
    """Apply all migrations up to the newest (or REVISION)."""
    from sqlalchemy.exc import SQLAlchemyError

    from lms.migrations import upgrade

    settings = settings_or_exit()
    try:
        upgrade(settings.database_url, revision)
    except SQLAlchemyError as error:
        fail(f"cannot migrate the database ({type(error).__name__}: {str(error).splitlines()[0]})")
    typer.echo(f"database is at the newest schema ({_safe_url(settings.database_url)})")


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and whether it is up to date."""
    from sqlalchemy.exc import SQLAlchemyError

    from lms.migrations import current_revisions, head_revisions

    settings = settings_or_exit()
    try:
        current = current_revisions(_engine(settings))
    except SQLAlchemyError as error:
        fail(f"cannot reach the database ({type(error).__name__}); check GIGA_DATABASE_URL")
    heads = head_revisions()
    state = "up to date" if current == heads else "behind: run `giga db upgrade`"
    typer.echo(
        f"current: {', '.join(sorted(current)) or '(empty)'}  head: {', '.join(sorted(heads))}  ({state})"
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- roster -------------------------------------------------------------------------------------


@roster_app.command("import")
def roster_import(
    path: Annotated[Path, typer.Argument(help="a OneRoster 1.2 CSV bundle: folder or .zip")],
) -> None:
    """Import a OneRoster 1.2 CSV (Japan Profile) bundle; exit 2 listing every problem if it is refused."""
    from lms.core.db import session_scope
    from lms.roster.oneroster import BundleError
    from lms.roster.service import import_bundle

    settings = settings_or_exit()
    _require_current_schema(settings)
    started = time.perf_counter()
    try:
        with session_scope(_engine(settings)) as session:
            report = import_bundle(session=session, path=path)
    except BundleError as error:
        _record_refusal(settings, path, error.problems)
        for line in error.problems:
            typer.echo(line, err=True)
        typer.echo(f"refused: {len(error.problems)} problem(s); nothing was changed", err=True)
        raise typer.Exit(code=2) from None
    elapsed = time.perf_counter() - started
    for notice in report.notices:
        typer.echo(f"notice: {notice}")
    typer.echo(report.summary())
    typer.echo(f"elapsed: {elapsed:.2f} s")


def _record_refusal(settings: Settings, path: Path, problems: list[str]) -> None:
    from lms.audit.service import record_event
    from lms.core.db import session_scope

    with session_scope(_engine(settings)) as session:
        record_event(
            session=session,
            actor_id=None,
            action="roster.import_refused",
            target_type="oneroster_bundle",
            target_id=path.name,
            detail={"problems": problems[:100], "count": len(problems)},
        )


@roster_app.command("rollover")
def roster_rollover(
    to_year: Annotated[
        int, typer.Option("--to-year", help="the new school year, e.g. 2027 (April 2027 – March 2028)")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would change, change nothing")
    ] = False,
) -> None:
    """Fiscal-year roll-over: new school year, promotion, graduation; old classes become read-only."""
    from lms.core.db import session_scope
    from lms.core.errors import DomainError
    from lms.roster.rollover import rollover

    settings = settings_or_exit()
    _require_current_schema(settings)
    try:
        with session_scope(_engine(settings)) as session:
            report = rollover(session=session, to_year=to_year, dry_run=dry_run)
            if dry_run:
                session.rollback()
    except DomainError as error:
        fail(error.message)
    typer.echo(("(dry run, nothing changed) " if dry_run else "") + report.summary())


# --- demo ---------------------------------------------------------------------------------------


@demo_app.command("seed")
def demo_seed(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="do nothing when users already exist")] = False,
    seed: Annotated[int, typer.Option(help="random seed for the generated names")] = 2026,
) -> None:
    """Build the demo city (みどり市) as a OneRoster bundle, import it, and set the demo passwords."""
    from lms.core.db import session_scope
    from lms.demo.seed import DemoRefused, seed_demo

    settings = settings_or_exit()
    _require_current_schema(settings)
    try:
        with session_scope(_engine(settings)) as session:
            result = seed_demo(session=session, settings=settings, if_empty=if_empty, seed=seed)
            if not result.skipped:  # issue 6: a simulated reading-test history for the board's dashboards
                from lms.demo.history import seed_history

                typer.echo(seed_history(session=session, seed=seed).summary())
    except DemoRefused as error:
        fail(str(error))
    typer.echo(result.render())


# --- serve --------------------------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    reload: Annotated[bool, typer.Option(help="reload on code changes (development)")] = False,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the LMS (uvicorn, lms.main:app)."""
    import uvicorn

    settings = settings_or_exit()
    _require_current_schema(settings)
    # A loaded 2-core machine can take longer than uvicorn's 5 s to answer a worker health check.
    uvicorn.run(
        "lms.main:app",
        host=host,
        port=port,
        reload=reload,
        workers=workers,
        proxy_headers=True,
        timeout_worker_healthcheck=60,
    )


if __name__ == "__main__":  # pragma: no cover
    app()
