"""``giga board``: refresh the board's aggregates and export the open data.

Exit codes: 0 success; 2 with one sentence on stderr (unreachable database, schema behind, unwritable
folder).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lms.core.cli import require_current_schema, settings_or_exit
from lms.core.db import engine_for

if TYPE_CHECKING:
    from sqlmodel import Session

board_app = typer.Typer(help="Board of education: aggregates and open data.", no_args_is_help=True)


def _session_scope() -> AbstractContextManager[Session]:
    from lms.core.db import session_scope

    settings = settings_or_exit()
    require_current_schema(settings)
    return session_scope(engine_for(settings))


@board_app.command("refresh")
def refresh(
    full: Annotated[
        bool, typer.Option("--full", help="rebuild every term, not only the terms whose results changed")
    ] = False,
) -> None:
    """Rebuild the pre-aggregated cells and the published (suppressed) figures of the terms that changed."""
    from lms.board.term_cache import refresh_changed_terms

    with _session_scope() as session:
        report = refresh_changed_terms(session=session, full=full)
    typer.echo(report.summary())


@board_app.command("export-opendata")
def export_opendata(
    out: Annotated[Path, typer.Option("--out", help="folder for reading_scores.csv and metadata.json")],
    refresh_first: Annotated[
        bool, typer.Option("--refresh/--no-refresh", help="refresh the schools' live aggregates first")
    ] = True,
    english_header: Annotated[
        bool, typer.Option("--english-header", help="add a second header row with English column keys")
    ] = False,
) -> None:
    """Write the open data of the latest release of every term (CSV, UTF-8 with BOM, plus metadata.json)."""
    from lms.board.opendata import write_opendata
    from lms.board.term_cache import refresh_changed_terms
    from lms.core.errors import InvalidInput

    if out.exists() and not out.is_dir():
        typer.echo(f"error: {out} exists and is not a folder; give a folder with --out", err=True)
        raise typer.Exit(code=2)
    try:
        with _session_scope() as session:
            if refresh_first:
                refresh_changed_terms(session=session)
            report = write_opendata(session=session, out_dir=out, english_header=english_header)
    except InvalidInput as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    except OSError as error:
        reason = error.strerror or str(error)
        typer.echo(f"error: cannot write to {out} ({reason}); choose another folder with --out", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(report.summary())


@board_app.command("release")
def release(
    year: Annotated[int, typer.Option("--year", help="school year (April–March), e.g. 2026")],
    term: Annotated[int, typer.Option("--term", help="1: Apr–Aug, 2: Sep–Dec, 3: Jan–Mar")],
    reason: Annotated[str, typer.Option("--reason", help="term_closed | admin")] = "term_closed",
) -> None:
    """Make the next immutable release of a term's figures (protected, audited before it is stored)."""
    from lms.board.releases import make_release
    from lms.core.errors import InvalidInput

    try:
        with _session_scope() as session:
            row = make_release(session=session, actor=None, school_year=year, term=term, reason=reason)
            number, groups, seconds = row.number, len(row.figures), row.audit.get("seconds")
    except InvalidInput as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(
        f"release {number}: {year} term {term}, {groups} groups published (audit {seconds} s, no leaks)"
    )


@board_app.command("run-release-jobs")
def run_release_jobs() -> None:
    """Queue the releases of terms whose tests have closed and make every queued release, once (for cron
    or a deployment without the server's release thread; lms.board.release_jobs)."""
    from lms.board.release_jobs import run_pending

    settings = settings_or_exit()
    require_current_schema(settings)
    for job in run_pending(engine_for(settings)):
        outcome = f"release {job.release_number}" if job.status == "done" else f"failed: {job.message}"
        typer.echo(f"job {job.id}: {job.school_year} term {job.term} ({job.reason}) — {outcome}")
