"""Backups of the LMS database and their restore, for SQLite and PostgreSQL.

SQLite
    ``sqlite3``'s online backup API copies the database in one step, inside one read transaction: the copy
    is the database as of one instant even while the server keeps writing (WAL lets writers go on).  The
    copy is switched to a rollback journal (one self-contained file) and checked with ``quick_check``.
    Restore copies the backup back with the same API (page by page under SQLite's write lock), so other
    connections see either the old or the restored database, never a mixture.
PostgreSQL
    ``pg_dump --format=custom`` (one consistent snapshot) and ``pg_restore --clean --if-exists
    --single-transaction --exit-on-error --no-owner``: the restore happens entirely or not at all.  pg_dump
    must be at least the server's major version; the binaries are looked for in ``GIGA_PG_BIN_DIR``, then
    ``/usr/lib/postgresql/<N>/bin`` (newest first), then ``PATH``.

Both: a backup carries its schema revision (the ``alembic_version`` table).  Restore refuses a backup taken
by a newer version of the platform (a revision this code does not know), and migrates an older one up to the
newest schema afterwards.  Backups are written as ``<name>.partial`` and renamed when complete, so a crash
never leaves a file that looks like a good backup.  Names: ``giga-<UTC timestamp>.sqlite3`` / ``.pgdump``.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from lms.core.db import dispose_engine, engine_for_url, normalise_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
EXTENSIONS = {"sqlite": "sqlite3", "postgresql": "pgdump"}
NAME_RE = re.compile(r"^giga-(\d{8}T\d{6}Z)(-[a-z-]+)?\.(sqlite3|pgdump)$")


class BackupError(Exception):
    """The backup or restore cannot be done; the message is one sentence saying what to do."""


@dataclass(frozen=True)
class RestoreReport:
    path: Path
    kind: str
    backup_revisions: frozenset[str]
    migrated_to: frozenset[str]

    def summary(self) -> str:
        before = ", ".join(sorted(self.backup_revisions)) or "(empty)"
        after = ", ".join(sorted(self.migrated_to))
        moved = "" if self.backup_revisions == self.migrated_to else f", migrated up to {after}"
        return f"restored {self.path.name} ({self.kind}, schema {before}{moved})"


# --- names and retention ------------------------------------------------------------------------------------


def database_kind(database_url: str) -> str:
    """``sqlite`` or ``postgresql``; `BackupError` for any other database."""
    backend = make_url(normalise_url(database_url)).get_backend_name()
    if backend not in EXTENSIONS:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {backend}")
    return backend


def backup_name(kind: str, now: datetime, label: str = "") -> str:
    """``giga-20270401T020000Z.sqlite3`` (UTC; sorts by time); ``label`` e.g. ``pre-restore``."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"giga-{stamp}{'-' + label if label else ''}.{EXTENSIONS[kind]}"


def list_backups(folder: Path) -> list[Path]:
    """The backups in ``folder`` (files named by `backup_name`), oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and NAME_RE.match(p.name)]
    return sorted(found, key=lambda p: (NAME_RE.match(p.name).group(1), p.name))  # type: ignore[union-attr]


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``folder``; return the deleted paths."""
    if keep < 0:
        raise BackupError("--keep must be 0 or more")
    backups = list_backups(folder)
    doomed = backups[: max(0, len(backups) - keep)]
    for path in doomed:
        path.unlink()
    return doomed


def _target(output: Path | None, backup_dir: Path, name: str) -> Path:
    if output is None:
        return backup_dir / name
    if output.is_dir() or not output.suffix:  # a folder (existing, or a name without an extension)
        return output / name
    return output


# --- SQLite -------------------------------------------------------------------------------------------------


def _sqlite_path(database_url: str) -> Path:
    database = make_url(normalise_url(database_url)).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("the SQLite database must be a file (GIGA_DATABASE_URL=sqlite:///path/to/giga.db)")
    return Path(database)


def _sqlite_backup(database_url: str, target: Path) -> None:
    source_path = _sqlite_path(database_url)
    if not source_path.is_file():
        raise BackupError(f"there is no database file at {source_path}; check GIGA_DATABASE_URL")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # pages=-1: one step, one read transaction: a consistent snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            problem = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
    finally:
        source.close()
    if problem != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy of {source_path} failed SQLite's check ({problem}); nothing was kept")
    partial.replace(target)


