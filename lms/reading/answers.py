"""The hot path: a student's answer is validated, stored idempotently and the test re-planned (Core SQL).

Concurrency: every write to an attempt first locks its row — ``SELECT … FOR UPDATE`` (the answer's read,
PostgreSQL) or ``UPDATE attempt SET last_seen_at …`` (which on SQLite takes the database write lock) — until
commit, so two answers of one attempt are applied one after the other to the CAT state.  Idempotency rests
on the unique ``response.client_event_id``: a retry finds the stored response and gets the same
acknowledgement; an insert that races anyway (IntegrityError) is rolled back and answered the same way.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, insert, or_, update
from sqlalchemy import select as sa_select  # sqlmodel's select types at most four columns
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable
from sqlmodel import Session, col, select

from lms.core import driver as db_driver
from lms.core.db import UTCDateTime
from lms.core.errors import Conflict, InvalidInput, NotFound
from lms.reading import delivery as dl
from lms.reading import messages as msg
from lms.reading import xapi
from lms.reading.attempts import (
    Loaded,
    closed_reason,
    finalize,
    join_delivery_context,
    load_context,
    refuse_board,
    ruby_grade,
)
from lms.reading.authoring import AnswerIn, delivery_of
from lms.reading.models import (
    OPEN_ATTEMPT_STATUSES,
    Accommodation,
    Assessment,
    Assignment,
    Attempt,
    AttemptItem,
    Response,
    XapiOutbox,
)
from lms.roster.models import SchoolClass, User
from reading_tests.items import SINGLE_KEY_FORMATS, Item


@dataclass(frozen=True)
class Ack:
    """The acknowledgement of one answer: ``{attempt_id, ack, saved, duplicate, finished, status, position,
    queue, items}``.

    ``queue`` lists the ids of the planned items in order (current item first); ``items`` carries the
    payloads of those queue items the page did not say it holds (``AnswerIn.known``; all of them when it
    said nothing).  `to_json` splices the payloads' cached JSON bytes (`delivery.payload_json`) into the
    body, so an answer does not encode item payloads again."""

    fields: dict[str, Any]
    payload_items: tuple[Item, ...] = ()
    grade: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**self.fields, "items": [dl.item_payload(i, self.grade) for i in self.payload_items]}

    def to_json(self) -> bytes:
        head = json.dumps(self.fields, ensure_ascii=False, separators=(",", ":")).encode()
        items = b",".join(dl.payload_json(i, self.grade) for i in self.payload_items)
        return head[:-1] + b',"items":[' + items + b"]}"


def _ack(
    loaded: Loaded,
    state: dl.AttemptState | None,
    event_id: str,
    *,
    duplicate: bool,
    known: Collection[str] | None = None,
) -> Ack:
    attempt = loaded.attempt
    assert attempt.id is not None
    return make_ack(
        attempt_id=attempt.id,
        status=attempt.status,
        position=attempt.position,
        delivery=loaded.delivery,
        ruby_grade=ruby_grade(loaded),
        state=state,
        event_id=event_id,
        duplicate=duplicate,
        known=known,
    )


def make_ack(
    *,
    attempt_id: int,
    status: str,
    position: int,
    delivery: dl.Delivery,
    ruby_grade: int,
    state: dl.AttemptState | None,
    event_id: str,
    duplicate: bool,
    known: Collection[str] | None,
) -> Ack:
    finished = status not in OPEN_ATTEMPT_STATUSES
    queue = [] if finished or state is None else list(state.queue)
    fields = {
        "attempt_id": attempt_id,
        "ack": event_id,
        "saved": True,
        "duplicate": duplicate,
        "finished": finished,
        "status": status,
        "position": position,
        "queue": queue,
    }
    missing = tuple(delivery.items[i] for i in queue if known is None or i not in known)
    return Ack(fields=fields, payload_items=missing, grade=ruby_grade if missing else 0)


@dataclass(frozen=True)
class AnswerFacts:
    """Everything an answer needs to know about its attempt, read by the one SELECT that locks the attempt
    row (`answer_facts_select`): plain columns, no ORM entities — the answer is the platform's hot path."""

    attempt_id: int
    student_id: int
    student_grades: str | None
    status: str
    cat_state: str
    deadline_at: datetime | None
    device_hint: str | None
    assignment_status: str
    closes_at: datetime | None
    assessment_id: int
    delivery: dl.Delivery
    class_grades: str | None
    ruby_level: str | None
    # Stored responses with this answer's event id or for its item: (attempt id, event id).
    stored: tuple[tuple[int, str], ...]

    @property
    def ruby_grade(self) -> int:
        return dl.ruby_grade(self.ruby_level, self.student_grades or self.class_grades)


