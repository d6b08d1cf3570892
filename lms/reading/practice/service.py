"""Practice recommendations from the database: latest skill estimates + answer history → a practice set.

The choice itself is `reading_tests.practice.choose_practice` (pure); this module gathers its inputs:

* abilities: the newest ``skill_estimate`` row of every skill (``"ALL"`` gives the overall θ̂);
* recently seen items: answered in the last `RECENT_DAYS` days, or planned in an attempt still open;
* the spaced-review schedule: every answer as a (skill, day in Japan, correct) outcome;
* candidates: deliverable items with parameters (operational ones once the bank has any; until then the
  pilot items with provisional parameters, as the tests use them), at or below the student's grade.

The set is seeded by student and day, so it stays the same through a day.  A teacher's override (the
newest active `PracticeOverride`) replaces the items, or narrows the skills the set is chosen from.
Overrides and practice assignments are audited.  Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.core.db import utc_now
from lms.core.errors import Forbidden, InvalidInput
from lms.core.jst import today_in_japan
from lms.reading import authoring
from lms.reading import delivery as dl
from lms.reading.models import (
    OPEN_ATTEMPT_STATUSES,
    Assessment,
    Assignment,
    Attempt,
    AttemptItem,
    Response,
    SkillEstimate,
)
from lms.reading.practice import messages as msg
from lms.reading.practice.carry import latest_accommodations
from lms.reading.practice.models import PracticeOverride
from lms.roster.models import Enrollment, SchoolClass, User
from reading_tests.items import SKILLS, Item
from reading_tests.practice import (
    Candidate,
    SkillAbility,
    SkillOutcome,
    choose_practice,
    review_schedule,
    skill_name,
)

RECENT_DAYS = 28
SET_SIZE = 6
MAX_OVERRIDE_ITEMS = 30
OVERALL = "ALL"


@dataclass(frozen=True)
class Recommendation:
    """One practice item for a student, as the results page and the teacher view show it (never a key)."""

    item_id: str
    skill: str
    skill_name: str
    kind: str  # growth | guessing | review | teacher
    reason: str
    p_correct: float | None
    source: str  # auto | teacher

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StudentPractice:
    """What the teacher view shows for one student."""

    student: User
    shusseki_no: int | None
    recommended: list[Recommendation]
    automatic: list[Recommendation]
    override: PracticeOverride | None = None
    estimated_skills: list[str] = field(default_factory=list)


# --- inputs ----------------------------------------------------------------------------------------------


def latest_abilities(session: Session, student_id: int) -> tuple[dict[str, SkillAbility], float | None]:
    """The newest estimate of every skill, and the newest overall θ̂ (None before the first test)."""
    rows = session.exec(
        select(SkillEstimate)
        .where(SkillEstimate.student_id == student_id)
        .order_by(col(SkillEstimate.created_at).desc(), col(SkillEstimate.id).desc())
    )
    abilities: dict[str, SkillAbility] = {}
    overall: float | None = None
    for row in rows:
        if row.skill == OVERALL:
            if overall is None:
                overall = row.theta
        elif row.skill not in abilities:
            abilities[row.skill] = SkillAbility(row.skill, row.theta, row.se, row.guessing)
    return abilities, overall


def _history(session: Session, student_id: int) -> list[tuple[str, bool, datetime]]:
    rows = session.exec(
        select(Response.item_id, Response.correct, Response.created_at)
        .join(Attempt, col(Attempt.id) == col(Response.attempt_id))
        .where(Attempt.student_id == student_id, Attempt.status != "reset")
    )
    return [(item_id, bool(correct), created) for item_id, correct, created in rows]


def _planned_in_open_attempts(session: Session, student_id: int) -> set[str]:
    """Items waiting for the student: planned in an open attempt, or on a fixed/practice form of one."""
    planned = set(
        session.exec(
            select(AttemptItem.item_id)
            .join(Attempt, col(Attempt.id) == col(AttemptItem.attempt_id))
            .where(Attempt.student_id == student_id, col(Attempt.status).in_(OPEN_ATTEMPT_STATUSES))
        )
    )
    forms = session.exec(
        select(Assessment.item_ids)
        .join(Assignment, col(Assignment.assessment_id) == col(Assessment.id))
        .join(Attempt, col(Attempt.assignment_id) == col(Assignment.id))
        .where(
            Attempt.student_id == student_id,
            col(Attempt.status).in_(OPEN_ATTEMPT_STATUSES),
            col(Assessment.kind) != "cat",
        )
    )
    for item_ids in forms:
        planned.update(item_ids or [])
    return planned


def practice_items() -> list[Item]:
    """Items practice may use: deliverable, with parameters; operational ones once the bank has any.

    The practice pool (items written for practice, kept out of tests) is used as soon as it has deliverable
    items; until its drafts are reviewed, practice falls back to the test pool as before."""
    bank = dl.item_bank()
    usable = [i for i in bank if i.status in dl.DELIVERED_STATUSES and i.irt is not None]
    usable = [i for i in usable if i.pool == "practice"] or usable
    operational = [i for i in usable if i.status == "operational"]
    return operational or usable


def _grade_of(code: str | None) -> int | None:
    return dl.class_grade(code)


def _candidates(items: Sequence[Item], grade: int | None) -> list[Candidate]:
    out = []
    for item in items:
        if grade is not None and (_grade_of(item.grade_min) or 0) > grade:
            continue
        assert item.irt is not None
        out.append(Candidate(item.id, item.skill, item.irt.a, item.irt.b, item.irt.c))
    return out


def student_grade_level(session: Session, student: User) -> int | None:
    """School year 1–9 of the student: their grade code, else their homeroom's."""
    level = _grade_of(student.grades)
    if level is None and student.home_class_id is not None:
        home = session.get(SchoolClass, student.home_class_id)
        level = _grade_of(home.grades if home else None)
    return level


