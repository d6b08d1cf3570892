"""Every teacher route refuses outsiders: other teacher or student → 404, board → 403 (DESIGN §3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from lms.audit.models import AuditEvent
from lms.reading.models import Attempt
from lms.teaching import service
from lms.teaching.schemas import AssignmentCreate
from tests.lms.conftest import csrf_of

READS = [
    ("GET", "/classes/{class}/assignments"),
    ("GET", "/assignments/{assignment}/live"),
    ("GET", "/classes/{class}/report"),
    ("GET", "/classes/{class}/report/print"),
    ("GET", "/classes/{class}/report.csv"),
    ("GET", "/api/v1/assignments/{assignment}/live"),
    ("GET", "/api/v1/classes/{class}/report"),
]
WRITES = [
    ("GET", "/classes/{class}/assignments/new"),
    ("POST", "/classes/{class}/assignments"),
    ("POST", "/api/v1/classes/{class}/assignments"),
    ("POST", "/api/v1/assignments/{assignment}/close"),
    ("POST", "/api/v1/attempts/{attempt}/reset"),
    ("POST", "/api/v1/attempts/{attempt}/resume"),
]


@pytest.fixture
def a1_test(world: Any, db_session: Session) -> dict[str, int]:
    """An adaptive test given to class A1 by its teacher."""
    klass = world.classes["A1"]
    assignment = service.create_assignment(
        session=db_session,
        actor=world.users["t-a1"],
        class_=klass,
        data=AssignmentCreate(title="テスト", max_items=5),
        now=datetime.now(UTC),
        ip=None,
    )
    db_session.commit()
    attempt = db_session.exec(select(Attempt).where(Attempt.assignment_id == assignment.id)).first()
    assert attempt is not None and assignment.id is not None
    return {"class": klass.id, "assignment": assignment.id, "attempt": attempt.id}


def call(client: Any, method: str, path: str, ids: dict[str, int], token: str) -> Any:
    url = path.format(**ids)
    if method == "GET":
        return client.get(url, follow_redirects=False)
    if url.startswith("/api/"):
        body = {"title": "x"} if url.endswith("/assignments") else None
        return client.post(url, json=body, headers={"X-CSRF-Token": token})
    return client.post(url, data={"csrf_token": token, "title": "x"}, follow_redirects=False)


CASES = [
    # (user, expected for reads, expected for writes)
    ("t-b1", 404, 404),  # a teacher of another school's class
    ("s-a1", 404, 404),  # a student of the very class
    ("board", 403, 403),  # individual results are not for the board
    ("sa-a", 200, 403),  # school admin reads their school's results, does not operate tests
]


@pytest.mark.parametrize(("username", "read_status", "write_status"), CASES)
def test_denials_on_every_route(
    client: Any,
    sign_in: Any,
    a1_test: dict[str, int],
    db_session: Session,
    username: str,
    read_status: int,
    write_status: int,
) -> None:
    sign_in(username)
    token = csrf_of(client.get("/home").text)
    for method, path in READS + WRITES:
        expected = read_status if (method, path) in READS else write_status
        response = call(client, method, path, a1_test, token)
        assert response.status_code == expected, (username, method, path, response.status_code, response.text)
    db_session.expire_all()
    actions = [e.action for e in db_session.exec(select(AuditEvent))]
    resets = db_session.exec(select(Attempt).where(Attempt.status == "reset")).all()
    assert not resets  # nothing changed
    if read_status != 200:
        assert not [a for a in actions if a.startswith("report.")], actions  # a refused read is not logged
    else:
        for action in ("report.view", "report.print", "report.export"):
            assert action in actions


def test_a_teacher_of_the_same_school_but_not_the_class_gets_404(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    sign_in("t-a1")
    assert client.get(f"/classes/{world.classes['A2'].id}/report").status_code == 404
    assert client.get(f"/api/v1/classes/{world.classes['A2'].id}/report").status_code == 404
    assert client.get("/api/v1/assignments/999999/live").status_code == 404
    assert client.post("/api/v1/attempts/999999/reset", headers={"X-CSRF-Token": "x"}).status_code == 403


def test_not_signed_in(client: Any, a1_test: dict[str, int]) -> None:
    assert client.get(f"/api/v1/classes/{a1_test['class']}/report").status_code == 401
    page = client.get(f"/classes/{a1_test['class']}/report", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_api_tokens_need_the_results_scope_and_may_not_change_tests(
    client: Any, api_token: Any, a1_test: dict[str, int]
) -> None:
    secret = api_token("t-a1", ["roster:read"])
    headers = {"Authorization": f"Bearer {secret}"}
    report = client.get(f"/api/v1/classes/{a1_test['class']}/report", headers=headers)
    assert report.status_code == 403 and "results:read" in report.json()["detail"]
    close = client.post(f"/api/v1/assignments/{a1_test['assignment']}/close", headers=headers)
    assert close.status_code == 403
