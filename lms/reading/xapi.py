"""xAPI 1.0.3 statements of the Japan assessment profile draft: attempted, answered, completed.

Statements are written to ``xapi_outbox`` in the same transaction as the change they describe (the sender
in ``lms.reading.practice`` drains the outbox to a learning record store).  The actor is an Agent with
``account.homePage`` (this platform) and ``account.name`` = a pseudonymous id (HMAC-SHA256 of the user id
with the server secret): never a name or an e-mail address.  `validate_statement` checks the fields the
profile requires, for tests and for the sender.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from lms.reading.models import XapiOutbox

VERSION = "1.0.3"
VERB_ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
VERB_ANSWERED = "http://adlnet.gov/expapi/verbs/answered"
VERB_COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ACTIVITY_ASSESSMENT = "http://adlnet.gov/expapi/activities/assessment"
ACTIVITY_INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
EXT = "https://w3id.org/japan-xapi/extensions/"
PLATFORM = "GIGA Learning Platform"
LANGUAGE = "ja-JP"
_NAMESPACE = uuid.UUID("6f1d2c1e-8c3a-4f43-9a53-2f0e6b7a9d10")
_VERB_NAMES = {
    VERB_ATTEMPTED: ("attempted", "受験を始めた"),
    VERB_ANSWERED: ("answered", "解答した"),
    VERB_COMPLETED: ("completed", "受験を終えた"),
}


@dataclass(frozen=True)
class XapiContext:
    """Where statements point: the platform's base URL and the secret for pseudonymous actor ids."""

    home_page: str
    secret_key: str

    def actor(self, user_id: int) -> dict[str, Any]:
        return {
            "objectType": "Agent",
            "account": {"homePage": self.home_page, "name": self.pseudonym(user_id)},
        }

    def pseudonym(self, user_id: int) -> str:
        digest = hmac.new(self.secret_key.encode(), f"xapi-actor:{user_id}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def iri(self, *parts: object) -> str:
        return "/".join([self.home_page.rstrip("/"), "xapi", *(str(p) for p in parts)])


def _verb(verb: str) -> dict[str, Any]:
    en, ja = _VERB_NAMES[verb]
    return {"id": verb, "display": {"en-US": en, "ja-JP": ja}}


def _duration(ms: float | None) -> str | None:
    if ms is None or ms < 0:
        return None
    return f"PT{ms / 1000:.2f}S"


def _context(
    ctx: XapiContext, *, attempt_id: int, assessment_id: int, grade: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    extensions: dict[str, Any] = {
        EXT + "subject": "国語",
        EXT + "assessment-type": "diagnostic",
        **extra,
    }
    if grade:
        extensions[EXT + "grade"] = grade
    return {
        "registration": str(uuid.uuid5(_NAMESPACE, f"attempt:{attempt_id}")),
        "contextActivities": {
            "grouping": [{"id": ctx.iri("attempts", attempt_id)}],
            "parent": [{"id": ctx.iri("assessments", assessment_id)}],
        },
        "language": LANGUAGE,
        "platform": PLATFORM,
        "extensions": extensions,
    }


def _assessment_object(ctx: XapiContext, assessment_id: int, title: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": ctx.iri("assessments", assessment_id),
        "definition": {"type": ACTIVITY_ASSESSMENT, "name": {LANGUAGE: title}},
    }


def _statement(
    actor: dict[str, Any], verb: str, obj: dict[str, Any], at: datetime, **rest: Any
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": actor,
        "verb": _verb(verb),
        "object": obj,
        **rest,
        "timestamp": at.isoformat(),
        "version": VERSION,
    }


def attempted(
    ctx: XapiContext,
    *,
    student_id: int,
    attempt_id: int,
    assessment_id: int,
    title: str,
    grade: str | None,
    at: datetime,
) -> dict[str, Any]:
    """The student started the test."""
    return _statement(
        ctx.actor(student_id),
        VERB_ATTEMPTED,
        _assessment_object(ctx, assessment_id, title),
        at,
        context=_context(ctx, attempt_id=attempt_id, assessment_id=assessment_id, grade=grade, extra={}),
    )


def answered(
    ctx: XapiContext,
    *,
    student_id: int,
    attempt_id: int,
    assessment_id: int,
    grade: str | None,
    item_id: str,
    option_ids: Sequence[str],
    key: Sequence[str],
    answer: Sequence[str],
    correct: bool,
    position: int,
    difficulty: float | None,
    response_time_ms: int | None,
    at: datetime,
) -> dict[str, Any]:
    """One answer: ``result.score`` scaled/raw/min/max (required by the profile), response, duration."""
    result: dict[str, Any] = {
        "score": {"scaled": 1.0 if correct else 0.0, "raw": 1 if correct else 0, "min": 0, "max": 1},
        "success": correct,
        "response": "[,]".join(answer),
    }
    duration = _duration(response_time_ms)
    if duration is not None:
        result["duration"] = duration
    extra: dict[str, Any] = {EXT + "question-order": position}
    if difficulty is not None:
        extra[EXT + "difficulty"] = round(difficulty, 4)
    obj = {
        "objectType": "Activity",
        "id": ctx.iri("items", item_id),
        "definition": {
            "type": ACTIVITY_INTERACTION,
            "name": {LANGUAGE: item_id},
            "interactionType": "choice",
            "correctResponsesPattern": ["[,]".join(key)],
            "choices": [{"id": option, "description": {LANGUAGE: option}} for option in option_ids],
        },
    }
    return _statement(
        ctx.actor(student_id),
        VERB_ANSWERED,
        obj,
        at,
        result=result,
        context=_context(ctx, attempt_id=attempt_id, assessment_id=assessment_id, grade=grade, extra=extra),
    )


def completed(
    ctx: XapiContext,
    *,
    student_id: int,
    attempt_id: int,
    assessment_id: int,
    title: str,
    grade: str | None,
    n_correct: int,
    n_items: int,
    scale_score: int | None,
    duration_ms: float | None,
    at: datetime,
) -> dict[str, Any]:
    """The test ended (submitted or time over): proportion correct, and the reported scale score."""
    result: dict[str, Any] = {
        "completion": True,
        "score": {
            "scaled": round(n_correct / n_items, 4) if n_items else 0.0,
            "raw": n_correct,
            "min": 0,
            "max": n_items,
        },
    }
    duration = _duration(duration_ms)
    if duration is not None:
        result["duration"] = duration
    if scale_score is not None:
        # Not a Japan-profile extension: the platform's own IRI, under its home page.
        result["extensions"] = {ctx.iri("extensions", "scale-score"): scale_score}
    return _statement(
        ctx.actor(student_id),
        VERB_COMPLETED,
        _assessment_object(ctx, assessment_id, title),
        at,
        result=result,
        context=_context(ctx, attempt_id=attempt_id, assessment_id=assessment_id, grade=grade, extra={}),
    )


def enqueue(session: Session, statement: dict[str, Any], *, now: datetime) -> XapiOutbox:
    """Add a statement to the outbox (the caller's transaction commits it with the change it describes)."""
    row = XapiOutbox(
        statement=json.dumps(statement, ensure_ascii=False, separators=(",", ":")), created_at=now
    )
    session.add(row)
    return row


def validate_statement(statement: dict[str, Any]) -> list[str]:
    """Problems with ``statement`` against xAPI 1.0.3 and the Japan assessment profile (empty when valid)."""
    problems: list[str] = []

    def need(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    need(statement.get("version") == VERSION, "version must be 1.0.3")
    need(_is_uuid(statement.get("id")), "id must be a UUID")
    need(isinstance(statement.get("timestamp"), str), "timestamp is required")
    actor = statement.get("actor") or {}
    account = actor.get("account") or {}
    need(actor.get("objectType") == "Agent", "actor must be an Agent")
    need(bool(account.get("homePage")) and bool(account.get("name")), "actor needs account.homePage and name")
    need("mbox" not in actor and "name" not in actor, "actor must not carry an e-mail or a name")
    verb = (statement.get("verb") or {}).get("id")
    need(verb in _VERB_NAMES, f"verb {verb!r} is not attempted/answered/completed")
    obj = statement.get("object") or {}
    need(str(obj.get("id", "")).startswith(("http://", "https://")), "object.id must be an IRI")
    context = statement.get("context") or {}
    need(bool(context.get("language")), "context.language is required")
    need(bool(context.get("platform")), "context.platform is required")
    need(_is_uuid(context.get("registration")), "context.registration must be a UUID")
    grouping = (context.get("contextActivities") or {}).get("grouping") or []
    need(len(grouping) >= 1, "context.contextActivities.grouping must name the attempt")
    if verb == VERB_ANSWERED:
        score = (statement.get("result") or {}).get("score") or {}
        scaled = score.get("scaled")
        need(
            isinstance(scaled, int | float) and 0 <= scaled <= 1, "answered needs result.score.scaled in 0..1"
        )
        need("raw" in score and "max" in score, "answered needs result.score.raw and max")
        definition = obj.get("definition") or {}
        need(definition.get("type") == ACTIVITY_INTERACTION, "an answered item must be a cmi.interaction")
        need(bool(definition.get("interactionType")), "an answered item needs interactionType")
    return problems


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
