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

from sqlalchemy import select as sa_select
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
from lms.reading.practice import hand_out
from lms.reading.practice import messages as msg
from lms.reading.practice.carry import latest_accommodations
from lms.reading.practice.hand_out import AssignedPractice
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


@dataclass
class PracticeInputs:
    """What a student's practice set is chosen from (gathered for a whole class in a fixed number of queries:
    issue 22, the hand-out made ~8 queries per pupil)."""

    abilities: dict[str, SkillAbility] = field(default_factory=dict)
    overall: float | None = None
    history: list[tuple[str, bool, datetime]] = field(default_factory=list)
    planned: set[str] = field(default_factory=set)  # waiting in an open attempt (planned or on its form)
    grade: int | None = None
    override: PracticeOverride | None = None


def gather_inputs(session: Session, students: Sequence[User]) -> dict[int, PracticeInputs]:
    """``{student_id: PracticeInputs}`` in six queries whatever the number of students."""
    out = {student.id: PracticeInputs(grade=_grade_of(student.grades)) for student in students if student.id}
    ids = list(out)
    if not ids:
        return out
    estimates = session.execute(  # SQLModel's select takes at most four columns
        sa_select(
            col(SkillEstimate.student_id),
            col(SkillEstimate.skill),
            col(SkillEstimate.theta),
            col(SkillEstimate.se),
            col(SkillEstimate.guessing),
        )
        .where(col(SkillEstimate.student_id).in_(ids))
        .order_by(col(SkillEstimate.created_at).desc(), col(SkillEstimate.id).desc())
    )
    for student_id, skill, theta, se, guessing in estimates:
        inputs = out[student_id]
        if skill == OVERALL:
            if inputs.overall is None:
                inputs.overall = theta
        elif skill not in inputs.abilities:
            inputs.abilities[skill] = SkillAbility(skill, theta, se, guessing)
    history = session.exec(
        select(Attempt.student_id, Response.item_id, Response.correct, Response.created_at)
        .join(Attempt, col(Attempt.id) == col(Response.attempt_id))
        .where(col(Attempt.student_id).in_(ids), Attempt.status != "reset")
        .order_by(col(Response.id))
    )
    for student_id, item_id, correct, created in history:
        out[student_id].history.append((item_id, bool(correct), created))
    open_attempt = (col(Attempt.student_id).in_(ids), col(Attempt.status).in_(OPEN_ATTEMPT_STATUSES))
    planned = session.exec(
        select(Attempt.student_id, AttemptItem.item_id)
        .join(Attempt, col(Attempt.id) == col(AttemptItem.attempt_id))
        .where(*open_attempt)
    )
    for student_id, item_id in planned:
        out[student_id].planned.add(item_id)
    forms = session.exec(
        select(Attempt.student_id, Assessment.item_ids)
        .join(Assignment, col(Assignment.assessment_id) == col(Assessment.id))
        .join(Attempt, col(Attempt.assignment_id) == col(Assignment.id))
        .where(*open_attempt, col(Assessment.kind) != "cat")
    )
    for student_id, item_ids in forms:
        out[student_id].planned.update(item_ids or [])
    homeless = {
        s.home_class_id for s in students if s.id in out and out[s.id].grade is None and s.home_class_id
    }
    if homeless:
        home_grades = dict(
            session.exec(
                select(SchoolClass.id, SchoolClass.grades).where(col(SchoolClass.id).in_(sorted(homeless)))
            ).all()
        )
        for student in students:
            if student.id in out and out[student.id].grade is None and student.home_class_id in home_grades:
                out[student.id].grade = _grade_of(home_grades[student.home_class_id])
    overrides = session.exec(
        select(PracticeOverride)
        .where(col(PracticeOverride.student_id).in_(ids), col(PracticeOverride.active).is_(True))
        .order_by(col(PracticeOverride.id).desc())
    )
    for override in overrides:
        if out[override.student_id].override is None:
            out[override.student_id].override = override
    return out


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
    inputs = gather_inputs(session, [student])[student.id]
    return choose_automatic(student.id, inputs, now, skills=skills, n_items=n_items)


