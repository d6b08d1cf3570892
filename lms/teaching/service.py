"""The teacher side of reading tests: the live view, the class report, assigning and operating tests.

Keyword-only functions; they flush, never commit (the request owns the transaction). Routes load the
class, assignment or attempt with `lms.authz` (a class the caller does not teach → 404, board → 403).
The report is built from three bulk queries (students, estimates, and for fixed forms the responses)
and the pure functions of `lms.teaching.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.core.errors import Conflict, Forbidden, NotFound
from lms.permissions import taught_class_ids
from lms.reading import attempts, authoring, scoring
from lms.reading.delivery import item_bank
from lms.reading.models import (
    OPEN_ATTEMPT_STATUSES,
    Assessment,
    Assignment,
    AssignmentTarget,
    Attempt,
    Response,
    SkillEstimate,
)
from lms.reading.xapi import XapiContext
from lms.roster.models import Enrollment, SchoolClass, User
from lms.teaching import messages as msg
from lms.teaching import report as rpt
from lms.teaching.schemas import AssignmentCreate

# --- class members ------------------------------------------------------------------------------------------


def class_students(*, session: Session, class_id: int) -> list[rpt.StudentLine]:
    """Active students of a class by 出席番号."""
    rows = session.execute(
        sa_select(
            col(User.id),
            col(Enrollment.shusseki_no),
            col(User.family_name),
            col(User.given_name),
            col(User.kana_family_name),
            col(User.kana_given_name),
            col(User.username),
        )
        .join(User, col(Enrollment.user_id) == col(User.id))
        .where(
            col(Enrollment.class_id) == class_id,
            col(Enrollment.role) == "student",
            col(Enrollment.status) == "active",
        )
    ).all()
    students = [
        rpt.StudentLine(
            user_id=int(uid),
            shusseki_no=no,
            name=f"{family} {given}".strip() or username,
            kana=f"{kfam or ''} {kgiv or ''}".strip(),
        )
        for uid, no, family, given, kfam, kgiv, username in rows
    ]
    students.sort(key=lambda s: (s.shusseki_no is None, s.shusseki_no or 0, s.kana))
    return students


def assignment_student_ids(*, session: Session, assignment: Assignment) -> set[int] | None:
    """The targeted students of an assignment, or None when it goes to the whole class."""
    ids = set(
        session.exec(
            select(AssignmentTarget.user_id).where(AssignmentTarget.assignment_id == assignment.id)
        ).all()
    )
    return ids or None


def class_assignments(*, session: Session, class_id: int) -> list[tuple[Assignment, Assessment]]:
    """The class's assignments, newest first, with their assessments."""
    rows = session.exec(
        select(Assignment, Assessment)
        .join(Assessment, col(Assignment.assessment_id) == col(Assessment.id))
        .where(Assignment.class_id == class_id)
        .order_by(col(Assignment.opens_at).desc(), col(Assignment.id).desc())
    ).all()
    return [(a, s) for a, s in rows]


# --- live view ----------------------------------------------------------------------------------------------


def expected_length(assessment: Assessment) -> int:
    """How many items a student will roughly see (fixed forms: all; adaptive tests: the maximum)."""
    if assessment.kind in ("fixed", "practice") and assessment.item_ids:
        return len(assessment.item_ids)
    return int(assessment.max_items)


@dataclass
class LiveRow:
    student: rpt.StudentLine
    state: str
    label: str
    position: int
    attempt_id: int | None
    last_seen_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


@dataclass
class LiveView:
    assignment: Assignment
    assessment: Assessment
    expected_length: int
    rows: list[LiveRow]
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self, now: datetime) -> dict[str, Any]:
        """The body of ``GET /api/v1/assignments/{id}/live``."""
        return {
            "assignment_id": self.assignment.id,
            "status": self.assignment.status,
            "server_time": now.isoformat(),
            "expected_length": self.expected_length,
            "counts": self.counts,
            "students": [
                {
                    "student_id": row.student.user_id,
                    "shusseki_no": row.student.shusseki_no,
                    "name": row.student.name,
                    "state": row.state,
                    "label": row.label,
                    "position": row.position,
                    "attempt_id": row.attempt_id,
                    "last_seen_at": row.last_seen_at.isoformat() if row.last_seen_at else None,
                }
                for row in self.rows
            ],
        }


def current_attempts(*, session: Session, assignment_id: int) -> dict[int, Attempt]:
    """Each student's newest attempt at an assignment (a reset makes a new one with a higher number)."""
    attempts = session.exec(
        select(Attempt).where(Attempt.assignment_id == assignment_id).order_by(col(Attempt.attempt_no))
    ).all()
    return {attempt.student_id: attempt for attempt in attempts}  # the last one wins


