"""``giga backup`` (with ``prune`` and ``list``) and ``giga restore``.

Exit codes: 0 success; 2 with one sentence on stderr (missing pg_dump, a backup from a newer schema, a
restore not confirmed, an unwritable folder).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lms.core.cli import fail, safe_url, settings_or_exit

if TYPE_CHECKING:
    from lms.core.settings import Settings

backup_app = typer.Typer(
    help="Back the database up (SQLite online backup, PostgreSQL pg_dump); prune old backups.",
    no_args_is_help=False,
    invoke_without_command=True,
)


def _settings() -> Settings:

    return settings_or_exit()


@backup_app.callback()
def backup(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="a folder, or a file name with an extension (default: GIGA_BACKUP_DIR)"
        ),
    ] = None,
    keep: Annotated[
        int | None, typer.Option("--keep", help="afterwards keep only the newest N backups in that folder")
    ] = None,
) -> None:
    """Write a consistent backup of the database (safe while the LMS is serving)."""
    if ctx.invoked_subcommand is not None:
        return
    from lms.ops.backup import BackupError, create_backup, prune_backups

    settings = _settings()
    try:
        path = create_backup(
            settings.database_url,
            backup_dir=settings.backup_dir,
            output=output,
            pg_bin_dir=settings.pg_bin_dir,
        )
        typer.echo(f"backup written: {path} ({path.stat().st_size:,} bytes)")
        if keep is not None:
            for old in prune_backups(path.parent, keep):
                typer.echo(f"deleted old backup: {old.name}")
    except BackupError as error:
        fail(str(error))


@backup_app.command("prune")
def prune(
    keep: Annotated[int, typer.Option("--keep", help="how many of the newest backups to keep")],
    folder: Annotated[Path | None, typer.Option("--dir", help="folder (default: GIGA_BACKUP_DIR)")] = None,
) -> None:
    """Delete all but the newest N backups (files named giga-<time>.sqlite3 / .pgdump)."""
    from lms.ops.backup import BackupError, list_backups, prune_backups

    target = folder or _settings().backup_dir
    try:
        deleted = prune_backups(target, keep)
    except (BackupError, OSError) as error:
        fail(str(error))
    for old in deleted:
        typer.echo(f"deleted old backup: {old.name}")
    typer.echo(f"{len(list_backups(target))} backup(s) kept in {target}")


@backup_app.command("list")
def list_command(
    folder: Annotated[Path | None, typer.Option("--dir", help="folder (default: GIGA_BACKUP_DIR)")] = None,
) -> None:
    """List the backups, oldest first, with their size."""
    target = folder or _settings().backup_dir
    from lms.ops.backup import list_backups

    for path in list_backups(target):
        typer.echo(f"{path.name}  {path.stat().st_size:>14,} bytes")


def restore(
    path: Annotated[Path, typer.Argument(help="a backup written by `giga backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask: replace the database's content")] = False,
) -> None:
    """Replace the database's content with a backup, then migrate it up (stop the LMS workers first)."""
    from lms.ops.backup import BackupError, check_restorable, create_backup, has_schema, restore_backup

    settings = _settings()
    where = safe_url(settings.database_url)
    try:
        from alembic.script import ScriptDirectory

        from lms.migrations import MIGRATIONS_DIR

        known = {rev.revision for rev in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}
        check_restorable(settings.database_url, path, known=known, pg_bin_dir=settings.pg_bin_dir)
        if not yes:
            if not sys.stdin.isatty():
                fail(f"restoring replaces every row of {where}; add --yes to confirm")
            if not typer.confirm(f"Replace every row of {where} with {path.name}?"):
                fail("restore cancelled; nothing was changed")
        if has_schema(settings.database_url):
            safety = create_backup(
                settings.database_url,
                backup_dir=settings.backup_dir,
                label="pre-restore",
                pg_bin_dir=settings.pg_bin_dir,
            )
            typer.echo(f"the current database was saved first: {safety}")
        report = restore_backup(settings.database_url, path, pg_bin_dir=settings.pg_bin_dir)
    except BackupError as error:
        fail(str(error))
    typer.echo(report.summary())
    typer.echo("restart the LMS workers now (they may hold connections and caches of the old data)")
