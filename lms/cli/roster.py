"""``giga roster``: OneRoster import and the fiscal-year roll-over."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from lms.audit.service import record_event
from lms.core.cli import fail, require_current_schema, settings_or_exit
from lms.core.db import engine_for, session_scope
from lms.core.errors import DomainError
from lms.core.settings import Settings
from lms.roster.oneroster import BundleError
from lms.roster.rollover import rollover
from lms.roster.service import import_bundle

roster_app = typer.Typer(
    help="School roster: OneRoster import and the fiscal-year roll-over.", no_args_is_help=True
)


@roster_app.command("import")
def roster_import(
    path: Annotated[Path, typer.Argument(help="a OneRoster 1.2 CSV bundle: folder or .zip")],
) -> None:
    """Import a OneRoster 1.2 CSV (Japan Profile) bundle; exit 2 listing every problem if it is refused."""

    settings = settings_or_exit()
    require_current_schema(settings)
    started = time.perf_counter()
    try:
        with session_scope(engine_for(settings)) as session:
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
    with session_scope(engine_for(settings)) as session:
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

    settings = settings_or_exit()
    require_current_schema(settings)
    try:
        with session_scope(engine_for(settings)) as session:
            report = rollover(session=session, to_year=to_year, dry_run=dry_run)
            if dry_run:
                session.rollback()
    except DomainError as error:
        fail(error.message)
    typer.echo(("(dry run, nothing changed) " if dry_run else "") + report.summary())
