"""Applying a validated OneRoster bundle to the database (one transaction, owned by the caller).

Rows are matched by sourcedId: re-importing updates and never duplicates. ``status = tobedeleted`` (delta) or
absence from a bulk file deactivates: the row stays (history), users are disabled and enrollments ended.
Classes of past years (``read_only``, set by the roll-over) are kept as they are.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from lms.audit.service import record_event
from lms.roster import messages as msg
from lms.roster.apply import BulkApplier
from lms.roster.bundle_files import FilesChanged
from lms.roster.models import AcademicSession, Course, Enrollment, Org, OrgRole, SchoolClass, User
from lms.roster.oneroster import BundleError, CsvFormatError, Existing, check_bundle
from lms.roster.report import (
    MASS_CHANGE_SHARE,
    ROLLOVER_PREFIX,
    EntityCounts,
    ImportReport,
    MassChange,
    MassChangeRefused,
)

__all__ = [
    "MASS_CHANGE_SHARE",
    "ROLLOVER_PREFIX",
    "EntityCounts",
    "ImportReport",
    "MassChange",
    "MassChangeRefused",
    "checkpoint_sqlite",
    "import_bundle",
    "load_existing",
]


def load_existing(session: Session) -> Existing:
    """The sourcedIds, usernames and read-only classes already stored (for validating a bundle)."""
    existing = Existing()
    models: dict[str, type[SQLModel]] = {
        "academicSessions": AcademicSession,
        "orgs": Org,
        "courses": Course,
        "classes": SchoolClass,
        "users": User,
        "enrollments": Enrollment,
        "roles": OrgRole,
    }
    for name, model in models.items():
        column = model.sourced_id  # type: ignore[attr-defined]
        existing.sourced_ids[name] = {sid for sid in session.exec(select(column)) if sid is not None}
    for username, sourced_id in session.exec(select(User.username, User.sourced_id)):
        existing.usernames[username] = sourced_id
    for klass in session.exec(select(SchoolClass).where(col(SchoolClass.read_only).is_(True))):
        existing.read_only_classes[klass.sourced_id] = (
            klass.status,
            klass.title,
            klass.grades or "",
            klass.class_type,
        )
    return existing


def import_bundle(
    *,
    session: Session,
    path: Path,
    actor_id: int | None = None,
    ip: str | None = None,
    allow_mass_change: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Validate the bundle at ``path`` (folder or zip) and apply it; raise `BundleError` and change nothing
    when any row is wrong, `MassChangeRefused` when it would disable too many (unless allowed).
    Flushes; the caller commits. ``dry_run``: the caller must roll back (nothing is audited either);
    the report says what would change and a mass change is reported, not raised."""
    started = time.perf_counter()
    # Pass 1 validates and keeps sourcedIds only; the applier's pass 2 reads the rows again, batch by batch.
    checked = check_bundle(path, load_existing(session))
    report = ImportReport(
        source=path.name, modes=dict(checked.modes), notices=list(checked.notices), dry_run=dry_run
    )
    applier = BulkApplier(session, checked, report)
    try:
        applier.run()
    except (FilesChanged, CsvFormatError, csv.Error) as error:
        # only a folder edited while it is imported reads differently the second time; the caller rolls back
        where = f"{error.args[0]}.csv:1: -: " if isinstance(error, FilesChanged) and error.args else ""
        raise BundleError([where + msg.FILES_CHANGED_DURING_IMPORT]) from None
    report.mass_change = applier.mass_change()
    report.elapsed_seconds = time.perf_counter() - started
    if dry_run:
        return report
    if report.mass_change is not None and not allow_mass_change:
        raise MassChangeRefused(report.mass_change)
    record_event(
        session=session,
        actor_id=actor_id,
        action="roster.import",
        target_type="oneroster_bundle",
        target_id=path.name,
        ip=ip,
        detail=report.as_dict(),
    )
    return report


def checkpoint_sqlite(engine: Engine) -> None:
    """Fold SQLite's write-ahead log into the .db file, so that copying the .db alone carries the import."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