def answer_facts(rows: Sequence[Any]) -> AnswerFacts:
    """`AnswerFacts` from the rows of `answer_facts_select` (one row, two when two responses match)."""
    row = rows[0]
    return AnswerFacts(
        attempt_id=row.attempt_id,
        student_id=row.student_id,
        student_grades=row.student_grades,
        status=row.attempt_status,
        cat_state=row.cat_state,
        deadline_at=row.deadline_at,
        device_hint=row.device_hint,
        assignment_status=row.assignment_status,
        closes_at=row.closes_at,
        assessment_id=row.assessment_id,
        delivery=delivery_of(row, row.class_grades),  # the row has the `AssessmentSettings` columns
        class_grades=row.class_grades,
        ruby_level=row.ruby_level,
        stored=tuple((r.stored_attempt_id, r.stored_event_id) for r in rows if r.stored_event_id is not None),
    )


def submit_answer(
    *,
    session: Session,
    student: User,
    attempt_id: int,
    answer: AnswerIn,
    now: datetime,
    ctx: xapi.XapiContext,
) -> Ack:
    """Store one answer of ``student`` idempotently (`answer_with_facts`); returns the acknowledgement,
    sent only after the request's commit.  No such attempt of this student: 404."""
    refuse_board(student.role)
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # SQLite has no row locks (FOR UPDATE is left out): take its database write lock first.
        connection.execute(
            _SQLITE_LOCK_BY_STUDENT, {"p_attempt": attempt_id, "p_student": student.id, "p_now": now}
        )
    rows = db_driver.execute(
        connection,
        _FACTS_BY_STUDENT,
        {
            "p_attempt": attempt_id,
            "p_student": student.id,
            "p_event": answer.client_event_id,
            "p_item": answer.item_id,
        },
    )
    if not rows:
        raise NotFound(msg.ATTEMPT_NOT_FOUND)
    return answer_with_facts(session=session, facts=answer_facts(rows), answer=answer, now=now, ctx=ctx)


def answer_with_facts(
    *, session: Session, facts: AnswerFacts, answer: AnswerIn, now: datetime, ctx: xapi.XapiContext
) -> Ack:
    """Store one answer idempotently, update θ̂, re-plan the queue, write the xAPI statement; finish at the
    stop rule.  ``facts`` were read by `answer_facts_select`, which holds the attempt's row lock until
    commit (answers of one attempt are applied one after the other).  A retry gets the stored answer's
    acknowledgement; the last answer scores the attempt (both with ORM entities: once per test)."""
    same_event = next((a for a, e in facts.stored if e == answer.client_event_id), None)
    if same_event is not None:
        session.connection().execute(
            update(_ATTEMPT).where(_ATTEMPT.c.id == _P_ATTEMPT).values(last_seen_at=_P_NOW),
            {"p_attempt": facts.attempt_id, "p_now": now},
        )
        return _duplicate(session, facts.attempt_id, same_event, answer.client_event_id, known=answer.known)
    planned = plan_answer(facts=facts, answer=answer, now=now, ctx=ctx)
    try:
        write_answer(session.connection(), planned)
    except IntegrityError:
        # Only a race the attempt lock cannot prevent gets here (the same event id sent for another
        # attempt at the same moment): answer as a retry would be answered, from a fresh transaction.
        session.rollback()
        return _after_insert_race(session, facts.attempt_id, answer.client_event_id, answer.known)
    if planned.state.finished:
        attempt = session.get(Attempt, facts.attempt_id, populate_existing=True)  # the rows just written
        assert attempt is not None
        loaded = load_context(session, attempt)
        finalize(session=session, loaded=loaded, now=now, ctx=ctx, status="submitted")
        return _ack(loaded, planned.state, answer.client_event_id, duplicate=False, known=answer.known)
    return new_answer_ack(facts, planned, answer)


