"""The score sender: a claimed batch is loaded with a few queries, not a few per row; every URL it calls
with the platform's token — also a line item ``id`` from the platform's answer — passes the service-URL
check (issue 23 leftovers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlmodel import Session

from lms.lti import score_sender
from lms.lti.ags import SCALE_MAXIMUM, enqueue_score
from lms.lti.deep_linking import resource_id_of
from lms.lti.service_models import LtiLineItem
from lms.lti.services_token import SCOPE_LINEITEM, ServiceError, TokenEndpoint
from lms.reading.models import Attempt
from tests.factories import pk
from tests.lms.assessments_helpers import make_assignment
from tests.lti.portal import register_portal


@contextmanager
def counted_statements(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = session.get_bind()

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def queue_scores(db_session: Session, world: Any, clock: Any, assignment_id: int) -> None:
    """Two finished attempts for each of A1's two students, each score queued as finishing queues it
    (`enqueue_score`, into the assignment's grade column)."""
    for username in ("s-a1", "s-a1b"):
        for attempt_no in (11, 12):
            attempt = Attempt(
                assignment_id=assignment_id,
                student_id=pk(world.users[username]),
                attempt_no=attempt_no,
                status="finished",
                finished_at=clock.now(),
            )
            db_session.add(attempt)
            db_session.flush()
            queued = enqueue_score(
                session=db_session,
                attempt=attempt,
                kind="practice",
                report=None,
                n_correct=attempt_no,
                n_items=20,
                now=clock.now(),
            )
            assert queued is not None
    db_session.commit()


def test_a_claimed_batch_is_loaded_with_the_same_queries_whatever_its_size(
    db_session: Session, world: Any, clock: Any
) -> None:
    portal = register_portal(db_session, world.classes["A1"])
    sub = portal.link(db_session, world.users["s-a1"])
    assignment = make_assignment(db_session, world, clock)
    line_item = LtiLineItem(
        assignment_id=pk(assignment),
        lti_context_id=pk(portal.context),
        resource_id=resource_id_of(pk(assignment)),
        label="読解力テスト",
        score_maximum=SCALE_MAXIMUM,
    )
    db_session.add(line_item)
    db_session.commit()
    queue_scores(db_session, world, clock, pk(assignment))
    now = clock.now() + timedelta(minutes=1)

    with counted_statements(db_session) as one_row:
        [first] = score_sender.claim(session=db_session, now=now, limit=1)
    with counted_statements(db_session) as three_rows:
        rest = score_sender.claim(session=db_session, now=now, limit=10)
    db_session.rollback()
    assert len(rest) == 3
    assert len(three_rows) == len(one_row), three_rows
    # and the jobs carry what each row needs
    jobs = [first, *rest]
    assert [job.user_sub for job in jobs] == [sub, sub, None, None]
    assert [job.score["scoreGiven"] for job in jobs] == [11, 12, 11, 12]
    assert {job.lineitems_url for job in jobs} == {portal.platform.lineitems_url}
    assert {job.endpoint.token_url for job in jobs} == {portal.platform.token_url}
    assert jobs[2].student_ids == tuple(
        i for i in (world.users["s-a1b"].sourced_id, world.users["s-a1b"].user_master_identifier) if i
    )
    assert all("http://portal.test" in job.origins for job in jobs)


def job(**changes: Any) -> score_sender.Job:
    values: dict[str, Any] = {
        "row_id": 1,
        "tries": 0,
        "score": {},
        "user_sub": "u-1",
        "line_item_id": 1,
        "lineitem_url": None,
        "resource_id": "giga-assignment-1",
        "label": "読解力テスト",
        "score_maximum": SCALE_MAXIMUM,
        "lineitems_url": "https://portal.test/lineitems",
        "scopes": (SCOPE_LINEITEM,),
        "endpoint": TokenEndpoint(token_url="https://portal.test/token", client_id="c"),
        "origins": frozenset({"https://portal.test"}),
    }
    return score_sender.Job(**{**values, **changes})


def platform_answering(found: list[dict[str, Any]], created_id: str, calls: list[str]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url}")
        if request.method == "GET":
            return httpx.Response(200, json=found)
        return httpx.Response(201, json={"id": created_id, "resourceId": "giga-assignment-1"})

    return httpx.Client(transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(
    "created_id",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://grades.portal.example/1",
        "http://127.0.0.1:8000/x",
    ],
    ids=["metadata-address", "name-for-a-private-address", "loopback"],
)
def test_a_created_line_items_id_is_checked_before_the_score_goes_there(
    created_id: str, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["grades.portal.example"] = ["10.0.0.7"]
    calls: list[str] = []
    with platform_answering([], created_id, calls) as client, pytest.raises(ServiceError, match="may call"):
        score_sender.find_or_create_line_item(client, job(), "tok")
    assert calls == [
        "GET https://portal.test/lineitems?resource_id=giga-assignment-1",
        "POST https://portal.test/lineitems",
    ]


def test_a_found_line_items_id_is_checked_too(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["grades.portal.example"] = ["10.0.0.7"]
    found = [{"id": "https://grades.portal.example/7", "resourceId": "giga-assignment-1"}]
    calls: list[str] = []
    with platform_answering(found, "", calls) as client, pytest.raises(ServiceError, match="may call"):
        score_sender.find_or_create_line_item(client, job(), "tok")
    # on the platform's origin or a public host, the id is taken
    fake_dns["grades.portal.example"] = ["93.184.215.14"]
    with platform_answering(found, "", calls) as client:
        assert score_sender.find_or_create_line_item(client, job(), "tok") == found[0]["id"]
    with platform_answering([], "https://portal.test/lineitems/9", calls) as client:
        assert (
            score_sender.find_or_create_line_item(client, job(), "tok") == "https://portal.test/lineitems/9"
        )


def test_a_stored_url_whose_name_now_leads_inside_is_not_called(fake_dns: dict[str, list[str]]) -> None:
    """Checked at the launch, checked again at sending: the name may resolve elsewhere by now."""
    fake_dns["grades.portal.example"] = ["10.0.0.7"]
    calls: list[str] = []
    stored = job(lineitems_url="https://grades.portal.example/lineitems")
    with platform_answering([], "", calls) as client, pytest.raises(ServiceError, match="may call"):
        score_sender.find_or_create_line_item(client, stored, "tok")
    assert calls == []