def _sqlite_revisions(path: Path) -> set[str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError:
        return set()
    finally:
        connection.close()
    return {str(row[0]) for row in rows}


def _sqlite_restore(database_url: str, path: Path) -> None:
    target_path = _sqlite_path(database_url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    dispose_engine(database_url)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(target_path, timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


# --- PostgreSQL ---------------------------------------------------------------------------------------------


def _major(version_output: str) -> int | None:
    match = re.search(r"\)\s*(\d+)(?:\.\d+)?", version_output) or re.search(r"(\d+)\.\d+", version_output)
    return int(match.group(1)) if match else None


def _tool_version(path: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    return _major(out.stdout)


def _candidates(tool: str, pg_bin_dir: str) -> list[Path]:
    if pg_bin_dir:
        return [Path(pg_bin_dir) / tool]
    found: list[Path] = []
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted((p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: -int(p.name))
        found += [p / "bin" / tool for p in versions]
    on_path = shutil.which(tool)
    if on_path:
        found.append(Path(on_path))
    return [p for p in found if p.is_file() and os.access(p, os.X_OK)]


def find_pg_tool(tool: str, *, server_major: int, pg_bin_dir: str = "") -> Path:
    """The first ``tool`` (pg_dump, pg_restore) whose major version is at least the server's."""
    seen: list[int] = []
    for path in _candidates(tool, pg_bin_dir):
        major = _tool_version(path)
        if major is None:
            continue
        if major >= server_major:
            return path
        seen.append(major)
    where = f"in GIGA_PG_BIN_DIR={pg_bin_dir}" if pg_bin_dir else "on this machine"
    if not seen:
        raise BackupError(
            f"{tool} was not found {where}; install the PostgreSQL client tools "
            f"(e.g. apt install postgresql-client-{server_major}) or set GIGA_PG_BIN_DIR to their folder"
        )
    raise BackupError(
        f"the PostgreSQL server is version {server_major} but {tool} {where} is version {max(seen)}; "
        f"install postgresql-client-{server_major} (or newer) or set GIGA_PG_BIN_DIR to its bin folder"
    )


def server_major(database_url: str) -> int:
    try:
        with engine_for_url(database_url).connect() as connection:
            number = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    except SQLAlchemyError as error:
        raise BackupError(
            f"cannot reach the database ({type(error).__name__}); check GIGA_DATABASE_URL"
        ) from None
    return number // 10000


def libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment carrying it (never on the command line)."""
    url: URL = make_url(normalise_url(database_url))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = URL.create("postgresql", url.username, None, url.host, url.port, url.database, url.query)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{what} failed: {reason}")
    return done.stdout


def _pg_backup(database_url: str, target: Path, pg_bin_dir: str) -> None:
    pg_dump = find_pg_tool("pg_dump", server_major=server_major(database_url), pg_bin_dir=pg_bin_dir)
    dbname, env = libpq_target(database_url)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _run([str(pg_dump), "--format=custom", f"--file={partial}", f"--dbname={dbname}"], env, "pg_dump")
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)


def _pg_restore_tool(pg_bin_dir: str, database_url: str | None = None) -> Path:
    major = server_major(database_url) if database_url else 0
    return find_pg_tool("pg_restore", server_major=major, pg_bin_dir=pg_bin_dir)


def _pg_revisions(path: Path, pg_bin_dir: str) -> set[str]:
    tool = _pg_restore_tool(pg_bin_dir)
    script = _run(
        [str(tool), "--data-only", "--table=alembic_version", "--file=-", str(path)],
        dict(os.environ),
        "pg_restore",
    )
    revisions: set[str] = set()
    copying = False
    for line in script.splitlines():
        if line.startswith("COPY ") and "alembic_version" in line:
            copying = True
        elif copying and line == "\\.":
            copying = False
        elif copying and line.strip():
            revisions.add(line.strip())
    return revisions


def _pg_dump_tables(path: Path, tool: Path) -> set[str]:
    listing = _run([str(tool), "--list", str(path)], dict(os.environ), "pg_restore --list")
    tables = set()
    for line in listing.splitlines():
        parts = line.split()
        # "215; 1259 16390 TABLE public user postgres"
        if len(parts) >= 6 and not line.startswith(";") and parts[3] == "TABLE" and parts[4] == "public":
            tables.add(parts[5])
    return tables


def _pg_restore(database_url: str, path: Path, pg_bin_dir: str) -> None:
    tool = _pg_restore_tool(pg_bin_dir, database_url)
    engine = engine_for_url(database_url)
    # Tables that exist now but not in the backup (a newer migration than the backup): drop them, else the
    # migrations run after the restore would find them already there.
    extra = set(inspect(engine).get_table_names()) - _pg_dump_tables(path, tool)
    dispose_engine(database_url)
    if extra:
        with engine_for_url(database_url).begin() as connection:
            for name in sorted(extra):
                connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')
        dispose_engine(database_url)
    dbname, env = libpq_target(database_url)
    _run(
        [
            str(tool),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={dbname}",
            str(path),
        ],
        env,
        "pg_restore",
    )


# --- the operations -----------------------------------------------------------------------------------------


def create_backup(
    database_url: str,
    *,
    backup_dir: Path,
    output: Path | None = None,
    now: datetime | None = None,
    label: str = "",
    pg_bin_dir: str = "",
) -> Path:
    """Back the database up to ``output`` (a file or a folder) or ``backup_dir``; return the file."""
    kind = database_kind(database_url)
    target = _target(output, backup_dir, backup_name(kind, now or datetime.now(UTC), label))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(
            f"cannot create {target.parent} ({error.strerror}); choose another --output"
        ) from None
    try:
        if kind == "sqlite":
            _sqlite_backup(database_url, target)
        else:
            _pg_backup(database_url, target, pg_bin_dir)
    except OSError as error:
        raise BackupError(f"cannot write {target} ({error.strerror}); choose another --output") from None
    except sqlite3.Error as error:
        raise BackupError(f"SQLite refused the backup ({error}); check GIGA_DATABASE_URL") from None
    return target


def backup_kind(path: Path) -> str:
    """``sqlite`` or ``postgresql`` from the file's first bytes; `BackupError` for anything else."""
    if not path.is_file():
        raise BackupError(f"there is no backup file at {path}")
    with path.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is neither a SQLite backup nor a pg_dump custom-format file")


def backup_revisions(path: Path, *, pg_bin_dir: str = "") -> set[str]:
    """The schema revision(s) stored in a backup (empty for a database that was never migrated)."""
    kind = backup_kind(path)
    return _sqlite_revisions(path) if kind == "sqlite" else _pg_revisions(path, pg_bin_dir)


def check_restorable(
    database_url: str, path: Path, *, known: Iterable[str], pg_bin_dir: str = ""
) -> set[str]:
    """Refuse (with `BackupError`) a backup of another database kind or from a newer schema."""
    kind, target_kind = backup_kind(path), database_kind(database_url)
    if kind != target_kind:
        raise BackupError(
            f"{path.name} is a {kind} backup but GIGA_DATABASE_URL is a {target_kind} database; "
            "restore it into a database of the same kind"
        )
    revisions = backup_revisions(path, pg_bin_dir=pg_bin_dir)
    unknown = revisions - set(known)
    if unknown:
        raise BackupError(
            f"{path.name} is at schema revision {', '.join(sorted(unknown))}, newer than this version of the "
            "platform knows; install the version that took the backup (or newer) to restore it"
        )
    if not revisions:
        raise BackupError(f"{path.name} holds no LMS schema (no alembic_version); it is not a GIGA backup")
    return revisions


def restore_backup(database_url: str, path: Path, *, pg_bin_dir: str = "") -> RestoreReport:
    """Replace the database's content with the backup, then migrate it up to the newest schema."""
    from alembic.script import ScriptDirectory

    from lms.migrations import MIGRATIONS_DIR, current_revisions, upgrade

    known = {rev.revision for rev in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}
    revisions = check_restorable(database_url, path, known=known, pg_bin_dir=pg_bin_dir)
    kind = backup_kind(path)
    try:
        if kind == "sqlite":
            _sqlite_restore(database_url, path)
        else:
            _pg_restore(database_url, path, pg_bin_dir)
    except sqlite3.Error as error:
        raise BackupError(f"SQLite refused the restore ({error}); stop the LMS and try again") from None
    except SQLAlchemyError as error:
        raise BackupError(
            f"cannot prepare the database ({type(error).__name__}); check GIGA_DATABASE_URL"
        ) from None
    dispose_engine(database_url)
    try:
        upgrade(database_url)
        after = current_revisions(engine_for_url(database_url))
    except SQLAlchemyError as error:
        raise BackupError(
            f"{path.name} was restored but migrating it failed ({type(error).__name__}); "
            "run `giga db upgrade` and read its message"
        ) from None
    return RestoreReport(path, kind, frozenset(revisions), frozenset(after))


def has_schema(database_url: str) -> bool:
    """Whether the database exists, is reachable and holds migrated tables (worth a safety backup)."""
    try:
        if database_kind(database_url) == "sqlite" and not _sqlite_path(database_url).is_file():
            return False
        return "alembic_version" in inspect(engine_for_url(database_url)).get_table_names()
    except (SQLAlchemyError, BackupError):
        return False
