"""Reading-test delivery: create, assign, prepare, start, answer, finish, expire, results.

Services flush, never commit: the request's `SessionDep` commits before the response is sent, so an
acknowledged answer is durable.  The server owns the clock (``now`` comes from the app's clock).

Concurrency: every write to an attempt first locks its row — ``SELECT … FOR UPDATE`` (the answer's read,
PostgreSQL) or ``UPDATE attempt SET last_seen_at …`` (which on SQLite takes the database write lock) — until
commit, so two answers of one attempt are applied one after the other to the CAT state.  Idempotency rests
on the unique ``response.client_event_id``: a retry finds the stored response and gets the same
acknowledgement; an insert that races anyway (IntegrityError) is rolled back and answered the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Integer, String, and_, bindparam, insert, or_, update
from sqlalchemy import select as sa_select  # sqlmodel's select types at most four columns
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable
from sqlmodel import Session, col, select

from lms.core import driver as db_driver
from lms.core.db import UTCDateTime
from lms.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from lms.reading import delivery as dl
from lms.reading import messages as msg
from lms.reading import xapi
from lms.reading.models import (
    ASSESSMENT_KINDS,
    OPEN_ATTEMPT_STATUSES,
    Accommodation,
    Assessment,
    Assignment,
    AssignmentTarget,
    Attempt,
    AttemptItem,
    Response,
    SkillEstimate,
    XapiOutbox,
)
from lms.roster.models import Enrollment, SchoolClass, User
from reading_tests.estimation import estimate_by_skill
from reading_tests.io import ItemParams, ResponseData
from reading_tests.items import SINGLE_KEY_FORMATS, Item
from reading_tests.scoring import band, band_name, guessing_flags, scale_score
from reading_tests.text import student_grade

OVERALL = "ALL"

# --- inputs and views --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccommodationIn:
    """A student's accommodations for one assignment."""

    ruby_level: str | None = None
    extra_time_pct: int = 0
    read_aloud: bool = False
    large_text: bool = False


@dataclass(frozen=True)
class AnswerIn:
    """One answer as the page sends it."""

    client_event_id: str
    item_id: str
    answer: Sequence[str]
    response_time_ms: int | None = None
    position: int | None = None
    accommodations: Mapping[str, Any] = field(default_factory=dict)
    device_hint: str | None = None
    known: Collection[str] | None = None  # item ids whose payloads the page holds (None: send them all)


class AssessmentSettings(Protocol):
    """The columns of an assessment that determine its delivery (an `Assessment`, or a row of them)."""

    @property
    def kind(self) -> str: ...
    @property
    def skills(self) -> Sequence[str] | None: ...
    @property
    def min_items(self) -> int: ...
    @property
    def max_items(self) -> int: ...
    @property
    def se_target(self) -> float | None: ...
    @property
    def item_ids(self) -> Sequence[str] | None: ...
    @property
    def pilot_rate(self) -> float | None: ...


def spec_of(assessment: AssessmentSettings, class_grades: str | None = None) -> dl.DesignSpec:
    return dl.DesignSpec(
        kind=assessment.kind,
        skills=tuple(assessment.skills or ()),
        min_items=assessment.min_items,
        max_items=assessment.max_items,
        se_target=float(assessment.se_target or 0.0),
        item_ids=tuple(assessment.item_ids or ()),
        pilot_rate=float(assessment.pilot_rate or 0.0),
        grade=dl.class_grade(class_grades) if assessment.kind == "cat" else None,
    )


def delivery_of(assessment: AssessmentSettings, class_grades: str | None = None) -> dl.Delivery:
    """The delivery of an assessment for a class of ``class_grades`` (e.g. "P3")."""
    return dl.delivery_for(spec_of(assessment, class_grades))


# --- teachers: create and assign ---------------------------------------------------------------------------