@dataclass(frozen=True)
class PlannedAnswer:
    """A checked answer and what storing it writes (`write_answer`): the CAT state after it, and the
    parameters of the response, the newly planned ``attempt_item`` rows, the attempt's state and the xAPI
    outbox row."""

    state: dl.AttemptState
    n_planned: int
    params: dict[str, Any]


def plan_answer(
    *, facts: AnswerFacts, answer: AnswerIn, now: datetime, ctx: xapi.XapiContext
) -> PlannedAnswer:
    """Check a new answer (409 when the attempt cannot take it, 422 for an item or option it does not have)
    and compute what storing it writes: score, θ̂ update, re-planned queue, the xAPI statement.  No I/O.
    A retry (a stored response with this event id) is the caller's business."""
    if facts.status == "created":
        raise Conflict(msg.ATTEMPT_NOT_STARTED)
    if facts.status not in OPEN_ATTEMPT_STATUSES:
        raise Conflict(msg.ATTEMPT_FINISHED if facts.status != "expired" else msg.TIME_OVER)
    reason = closed_reason(facts.assignment_status, facts.closes_at, facts.deadline_at, now)
    if reason is not None:
        raise Conflict(reason)
    delivery = facts.delivery
    state = dl.load_state(delivery, facts.cat_state)
    # ``state.offered`` lists every item planned for this attempt: the same set as its attempt_item rows,
    # written in the same transactions, so no query is needed to check the item was offered.
    item = delivery.items.get(answer.item_id)
    if answer.item_id not in state.offered or item is None:
        raise InvalidInput(msg.ITEM_NOT_OFFERED)
    if facts.stored:  # a row for (attempt, item) under another event id
        raise Conflict(msg.ITEM_ANSWERED)
    chosen = list(dict.fromkeys(answer.answer))
    if not chosen or len(chosen) != len(answer.answer) or any(a not in item.option_ids for a in chosen):
        raise InvalidInput(msg.BAD_OPTION)
    if item.format in SINGLE_KEY_FORMATS and len(chosen) != 1:
        raise InvalidInput(msg.ONE_OPTION)

    correct = item.is_correct(chosen)
    position = state.answered
    dl.record_answer(delivery, state, item.id, correct)
    planned = dl.replan(delivery, state)
    theta, se = float(state.session.theta_hat), float(state.session.se)
    statement = xapi.answered(
        ctx,
        student_id=facts.student_id,
        attempt_id=facts.attempt_id,
        assessment_id=facts.assessment_id,
        grade=facts.student_grades,
        item_id=item.id,
        option_ids=item.option_ids,
        key=item.key,
        answer=chosen,
        correct=correct,
        position=position + 1,
        difficulty=item.irt.b if item.irt else None,
        response_time_ms=answer.response_time_ms,
        at=now,
    )
    params: dict[str, Any] = {
        "p_attempt": facts.attempt_id,
        "p_now": now,
        "r_item_id": item.id,
        "r_position": position,
        "r_answer": chosen,
        "r_correct": correct,
        "r_response_time_ms": answer.response_time_ms,
        "r_theta_after": theta,
        "r_se_after": se,
        "r_accommodations": dict(answer.accommodations),
        "r_device_hint": answer.device_hint,
        "r_client_event_id": answer.client_event_id,
        "r_pilot": delivery.is_pilot(item.id),
        "o_statement": json.dumps(statement, ensure_ascii=False, separators=(",", ":")),
        "a_cat_state": state.dumps(),
        "a_position": state.answered,
        "a_theta": theta,
        "a_se": se,
        "a_device_hint": answer.device_hint[:255] if answer.device_hint else facts.device_hint,
        **{f"i_item_{k}": item_id for k, item_id in enumerate(planned)},
        **{f"i_position_{k}": position + 1 + k for k in range(len(planned))},
    }
    return PlannedAnswer(state=state, n_planned=len(planned), params=params)


