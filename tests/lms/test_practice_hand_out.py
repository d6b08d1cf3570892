"""「この内容でクラス全員に配る」 in a fixed number of statements (issue 22), with the same sets as one child
at a time, prepared attempts, and a retry by request key that hands out nothing twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from lms.audit.models import AuditEvent
from lms.reading.models import Assessment, Assignment, Attempt, AttemptItem
from lms.reading.practice import service
from lms.roster.models import SchoolClass, User
from tests.factories import add_member, found, get_row, pk
from tests.lms.conftest import csrf_of
from tests.lms.test_practice_api import NOW, _api_csrf, give_results


@contextmanager
def counted(session: Session) -> Iterator[list[str]]:
    """The statements the session's engine executes meanwhile (one per `Connection.execute`, however the
    dialect batches its rows)."""
    statements: list[str] = []
    engine = session.get_bind()

    def record(_conn: Any, clause: Any, *_args: Any) -> None:
        statements.append(str(clause).split("\n")[0][:60])

    event.listen(engine, "before_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_execute", record)


def _class_of(session: Session, world: Any, size: int) -> Any:
    klass = world.classes["A1"]
    for n in range(size - 2):  # A1 has two pupils already
        add_member(session, klass=klass, username=f"extra{n}", number=10 + n, enrollment_id=f"x-{n}")
    session.commit()
    return klass


def _attempts(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Attempt)).one())


def test_the_hand_out_makes_as_many_statements_for_a_big_class_as_for_a_small_one(
    db_session: Session, world: Any
) -> None:
    give_results(db_session, world)
    teacher = world.users["t-a1"]
    klass = world.classes["A1"]
    with counted(db_session) as small:
        two = service.assign_practice(session=db_session, actor=teacher, class_=klass, now=NOW)
    db_session.rollback()
    _class_of(db_session, world, 12)
    db_session.refresh(teacher)  # loaded again after the commit, outside the count
    with counted(db_session) as big:
        twelve = service.assign_practice(session=db_session, actor=teacher, class_=klass, now=NOW)
    assert (len(two), len(twelve)) == (2, 12)
    assert len(big) == len(small), (small, big)
    assert len(big) <= 20


def test_each_child_gets_the_set_recommended_to_them_with_a_prepared_attempt(
    db_session: Session, world: Any
) -> None:
    give_results(db_session, world)
    klass = _class_of(db_session, world, 6)
    pupils = service.class_practice(session=db_session, class_=klass, now=NOW)
    expected = {row.student.id: [r.item_id for r in row.recommended] for row in pupils}
    one_by_one = {
        row.student.id: [
            r.item_id for r in service.recommend_for(session=db_session, student=row.student, now=NOW)
        ]
        for row in pupils
    }
    assert expected == one_by_one  # the class path gathers the same inputs as the one-child path
    done = service.assign_practice(session=db_session, actor=world.users["t-a1"], class_=klass, now=NOW)
    db_session.commit()
    assert {a.student_id: a.item_ids for a in done} == {s: items for s, items in expected.items() if items}
    for given in done:
        assignment = get_row(db_session, Assignment, given.assignment_id)
        assessment = get_row(db_session, Assessment, assignment.assessment_id)
        assert (assessment.kind, assessment.item_ids) == ("practice", given.item_ids)
        attempt = db_session.exec(select(Attempt).where(Attempt.assignment_id == given.assignment_id)).one()
        assert (attempt.student_id, attempt.status, attempt.attempt_no) == (given.student_id, "created", 1)
        planned = db_session.exec(
            select(AttemptItem.item_id)
            .where(AttemptItem.attempt_id == attempt.id)
            .order_by(col(AttemptItem.position))
        ).all()
        assert planned and list(planned) == given.item_ids[: len(planned)]
        assert json.loads(attempt.cat_state)["queue"] == list(planned)


def test_a_retry_with_the_same_key_hands_out_nothing_twice(
    client: Any, db_session: Session, world: Any, sign_in: Any
) -> None:
    give_results(db_session, world)
    sign_in("t-a1")
    url = f"/api/v1/classes/{world.classes['A1'].id}/practice/assign"
    headers = _api_csrf(client)
    first = client.post(url, json={"request_key": "hand-out-0001"}, headers=headers)
    assert first.status_code == 200, first.text
    db_session.expire_all()
    attempts = _attempts(db_session)
    again = client.post(url, json={"request_key": "hand-out-0001"}, headers=headers)
    assert again.status_code == 200 and again.json() == first.json()
    db_session.expire_all()
    assert _attempts(db_session) == attempts
    events = db_session.exec(select(AuditEvent).where(AuditEvent.action == "practice.assign")).all()
    assert len(events) == 1
    other = client.post(url, json={"request_key": "hand-out-0002"}, headers=headers)
    assert other.status_code == 200 and other.json() != first.json()
    db_session.expire_all()
    assert _attempts(db_session) == attempts + 2
    bad = client.post(url, json={"request_key": "no spaces please"}, headers=headers)
    assert bad.status_code == 422


def test_the_page_form_sends_its_key_so_a_resent_form_is_one_hand_out(
    client: Any, db_session: Session, world: Any, sign_in: Any
) -> None:
    give_results(db_session, world)
    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/practice"
    page = client.get(url).text
    form = {"csrf_token": csrf_of(page), "hand_out_key": found(r'name="hand_out_key" value="([^"]+)"', page)}
    for _ in range(2):
        done = client.post(f"{url}/assign", data=form, follow_redirects=False)
        assert done.status_code == 303
    db_session.expire_all()
    assert _attempts(db_session) == 2 + 1  # give_results' finished test and one practice per child
    next_page = client.get(url).text
    assert found(r'name="hand_out_key" value="([^"]+)"', next_page) != form["hand_out_key"]


@pytest.mark.postgresql_only
def test_two_requests_with_one_key_at_the_same_moment_hand_out_once(
    engine: Engine, db_session: Session, world: Any
) -> None:
    """The second request waits on the key's unique index for the first one's commit, then returns its
    result (PostgreSQL: row locks; SQLite serialises writers anyway)."""
    give_results(db_session, world)
    teacher_id, class_id = pk(world.users["t-a1"]), pk(world.classes["A1"])

    def hand_out(session: Session) -> list[Any]:
        teacher, klass = get_row(session, User, teacher_id), get_row(session, SchoolClass, class_id)
        return service.assign_practice(
            session=session, actor=teacher, class_=klass, now=NOW, request_key="same-moment-01"
        )

    second: dict[str, list[Any]] = {}

    def run_second() -> None:
        with Session(engine, expire_on_commit=False) as session:
            second["done"] = hand_out(session)
            session.commit()

    with Session(engine, expire_on_commit=False) as first_session:
        first = hand_out(first_session)
        thread = threading.Thread(target=run_second)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "the second request must wait for the first one's commit"
        first_session.commit()
    thread.join(60)
    assert not thread.is_alive() and second["done"] == first
    db_session.expire_all()
    assert _attempts(db_session) == 1 + len(first)  # give_results' test and one practice per child