def create_assessment(
    *,
    session: Session,
    title: str,
    kind: str = "cat",
    skills: Sequence[str] = (),
    min_items: int = 5,
    max_items: int = 15,
    se_target: float | None = None,
    item_ids: Sequence[str] = (),
    time_limit_s: int | None = None,
    pilot_rate: float = 0.0,
    created_by: User | None = None,
) -> Assessment:
    """Create a test definition; the design is built once to refuse settings that cannot be delivered."""
    if kind not in ASSESSMENT_KINDS:
        raise InvalidInput(f"テストの種類は {', '.join(ASSESSMENT_KINDS)} のどれかです。")
    if not title.strip():
        raise InvalidInput("テストの名前を入れてください。")
    if kind == "cat" and not 1 <= min_items <= max_items <= 100:
        raise InvalidInput("問題数は 1 ≦ 最小 ≦ 最大 ≦ 100 にしてください。")
    if kind != "cat" and not item_ids:
        raise InvalidInput("固定の問題セットには、問題を一つ以上選んでください。")
    if se_target is not None and not 0 <= se_target < 2:
        raise InvalidInput("測定精度（SE）の目標は 0 以上 2 未満にしてください。")
    if not 0 <= pilot_rate <= 0.5:
        raise InvalidInput("試行問題の割合は 0 以上 0.5 以下にしてください。")
    if time_limit_s is not None and not 60 <= time_limit_s <= 4 * 3600:
        raise InvalidInput("制限時間は 1 分から 4 時間のあいだにしてください。")
    assessment = Assessment(
        title=title.strip(),
        kind=kind,
        skills=list(skills),
        min_items=min_items if kind == "cat" else len(item_ids),
        max_items=max_items if kind == "cat" else len(item_ids),
        se_target=se_target,
        item_ids=list(item_ids),
        time_limit_s=time_limit_s,
        pilot_rate=pilot_rate,
        created_by_id=created_by.id if created_by else None,
    )
    delivery_of(assessment)  # raises InvalidInput when the bank cannot deliver it
    session.add(assessment)
    session.flush()
    return assessment


def class_student_ids(session: Session, class_id: int) -> list[int]:
    """Active students enrolled in a class."""
    return list(
        session.exec(
            select(Enrollment.user_id)
            .where(
                Enrollment.class_id == class_id,
                Enrollment.role == "student",
                Enrollment.status == "active",
            )
            .order_by(col(Enrollment.shusseki_no), col(Enrollment.user_id))
        )
    )


def assignment_student_ids(session: Session, assignment: Assignment) -> list[int]:
    """The students an assignment is given to: its targets, else the whole class."""
    assert assignment.id is not None
    targets = list(
        session.exec(select(AssignmentTarget.user_id).where(AssignmentTarget.assignment_id == assignment.id))
    )
    return targets or class_student_ids(session, assignment.class_id)


def create_assignment(
    *,
    session: Session,
    assessment: Assessment,
    class_: SchoolClass,
    now: datetime,
    title: str | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    student_ids: Sequence[int] | None = None,
    accommodations: Mapping[int, AccommodationIn] | None = None,
    created_by: User | None = None,
) -> Assignment:
    """Give a test to a class (or to ``student_ids`` of it) and prepare every student's attempt."""
    assert assessment.id is not None and class_.id is not None
    opens = opens_at or now
    if closes_at is not None and closes_at <= opens:
        raise InvalidInput("終わりの時刻は、始まりの時刻より後にしてください。")
    enrolled = set(class_student_ids(session, class_.id))
    chosen = list(dict.fromkeys(student_ids or []))
    strangers = [s for s in chosen if s not in enrolled]
    if strangers:
        raise InvalidInput("このクラスに在籍していない児童生徒が選ばれています。")
    for user_id in accommodations or {}:
        if user_id not in (set(chosen) or enrolled):
            raise InvalidInput("配慮の設定に、このテストの対象でない児童生徒が含まれています。")
    assignment = Assignment(
        assessment_id=assessment.id,
        class_id=class_.id,
        title=(title or assessment.title).strip(),
        opens_at=opens,
        closes_at=closes_at,
        created_by_id=created_by.id if created_by else None,
        created_at=now,
    )
    session.add(assignment)
    session.flush()
    assert assignment.id is not None
    for user_id in chosen:
        session.add(AssignmentTarget(assignment_id=assignment.id, user_id=user_id))
    for user_id, acc in (accommodations or {}).items():
        _check_accommodation(acc)
        session.add(
            Accommodation(
                assignment_id=assignment.id,
                user_id=user_id,
                ruby_level=acc.ruby_level,
                extra_time_pct=acc.extra_time_pct,
                read_aloud=acc.read_aloud,
                large_text=acc.large_text,
            )
        )
    delivery = delivery_of(assessment, class_.grades)
    for user_id in chosen or sorted(enrolled):
        prepare_attempt(
            session=session, assignment=assignment, student_id=user_id, now=now, delivery=delivery
        )
    session.flush()
    return assignment