def write_answer(connection: Connection, planned: PlannedAnswer) -> None:
    """Write a planned answer: one statement on PostgreSQL (`_answer_writes`).  A unique violation (the
    event id stored meanwhile for another attempt) raises `IntegrityError`; the caller rolls back."""
    for write in _answer_writes(planned.n_planned, connection.dialect.name == "postgresql"):
        db_driver.execute(connection, write, planned.params)


def new_answer_ack(facts: AnswerFacts, planned: PlannedAnswer, answer: AnswerIn) -> Ack:
    """The acknowledgement of a stored new answer that did not end the test."""
    return make_ack(
        attempt_id=facts.attempt_id,
        status=facts.status,
        position=planned.state.answered,
        delivery=facts.delivery,
        ruby_grade=facts.ruby_grade,
        state=planned.state,
        event_id=answer.client_event_id,
        duplicate=False,
        known=answer.known,
    )


# --- the answer path's SQL, built once -----------------------------------------------------------------

_ATTEMPT = Attempt.__table__  # type: ignore[attr-defined]
_RESPONSE = Response.__table__  # type: ignore[attr-defined]
_ATTEMPT_ITEM = AttemptItem.__table__  # type: ignore[attr-defined]
_OUTBOX = XapiOutbox.__table__  # type: ignore[attr-defined]
_P_ATTEMPT = bindparam("p_attempt", type_=Integer())
_P_NOW = bindparam("p_now", type_=UTCDateTime())


def answer_facts_select(*columns: Any) -> Any:  # a Select; its exact type depends on the stubs
    """Lock the attempt row ``p_attempt`` (FOR UPDATE OF attempt; PostgreSQL holds it until commit) and read
    the `AnswerFacts` columns — attempt, student's grades, assignment, assessment, class grades, the
    student's ruby level, and any stored response with event id ``p_event`` or for ``p_item`` (one row
    each through the outer join) — plus ``columns``.  The caller adds who may own the attempt."""
    statement: Any = sa_select(
        col(Attempt.id).label("attempt_id"),
        col(Attempt.student_id).label("student_id"),
        col(User.grades).label("student_grades"),
        col(Attempt.status).label("attempt_status"),
        col(Attempt.cat_state).label("cat_state"),
        col(Attempt.deadline_at).label("deadline_at"),
        col(Attempt.device_hint).label("device_hint"),
        col(Assignment.status).label("assignment_status"),
        col(Assignment.closes_at).label("closes_at"),
        col(Assessment.id).label("assessment_id"),
        col(Assessment.kind).label("kind"),
        col(Assessment.skills).label("skills"),
        col(Assessment.min_items).label("min_items"),
        col(Assessment.max_items).label("max_items"),
        col(Assessment.se_target).label("se_target"),
        col(Assessment.item_ids).label("item_ids"),
        col(Assessment.pilot_rate).label("pilot_rate"),
        col(SchoolClass.grades).label("class_grades"),
        col(Accommodation.ruby_level).label("ruby_level"),
        col(Response.attempt_id).label("stored_attempt_id"),
        col(Response.client_event_id).label("stored_event_id"),
        *columns,
    ).select_from(Attempt)
    statement = statement.join(User, col(User.id) == col(Attempt.student_id)).join(
        Assignment, col(Assignment.id) == col(Attempt.assignment_id)
    )
    return (
        join_delivery_context(statement, col(Attempt.student_id))
        .outerjoin(
            Response,
            or_(
                col(Response.client_event_id) == bindparam("p_event"),
                and_(col(Response.attempt_id) == _P_ATTEMPT, col(Response.item_id) == bindparam("p_item")),
            ),
        )
        .where(col(Attempt.id) == _P_ATTEMPT)
        .with_for_update(of=Attempt)
    )


