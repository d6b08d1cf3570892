"""The attempt lifecycle: prepare, reset, reopen, start, resume, expire, finish and score.

Services flush, never commit: the request's `SessionDep` commits before the response is sent, so an
acknowledged answer is durable.  The server owns the clock (``now`` comes from the app's clock).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, update
from sqlmodel import Session, col, select

from lms.core.errors import Conflict, Forbidden, NotFound
from lms.lti import ags as lti_ags
from lms.reading import delivery as dl
from lms.reading import messages as msg
from lms.reading import xapi
from lms.reading.authoring import OVERALL, assignment_student_ids, delivery_of, prepare_attempt
from lms.reading.models import (
    OPEN_ATTEMPT_STATUSES,
    Accommodation,
    Assessment,
    Assignment,
    Attempt,
    Response,
    SkillEstimate,
)
from lms.reading.scoring import (
    PRACTICE_KIND,
    TEST_KIND,
    ScoredAnswer,
    grade_norms,
    item_mean_seconds,
    practice_record,
    score_attempt,
    seconds_of,
    store_report,
)
from lms.roster.models import SchoolClass, User
from reading_tests.estimation import estimate_by_skill
from reading_tests.io import ItemParams, ResponseData
from reading_tests.scoring import band, guessing_flags, scale_score

# --- students: start, resume, answer, finish ---------------------------------------------------------------


@dataclass
class Loaded:
    """An attempt with what serving it needs."""

    attempt: Attempt
    assignment: Assignment
    assessment: Assessment
    delivery: dl.Delivery
    accommodation: Accommodation | None
    student: User
    class_grades: str | None


def _load_query(attempt: Attempt) -> Any:  # a 4-column Select; its exact type depends on the stubs
    """Assignment, assessment, class grades and the student's accommodation of ``attempt``: one SELECT."""
    return join_delivery_context(
        select(Assignment, Assessment, SchoolClass.grades, Accommodation), attempt.student_id
    ).where(col(Assignment.id) == attempt.assignment_id)


def join_delivery_context(statement: Any, student_id: Any) -> Any:
    """Join onto a SELECT that has ``Assignment``: its assessment, its class (for the grades) and the
    accommodation of ``student_id`` (a value or a column), the last two as outer joins."""
    return (
        statement.join(Assessment, col(Assessment.id) == col(Assignment.assessment_id))
        .outerjoin(SchoolClass, col(SchoolClass.id) == col(Assignment.class_id))
        .outerjoin(
            Accommodation,
            and_(
                col(Accommodation.assignment_id) == col(Assignment.id),
                col(Accommodation.user_id) == student_id,
            ),
        )
    )


def load_context(session: Session, attempt: Attempt, student: User | None = None) -> Loaded:
    """Assignment, assessment, class grades and the student's accommodation in one joined SELECT."""
    row = session.execute(_load_query(attempt)).first()
    assert row is not None
    assignment, assessment, grades, accommodation = row
    if student is None or student.id != attempt.student_id:
        student = session.get(User, attempt.student_id)
        assert student is not None
    return Loaded(
        attempt, assignment, assessment, delivery_of(assessment, grades), accommodation, student, grades
    )


def own_attempt_or_404(session: Session, user: User, attempt_id: int) -> Attempt:
    refuse_board(user.role)
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.student_id != user.id:
        raise NotFound(msg.ATTEMPT_NOT_FOUND)
    return attempt


def effective_deadline(loaded: Loaded) -> datetime | None:
    """The earlier of the attempt's time limit and the assignment's close."""
    times = [t for t in (loaded.attempt.deadline_at, loaded.assignment.closes_at) if t is not None]
    return min(times) if times else None


def _closed_reason(loaded: Loaded, now: datetime) -> str | None:
    return closed_reason(
        loaded.assignment.status, loaded.assignment.closes_at, loaded.attempt.deadline_at, now
    )


def closed_reason(
    assignment_status: str, closes_at: datetime | None, deadline_at: datetime | None, now: datetime
) -> str | None:
    """Why an attempt can take no more answers (window, close, deadline), or None."""
    if assignment_status == "closed" or (closes_at is not None and now >= closes_at):
        return msg.WINDOW_CLOSED
    if deadline_at is not None and now >= deadline_at:
        return msg.TIME_OVER
    return None


