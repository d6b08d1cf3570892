"""The fiscal-year roll-over (31 March → 1 April) as one operation.

1. a new school year (1 April – 31 March) becomes current;
2. students move up one grade: P6 → J1 when the city has a 中学校, otherwise they are marked as moving on;
   J3 (and H3) graduate (``graduated``, disabled);
3. the old year's classes become read-only (kept with their enrollments, for history);
4. the new year's classes come with the next bulk OneRoster import, which adopts the new school year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.core.errors import Conflict, InvalidInput
from lms.core.jst import LAST_YEAR_OF_STAGE, parse_grade
from lms.roster import messages as msg
from lms.roster.models import AcademicSession, Enrollment, Org, SchoolClass, User
from lms.roster.service import ROLLOVER_PREFIX


@dataclass
class RolloverReport:
    from_year: int
    to_year: int
    promoted: int = 0
    graduated: int = 0
    moving_on: int = 0
    classes_archived: int = 0

    def summary(self) -> str:
        return (
            f"roll-over {self.from_year} → {self.to_year}: {self.promoted} promoted, "
            f"{self.graduated} graduated, {self.moving_on} moving on (no 中学校 in the city), "
            f"{self.classes_archived} classes now read-only; "
            "import the new year's bulk roster next"
        )


def current_school_year(session: Session) -> AcademicSession | None:
    return session.exec(
        select(AcademicSession).where(
            AcademicSession.type == "schoolYear", col(AcademicSession.is_current).is_(True)
        )
    ).first()


def city_has_junior_high(session: Session) -> bool:
    """A 中学校 exists: a school with 学校コード of kind C, or a class of grade J1–J3."""
    schools = session.exec(select(Org).where(Org.type == "school", Org.status == "active")).all()
    if any((org.identifier or "").startswith("C") for org in schools):
        return True
    grades = session.exec(select(SchoolClass.grades).where(SchoolClass.status == "active")).all()
    return any(g and "J" in g for g in grades)


def next_grade(grade: str, *, has_junior_high: bool) -> tuple[str | None, str]:
    """(new grade, outcome) with outcome one of promoted | graduated | moving_on | unchanged."""
    parsed = parse_grade(grade)
    if parsed is None:
        return grade, "unchanged"
    stage, year = parsed
    if year < LAST_YEAR_OF_STAGE[stage]:
        return f"{stage}{year + 1}", "promoted"
    if stage == "P":
        return ("J1", "promoted") if has_junior_high else (grade, "moving_on")
    return grade, "graduated"


def rollover(
    *, session: Session, to_year: int, dry_run: bool = False, actor_id: int | None = None
) -> RolloverReport:
    """Roll the roster over to school year ``to_year`` (``dry_run``: only count). Flushes only."""
    current = current_school_year(session)
    if current is None:
        raise InvalidInput(msg.NO_CURRENT_YEAR)
    if to_year <= current.school_year:
        raise Conflict(msg.ALREADY_THAT_YEAR.format(school_year=current.school_year, to_year=to_year))
    if to_year != current.school_year + 1:
        raise InvalidInput(
            msg.ONE_YEAR_AT_A_TIME.format(school_year=current.school_year, next_year=current.school_year + 1)
        )
    report = RolloverReport(from_year=current.school_year, to_year=to_year)
    has_junior_high = city_has_junior_high(session)
    year_end = date(current.school_year + 1, 3, 31)

    students = session.exec(
        select(User).where(User.role == "student", User.status == "active", col(User.graduated).is_(False))
    ).all()
    for student in students:
        grade, outcome = next_grade(student.grades or "", has_junior_high=has_junior_high)
        if outcome == "unchanged":
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
        if dry_run:
            continue
        student.home_class_id = None  # last year's homeroom; the new bulk import sets this year's
        student.grades = grade
        if outcome == "graduated":
            student.graduated, student.enabled = True, False
        elif outcome == "moving_on":
            student.moving_on, student.enabled = True, False

    classes = session.exec(select(SchoolClass).where(col(SchoolClass.read_only).is_(False))).all()
    report.classes_archived = len(classes)
    if dry_run:
        return report
    for klass in classes:
        klass.read_only = True
    class_ids = [klass.id for klass in classes]
    if class_ids:
        for enrollment in session.exec(select(Enrollment).where(col(Enrollment.class_id).in_(class_ids))):
            if enrollment.end_date is None or enrollment.end_date > year_end:
                enrollment.end_date = year_end

    current.is_current = False
    session.add(
        AcademicSession(
            sourced_id=f"{ROLLOVER_PREFIX}{to_year}",
            title=f"{to_year}年度",
            type="schoolYear",
            start_date=date(to_year, 4, 1),
            end_date=date(to_year + 1, 3, 31),
            school_year=to_year,
            is_current=True,
        )
    )
    session.flush()
    record_event(
        session=session,
        actor_id=actor_id,
        action="roster.rollover",
        target_type="academic_session",
        target_id=str(to_year),
        detail=vars(report),
    )
    return report