def live_view(*, session: Session, assignment: Assignment, now: datetime) -> LiveView:
    """Per targeted student: not started / in progress (item n of ~N) / offline / finished."""
    assert assignment.id is not None
    assessment = session.get(Assessment, assignment.assessment_id)
    assert assessment is not None
    targets = assignment_student_ids(session=session, assignment=assignment)
    students = [
        s
        for s in class_students(session=session, class_id=assignment.class_id)
        if targets is None or s.user_id in targets
    ]
    attempts = current_attempts(session=session, assignment_id=assignment.id)
    total = expected_length(assessment)
    rows = []
    for student in students:
        attempt = attempts.get(student.user_id)
        state = rpt.live_state(
            status=attempt.status if attempt else None,
            last_seen_at=attempt.last_seen_at if attempt else None,
            now=now,
        )
        position = attempt.position if attempt else 0
        rows.append(
            LiveRow(
                student=student,
                state=state,
                label=rpt.progress_text(state=state, position=position, expected_length=total),
                position=position,
                attempt_id=attempt.id if attempt else None,
                last_seen_at=attempt.last_seen_at if attempt else None,
                started_at=attempt.started_at if attempt else None,
                finished_at=attempt.finished_at if attempt else None,
            )
        )
    counts = dict(rpt.count_states(row.state for row in rows))
    return LiveView(assignment, assessment, total, rows, counts)


# --- class report -------------------------------------------------------------------------------------------


@dataclass
class ClassReport:
    class_: SchoolClass
    grid: rpt.Heatmap
    distributions: list[rpt.Distribution]
    items: list[rpt.ItemStat] | None
    assignment: Assignment | None
    assignments: list[tuple[Assignment, Assessment]]

    def as_json(self) -> dict[str, Any]:
        """The body of ``GET /api/v1/classes/{id}/report``."""
        return {
            "class_id": self.class_.id,
            "class_title": self.class_.title,
            "assignment_id": self.assignment.id if self.assignment else None,
            "skills": [{"skill": s, "name_ja": rpt.skill_name(s)} for s in self.grid.skills],
            "notes_ja": list(self.grid.notes),
            "students": [
                {
                    "student_id": row.student.user_id,
                    "shusseki_no": row.student.shusseki_no,
                    "name": row.student.name,
                    "scores": {
                        skill: {
                            "scale_score": cell.score,
                            "se": cell.se_scale,
                            "lower": cell.lower,
                            "upper": cell.upper,
                            "band": cell.band,
                            "band_label": cell.band_label,
                            "band_text_ja": cell.band_text,
                            "relative_text_ja": cell.relative_text,
                            "grade_position_ja": cell.grade_text,
                            "n_items": cell.n_items,
                        }
                        for skill, cell in row.cells.items()
                    },
                    "engagement_note_ja": row.note,
                }
                for row in self.grid.rows
            ],
            "distribution": [
                {
                    "skill": d.skill,
                    "n": d.n,
                    "mean": None if d.mean is None else round(d.mean, 1),
                    "sd": None if d.sd is None else round(d.sd, 1),
                    "bands": {str(k): v for k, v in d.band_counts.items()},
                    "without_number": d.without_number,
                }
                for d in self.distributions
            ],
            "items": None
            if self.items is None
            else [
                {
                    "item_id": s.item_id,
                    "skill": s.skill,
                    "n": s.n,
                    "facility": None if s.facility is None else round(s.facility, 3),
                    "options": [
                        {"id": o.option_id, "rate": round(o.rate, 3), "count": o.count, "key": o.is_key}
                        for o in s.options
                    ],
                }
                for s in self.items
            ],
        }