def choose_automatic(
    student_id: int,
    inputs: PracticeInputs,
    now: datetime,
    *,
    skills: Sequence[str] = (),
    n_items: int = SET_SIZE,
    items: Sequence[Item] | None = None,
) -> list[Recommendation]:
    """The automatic set from gathered inputs (no query).  ``items``: `practice_items()`, if already known."""
    items = practice_items() if items is None else items
    bank = dl.item_bank()
    cutoff = now - timedelta(days=RECENT_DAYS)
    recent = {item_id for item_id, _c, at in inputs.history if at >= cutoff} | inputs.planned
    outcomes = [
        SkillOutcome(bank[item_id].skill, today_in_japan(at), correct)
        for item_id, correct, at in inputs.history
        if item_id in bank
    ]
    candidates = _candidates(items, inputs.grade)
    if skills:
        candidates = [c for c in candidates if c.skill in set(skills)]
    today = today_in_japan(now)
    chosen = choose_practice(
        abilities=inputs.abilities,
        candidates=candidates,
        recent=recent,
        review=review_schedule(outcomes),
        today=today,
        overall=inputs.overall,
        n_items=n_items,
        seed=student_id * 1_000_003 + today.toordinal(),
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
    return choose_recommended(student.id, gather_inputs(session, [student])[student.id], now)


def choose_recommended(
    student_id: int, inputs: PracticeInputs, now: datetime, items: Sequence[Item] | None = None
) -> list[Recommendation]:
    """The teacher's override if any, else the automatic set, from gathered inputs (no query)."""
    override = inputs.override
    if override is not None and override.item_ids:
        return _teacher_items(override.item_ids)
    skills = override.skills if override is not None else []
    return choose_automatic(student_id, inputs, now, skills=skills, items=items)


def class_practice(*, session: Session, class_: SchoolClass, now: datetime) -> list[StudentPractice]:
    """Every active student of the class with the automatic and the effective recommendation."""
    assert class_.id is not None
    rows = session.exec(
        select(User, Enrollment.shusseki_no)
        .join(Enrollment, col(Enrollment.user_id) == col(User.id))
        .where(Enrollment.class_id == class_.id, Enrollment.role == "student", Enrollment.status == "active")
        .order_by(col(Enrollment.shusseki_no), col(User.id))
    ).all()
    gathered = gather_inputs(session, [student for student, _number in rows])
    items = practice_items()
    out = []
    for student, number in rows:
        assert student.id is not None
        inputs = gathered[student.id]
        auto = choose_automatic(student.id, inputs, now, items=items)
        effective = choose_recommended(student.id, inputs, now, items) if inputs.override else auto
        out.append(
            StudentPractice(student, number, effective, auto, inputs.override, sorted(inputs.abilities))
        )
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


def assign_practice(
    *,
    session: Session,
    actor: User,
    class_: SchoolClass,
    now: datetime,
    student_ids: Sequence[int] | None = None,
    closes_at: datetime | None = None,
    ip: str | None = None,
    request_key: str | None = None,
) -> list[AssignedPractice]:
    """Give every chosen student of the class their own practice set (a ``practice`` assessment each).

    Students without any item to practise are skipped.  One audit event lists what was assigned.  A
    ``request_key`` seen before for this class returns that request's result and writes nothing
    (`hand_out`).  A fixed number of queries and statements whatever the class's size (issue 22).
    """
    _require_staff(actor)
    assert class_.id is not None
    if request_key is not None:
        earlier = hand_out.stored_hand_out(session, class_.id, request_key)
        if earlier is not None:
            return earlier
    enrolled = authoring.class_student_ids(session, class_.id)
    chosen = list(dict.fromkeys(student_ids)) if student_ids else enrolled
    strangers = [s for s in chosen if s not in set(enrolled)]
    if strangers:
        raise InvalidInput(msg.NOT_IN_CLASS)
    claim = None
    if request_key is not None:
        claim = hand_out.claim_key(session, class_id=class_.id, request_key=request_key, actor=actor, now=now)
        if claim is None:  # a concurrent request with the same key committed first
            return hand_out.stored_hand_out(session, class_.id, request_key) or []
    students = list(session.exec(select(User).where(col(User.id).in_(chosen))))
    gathered = gather_inputs(session, students)
    items = practice_items()
    sets = [
        (student_id, chosen_items)
        for student_id in chosen
        if (
            chosen_items := [
                r.item_id for r in choose_recommended(student_id, gathered[student_id], now, items)
            ]
        )
    ]
    done = hand_out.write_hand_out(
        session=session,
        actor=actor,
        class_=class_,
        now=now,
        sets=sets,
        carried=latest_accommodations(session, [student_id for student_id, _items in sets]),
        closes_at=closes_at,
    )
    if claim is not None:
        hand_out.record_result(session, claim, done)
    record_event(
        session=session,
        actor_id=actor.id,
        action="practice.assign",
        target_type="class",
        target_id=class_.id,
        ip=ip,
        detail={"assignments": [asdict(a) for a in done]},
    )
    return done
