"""What the class report links to besides the scores: each child's newest finished test (their results and
growth page, `/results/{attempt}`) and a preview of every item of the item analysis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from lms.reading import delivery as dl
from lms.reading.models import Assessment, Assignment, Attempt


def result_attempts(
    session: Session, *, class_id: int, student_ids: Sequence[int], assignment_id: int | None
) -> dict[int, int]:
    """``{student_id: attempt_id}``: the chosen test's finished attempt, else the newest finished test."""
    if not student_ids:
        return {}
    query = (
        select(Attempt.student_id, Attempt.id)
        .join(Assignment, col(Assignment.id) == col(Attempt.assignment_id))
        .join(Assessment, col(Assessment.id) == col(Assignment.assessment_id))
        .where(
            Assignment.class_id == class_id,
            Attempt.status == "submitted",
            Assessment.kind != "practice",
            col(Attempt.student_id).in_(list(student_ids)),
        )
        .order_by(col(Attempt.finished_at), col(Attempt.id))
    )
    if assignment_id is not None:
        query = query.where(Attempt.assignment_id == assignment_id)
    rows = session.exec(query).all()
    return {
        student_id: attempt_id for student_id, attempt_id in rows if attempt_id is not None
    }  # newest wins


def item_previews(item_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The items as a teacher reads them (no ruby) with their key, for the item analysis."""
    bank = dl.item_bank()
    out: dict[str, dict[str, Any]] = {}
    for item_id in item_ids:
        item = bank.get(item_id)
        if item is None:
            continue
        payload = dl.item_payload(item, dl.NO_RUBY_GRADE)
        out[item_id] = {**payload, "key": list(item.key)}
    return out
