"""``giga roster``: OneRoster import and the fiscal-year roll-over."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError

from lms.audit.service import record_event
from lms.core.cli import fail, require_current_schema, settings_or_exit
from lms.core.db import engine_for, session_scope
from lms.core.errors import DomainError
from lms.core.settings import Settings
from lms.roster.db_refusal import database_refusal
from lms.roster.export import export_roster
from lms.roster.messages import translate_problem
from lms.roster.oneroster import BundleError
from lms.roster.rollover import rollover
from lms.roster.service import MASS_CHANGE_SHARE, MassChangeRefused, checkpoint_sqlite, import_bundle

roster_app = typer.Typer(
    help="School roster: OneRoster import and export, and the fiscal-year roll-over.", no_args_is_help=True
)


@roster_app.command("import")
def roster_import(
    path: Annotated[Path, typer.Argument(help="a OneRoster 1.2 CSV bundle: folder or .zip")],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="check and show what would change per school and class; change nothing"
        ),
    ] = False,
    allow_mass_change: Annotated[
        bool,
        typer.Option(
            "--allow-mass-change",
            help=f"apply a bulk import even if it disables more than {MASS_CHANGE_SHARE:.0%} of active users",
        ),
    ] = False,
    english: Annotated[bool, typer.Option("--english", help="messages in English")] = False,
) -> None:
    """Import a OneRoster 1.2 CSV (Japan Profile) bundle; exit 2 listing every problem if it is refused."""

    lang = "en" if english else "ja"
    settings = settings_or_exit()
    require_current_schema(settings)
    started = time.perf_counter()
    engine = engine_for(settings)
    try:
        with session_scope(engine) as session:
            report = import_bundle(
                session=session, path=path, allow_mass_change=allow_mass_change, dry_run=dry_run
            )
            if dry_run:
                session.rollback()
    except BundleError as error:
        _record_refusal(settings, path, error.problems)
        for line in error.problems:
            typer.echo(translate_problem(line) if english else line, err=True)
        typer.echo(
            f"refused: {len(error.problems)} problem(s); nothing was changed"
            if english
            else f"取り込みませんでした: 問題 {len(error.problems)} 件（何も変更していません）",
            err=True,
        )
        raise typer.Exit(code=2) from None
    except MassChangeRefused as error:
        _record_refusal(settings, path, [error.change.message("en")])
        typer.echo(
            ("refused: " if english else "取り込みませんでした: ") + error.change.message(lang), err=True
        )
        raise typer.Exit(code=2) from None
    except (DBAPIError, DomainError) as error:
        # Validation checks lengths and references first; this is the last guard: a sentence, no row echoed.
        fail(
            f"the database refused the import ({type(error).__name__}); nothing was changed"
            if english
            else database_refusal(error).message
            if isinstance(error, DBAPIError)
            else f"データベースが取り込みを拒否しました（{type(error).__name__}）。何も変更していません"
        )
    if not dry_run:
        checkpoint_sqlite(engine)
    elapsed = time.perf_counter() - started
    for notice in report.notices + report.unknown_deletions:
        typer.echo(f"notice: {notice}" if english else f"お知らせ: {notice}")
    if dry_run and report.mass_change is not None:
        typer.echo(("warning: " if english else "注意: ") + report.mass_change.message(lang))
    typer.echo(report.summary(lang))
    typer.echo(f"elapsed: {elapsed:.2f} s" if english else f"所要時間: {elapsed:.2f} 秒")


@roster_app.command("export")
def roster_export(
    directory: Annotated[Path, typer.Argument(help="folder to write the bundle's CSV files into")],
    for_spreadsheet: Annotated[
        bool,
        typer.Option(
            "--for-spreadsheet",
            help="for opening in Excel: a leading ' on cells starting with = + - @ (not re-importable)",
        ),
    ] = False,
) -> None:
    """Write the current roster as a OneRoster 1.2 CSV bundle (Japan Profile, bulk, UTF-8 with BOM)."""

    settings = settings_or_exit()
    require_current_schema(settings)
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} はフォルダではありません")
    try:
        with session_scope(engine_for(settings)) as session:
            counts = export_roster(session, directory, for_spreadsheet=for_spreadsheet)
    except OSError as error:
        fail(f"{directory} に書き込めません（{error.strerror}）")
    for name, count in counts.items():
        typer.echo(f"{name}.csv: {count} 行")
    typer.echo(f"{directory} に書き出しました")
    if for_spreadsheet:
        typer.echo("表計算ソフト向けです（数式に見える値の先頭に ' を付けました）。取り込みには使えません")


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
