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
def refresh() -> None:
    """Rebuild the pre-aggregated cells and the published (suppressed) figures."""
    from lms.board.service import refresh_aggregates

    with _session_scope() as session:
        report = refresh_aggregates(session=session)
    typer.echo(report.summary())


@board_app.command("export-opendata")
def export_opendata(
    out: Annotated[Path, typer.Option("--out", help="folder for reading_scores.csv and metadata.json")],
    refresh_first: Annotated[
        bool, typer.Option("--refresh/--no-refresh", help="refresh the aggregates first")
    ] = True,
) -> None:
    """Write the open data (CSV, UTF-8 with BOM, plus metadata.json) with suppression applied."""
    from lms.board.opendata import write_opendata
    from lms.board.service import refresh_aggregates

    if out.exists() and not out.is_dir():
        typer.echo(f"error: {out} exists and is not a folder; give a folder with --out", err=True)
        raise typer.Exit(code=2)
    try:
        with _session_scope() as session:
            if refresh_first:
                refresh_aggregates(session=session)
            report = write_opendata(session=session, out_dir=out)
    except OSError as error:
        reason = error.strerror or str(error)
        typer.echo(f"error: cannot write to {out} ({reason}); choose another folder with --out", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(report.summary())