def _estimates(
    *, session: Session, class_id: int, assignment_id: int | None, student_ids: list[int]
) -> list[rpt.EstimateRow]:
    """The newest estimate per (student, skill) from the class's tests (reset attempts left out).

    The database picks the newest row (``ROW_NUMBER() OVER (PARTITION BY student, skill ...)``, SQLite ≥ 3.25
    and PostgreSQL), so the rows sent back grow with students × skills, not with the years of data.
    """
    newest_first = func.row_number().over(
        partition_by=(col(SkillEstimate.student_id), col(SkillEstimate.skill)),
        order_by=(col(SkillEstimate.created_at).desc(), col(SkillEstimate.attempt_id).desc()),
    )
    ranked = (
        sa_select(
            col(SkillEstimate.student_id),
            col(SkillEstimate.skill),
            col(SkillEstimate.scale_score),
            col(SkillEstimate.band),
            col(SkillEstimate.guessing),
            col(SkillEstimate.se),
            col(SkillEstimate.n_items),
            col(SkillEstimate.created_at),
            col(SkillEstimate.attempt_id),
            newest_first.label("rank"),
        )
        .join(Attempt, col(SkillEstimate.attempt_id) == col(Attempt.id))
        .join(Assignment, col(Attempt.assignment_id) == col(Assignment.id))
        .join(Assessment, col(Assignment.assessment_id) == col(Assessment.id))
        .where(col(Assignment.class_id) == class_id, col(Attempt.status) != "reset")
        .where(col(Assessment.kind) != "practice")  # practice never enters test results
        .where(col(SkillEstimate.student_id).in_(student_ids or [-1]))
    )
    if assignment_id is not None:
        ranked = ranked.where(col(Assignment.id) == assignment_id)
    sub = ranked.subquery()
    query = sa_select(*[c for c in sub.c if c.name != "rank"]).where(sub.c.rank == 1)
    # Core execution on the session's connection: plain tuples, no ORM row loading.
    return [rpt.EstimateRow(*row) for row in session.connection().execute(query).all()]


def _item_infos(item_ids: list[str]) -> list[rpt.ItemInfo]:
    bank = item_bank()
    infos = []
    for item_id in item_ids:
        item = bank.get(item_id)
        if item is not None:
            infos.append(rpt.ItemInfo(item.id, item.skill, item.option_ids, item.key))
    return infos


def _responses(*, session: Session, assignment_id: int) -> list[rpt.ResponseRow]:
    rows = session.exec(
        select(col(Attempt.student_id), col(Response.item_id), col(Response.answer), col(Response.correct))
        .join(Attempt, col(Response.attempt_id) == col(Attempt.id))
        .where(Attempt.assignment_id == assignment_id, col(Attempt.status) != "reset")
    ).all()
    return [rpt.ResponseRow(int(s), str(i), tuple(a or ()), bool(c)) for s, i, a, c in rows]


def class_report(*, session: Session, class_: SchoolClass, assignment_id: int | None = None) -> ClassReport:
    """The heatmap, distributions and (for a fixed form) item analysis of a class."""
    assert class_.id is not None
    assignments = class_assignments(session=session, class_id=class_.id)
    chosen: tuple[Assignment, Assessment] | None = None
    if assignment_id is not None:
        chosen = next(((a, s) for a, s in assignments if a.id == assignment_id), None)
        if chosen is None:
            raise NotFound(msg.NO_ASSIGNMENT_IN_CLASS)
    students = class_students(session=session, class_id=class_.id)
    estimates = _estimates(
        session=session,
        class_id=class_.id,
        assignment_id=assignment_id,
        student_ids=[s.user_id for s in students],
    )
    skills = None
    if chosen is not None and chosen[1].skills:
        skills = rpt.ordered_skills([*chosen[1].skills, *(e.skill for e in estimates)])
    attempt_ids = sorted({e.attempt_id for e in estimates if e.attempt_id is not None})
    reports = scoring.test_reports(session, attempt_ids, item_bank())
    grid = rpt.heatmap(students, estimates, reports, skills=skills)
    items = None
    if chosen is not None and chosen[1].kind == "fixed" and chosen[0].id is not None:
        items = rpt.item_analysis(
            _item_infos(list(chosen[1].item_ids)), _responses(session=session, assignment_id=chosen[0].id)
        )
    return ClassReport(
        class_=class_,
        grid=grid,
        # a skill without numbers has nothing to draw: its column says why
        distributions=[d for d in rpt.distributions(grid) if d.n or not d.without_number],
        items=items,
        assignment=chosen[0] if chosen else None,
        assignments=assignments,
    )


# --- changes: assign, close, reset, resume ---------------------------------------------------------------


def can_change(*, session: Session, user: User, class_: SchoolClass) -> bool:
    """Assigning, closing, resetting: the class's teacher or the system admin."""
    return user.role == "admin" or (user.role == "teacher" and class_.id in taught_class_ids(session, user))


def check_can_change(*, session: Session, user: User, class_: SchoolClass) -> None:
    """Raise Forbidden unless `can_change` (a school admin reads, does not operate the test)."""
    if not can_change(session=session, user=user, class_=class_):
        raise Forbidden(msg.ONLY_CLASS_TEACHER_CHANGES)


