"""``giga roster export DIR``: the current roster as a OneRoster 1.2 CSV bundle (Japan Profile, all bulk).

Active rows only (a bulk file is the whole set: importing it elsewhere disables nothing that is not already
inactive here). UTF-8 with a BOM and CRLF, as Excel and the 学習eポータル tools expect. Rows are ordered by
sourcedId and ``dateLastModified`` is left empty, so exporting, importing into an empty database and exporting
again gives byte-identical files. Passwords are never written.

``for_spreadsheet``: the same rows for opening in Excel or LibreOffice. A cell starting with ``= + - @``, TAB
or CR gets a leading ``'`` (OWASP "CSV injection"), so that ``=HYPERLINK(…)`` as a name is shown, not run.
That copy is no longer the roster's data (the quote is part of the value), so its manifest says so
(``giga.forSpreadsheet``) and the import refuses it rather than storing ``'`` in names. The default export
stays byte-exact OneRoster: it is the one that round-trips.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from lms.roster.models import AcademicSession, Course, Enrollment, Org, OrgRole, SchoolClass, User

BASE = ["sourcedId", "status", "dateLastModified"]
HEADERS: dict[str, list[str]] = {
    "academicSessions": [*BASE, "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"],
    "orgs": [*BASE, "name", "type", "identifier", "parentSourcedId"],
    "courses": [*BASE, "schoolYearSourcedId", "title", "courseCode", "grades", "orgSourcedId", "subjects",
                "subjectCodes"],
    "classes": [*BASE, "title", "grades", "courseSourcedId", "classCode", "classType", "location",
                "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods",
                "metadata.jp.specialNeeds"],
    "users": [*BASE, "enabledUser", "username", "userIds", "givenName", "familyName", "middleName",
              "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password",
              "userMasterIdentifier",
              "resourceSourcedIds", "preferredGivenName", "preferredMiddleName", "preferredFamilyName",
              "primaryOrgSourcedId", "pronouns", "metadata.jp.kanaGivenName", "metadata.jp.kanaFamilyName",
              "metadata.jp.kanaMiddleName", "metadata.jp.homeClass"],
    "enrollments": [*BASE, "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary",
                    "beginDate", "endDate", "metadata.jp.ShussekiNo", "metadata.jp.PublicFlg"],
    "roles": [*BASE, "userSourcedId", "roleType", "role", "beginDate", "endDate", "orgSourcedId",
              "userProfileSourcedId"],
}  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: what a spreadsheet may evaluate
SPREADSHEET_MARK = "giga.forSpreadsheet"  # manifest property of the spreadsheet copy (the import refuses it)


def spreadsheet_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it literally: a leading ``'`` where it could start a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _active(session: Session, model: type[SQLModel]) -> list[Any]:
    sourced = model.sourced_id  # type: ignore[attr-defined]
    status = model.status  # type: ignore[attr-defined]
    return list(
        session.exec(select(model).where(status == "active", col(sourced).is_not(None)).order_by(sourced))
    )


class _Ids:
    """id -> sourcedId for every table a row may reference (inactive rows included: references stay)."""

    def __init__(self, session: Session) -> None:
        def ids(model: type[SQLModel]) -> dict[int, str]:
            pairs = session.exec(select(model.id, model.sourced_id))  # type: ignore[attr-defined]
            return {row_id: sid for row_id, sid in pairs if sid}

        self.sessions = ids(AcademicSession)
        self.orgs = ids(Org)
        self.courses = ids(Course)
        self.classes = ids(SchoolClass)
        self.users = ids(User)


def _rows(session: Session, ids: _Ids) -> Iterator[tuple[str, Iterable[dict[str, str]]]]:
    def ref(index: dict[int, str], value: int | None) -> str:
        return index.get(value, "") if value is not None else ""

    yield (
        "academicSessions",
        (
            {
                "sourcedId": s.sourced_id,
                "status": "active",
                "title": s.title,
                "type": s.type,
                "startDate": _text(s.start_date),
                "endDate": _text(s.end_date),
                "parentSourcedId": ref(ids.sessions, s.parent_id),
                "schoolYear": _text(s.school_year),
            }
            for s in _active(session, AcademicSession)
        ),
    )
    yield (
        "orgs",
        (
            {
                "sourcedId": o.sourced_id,
                "status": "active",
                "name": o.name,
                "type": o.type,
                "identifier": _text(o.identifier),
                "parentSourcedId": ref(ids.orgs, o.parent_id),
            }
            for o in _active(session, Org)
        ),
    )
    yield (
        "courses",
        (
            {
                "sourcedId": c.sourced_id,
                "status": "active",
                "schoolYearSourcedId": ref(ids.sessions, c.school_year_id),
                "title": c.title,
                "courseCode": _text(c.course_code),
                "grades": _text(c.grades),
                "orgSourcedId": ref(ids.orgs, c.org_id),
            }
            for c in _active(session, Course)
        ),
    )
    yield (
        "classes",
        (
            {
                "sourcedId": c.sourced_id,
                "status": "active",
                "title": c.title,
                "grades": _text(c.grades),
                "courseSourcedId": ref(ids.courses, c.course_id),
                "classCode": _text(c.class_code),
                "classType": c.class_type,
                "schoolSourcedId": ref(ids.orgs, c.school_id),
                "termSourcedIds": ref(ids.sessions, c.academic_session_id),
                "metadata.jp.specialNeeds": _text(c.special_needs),
            }
            for c in _active(session, SchoolClass)
        ),
    )
    yield (
        "users",
        (
            {
                "sourcedId": u.sourced_id,
                "status": "active",
                "enabledUser": _text(u.enabled),
                "username": u.username,
                "givenName": u.given_name,
                "familyName": u.family_name,
                "middleName": _text(u.middle_name),
                "identifier": _text(u.identifier),
                "email": _text(u.email),
                "grades": _text(u.grades),
                "userMasterIdentifier": _text(u.user_master_identifier),
                "preferredGivenName": _text(u.preferred_given_name),
                "preferredMiddleName": _text(u.preferred_middle_name),
                "preferredFamilyName": _text(u.preferred_family_name),
                "primaryOrgSourcedId": ref(ids.orgs, u.primary_org_id),
                "metadata.jp.kanaGivenName": _text(u.kana_given_name),
                "metadata.jp.kanaFamilyName": _text(u.kana_family_name),
                "metadata.jp.kanaMiddleName": _text(u.kana_middle_name),
                "metadata.jp.homeClass": ref(ids.classes, u.home_class_id),
            }
            for u in _active(session, User)
        ),
    )
    yield (
        "enrollments",
        (
            {
                "sourcedId": e.sourced_id,
                "status": "active",
                "classSourcedId": ref(ids.classes, e.class_id),
                "schoolSourcedId": ref(ids.orgs, e.school_id),
                "userSourcedId": ref(ids.users, e.user_id),
                "role": e.role,
                "primary": _text(e.primary),
                "beginDate": _text(e.begin_date),
                "endDate": _text(e.end_date),
                "metadata.jp.ShussekiNo": _text(e.shusseki_no),
                "metadata.jp.PublicFlg": _text(e.public_flg),
            }
            for e in _active(session, Enrollment)
        ),
    )
    yield (
        "roles",
        (
            {
                "sourcedId": r.sourced_id,
                "status": "active",
                "userSourcedId": ref(ids.users, r.user_id),
                "roleType": r.role_type,
                "role": r.role,
                "beginDate": _text(r.begin_date),
                "endDate": _text(r.end_date),
                "orgSourcedId": ref(ids.orgs, r.org_id),
            }
            for r in _active(session, OrgRole)
        ),
    )


def _owner_only(path: Path) -> Path:
    """``path`` created (or truncated) with mode 0600 whatever the umask: the bundle names children."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    path.chmod(0o600)
    return path