def expire_if_due(*, session: Session, loaded: Loaded, now: datetime, ctx: xapi.XapiContext) -> bool:
    """Lazily end an open attempt whose window or deadline has passed (scoring what was answered)."""
    attempt = loaded.attempt
    if attempt.status not in OPEN_ATTEMPT_STATUSES or _closed_reason(loaded, now) is None:
        return False
    if attempt.status == "in_progress" and attempt.position > 0:
        finalize(session=session, loaded=loaded, now=now, ctx=ctx, status="expired")
    else:
        attempt.status = "expired"
        attempt.finished_at = now
        session.add(attempt)
        session.flush()
    return True


def _latest_attempt(session: Session, assignment_id: int, student_id: int) -> Attempt | None:
    return session.exec(
        select(Attempt)
        .where(Attempt.assignment_id == assignment_id, Attempt.student_id == student_id)
        .order_by(col(Attempt.attempt_no).desc())
    ).first()


def start_attempt(
    *, session: Session, student: User, assignment_id: int, now: datetime, ctx: xapi.XapiContext
) -> dict[str, Any]:
    """Start (or resume) the student's attempt: one UPDATE on a prepared attempt; returns the runner view."""
    if student.role == "board":
        raise Forbidden(msg.BOARD_CANNOT_TAKE)
    if student.role != "student":
        raise NotFound(msg.ASSIGNMENT_NOT_FOUND)
    assert student.id is not None
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(msg.ASSIGNMENT_NOT_FOUND)
    attempt = _latest_attempt(session, assignment_id, student.id)
    if attempt is None:
        if student.id not in assignment_student_ids(session, assignment):
            raise NotFound(msg.ASSIGNMENT_NOT_FOUND)
        attempt = prepare_attempt(session=session, assignment=assignment, student_id=student.id, now=now)
    loaded = load_context(session, attempt, student)
    if now < assignment.opens_at:
        raise Conflict(msg.NOT_OPEN_YET)
    if expire_if_due(session=session, loaded=loaded, now=now, ctx=ctx):
        return runner_view(session=session, loaded=loaded, now=now)
    if attempt.status == "created":
        deadline = None
        if loaded.assessment.time_limit_s:
            extra = loaded.accommodation.extra_time_pct if loaded.accommodation else 0
            deadline = now + timedelta(seconds=loaded.assessment.time_limit_s * (1 + extra / 100))
        flipped = session.execute(
            update(Attempt)
            .where(col(Attempt.id) == attempt.id, col(Attempt.status) == "created")
            .values(status="in_progress", started_at=now, deadline_at=deadline, last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        session.refresh(attempt)
        if getattr(flipped, "rowcount", 0) == 1:
            assert attempt.id is not None and loaded.assessment.id is not None
            xapi.enqueue(
                session,
                xapi.attempted(
                    ctx,
                    student_id=student.id,
                    attempt_id=attempt.id,
                    assessment_id=loaded.assessment.id,
                    title=loaded.assignment.title,
                    grade=student.grades,
                    at=now,
                ),
                now=now,
            )
    return runner_view(session=session, loaded=loaded, now=now)


def get_attempt(
    *, session: Session, user: User, attempt_id: int, now: datetime, ctx: xapi.XapiContext
) -> dict[str, Any]:
    """The runner view of the caller's own attempt (resume after a reload or on another device)."""
    attempt = own_attempt_or_404(session, user, attempt_id)
    loaded = load_context(session, attempt, user)
    expire_if_due(session=session, loaded=loaded, now=now, ctx=ctx)
    return runner_view(session=session, loaded=loaded, now=now)


def accommodation_view(loaded: Loaded) -> dict[str, Any]:
    acc = loaded.accommodation
    return {
        "ruby_level": acc.ruby_level if acc else None,
        "extra_time_pct": acc.extra_time_pct if acc else 0,
        "read_aloud": acc.read_aloud if acc else False,
        "large_text": acc.large_text if acc else False,
    }


def ruby_grade(loaded: Loaded) -> int:
    return dl.ruby_grade(
        loaded.accommodation.ruby_level if loaded.accommodation else None,
        loaded.student.grades or loaded.class_grades,
    )


def _queue_items(loaded: Loaded, state: dl.AttemptState | None) -> list[dict[str, Any]]:
    if loaded.attempt.status not in OPEN_ATTEMPT_STATUSES or state is None:
        return []
    return dl.payloads(loaded.delivery, state.queue, ruby_grade(loaded))


def runner_view(*, session: Session, loaded: Loaded, now: datetime) -> dict[str, Any]:
    """``{attempt_id, status, position, expected_length, deadline_at, server_time, items, answered, …}``."""
    attempt = loaded.attempt
    state = (
        dl.load_state(loaded.delivery, attempt.cat_state) if attempt.status in OPEN_ATTEMPT_STATUSES else None
    )
    answered = list(
        session.exec(
            select(Response.client_event_id)
            .where(Response.attempt_id == attempt.id)
            .order_by(col(Response.id))
        )
    )
    deadline = effective_deadline(loaded)
    return {
        "attempt_id": attempt.id,
        "assignment_id": attempt.assignment_id,
        "title": loaded.assignment.title,
        "status": attempt.status,
        "position": attempt.position,
        "expected_length": loaded.delivery.expected_length,
        "deadline_at": deadline.isoformat() if deadline and attempt.status == "in_progress" else None,
        "server_time": now.isoformat(),
        "items": _queue_items(loaded, state),
        "answered": answered,
        "accommodations": accommodation_view(loaded),
        "results_url": f"/api/v1/attempts/{attempt.id}/results",
    }


def finish_attempt(
    *, session: Session, student: User, attempt_id: int, now: datetime, ctx: xapi.XapiContext
) -> dict[str, Any]:
    """The student ends the test (idempotent): score it and mark it submitted."""
    attempt = own_attempt_or_404(session, student, attempt_id)
    loaded = load_context(session, attempt, student)
    if not expire_if_due(session=session, loaded=loaded, now=now, ctx=ctx):
        if attempt.status == "created":
            raise Conflict(msg.ATTEMPT_NOT_STARTED)
        if attempt.status == "in_progress":
            finalize(session=session, loaded=loaded, now=now, ctx=ctx, status="submitted")
    return {
        "attempt_id": attempt.id,
        "status": attempt.status,
        "results_url": f"/api/v1/attempts/{attempt.id}/results",
    }


# --- scoring -----------------------------------------------------------------------------------------------


def finalize(*, session: Session, loaded: Loaded, now: datetime, ctx: xapi.XapiContext, status: str) -> None:
    """Score the attempt and set the final status.

    A test: EAP per skill and overall (``skill_estimate`` rows, the attempt's θ/SE) and the honest report
    (`lms.reading.scoring.score_attempt`, stored in ``attempt_report``). A practice set: only its own
    record, so that practice never changes a test score, the growth chart or a board figure. Both write the
    xAPI ``completed`` statement."""
    attempt = loaded.attempt
    assert attempt.id is not None and loaded.assessment.id is not None
    rows = list(
        session.exec(
            select(Response).where(Response.attempt_id == attempt.id).order_by(col(Response.position))
        )
    )
    scored = [r for r in rows if not r.pilot and r.item_id in loaded.delivery.items]
    answers = [ScoredAnswer(r.item_id, r.correct, seconds_of(r.response_time_ms)) for r in scored]
    overall, report = None, None
    if loaded.assessment.kind == "practice":
        record = practice_record(loaded.delivery.items, answers)
        store_report(session, attempt=attempt, kind=PRACTICE_KIND, report=record, now=now)
        attempt.theta = attempt.se = None  # the running estimate of the answer path is not a score
    else:
        overall, report = _store_test_scores(session, loaded, scored, answers, now)
    attempt.status = status
    attempt.finished_at = now
    session.add(attempt)
    started = attempt.started_at or attempt.prepared_at
    xapi.enqueue(
        session,
        xapi.completed(
            ctx,
            student_id=attempt.student_id,
            attempt_id=attempt.id,
            assessment_id=loaded.assessment.id,
            title=loaded.assignment.title,
            grade=loaded.student.grades,
            n_correct=sum(1 for r in scored if r.correct),
            n_items=len(scored),
            scale_score=overall["scale_score"] if overall else None,
            scale_interval=(report["overall"]["lower"], report["overall"]["upper"]) if report else None,
            duration_ms=(now - started).total_seconds() * 1000 if started else None,
            at=now,
        ),
        now=now,
    )
    lti_ags.enqueue_score(  # the portal's gradebook, when the assignment came from an LTI link (issue 23)
        session=session,
        attempt=attempt,
        kind=loaded.assessment.kind,
        report=report,
        n_correct=sum(1 for r in scored if r.correct),
        n_items=len(scored),
        now=now,
    )
    session.flush()


def _store_test_scores(
    session: Session,
    loaded: Loaded,
    scored: Sequence[Response],
    answers: Sequence[ScoredAnswer],
    now: datetime,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The honest report, skill_estimate rows and the attempt's θ/SE of a test; the overall estimate.

    ``skill_estimate.guessing`` now carries the report's disengagement flag (response times and person
    fit), not the old "accuracy not above chance" rule, so every reader of the column (board figures,
    practice recommendations) gets the flag that means something."""
    attempt = loaded.attempt
    assert attempt.id is not None
    grade = dl.class_grade(loaded.student.grades or loaded.class_grades)
    report = score_attempt(
        loaded.delivery.items,
        answers,
        mean_seconds=item_mean_seconds(session, [a.item_id for a in answers]),
        grade=grade,
        norms=grade_norms(session, now) if grade is not None else None,
    )
    if report is not None:
        store_report(session, attempt=attempt, kind=TEST_KIND, report=report, now=now)
    disengaged = bool(report and report["engagement"]["flagged"])
    estimates = score_responses(loaded.delivery.items, [(r.item_id, r.correct) for r in scored])
    for est in estimates:
        session.add(
            SkillEstimate(
                student_id=attempt.student_id,
                attempt_id=attempt.id,
                skill=est["skill"],
                theta=est["theta"],
                se=est["se"],
                scale_score=est["scale_score"],
                band=est["band"],
                guessing=disengaged,
                n_items=est["n_items"],
                created_at=now,
            )
        )
    overall = next((e for e in estimates if e["skill"] == OVERALL), None)
    if overall is not None:
        attempt.theta, attempt.se = overall["theta"], overall["se"]
    return overall, report


def score_responses(items: Mapping[str, Any], answers: Sequence[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Per-skill and overall (``"ALL"``) EAP θ, SE, scale score, band and guessing flag of one student."""
    if not answers:
        return []
    ids = [item_id for item_id, _ in answers]
    params = [items[i].irt for i in ids]
    skill_of = {i: items[i].skill for i in ids}
    item_params = ItemParams.create(
        ids,
        [p.a for p in params],
        [p.b for p in params],
        [p.c for p in params],
        model=[p.model for p in params],
        extra={"skill": [skill_of[i] for i in ids]},
    )
    data = ResponseData.from_triplets(
        np.zeros(len(ids), dtype=np.int64),
        np.arange(len(ids)),
        np.array([1 if ok else 0 for _, ok in answers]),
        ["s"],
        ids,
    )
    by_skill = estimate_by_skill(data, item_params, skill_of, "eap")
    chance = {i: items[i].chance_level for i in ids}
    flags = guessing_flags(data, chance, skill_of)
    flags["overall"] = guessing_flags(data, chance, dict.fromkeys(ids, "overall"))["overall"]
    out: list[dict[str, Any]] = []
    for skill, est in by_skill.items():
        theta, se = float(est.theta[0]), float(est.se[0])
        score = int(scale_score([theta])[0])
        guessing = bool(flags[skill].flag[0])
        out.append(
            {
                "skill": OVERALL if skill == "overall" else skill,
                "theta": theta if math.isfinite(theta) else 0.0,
                "se": se if math.isfinite(se) else 1.0,
                "scale_score": score,
                "band": int(band([score])[0]),
                "guessing": guessing,
                "n_items": int(est.n_items[0]),
            }
        )
    return out


def refuse_board(role: str) -> None:
    """Tests are taken by students; the board never sees one child's attempt."""
    if role == "board":
        raise Forbidden(msg.BOARD_CANNOT_SEE_ATTEMPT)
