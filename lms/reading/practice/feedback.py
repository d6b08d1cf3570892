"""After each practice item: right or wrong, the right answer and the item's explanation, with the ruby of
the child's reading level. Only for practice (a test shows nothing until its results) and only for an item
the child has answered in that attempt, so the key of an unanswered item never leaves the server."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from lms.core.errors import Conflict, NotFound
from lms.reading import attempts
from lms.reading import delivery as dl
from lms.reading.models import Response
from lms.roster.models import User
from reading_tests.text import reading_aloud_text, render_ruby_html

NOT_PRACTICE = (
    "答えあわせは、れんしゅうのときだけ、1問ごとにできます。"
    "テストの答えは、テストのあとで先生から聞いてください。"
)
NOT_ANSWERED = "この問題の答えは、まだとどいていません。少し待ってから、もう一度ためしてください。"


def item_feedback(*, session: Session, student: User, attempt_id: int, item_id: str) -> dict[str, Any]:
    """``{item_id, correct, key, key_html, explanation_html, explanation_speech}`` of an answered item."""
    attempt = attempts.own_attempt_or_404(session, student, attempt_id)
    loaded = attempts.load_context(session, attempt, student)
    if loaded.assessment.kind != "practice":
        raise Conflict(NOT_PRACTICE)
    response = session.exec(
        select(Response)
        .where(Response.attempt_id == attempt.id, Response.item_id == item_id)
        .order_by(col(Response.id).desc())
    ).first()
    item = dl.item_bank().get(item_id)
    if response is None or item is None:
        raise NotFound(NOT_ANSWERED)
    grade = attempts.ruby_grade(loaded)
    options = {o.id: o for o in item.options}
    return {
        "item_id": item.id,
        "correct": bool(response.correct),
        "key": list(item.key),
        "key_html": [
            render_ruby_html(options[k].text, options[k].ruby, grade)
            if options[k].text
            else options[k].alt or k
            for k in item.key
            if k in options
        ],
        "explanation_html": render_ruby_html(item.explanation, item.ruby_for("explanation"), grade),
        "explanation_speech": reading_aloud_text(item.explanation, item.ruby_for("explanation")),
    }
