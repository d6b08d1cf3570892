"""Results of a finished attempt (issue 13): the overall score with its interval, honest skill statements,
growth beyond error, the test history with intervals and recommended practice; a practice set's own record."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from lms import authz
from lms.core.errors import Conflict
from lms.reading import delivery as dl
from lms.reading import messages as msg
from lms.reading import scoring, xapi
from lms.reading.attempts import expire_if_due, load_context
from lms.reading.authoring import OVERALL
from lms.reading.models import (
    OPEN_ATTEMPT_STATUSES,
    Assessment,
    Assignment,
    Attempt,
    SkillEstimate,
)
from lms.reading.practice.service import recommend_for
from lms.roster.models import User
from reading_tests.reporting import ScoreReport

# --- results -----------------------------------------------------------------------------------------------


def _likeliest_band(score: Mapping[str, Any]) -> int:
    probabilities = list(score["band_probabilities"])
    return probabilities.index(max(probabilities)) + 1


def _overall_result(report: Mapping[str, Any]) -> dict[str, Any]:
    """The overall score with its interval, the child's range and the band statement (no bare band)."""
    score = report["overall"]
    name = msg.SKILL_NAMES_JA[OVERALL]
    return {
        "skill": OVERALL,
        "name_ja": name,
        **score,
        "band_text_ja": score["band"]["text_ja"],
        "n_items": report["n_items"],
        "n_scored": report["n_scored"],
        "advice": msg.ADVICE_BY_BAND[_likeliest_band(score)].format(name=name),
    }


def _skill_results(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per skill: a number only where it adds value; otherwise only a credible relative statement."""
    out = []
    for s in report["skills"]:
        item = {k: s[k] for k in ("skill", "name_ja", "n_items", "show_number", "relative")}
        item["child_text_ja"] = s["child_text_ja"]
        item["teacher_text_ja"] = s["teacher_text_ja"]
        item["score"] = s["score"] if s["show_number"] else None
        out.append(item)
    return out


def _grade_position(report: Mapping[str, Any]) -> dict[str, Any] | None:
    position = report.get("grade_position")
    return {**position, "text_ja": scoring.grade_position_text(position)} if position else None


def _history(session: Session, student_id: int) -> list[dict[str, Any]]:
    """The student's test scores (never practice) with their 95 % intervals, oldest first."""
    rows = session.exec(
        select(SkillEstimate, Attempt.finished_at)
        .join(Attempt, col(Attempt.id) == col(SkillEstimate.attempt_id))
        .join(Assignment, col(Assignment.id) == col(Attempt.assignment_id))
        .join(Assessment, col(Assessment.id) == col(Assignment.assessment_id))
        .where(
            SkillEstimate.student_id == student_id,
            SkillEstimate.skill == OVERALL,
            col(Assessment.kind) != "practice",
        )
        .order_by(col(Attempt.finished_at), col(SkillEstimate.id))
    ).all()
    # the stored report's interval where there is one, so that the chart and the results page agree exactly
    stored = {
        a: r.report["overall"]
        for a, r in scoring.stored_reports(session, [est.attempt_id for est, _ in rows]).items()
        if r.kind == scoring.TEST_KIND
    }
    out = []
    for est, finished in rows:
        fallback = ScoreReport.from_theta(est.theta, est.se)
        score = stored.get(est.attempt_id) or {
            "scale_score": fallback.scale_score,
            "lower": fallback.lower,
            "upper": fallback.upper,
        }
        out.append(
            {
                "attempt_id": est.attempt_id,
                "date": finished.isoformat() if finished else None,
                "scale_score": score["scale_score"],
                "lower": score["lower"],
                "upper": score["upper"],
            }
        )
    return out


def _growth(
    session: Session, history: list[dict[str, Any]], attempt_id: int, report: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Growth from the test before this one, claimed only beyond its error (None for the first test)."""
    ids = [h["attempt_id"] for h in history]
    if attempt_id not in ids or ids.index(attempt_id) == 0:
        return None
    previous_id = ids[ids.index(attempt_id) - 1]
    previous = scoring.test_reports(session, [previous_id], dl.item_bank()).get(previous_id)
    if previous is None:
        return None
    return {"previous_attempt_id": previous_id, **scoring.growth_between(previous, report).to_dict()}


def results(
    *, session: Session, viewer: User, attempt_id: int, now: datetime, ctx: xapi.XapiContext
) -> dict[str, Any]:
    """The honest results of a finished attempt (issue 13), or a practice set's own record.

    A test: the overall score with its interval and band statement, skill numbers only where they add
    value (otherwise credible stronger/weaker statements), growth from the previous test only beyond its
    error, the history of test scores with intervals and recommended practice. Engagement and grade
    position are for staff only (``engagement`` / ``grade_position`` are None for the student).

    The caller is checked with `lms.authz.load_attempt_results` (self, teacher of the student, school
    admin; board 403; others 404)."""
    attempt, student = authz.load_attempt_results(session=session, viewer=viewer, attempt_id=attempt_id)
    assert attempt.id is not None  # a stored row
    loaded = load_context(session, attempt, student)
    expire_if_due(session=session, loaded=loaded, now=now, ctx=ctx)
    if attempt.status in OPEN_ATTEMPT_STATUSES:
        raise Conflict(msg.NO_RESULTS_YET)
    base = {
        "attempt_id": attempt.id,
        "title": loaded.assignment.title,
        "status": attempt.status,
        "finished_at": attempt.finished_at.isoformat() if attempt.finished_at else None,
        "n_answered": attempt.position,
    }
    if loaded.assessment.kind == "practice":
        stored = scoring.stored_reports(session, [attempt.id]).get(attempt.id)
        return {**base, "kind": "practice", "practice_record": stored.report if stored else None}
    report = scoring.test_reports(session, [attempt.id], dl.item_bank()).get(attempt.id)
    history = _history(session, student.id or 0)
    staff = viewer.id != student.id
    return {
        **base,
        "kind": "test",
        "overall": _overall_result(report) if report else None,
        "skills": _skill_results(report) if report else [],
        "skills_note_ja": report["skills_note_ja"] if report else None,
        "notes_ja": report["notes_ja"] if report else [],
        "provisional": report["provisional"] if report else False,
        "growth": _growth(session, history, attempt.id, report) if report else None,
        "engagement": report["engagement"] if report and staff else None,
        "grade_position": _grade_position(report) if report and staff else None,
        "history": history,
        "practice": _recommended_practice(session, student),
    }


def _recommended_practice(session: Session, student: User) -> list[Any]:
    return list(recommend_for(session=session, student=student))