_FACTS_BY_STUDENT = answer_facts_select().where(col(Attempt.student_id) == bindparam("p_student"))
_SQLITE_LOCK_BY_STUDENT = (
    update(_ATTEMPT)
    .where(_ATTEMPT.c.id == _P_ATTEMPT, _ATTEMPT.c.student_id == bindparam("p_student"))
    .values(last_seen_at=_P_NOW)
)


@lru_cache(maxsize=16)
def _answer_writes(n_planned: int, one_statement: bool) -> tuple[Executable, ...]:
    """The writes of an answer: response row, ``n_planned`` attempt_item rows, the attempt's new state and
    the xAPI outbox row.  On PostgreSQL one statement (data-modifying WITH clauses, all or nothing, one
    round trip); elsewhere one statement each, the response first (its unique constraints fail first)."""
    response_values: dict[str, Any] = {
        c.name: bindparam(f"r_{c.name}") for c in _RESPONSE.c if c.name != "id"
    }
    response_values.update(attempt_id=_P_ATTEMPT, created_at=_P_NOW)
    response = insert(_RESPONSE).values(response_values)
    # One single-row INSERT per planned item: SQLAlchemy cannot cache a multi-row VALUES statement, and
    # compiling it on every answer costs more than the whole rest of the answer.
    items = [
        insert(_ATTEMPT_ITEM).values(
            attempt_id=_P_ATTEMPT,
            item_id=bindparam(f"i_item_{k}", type_=String()),
            position=bindparam(f"i_position_{k}", type_=Integer()),
            offered_at=_P_NOW,
        )
        for k in range(n_planned)
    ]
    attempt = (
        update(_ATTEMPT)
        .where(_ATTEMPT.c.id == _P_ATTEMPT)
        .values(
            last_seen_at=_P_NOW,
            **{
                name: bindparam(f"a_{name}")
                for name in ("cat_state", "position", "theta", "se", "device_hint")
            },
        )
    )
    outbox = insert(_OUTBOX).values(
        statement=bindparam("o_statement"),
        created_at=_P_NOW,
        sent_at=None,
        tries=0,
        last_error=None,
        locked_until=None,
    )
    if not one_statement:
        return (response, *items, attempt, outbox)
    ctes = [response.cte("new_response"), outbox.cte("new_outbox")]
    ctes += [item.cte(f"new_item_{k}") for k, item in enumerate(items)]
    return (attempt.add_cte(*ctes),)


def _after_insert_race(
    session: Session, attempt_id: int, event_id: str, known: Collection[str] | None
) -> Ack:
    existing = session.exec(
        select(Response.attempt_id).where(col(Response.client_event_id) == event_id)
    ).first()
    if existing is None:  # (attempt, item) raced instead
        raise Conflict(msg.ITEM_ANSWERED)
    return _duplicate(session, attempt_id, existing, event_id, known=known)


def _duplicate(
    session: Session,
    attempt_id: int,
    stored_attempt_id: int,
    event_id: str,
    *,
    known: Collection[str] | None = None,
) -> Ack:
    """The acknowledgement of a retried answer (the attempt's current state), or 409 when the event id
    belongs to another attempt."""
    if stored_attempt_id != attempt_id:
        raise Conflict(msg.EVENT_ID_REUSED)
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:  # gone since the insert raced (not expected: attempts are never deleted)
        raise NotFound(msg.ATTEMPT_NOT_FOUND)
    loaded = load_context(session, attempt)
    state = (
        dl.load_state(loaded.delivery, attempt.cat_state) if attempt.status in OPEN_ATTEMPT_STATUSES else None
    )
    return _ack(loaded, state, event_id, duplicate=True, known=known)