def _check_accommodation(acc: AccommodationIn) -> None:
    if not 0 <= acc.extra_time_pct <= 300:
        raise InvalidInput("延長時間は 0〜300 % にしてください。")
    if acc.ruby_level not in (None, "all", "none"):
        try:
            student_grade(acc.ruby_level)
        except Exception:
            raise InvalidInput("ふりがなの設定は、学年（P1〜J3）か all / none にしてください。") from None


def prepare_attempt(
    *,
    session: Session,
    assignment: Assignment,
    student_id: int,
    now: datetime,
    delivery: dl.Delivery | None = None,
    attempt_no: int = 1,
    seed: int | None = None,
) -> Attempt:
    """An attempt in status ``created`` with its CAT session (own seed) and first items chosen."""
    assert assignment.id is not None
    if delivery is None:
        assessment = session.get(Assessment, assignment.assessment_id)
        class_ = session.get(SchoolClass, assignment.class_id)
        assert assessment is not None and class_ is not None
        delivery = delivery_of(assessment, class_.grades)
    state, planned = dl.new_state(delivery, seed)
    attempt = Attempt(
        assignment_id=assignment.id,
        student_id=student_id,
        attempt_no=attempt_no,
        status="created",
        cat_state=state.dumps(),
        prepared_at=now,
    )
    session.add(attempt)
    session.flush()
    _add_attempt_items(session, attempt, planned, state.answered, now)
    return attempt


def _add_attempt_items(
    session: Session, attempt: Attempt, item_ids: Iterable[str], position: int, now: datetime
) -> None:
    assert attempt.id is not None
    for offset, item_id in enumerate(item_ids):
        session.add(
            AttemptItem(attempt_id=attempt.id, item_id=item_id, position=position + offset, offered_at=now)
        )


def reset_attempt(*, session: Session, attempt: Attempt, now: datetime) -> Attempt:
    """Teacher: mark ``attempt`` reset and prepare a fresh one (next attempt_no) for the same student."""
    assignment = session.get(Assignment, attempt.assignment_id)
    assert assignment is not None
    if attempt.status != "reset":
        attempt.status = "reset"
        attempt.finished_at = attempt.finished_at or now
        session.add(attempt)
    latest = session.exec(
        select(Attempt.attempt_no)
        .where(Attempt.assignment_id == attempt.assignment_id, Attempt.student_id == attempt.student_id)
        .order_by(col(Attempt.attempt_no).desc())
    ).first()
    return prepare_attempt(
        session=session,
        assignment=assignment,
        student_id=attempt.student_id,
        now=now,
        attempt_no=(latest or attempt.attempt_no) + 1,
    )


def reopen_attempt(*, session: Session, attempt: Attempt, now: datetime, extra_seconds: int = 600) -> Attempt:
    """Teacher: let an expired (time over) attempt continue, with ``extra_seconds`` more from now."""
    if attempt.status not in ("expired", "in_progress"):
        raise Conflict("続きから再開できるのは、時間切れか受験中の受験だけです。")
    attempt.status = "in_progress" if attempt.started_at else "created"
    if attempt.deadline_at is not None:
        attempt.deadline_at = max(attempt.deadline_at, now + timedelta(seconds=extra_seconds))
    attempt.finished_at = None
    session.add(attempt)
    session.flush()
    return attempt


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
    return _join_delivery_context(
        select(Assignment, Assessment, SchoolClass.grades, Accommodation), attempt.student_id
    ).where(col(Assignment.id) == attempt.assignment_id)