def _write(path: Path, header: list[str], rows: Iterable[dict[str, str]], *, for_spreadsheet: bool) -> int:
    count = 0
    with _owner_only(path).open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n", restval="")
        writer.writeheader()
        for row in rows:
            if for_spreadsheet:
                row = {key: spreadsheet_cell(value) for key, value in row.items()}
            writer.writerow(row)
            count += 1
    return count


def export_roster(
    session: Session,
    directory: Path,
    *,
    system_name: str = "GIGA Learning Platform",
    for_spreadsheet: bool = False,
) -> dict[str, int]:
    """Write the bundle into ``directory`` (created if missing); return the row count per file.

    ``for_spreadsheet``: formula-like cells quoted for Excel (see the module docstring); not re-importable."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ids = _Ids(session)
    counts = {
        name: _write(directory / f"{name}.csv", HEADERS[name], rows, for_spreadsheet=for_spreadsheet)
        for name, rows in _rows(session, ids)
    }
    manifest = io.StringIO()
    writer = csv.writer(manifest, lineterminator="\r\n")
    writer.writerow(["propertyName", "value"])
    writer.writerows(
        [
            ["manifest.version", "1.0"],
            ["oneroster.version", "1.2"],
            *([f"file.{name}", "bulk"] for name in HEADERS),
            ["file.demographics", "absent"],
            ["source.systemName", system_name],
            ["source.systemCode", "giga-lms"],
            *([[SPREADSHEET_MARK, "true"]] if for_spreadsheet else []),
        ]
    )
    _owner_only(directory / "manifest.csv").write_bytes(manifest.getvalue().encode("utf-8-sig"))
    return counts


def export_zip(session: Session, *, for_spreadsheet: bool = False) -> tuple[bytes, dict[str, int]]:
    """The bundle as one zip in memory (the web download), and the row count per file.

    Written through a private temporary folder (0700, removed on return): a city is a few MB of CSV."""
    with tempfile.TemporaryDirectory(prefix="giga-roster-export-") as tmp:
        folder = Path(tmp)
        counts = export_roster(session, folder, for_spreadsheet=for_spreadsheet)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, path.name)
    return buffer.getvalue(), counts
