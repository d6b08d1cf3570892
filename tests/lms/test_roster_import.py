"""OneRoster 1.2 CSV (Japan Profile) import: a valid bundle in every encoding, re-import, delta, bulk."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from lms.audit.models import AuditEvent
from lms.roster.models import AcademicSession, Enrollment, Org, OrgRole, SchoolClass, User
from lms.roster.service import import_bundle
from tests.lms.roster_helpers import (
    FIXTURE,
    copy_bundle,
    edit,
    read_rows,
    set_manifest,
    set_value,
    write_rows,
)

pytestmark = pytest.mark.db


def counts(session: Session) -> dict[str, int]:
    return {
        model.__tablename__: session.exec(select(func.count()).select_from(model)).one()
        for model in (Org, AcademicSession, SchoolClass, User, Enrollment, OrgRole)
    }


EXPECTED = {"org": 3, "academic_session": 1, "schoolclass": 4, "user": 10, "enrollment": 9, "orgrole": 10}


def test_valid_bundle_imports_everything(db_session: Session) -> None:
    report = import_bundle(session=db_session, path=FIXTURE)
    db_session.commit()
    assert counts(db_session) == EXPECTED
    assert report.totals.created == 3 + 1 + 2 + 4 + 10 + 9 + 10
    student = db_session.exec(select(User).where(User.sourced_id == "stu-es-3")).one()
    assert (student.family_name, student.given_name) == ("髙橋", "蓮")
    assert (student.kana_family_name, student.kana_given_name) == ("タカハシ", "レン")
    assert student.grades == "P4" and student.role == "student" and student.enabled
    home = db_session.get(SchoolClass, student.home_class_id)
    assert home is not None and home.title == "4年1組"
    school = db_session.get(Org, student.primary_org_id)
    assert school is not None and school.identifier == "B123210000017"
    district = db_session.get(Org, school.parent_id)
    assert district is not None and district.type == "district" and district.identifier == "123456"
    enrollment = db_session.exec(select(Enrollment).where(Enrollment.sourced_id == "enr-es-2")).one()
    assert enrollment.shusseki_no == 2 and enrollment.begin_date == date(2026, 4, 1)
    roles = {u.sourced_id: u.role for u in db_session.exec(select(User))}
    assert roles["tch-js-1"] == "teacher"
    assert roles["prn-es"] == "school_admin"
    assert roles["brd-1"] == "board"
    year = db_session.exec(select(AcademicSession)).one()
    assert year.school_year == 2026 and year.is_current


def test_demographics_is_ignored_with_a_notice(db_session: Session) -> None:
    report = import_bundle(session=db_session, path=FIXTURE)
    assert any("demographics.csv" in notice and "データ最小化" in notice for notice in report.notices)


def test_import_is_audited(db_session: Session) -> None:
    import_bundle(session=db_session, path=FIXTURE, actor_id=None, ip="127.0.0.1")
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "roster.import")).one()
    assert event.ip == "127.0.0.1" and event.target_id == "oneroster_basic"
    assert '"users": {"created": 10' in (event.detail or "")


def test_shift_jis_bundle_imports_the_same(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "sjis")
    for path in bundle.glob("*.csv"):
        header, rows = read_rows(path)
        write_rows(path, header, rows, encoding="cp932")
    assert not (bundle / "users.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    import_bundle(session=db_session, path=bundle)
    assert counts(db_session) == EXPECTED
    assert db_session.exec(select(User).where(User.sourced_id == "stu-es-3")).one().family_name == "髙橋"


def test_utf8_without_bom_and_zip(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "plain")
    for path in bundle.glob("*.csv"):
        header, rows = read_rows(path)
        write_rows(path, header, rows, encoding="utf-8")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in bundle.glob("*.csv"):
            zf.write(path, f"export/{path.name}")  # exporters often nest a folder
    import_bundle(session=db_session, path=archive)
    assert counts(db_session) == EXPECTED


def test_reimport_updates_nothing_and_duplicates_nothing(db_session: Session) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    db_session.commit()
    report = import_bundle(session=db_session, path=FIXTURE)
    db_session.commit()
    assert counts(db_session) == EXPECTED
    assert report.totals.created == 0 and report.totals.updated == 0 and report.totals.deactivated == 0


def test_reimport_with_a_change_updates_in_place(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    bundle = copy_bundle(tmp_path / "b")
    set_value(bundle, "users.csv", "stu-es-1", "familyName", "齋藤")
    set_value(bundle, "users.csv", "stu-es-1", "metadata.jp.kanaFamilyName", "サイトウ")
    report = import_bundle(session=db_session, path=bundle)
    assert report.counts["users"].updated == 1 and report.counts["users"].created == 0
    assert counts(db_session) == EXPECTED
    user = db_session.exec(select(User).where(User.sourced_id == "stu-es-1")).one()
    assert (user.family_name, user.kana_family_name) == ("齋藤", "サイトウ")


def _delta_bundle(tmp_path: Path) -> Path:
    """A delta bundle: one user removed, one renamed, one new student in a class that is only in the DB."""
    bundle = copy_bundle(tmp_path / "delta")
    for name in ("academicSessions", "orgs", "courses", "classes", "roles", "demographics"):
        (bundle / f"{name}.csv").unlink()
    set_manifest(
        bundle,
        academicSessions="absent",
        orgs="absent",
        courses="absent",
        classes="absent",
        roles="absent",
        demographics="absent",
        users="delta",
        enrollments="delta",
    )

    def users(_header: list[str], rows: list[dict[str, str]]) -> None:
        keep = {r["sourcedId"]: r for r in rows}
        removed = dict.fromkeys(rows[0], "") | {"sourcedId": "stu-es-2", "status": "tobedeleted"}
        renamed = keep["stu-es-1"] | {
            "status": "active",
            "givenName": "悠真",
            "metadata.jp.kanaGivenName": "ユウマ",
        }
        new = keep["stu-es-1"] | {
            "status": "active",
            "sourcedId": "stu-es-9",
            "username": "es-student-9",
            "givenName": "芽依",
            "familyName": "木村",
            "metadata.jp.kanaGivenName": "メイ",
            "metadata.jp.kanaFamilyName": "キムラ",
            "userMasterIdentifier": "3f1c9a52-9a6e-4b8a-9d51-0c1f7c2b9e10",
        }
        rows[:] = [removed, renamed, new]

    def enrollments(_header: list[str], rows: list[dict[str, str]]) -> None:
        template = rows[0]
        rows[:] = [
            template
            | {
                "sourcedId": "enr-es-9",
                "status": "active",
                "userSourcedId": "stu-es-9",
                "metadata.jp.ShussekiNo": "3",
            }
        ]

    edit(bundle, "users.csv", users)
    edit(bundle, "enrollments.csv", enrollments)
    return bundle


def test_delta_updates_adds_and_deactivates(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    db_session.commit()
    report = import_bundle(session=db_session, path=_delta_bundle(tmp_path))
    db_session.commit()
    assert report.modes == {"users": "delta", "enrollments": "delta"}
    assert (
        report.counts["users"].created,
        report.counts["users"].updated,
        report.counts["users"].deactivated,
    ) == (1, 1, 1)
    gone = db_session.exec(select(User).where(User.sourced_id == "stu-es-2")).one()
    assert gone.status == "tobedeleted" and not gone.enabled  # kept, disabled
    ended = db_session.exec(select(Enrollment).where(Enrollment.user_id == gone.id)).one()
    assert ended.status == "tobedeleted" and ended.end_date == date.today()
    renamed = db_session.exec(select(User).where(User.sourced_id == "stu-es-1")).one()
    assert renamed.given_name == "悠真"
    new = db_session.exec(select(User).where(User.sourced_id == "stu-es-9")).one()
    enrollment = db_session.exec(select(Enrollment).where(Enrollment.user_id == new.id)).one()
    assert enrollment.shusseki_no == 3 and new.role == "student"
    # Untouched rows stay as they were: nothing else was deactivated by a delta.
    assert db_session.exec(select(func.count()).select_from(User).where(User.status == "active")).one() == 10


def test_bulk_deactivates_rows_it_no_longer_lists(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    bundle = copy_bundle(tmp_path / "b")
    edit(
        bundle,
        "users.csv",
        lambda _h, rows: rows.__setitem__(slice(None), [r for r in rows if r["sourcedId"] != "tch-es-2"]),
    )
    edit(
        bundle,
        "enrollments.csv",
        lambda _h, rows: rows.__setitem__(slice(None), [r for r in rows if r["userSourcedId"] != "tch-es-2"]),
    )
    edit(
        bundle,
        "roles.csv",
        lambda _h, rows: rows.__setitem__(slice(None), [r for r in rows if r["userSourcedId"] != "tch-es-2"]),
    )
    report = import_bundle(session=db_session, path=bundle)
    assert report.counts["users"].deactivated == 1
    teacher = db_session.exec(select(User).where(User.sourced_id == "tch-es-2")).one()
    assert teacher.status == "tobedeleted" and not teacher.enabled
    assert counts(db_session) == EXPECTED  # history kept


def test_local_admin_is_untouched_by_bulk(db_session: Session, make_user: Any) -> None:
    admin = make_user("admin", username="admin")
    import_bundle(session=db_session, path=FIXTURE)
    db_session.refresh(admin)
    assert admin.role == "admin" and admin.enabled and admin.status == "active"