def _join_delivery_context(statement: Any, student_id: Any) -> Any:
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


def _load(session: Session, attempt: Attempt, student: User | None = None) -> Loaded:
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


def _own_attempt_or_404(session: Session, user: User, attempt_id: int) -> Attempt:
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
        _finalize(session=session, loaded=loaded, now=now, ctx=ctx, status="expired")
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
        raise Forbidden("教育委員会のアカウントでは、テストを受けられません。")
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
    loaded = _load(session, attempt, student)
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
    attempt = _own_attempt_or_404(session, user, attempt_id)
    loaded = _load(session, attempt, user)
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


def _ruby_grade(loaded: Loaded) -> int:
    return dl.ruby_grade(
        loaded.accommodation.ruby_level if loaded.accommodation else None,
        loaded.student.grades or loaded.class_grades,
    )


def _queue_items(loaded: Loaded, state: dl.AttemptState | None) -> list[dict[str, Any]]:
    if loaded.attempt.status not in OPEN_ATTEMPT_STATUSES or state is None:
        return []
    return dl.payloads(loaded.delivery, state.queue, _ruby_grade(loaded))


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
        ruby_grade=_ruby_grade(loaded),
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


def refuse_board(role: str) -> None:
    """Tests are taken by students; the board never sees one child's attempt."""
    if role == "board":
        raise Forbidden("教育委員会のアカウントでは、児童生徒一人ひとりの受験は見られません。")


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
        loaded = _load(session, attempt)
        _finalize(session=session, loaded=loaded, now=now, ctx=ctx, status="submitted")
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
        _join_delivery_context(statement, col(Attempt.student_id))
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
    loaded = _load(session, attempt)
    state = (
        dl.load_state(loaded.delivery, attempt.cat_state) if attempt.status in OPEN_ATTEMPT_STATUSES else None
    )
    return _ack(loaded, state, event_id, duplicate=True, known=known)


def finish_attempt(
    *, session: Session, student: User, attempt_id: int, now: datetime, ctx: xapi.XapiContext
) -> dict[str, Any]:
    """The student ends the test (idempotent): score it and mark it submitted."""
    attempt = _own_attempt_or_404(session, student, attempt_id)
    loaded = _load(session, attempt, student)
    if not expire_if_due(session=session, loaded=loaded, now=now, ctx=ctx):
        if attempt.status == "created":
            raise Conflict(msg.ATTEMPT_NOT_STARTED)
        if attempt.status == "in_progress":
            _finalize(session=session, loaded=loaded, now=now, ctx=ctx, status="submitted")
    return {
        "attempt_id": attempt.id,
        "status": attempt.status,
        "results_url": f"/api/v1/attempts/{attempt.id}/results",
    }


# --- scoring -----------------------------------------------------------------------------------------------


def _finalize(*, session: Session, loaded: Loaded, now: datetime, ctx: xapi.XapiContext, status: str) -> None:
    """Score the attempt (EAP per skill and overall with the bank's parameters), store skill_estimate rows,
    write the xAPI ``completed`` statement and set the final status."""
    attempt = loaded.attempt
    assert attempt.id is not None and loaded.assessment.id is not None
    rows = list(
        session.exec(
            select(Response).where(Response.attempt_id == attempt.id).order_by(col(Response.position))
        )
    )
    scored = [r for r in rows if not r.pilot and r.item_id in loaded.delivery.items]
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
                guessing=est["guessing"],
                n_items=est["n_items"],
                created_at=now,
            )
        )
    overall = next((e for e in estimates if e["skill"] == OVERALL), None)
    attempt.status = status
    attempt.finished_at = now
    if overall is not None:
        attempt.theta, attempt.se = overall["theta"], overall["se"]
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
            duration_ms=(now - started).total_seconds() * 1000 if started else None,
            at=now,
        ),
        now=now,
    )
    session.flush()


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
    from lms.permissions import check_view_user

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
    loaded = _load(session, attempt, student)
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
    try:
        from lms.reading.practice.service import recommend_for  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return []
    return list(recommend_for(session=session, student=student))