def active_override(session: Session, student_id: int) -> PracticeOverride | None:
    return session.exec(
        select(PracticeOverride)
        .where(PracticeOverride.student_id == student_id, col(PracticeOverride.active).is_(True))
        .order_by(col(PracticeOverride.id).desc())
    ).first()


# --- recommendations ---------------------------------------------------------------------------------------


def automatic_for(
    *, session: Session, student: User, now: datetime, skills: Sequence[str] = (), n_items: int = SET_SIZE
) -> list[Recommendation]:
    """The platform's own choice (no override), optionally limited to ``skills``."""
    assert student.id is not None
    abilities, overall = latest_abilities(session, student.id)
    history = _history(session, student.id)
    items = practice_items()
    by_id = {i.id: i for i in items} | {i.id: i for i in dl.item_bank()}
    cutoff = now - timedelta(days=RECENT_DAYS)
    recent = {item_id for item_id, _c, at in history if at >= cutoff} | _planned_in_open_attempts(
        session, student.id
    )
    outcomes = [
        SkillOutcome(by_id[item_id].skill, today_in_japan(at), correct)
        for item_id, correct, at in history
        if item_id in by_id
    ]
    candidates = _candidates(items, student_grade_level(session, student))
    if skills:
        candidates = [c for c in candidates if c.skill in set(skills)]
    today = today_in_japan(now)
    chosen = choose_practice(
        abilities=abilities,
        candidates=candidates,
        recent=recent,
        review=review_schedule(outcomes),
        today=today,
        overall=overall,
        n_items=n_items,
        seed=student.id * 1_000_003 + today.toordinal(),
    )
    return [
        Recommendation(
            r.item_id, r.skill, skill_name(r.skill), r.kind, r.reason, round(r.p_correct, 3), "auto"
        )
        for r in chosen
    ]


def _teacher_items(item_ids: Sequence[str]) -> list[Recommendation]:
    bank = dl.item_bank()
    out = []
    for item_id in item_ids:
        item = bank.get(item_id)
        if item is None or item.status not in dl.DELIVERED_STATUSES:  # a draft never reaches a child
            continue
        out.append(
            Recommendation(
                item_id,
                item.skill,
                skill_name(item.skill),
                "teacher",
                msg.teacher_reason(item.skill),
                None,
                "teacher",
            )
        )
    return out


def recommend_for(*, session: Session, student: User, now: datetime | None = None) -> list[Recommendation]:
    """The practice set to offer ``student`` now: the teacher's override if any, else the automatic one."""
    now = now or utc_now()
    assert student.id is not None
    override = active_override(session, student.id)
    if override is not None and override.item_ids:
        return _teacher_items(override.item_ids)
    skills = override.skills if override is not None else []
    return automatic_for(session=session, student=student, now=now, skills=skills)


def class_practice(*, session: Session, class_: SchoolClass, now: datetime) -> list[StudentPractice]:
    """Every active student of the class with the automatic and the effective recommendation."""
    assert class_.id is not None
    rows = session.exec(
        select(User, Enrollment.shusseki_no)
        .join(Enrollment, col(Enrollment.user_id) == col(User.id))
        .where(Enrollment.class_id == class_.id, Enrollment.role == "student", Enrollment.status == "active")
        .order_by(col(Enrollment.shusseki_no), col(User.id))
    ).all()
    out = []
    for student, number in rows:
        assert student.id is not None
        auto = automatic_for(session=session, student=student, now=now)
        override = active_override(session, student.id)
        effective = recommend_for(session=session, student=student, now=now) if override else auto
        abilities, _ = latest_abilities(session, student.id)
        out.append(StudentPractice(student, number, effective, auto, override, sorted(abilities)))
    return out


# --- teacher actions ---------------------------------------------------------------------------------------


def _require_staff(actor: User) -> None:
    if actor.role not in ("teacher", "school_admin", "admin"):
        raise Forbidden(msg.STAFF_ONLY)