def create_assignment(
    *,
    session: Session,
    actor: User,
    class_: SchoolClass,
    data: AssignmentCreate,
    now: datetime,
    ip: str | None,
) -> Assignment:
    """Create the assessment and assignment (delivery service: targets, accommodations, attempts)."""
    assert class_.id is not None
    if class_.read_only:
        raise Conflict(msg.PAST_YEAR_CLASS)
    students = class_students(session=session, class_id=class_.id)
    data.check(class_student_ids={s.user_id for s in students}, known_items=set(item_bank_ids()), now=now)
    is_cat = data.kind == "cat"
    assessment = authoring.create_assessment(
        session=session,
        title=data.title,
        kind=data.kind,
        skills=data.skills,
        min_items=data.min_items,
        max_items=data.max_items,
        se_target=data.se_target if is_cat else None,
        item_ids=[] if is_cat else data.item_ids,
        time_limit_s=data.time_limit_min * 60 if data.time_limit_min else None,
        created_by=actor,
    )
    assignment = authoring.create_assignment(
        session=session,
        assessment=assessment,
        class_=class_,
        now=now,
        title=data.title,
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        student_ids=data.student_ids or None,
        accommodations={
            a.user_id: authoring.AccommodationIn(
                ruby_level=a.ruby_level,
                extra_time_pct=a.extra_time_pct,
                read_aloud=a.read_aloud,
                large_text=a.large_text,
            )
            for a in data.accommodations
        },
        created_by=actor,
    )
    record_event(
        session=session,
        actor_id=actor.id,
        action="assignment.create",
        target_type="assignment",
        target_id=assignment.id,
        ip=ip,
        detail={"class_id": class_.id, "kind": data.kind, "students": len(data.student_ids) or len(students)},
    )
    return assignment


def close_assignment(
    *,
    session: Session,
    actor: User,
    assignment: Assignment,
    now: datetime,
    ip: str | None,
    ctx: XapiContext,
) -> int:
    """Close a test for everyone: the window ends now, attempts in progress end (scored with what was
    answered), attempts never started expire. Returns how many attempts were still open."""
    if assignment.status == "closed":
        raise Conflict(msg.ASSIGNMENT_CLOSED)
    assignment.status = "closed"
    if assignment.closes_at is None or assignment.closes_at > now:
        assignment.closes_at = now
    session.add(assignment)
    session.flush()
    open_attempts = session.exec(
        select(Attempt).where(
            Attempt.assignment_id == assignment.id, col(Attempt.status).in_(OPEN_ATTEMPT_STATUSES)
        )
    ).all()
    for attempt in open_attempts:
        loaded = attempts.load_context(session, attempt)
        attempts.expire_if_due(session=session, loaded=loaded, now=now, ctx=ctx)
    from lms.board.release_jobs import queue_if_term_closed  # the board's release, made in the background

    queue_if_term_closed(session, assignment.opens_at, now)
    record_event(
        session=session,
        actor_id=actor.id,
        action="assignment.close",
        target_type="assignment",
        target_id=assignment.id,
        ip=ip,
        detail={"open_attempts": len(open_attempts)},
    )
    return len(open_attempts)


def reset_attempt(
    *, session: Session, actor: User, attempt: Attempt, now: datetime, ip: str | None
) -> Attempt:
    """Start a student over: the attempt is kept (status reset, out of the reports), a new one prepared."""
    if attempt.status == "reset":
        raise Conflict(msg.ANSWER_ALREADY_RESET)
    fresh = authoring.reset_attempt(session=session, attempt=attempt, now=now)
    record_event(
        session=session,
        actor_id=actor.id,
        action="attempt.reset",
        target_type="attempt",
        target_id=attempt.id,
        ip=ip,
        detail={"student_id": attempt.student_id, "new_attempt_id": fresh.id},
    )
    return fresh


def resume_attempt(
    *, session: Session, actor: User, attempt: Attempt, now: datetime, ip: str | None
) -> Attempt:
    """Let a student continue an attempt that ran out of time (ten more minutes from now)."""
    assignment = session.get(Assignment, attempt.assignment_id)
    assert assignment is not None
    if assignment.status == "closed" or (assignment.closes_at is not None and assignment.closes_at <= now):
        raise Conflict(msg.ASSIGNMENT_ENDED_REASSIGN)
    authoring.reopen_attempt(session=session, attempt=attempt, now=now)
    record_event(
        session=session,
        actor_id=actor.id,
        action="attempt.resume",
        target_type="attempt",
        target_id=attempt.id,
        ip=ip,
        detail={"student_id": attempt.student_id},
    )
    return attempt


def item_bank_ids() -> list[str]:
    """Ids of every item in the bank (what a fixed form may contain)."""
    return [item.id for item in item_bank()]
