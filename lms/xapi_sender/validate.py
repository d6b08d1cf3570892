"""A strict check of statements against xAPI 1.0.3 and the Japan xAPI assessment profile draft.

xAPI 1.0.3 (Data, §2.4): a statement has ``actor``, ``verb`` and ``object``; an LRS rejects unknown
properties, a malformed ``id`` (UUID), non-IRI verb/activity ids, a ``version`` other than 1.0.x, a
``result.score.scaled`` outside [−1, 1], ``raw`` outside [min, max], a non-ISO 8601 ``duration`` or
``timestamp``.  The Japan assessment profile (``shared/notes/standards.md``) adds: the verbs attempted /
answered / completed / viewed; an Agent identified only by ``account`` (homePage + pseudonymous name —
never an email or a name); on *answered* ``result.score.scaled`` in [0, 1] with ``raw`` and ``max``, the
object an ``cmi.interaction`` with an ``interactionType``; ``context.contextActivities.grouping``,
``context.language``, ``context.platform`` and ``version`` present; profile extensions from a known list.

`statement_problems` returns readable problems (empty list = valid).  The tests use it inside a fake LRS
and on the statements read back from a real one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, TypeGuard

VERBS = {
    "http://adlnet.gov/expapi/verbs/attempted": "attempted",
    "http://adlnet.gov/expapi/verbs/answered": "answered",
    "http://adlnet.gov/expapi/verbs/completed": "completed",
    "http://id.tincanapi.com/verb/viewed": "viewed",
}
INTERACTION_TYPE = "http://adlnet.gov/expapi/activities/cmi.interaction"
INTERACTION_TYPES = {
    "true-false", "choice", "fill-in", "long-fill-in", "matching", "performance", "sequencing", "likert",
    "numeric", "other",
}  # fmt: skip
JP_EXT = "https://w3id.org/japan-xapi/extensions/"
JP_EXTENSIONS = {
    "subject", "grade", "course-of-study-code", "unit", "difficulty", "question-order", "assessment-type",
}  # fmt: skip
STATEMENT_KEYS = {
    "id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version",
    "attachments",
}  # fmt: skip
RESULT_KEYS = {"score", "success", "completion", "response", "duration", "extensions"}
CONTEXT_KEYS = {
    "registration", "instructor", "team", "contextActivities", "revision", "platform", "language",
    "statement", "extensions",
}  # fmt: skip
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
_DURATION = re.compile(r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                       r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")  # fmt: skip
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def _is_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(_IRI.match(value))


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _language_map(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(k, str) and _LANGUAGE.match(k) and isinstance(v, str) for k, v in value.items())
    )


def _actor(actor: Any, problems: list[str]) -> None:
    if not isinstance(actor, dict):
        problems.append("actor must be an object")
        return
    if actor.get("objectType", "Agent") != "Agent":
        problems.append("actor must be an Agent")
    for forbidden in ("mbox", "mbox_sha1sum", "openid", "name"):
        if forbidden in actor:
            problems.append(
                f"actor.{forbidden} is not allowed: identify students only by a pseudonymous account"
            )
    account = actor.get("account")
    if not isinstance(account, dict):
        problems.append("actor.account (homePage + name) is required")
        return
    if not _is_iri(account.get("homePage")):
        problems.append("actor.account.homePage must be an IRI")
    if not isinstance(account.get("name"), str) or not account.get("name"):
        problems.append("actor.account.name must be a non-empty string")


def _extensions(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where}.extensions must be an object")
        return
    for key, ext in value.items():
        if not _is_iri(key):
            problems.append(f"{where}.extensions key {key!r} is not an IRI")
        if isinstance(key, str) and key.startswith(JP_EXT):
            name = key.removeprefix(JP_EXT)
            if name not in JP_EXTENSIONS:
                problems.append(f"{where}.extensions: unknown Japan profile extension {name!r}")
            elif name == "assessment-type" and ext not in ("diagnostic", "formative", "summative"):
                problems.append("assessment-type must be diagnostic, formative or summative")
            elif name == "course-of-study-code" and not (
                isinstance(ext, str) and re.fullmatch(r"\d{16}", ext)
            ):
                problems.append("course-of-study-code must be 16 digits")
            elif name == "question-order" and not (isinstance(ext, int) and ext >= 1):
                problems.append("question-order must be a positive integer")


def _object(obj: Any, verb: str | None, problems: list[str]) -> None:
    if not isinstance(obj, dict):
        problems.append("object must be an object")
        return
    if obj.get("objectType", "Activity") != "Activity":
        problems.append("object must be an Activity")
    if not _is_iri(obj.get("id")):
        problems.append("object.id must be an IRI")
    definition = obj.get("definition")
    if definition is None:
        if verb == "answered":
            problems.append("object.definition is required on answered (cmi.interaction)")
        return
    if not isinstance(definition, dict):
        problems.append("object.definition must be an object")
        return
    for field in ("name", "description"):
        if field in definition and not _language_map(definition[field]):
            problems.append(f"object.definition.{field} must be a language map")
    if "type" in definition and not _is_iri(definition["type"]):
        problems.append("object.definition.type must be an IRI")
    if verb == "answered":
        if definition.get("type") != INTERACTION_TYPE:
            problems.append(f"object.definition.type must be {INTERACTION_TYPE} on answered")
        if definition.get("interactionType") not in INTERACTION_TYPES:
            problems.append("object.definition.interactionType is missing or unknown")
    pattern = definition.get("correctResponsesPattern")
    if pattern is not None and not (isinstance(pattern, list) and all(isinstance(p, str) for p in pattern)):
        problems.append("object.definition.correctResponsesPattern must be a list of strings")
    if "extensions" in definition:
        _extensions(definition["extensions"], "object.definition", problems)


def _result(result: Any, verb: str | None, problems: list[str]) -> None:
    if result is None:
        if verb == "answered":
            problems.append("result is required on answered")
        return
    if not isinstance(result, dict):
        problems.append("result must be an object")
        return
    for key in result:
        if key not in RESULT_KEYS:
            problems.append(f"result.{key} is not an xAPI property")
    score = result.get("score")
    if score is not None:
        if not isinstance(score, dict):
            problems.append("result.score must be an object")
            score = {}
        scaled = score.get("scaled")
        if scaled is not None and not (_number(scaled) and -1 <= scaled <= 1):
            problems.append("result.score.scaled must be a number in [-1, 1]")
        low, high, raw = score.get("min"), score.get("max"), score.get("raw")
        for name, value in (("min", low), ("max", high), ("raw", raw)):
            if value is not None and not _number(value):
                problems.append(f"result.score.{name} must be a number")
        if _number(low) and _number(high) and low >= high:
            problems.append("result.score.min must be below max")
        if _number(raw) and ((_number(low) and raw < low) or (_number(high) and raw > high)):
            problems.append("result.score.raw must lie between min and max")
    if verb == "answered":
        score = score if isinstance(score, dict) else {}
        scaled = score.get("scaled")
        if not (_number(scaled) and 0 <= scaled <= 1):
            problems.append("result.score.scaled (0–1) is required on answered")
        for name in ("raw", "max"):
            if name not in score:
                problems.append(f"result.score.{name} is required on answered")
    if "success" in result and not isinstance(result["success"], bool):
        problems.append("result.success must be true or false")
    if "completion" in result and not isinstance(result["completion"], bool):
        problems.append("result.completion must be true or false")
    if "response" in result and not isinstance(result["response"], str):
        problems.append("result.response must be a string")
    if "duration" in result and not (
        isinstance(result["duration"], str) and _DURATION.match(result["duration"])
    ):
        problems.append("result.duration must be an ISO 8601 duration such as PT12.5S")
    if "extensions" in result:
        _extensions(result["extensions"], "result", problems)


def _context(context: Any, problems: list[str]) -> None:
    if not isinstance(context, dict):
        problems.append("context (grouping, language, platform) is required")
        return
    for key in context:
        if key not in CONTEXT_KEYS:
            problems.append(f"context.{key} is not an xAPI property")
    if "registration" in context and not _is_uuid(context["registration"]):
        problems.append("context.registration must be a UUID")
    if not (isinstance(context.get("language"), str) and _LANGUAGE.match(context["language"])):
        problems.append("context.language (an RFC 5646 tag such as ja-JP) is required")
    if not (isinstance(context.get("platform"), str) and context["platform"]):
        problems.append("context.platform is required")
    activities = context.get("contextActivities")
    grouping = activities.get("grouping") if isinstance(activities, dict) else None
    if isinstance(grouping, dict):
        grouping = [grouping]
    if not (isinstance(grouping, list) and grouping):
        problems.append("context.contextActivities.grouping (the attempt) is required")
    else:
        for activity in grouping:
            if not (isinstance(activity, dict) and _is_iri(activity.get("id"))):
                problems.append("every context.contextActivities.grouping entry needs an IRI id")
    if "extensions" in context:
        _extensions(context["extensions"], "context", problems)


def statement_problems(statement: Mapping[str, Any]) -> list[str]:
    """Every way ``statement`` breaks xAPI 1.0.3 or the Japan assessment profile (empty when valid)."""
    problems: list[str] = []
    if not isinstance(statement, Mapping):
        return ["a statement must be a JSON object"]
    for key in statement:
        if key not in STATEMENT_KEYS:
            problems.append(f"{key!r} is not an xAPI statement property")
    if "id" in statement and not _is_uuid(statement["id"]):
        problems.append("id must be a UUID")
    version = statement.get("version")
    if not (isinstance(version, str) and re.fullmatch(r"1\.0(\.\d+)?", version)):
        problems.append("version 1.0.x is required")
    if "timestamp" in statement and not (
        isinstance(statement["timestamp"], str) and _TIMESTAMP.match(statement["timestamp"])
    ):
        problems.append("timestamp must be ISO 8601 with a time zone")
    _actor(statement.get("actor"), problems)
    verb = statement.get("verb")
    verb_name: str | None = None
    if not (isinstance(verb, dict) and _is_iri(verb.get("id"))):
        problems.append("verb.id must be an IRI")
    else:
        verb_name = VERBS.get(verb["id"])
        if verb_name is None:
            problems.append(f"verb {verb['id']} is not one of the profile's verbs")
        if "display" in verb and not _language_map(verb["display"]):
            problems.append("verb.display must be a language map")
    _object(statement.get("object"), verb_name, problems)
    _result(statement.get("result"), verb_name, problems)
    _context(statement.get("context"), problems)
    return problems
