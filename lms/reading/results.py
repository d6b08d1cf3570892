"""Results: per-skill scores, advice, growth history and recommended practice of a finished attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from lms.core.errors import Conflict, Forbidden, NotFound
from lms.permissions import check_view_user
from lms.reading import messages as msg
from lms.reading import xapi
from lms.reading.attempts import expire_if_due, load_context
from lms.reading.authoring import OVERALL
from lms.reading.models import (
    OPEN_ATTEMPT_STATUSES,
    Attempt,
    SkillEstimate,
)
from lms.reading.practice.service import recommend_for
from lms.roster.models import User
from reading_tests.scoring import band_name

# --- results -----------------------------------------------------------------------------------------------


def _skill_result(row: SkillEstimate) -> dict[str, Any]:
    name = msg.SKILL_NAMES_JA.get(row.skill, row.skill)
    advice = (msg.GUESSING_ADVICE if row.guessing else msg.ADVICE_BY_BAND[row.band]).format(name=name)
    return {
        "skill": row.skill,
        "name_ja": name,
        "scale_score": row.scale_score,
        "band": row.band,
        "band_label": band_name(row.band),
        "guessing": row.guessing,
        "theta": round(row.theta, 3),
        "se": round(row.se, 3),
        "n_items": row.n_items,
        "advice": advice,
    }


def results(
    *, session: Session, viewer: User, attempt_id: int, now: datetime, ctx: xapi.XapiContext
) -> dict[str, Any]:
    """Per-skill results, overall, growth history and recommended practice of a finished attempt.

    The caller is checked with `lms.permissions.check_view_user` (self, teacher of the student, school
    admin; board 403; others 404)."""
    attempt = session.get(Attempt, attempt_id)
    if viewer.role == "board":
        raise Forbidden("教育委員会のアカウントでは、児童生徒一人ひとりの結果は見られません。")
    if attempt is None:
        raise NotFound(msg.ATTEMPT_NOT_FOUND)
    student = session.get(User, attempt.student_id)
    assert student is not None
    try:
        check_view_user(session, viewer, student)
    except NotFound:
        raise NotFound(msg.ATTEMPT_NOT_FOUND) from None
    loaded = load_context(session, attempt, student)
    expire_if_due(session=session, loaded=loaded, now=now, ctx=ctx)
    if attempt.status in OPEN_ATTEMPT_STATUSES:
        raise Conflict(msg.NO_RESULTS_YET)
    rows = list(session.exec(select(SkillEstimate).where(SkillEstimate.attempt_id == attempt.id)))
    skills = [_skill_result(r) for r in sorted(rows, key=lambda r: r.skill) if r.skill != OVERALL]
    overall = next((_skill_result(r) for r in rows if r.skill == OVERALL), None)
    history_rows = session.exec(
        select(SkillEstimate, Attempt.finished_at)
        .join(Attempt, col(Attempt.id) == col(SkillEstimate.attempt_id))
        .where(SkillEstimate.student_id == student.id, SkillEstimate.skill == OVERALL)
        .order_by(col(Attempt.finished_at), col(SkillEstimate.id))
    ).all()
    history = [
        {
            "attempt_id": est.attempt_id,
            "date": finished.isoformat() if finished else None,
            "scale_score": est.scale_score,
            "band": est.band,
        }
        for est, finished in history_rows
    ]
    return {
        "attempt_id": attempt.id,
        "title": loaded.assignment.title,
        "status": attempt.status,
        "finished_at": attempt.finished_at.isoformat() if attempt.finished_at else None,
        "n_answered": attempt.position,
        "skills": skills,
        "overall": overall,
        "history": history,
        "practice": _recommended_practice(session, student),
    }


def _recommended_practice(session: Session, student: User) -> list[Any]:
    return list(recommend_for(session=session, student=student))
