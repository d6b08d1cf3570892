"""Fiscal-year roll-over: new year, promotion, graduation, old classes read-only, next bulk accepted."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from lms.core.errors import Conflict, InvalidInput
from lms.roster.models import AcademicSession, Enrollment, Org, SchoolClass, User
from lms.roster.oneroster import BundleError
from lms.roster.rollover import next_grade, rollover
from lms.roster.service import import_bundle
from tests.lms.roster_helpers import FIXTURE, copy_bundle, edit, set_value

pytestmark = pytest.mark.db


def user(session: Session, sourced_id: str) -> User:
    return session.exec(select(User).where(User.sourced_id == sourced_id)).one()


def test_next_grade_rules() -> None:
    assert next_grade("P1", has_junior_high=True) == ("P2", "promoted")
    assert next_grade("P6", has_junior_high=True) == ("J1", "promoted")
    assert next_grade("P6", has_junior_high=False) == ("P6", "moving_on")
    assert next_grade("J2", has_junior_high=True) == ("J3", "promoted")
    assert next_grade("J3", has_junior_high=True) == ("J3", "graduated")
    assert next_grade("", has_junior_high=True) == ("", "unchanged")


def test_rollover_promotes_graduates_and_archives(db_session: Session) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    report = rollover(session=db_session, to_year=2027)
    db_session.commit()
    assert (report.promoted, report.graduated, report.moving_on, report.classes_archived) == (4, 1, 0, 4)
    assert user(db_session, "stu-es-1").grades == "P4"
    assert user(db_session, "stu-es-3").grades == "P5"
    assert user(db_session, "stu-js-1").grades == "J2"
    graduate = user(db_session, "stu-js-2")
    assert graduate.graduated and not graduate.enabled and graduate.grades == "J3"
    teacher = user(db_session, "tch-es-1")
    assert teacher.enabled and teacher.grades is None
    years = {s.school_year: s for s in db_session.exec(select(AcademicSession))}
    assert years[2027].is_current and not years[2026].is_current
    assert (years[2027].start_date, years[2027].end_date) == (date(2027, 4, 1), date(2028, 3, 31))
    assert all(c.read_only for c in db_session.exec(select(SchoolClass)))
    enrollment = db_session.exec(select(Enrollment).where(Enrollment.sourced_id == "enr-es-1")).one()
    assert enrollment.status == "active" and enrollment.end_date == date(2027, 3, 31)  # history kept


def test_p6_moves_on_when_the_city_has_no_junior_high(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "b")
    set_value(bundle, "users.csv", "stu-es-3", "grades", "P6")
    import_bundle(session=db_session, path=bundle)
    for org in db_session.exec(select(Org).where(Org.sourced_id == "org-js")):
        org.status = "tobedeleted"  # the city's 中学校 closed
    for klass in db_session.exec(select(SchoolClass).where(col(SchoolClass.grades).in_(["J1", "J3"]))):
        klass.status = "tobedeleted"
    db_session.flush()
    report = rollover(session=db_session, to_year=2027)
    assert report.moving_on == 1
    leaver = user(db_session, "stu-es-3")
    assert leaver.moving_on and not leaver.enabled and leaver.grades == "P6"


def test_p6_becomes_j1_with_a_junior_high(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "b")
    set_value(bundle, "users.csv", "stu-es-3", "grades", "P6")
    import_bundle(session=db_session, path=bundle)
    rollover(session=db_session, to_year=2027)
    assert user(db_session, "stu-es-3").grades == "J1"


def test_dry_run_changes_nothing(db_session: Session) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    report = rollover(session=db_session, to_year=2027, dry_run=True)
    assert report.promoted == 4 and report.graduated == 1
    assert user(db_session, "stu-es-1").grades == "P3"
    assert not any(c.read_only for c in db_session.exec(select(SchoolClass)))
    assert len(db_session.exec(select(AcademicSession)).all()) == 1


def test_rollover_refuses_wrong_years(db_session: Session) -> None:
    with pytest.raises(InvalidInput, match="名簿"):
        rollover(session=db_session, to_year=2027)
    import_bundle(session=db_session, path=FIXTURE)
    with pytest.raises(Conflict):
        rollover(session=db_session, to_year=2026)
    with pytest.raises(InvalidInput, match="1 年ずつ"):
        rollover(session=db_session, to_year=2029)


def _next_year_bundle(tmp_path: Path) -> Path:
    """What the 学習eポータル exports in April 2027: the new year, new classes, promoted students."""
    bundle = copy_bundle(tmp_path / "fy2027")
    promote = {"P3": "P4", "P4": "P5", "J1": "J2"}

    def sessions(_h: list[str], rows: list[dict[str, str]]) -> None:
        rows[:] = [
            rows[0]
            | {
                "sourcedId": "as-2027",
                "title": "2027年度",
                "startDate": "2027-04-01",
                "endDate": "2028-03-31",
                "schoolYear": "2027",
            }
        ]

    def courses(_h: list[str], rows: list[dict[str, str]]) -> None:
        for row in rows:
            row["sourcedId"] += "-2027"
            row["schoolYearSourcedId"] = "as-2027"

    def classes(_h: list[str], rows: list[dict[str, str]]) -> None:
        rows[:] = [
            row
            | {
                "sourcedId": row["sourcedId"] + "-2027",
                "grades": promote[row["grades"]],
                "courseSourcedId": row["courseSourcedId"] + "-2027",
                "termSourcedIds": "as-2027",
                "title": promote[row["grades"]][1] + "年1組",
            }
            for row in rows
            if row["grades"] in promote
        ]

    def users(_h: list[str], rows: list[dict[str, str]]) -> None:
        rows[:] = [row for row in rows if row["sourcedId"] != "stu-js-2"]  # graduated
        for row in rows:
            if row["grades"]:
                row["grades"] = promote[row["grades"]]
                row["metadata.jp.homeClass"] += "-2027"

    def enrollments(_h: list[str], rows: list[dict[str, str]]) -> None:
        rows[:] = [
            row
            | {
                "sourcedId": row["sourcedId"] + "-2027",
                "classSourcedId": row["classSourcedId"] + "-2027",
                "beginDate": "2027-04-01",
            }
            for row in rows
            if row["classSourcedId"] != "cls-js-3-1"
        ]

    edit(bundle, "academicSessions.csv", sessions)
    edit(bundle, "courses.csv", courses)
    edit(bundle, "classes.csv", classes)
    edit(bundle, "users.csv", users)
    edit(bundle, "enrollments.csv", enrollments)
    edit(
        bundle,
        "roles.csv",
        lambda _h, rows: rows.__setitem__(slice(None), [r for r in rows if r["userSourcedId"] != "stu-js-2"]),
    )
    return bundle


def test_next_bulk_import_is_accepted_for_the_new_year(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    rollover(session=db_session, to_year=2027)
    db_session.commit()
    report = import_bundle(session=db_session, path=_next_year_bundle(tmp_path))
    db_session.commit()
    years = db_session.exec(select(AcademicSession).order_by(col(AcademicSession.school_year))).all()
    assert [(y.sourced_id, y.is_current) for y in years] == [("as-2026", False), ("as-2027", True)]
    assert report.counts["classes"].created == 3 and report.counts["classes"].deactivated == 0
    student = user(db_session, "stu-es-1")
    home = db_session.get(SchoolClass, student.home_class_id)
    assert student.grades == "P4" and home is not None and home.sourced_id == "cls-es-3-1-2027"
    assert home.academic_session_id == years[1].id and not home.read_only
    old = db_session.exec(select(SchoolClass).where(SchoolClass.sourced_id == "cls-es-3-1")).one()
    assert old.read_only and old.status == "active"
    graduate = user(db_session, "stu-js-2")
    assert graduate.graduated and graduate.status == "active" and not graduate.enabled


def test_a_past_years_class_cannot_be_changed(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    rollover(session=db_session, to_year=2027)
    bundle = copy_bundle(tmp_path / "b")
    set_value(bundle, "classes.csv", "cls-es-3-1", "title", "3年2組")
    with pytest.raises(BundleError) as caught:
        import_bundle(session=db_session, path=bundle)
    assert caught.value.problems == [
        "classes.csv:2: sourcedId: 過去の年度のクラス（読み取り専用）は変更できません。"
        "新しい年度のクラスは新しい sourcedId で登録してください"
    ]