def set_override(
    *,
    session: Session,
    actor: User,
    student: User,
    item_ids: Sequence[str] = (),
    skills: Sequence[str] = (),
    note: str | None = None,
    now: datetime,
    ip: str | None = None,
) -> PracticeOverride:
    """Replace what ``student`` is recommended: given items, or a choice limited to given skills (audited).

    The caller has already checked that ``actor`` may see ``student`` (teacher of the student's class,
    school admin of the school, or admin).
    """
    _require_staff(actor)
    assert student.id is not None
    if student.role != "student":
        raise InvalidInput(msg.NOT_A_STUDENT)
    items = list(dict.fromkeys(item_ids))
    chosen_skills = list(dict.fromkeys(skills))
    if not items and not chosen_skills:
        raise InvalidInput(msg.OVERRIDE_EMPTY)
    if len(items) > MAX_OVERRIDE_ITEMS:
        raise InvalidInput(msg.too_many_items(MAX_OVERRIDE_ITEMS))
    usable = {i.id for i in practice_items()}
    unknown = [i for i in items if i not in usable]
    if unknown:
        raise InvalidInput(msg.unknown_item(unknown[0]))
    bad_skills = [s for s in chosen_skills if s not in SKILLS]
    if bad_skills:
        raise InvalidInput(msg.unknown_skill(bad_skills[0], SKILLS))
    if note is not None and len(note) > 255:
        raise InvalidInput(msg.NOTE_TOO_LONG)
    previous = _deactivate(session, student.id)
    override = PracticeOverride(
        student_id=student.id,
        item_ids=items,
        skills=chosen_skills,
        note=note,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(override)
    session.flush()
    record_event(
        session=session,
        actor_id=actor.id,
        action="practice.override",
        target_type="user",
        target_id=student.id,
        ip=ip,
        detail={"item_ids": items, "skills": chosen_skills, "replaced": previous, "override_id": override.id},
    )
    return override


def clear_override(*, session: Session, actor: User, student: User, ip: str | None = None) -> int:
    """Go back to the automatic recommendation (audited); the number of overrides switched off."""
    _require_staff(actor)
    assert student.id is not None
    previous = _deactivate(session, student.id)
    record_event(
        session=session,
        actor_id=actor.id,
        action="practice.override_cleared",
        target_type="user",
        target_id=student.id,
        ip=ip,
        detail={"replaced": previous},
    )
    return len(previous)


def _deactivate(session: Session, student_id: int) -> list[int]:
    ids = list(
        session.exec(
            select(PracticeOverride.id).where(
                PracticeOverride.student_id == student_id, col(PracticeOverride.active).is_(True)
            )
        )
    )
    if ids:
        session.execute(
            update(PracticeOverride)
            .where(col(PracticeOverride.id).in_(ids))
            .values(active=False)
            .execution_options(synchronize_session=False)
        )
        session.expire_all()
    return [i for i in ids if i is not None]


@dataclass(frozen=True)
class AssignedPractice:
    student_id: int
    assignment_id: int
    item_ids: list[str]


def assign_practice(
    *,
    session: Session,
    actor: User,
    class_: SchoolClass,
    now: datetime,
    student_ids: Sequence[int] | None = None,
    closes_at: datetime | None = None,
    ip: str | None = None,
) -> list[AssignedPractice]:
    """Give every chosen student of the class their own practice set (a ``practice`` assessment each).

    Students without any item to practise are skipped.  One audit event lists what was assigned.
    """
    _require_staff(actor)
    assert class_.id is not None
    enrolled = authoring.class_student_ids(session, class_.id)
    chosen = list(dict.fromkeys(student_ids)) if student_ids else enrolled
    strangers = [s for s in chosen if s not in set(enrolled)]
    if strangers:
        raise InvalidInput(msg.NOT_IN_CLASS)
    out: list[AssignedPractice] = []
    carried = latest_accommodations(session, chosen)
    for student_id in chosen:
        student = session.get(User, student_id)
        assert student is not None
        items = [r.item_id for r in recommend_for(session=session, student=student, now=now)]
        if not items:
            continue
        assessment = authoring.create_assessment(
            session=session,
            title=msg.practice_title(today_in_japan(now)),
            kind="practice",
            item_ids=items,
            created_by=actor,
        )
        assignment = authoring.create_assignment(
            session=session,
            assessment=assessment,
            class_=class_,
            now=now,
            closes_at=closes_at,
            student_ids=[student_id],
            accommodations={student_id: carried[student_id]} if student_id in carried else None,
            created_by=actor,
        )
        assert assignment.id is not None
        out.append(AssignedPractice(student_id, assignment.id, items))
    record_event(
        session=session,
        actor_id=actor.id,
        action="practice.assign",
        target_type="class",
        target_id=class_.id,
        ip=ip,
        detail={"assignments": [asdict(a) for a in out]},
    )
    return out
