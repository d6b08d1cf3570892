"""Assigning a test prepares every pupil's attempt in two statements (issue 22), with the same content as
one by one: status ``created``, attempt 1, its own CAT session, the first items planned, no repeats."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlmodel import Session, col, select

from lms.reading.models import Attempt, AttemptItem, Response
from tests.lms.assessments_helpers import make_assignment


@contextmanager
def inserts_into(db_session: Session) -> Iterator[list[str]]:
    """The INSERT statements sent while the block runs, by table."""
    tables: list[str] = []
    engine = db_session.get_bind()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO"):
            tables.append(statement.split()[2].strip('"'))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield tables
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _attempts(db_session: Session, assignment_id: int) -> list[Attempt]:
    db_session.expire_all()
    return list(
        db_session.exec(
            select(Attempt).where(Attempt.assignment_id == assignment_id).order_by(col(Attempt.student_id))
        )
    )


def _planned(db_session: Session, attempt_id: int | None) -> list[AttemptItem]:
    return list(
        db_session.exec(
            select(AttemptItem)
            .where(AttemptItem.attempt_id == attempt_id)
            .order_by(col(AttemptItem.position))
        )
    )


def test_every_pupil_gets_a_ready_attempt_in_one_insert_per_table(
    db_session: Session, world: Any, clock: Any
) -> None:
    with inserts_into(db_session) as tables:
        assignment = make_assignment(db_session, world, clock)
    assert tables.count("attempt") == 1 and tables.count("attempt_item") == 1
    students = sorted(u.id for k, u in world.users.items() if k in ("s-a1", "s-a1b"))
    attempts = _attempts(db_session, assignment.id)
    assert [a.student_id for a in attempts] == students
    seeds = set()
    for attempt in attempts:
        assert (attempt.status, attempt.attempt_no, attempt.position) == ("created", 1, 0)
        assert attempt.prepared_at == clock.now() and attempt.started_at is None
        state = json.loads(attempt.cat_state)
        seeds.add(json.dumps(state.get("session", state), sort_keys=True))
        planned = _planned(db_session, attempt.id)
        assert planned and [p.position for p in planned] == list(range(len(planned)))
        assert all(p.offered_at == clock.now() for p in planned)
    assert len(seeds) == len(attempts)  # each attempt has its own CAT session


def test_a_single_pupil_gets_the_same_attempt(db_session: Session, world: Any, clock: Any) -> None:
    pupil = world.users["s-a1b"]
    with inserts_into(db_session) as tables:
        assignment = make_assignment(db_session, world, clock, student_ids=[pupil.id])
    assert tables.count("attempt") == 1
    (attempt,) = _attempts(db_session, assignment.id)
    assert (attempt.student_id, attempt.status, attempt.attempt_no) == (pupil.id, "created", 1)
    assert _planned(db_session, attempt.id)


def test_a_fixed_form_plans_its_items_in_order(db_session: Session, world: Any, clock: Any) -> None:
    from lms.teaching.service import item_bank_ids

    form = tuple(sorted(item_bank_ids())[:3])
    assignment = make_assignment(
        db_session, world, clock, kind="fixed", item_ids=form, min_items=3, max_items=3
    )
    for attempt in _attempts(db_session, assignment.id):
        assert tuple(p.item_id for p in _planned(db_session, attempt.id)) == form


def test_items_a_pupil_answered_recently_are_not_planned_again(
    db_session: Session, world: Any, clock: Any
) -> None:
    first = make_assignment(db_session, world, clock, min_items=4, max_items=4)
    pupil = world.users["s-a1"]
    attempt = next(a for a in _attempts(db_session, first.id) if a.student_id == pupil.id)
    assert attempt.id is not None
    answered = [p.item_id for p in _planned(db_session, attempt.id)]
    for position, item_id in enumerate(answered):
        db_session.add(
            Response(
                attempt_id=attempt.id,
                item_id=item_id,
                position=position,
                answer=["a"],
                correct=True,
                created_at=clock.now(),
                client_event_id=f"earlier-{position}",
            )
        )
    db_session.commit()
    second = make_assignment(db_session, world, clock, min_items=4, max_items=4)
    again = next(a for a in _attempts(db_session, second.id) if a.student_id == pupil.id)
    assert answered and not set(answered) & {p.item_id for p in _planned(db_session, again.id)}
