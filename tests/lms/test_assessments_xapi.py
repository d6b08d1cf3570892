"""xAPI statements in the outbox (same transaction as the answer) and acknowledgements only after commit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.reading.models import Response, XapiOutbox
from lms.reading.xapi import VERB_ANSWERED, VERB_ATTEMPTED, VERB_COMPLETED, validate_statement
from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment


def test_statements_follow_the_japan_assessment_profile(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock, max_items=3, min_items=3)
    student = world.users["s-a1"]
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    while not view.get("finished"):
        body = answer_body(view["items"][0])
        view = client.post(
            f"/api/v1/attempts/{view['attempt_id']}/answers", json=body, headers=headers
        ).json()
    statements = [
        json.loads(row.statement) for row in db_session.exec(select(XapiOutbox).order_by(col(XapiOutbox.id)))
    ]
    assert [s["verb"]["id"] for s in statements] == [VERB_ATTEMPTED] + [VERB_ANSWERED] * 3 + [VERB_COMPLETED]
    for statement in statements:
        assert validate_statement(statement) == []
        text = json.dumps(statement, ensure_ascii=False)
        for private in (student.username, student.email, student.given_name, student.family_name):
            assert private not in text
    actors = {s["actor"]["account"]["name"] for s in statements}
    assert len(actors) == 1  # one stable pseudonym
    registrations = {s["context"]["registration"] for s in statements}
    assert len(registrations) == 1
    responses = db_session.exec(select(Response).order_by(col(Response.position))).all()
    answered = [s for s in statements if s["verb"]["id"] == VERB_ANSWERED]
    for statement, response in zip(answered, responses, strict=True):
        assert statement["object"]["id"].endswith("/items/" + response.item_id)
        assert statement["result"]["score"]["scaled"] == (1.0 if response.correct else 0.0)
        assert statement["result"]["duration"] == "PT4.20S"
    completed = statements[-1]["result"]["score"]
    assert completed["raw"] == sum(r.correct for r in responses) and completed["max"] == 3
    extensions = statements[-1]["result"]["extensions"]
    score = next(v for k, v in extensions.items() if k.endswith("/scale-score"))
    lower, upper = next(v for k, v in extensions.items() if k.endswith("/scale-score-interval"))
    assert lower < score < upper  # the score travels with its 95 % interval


def test_the_validator_refuses_what_the_profile_forbids() -> None:
    from lms.reading.xapi import XapiContext, answered

    ctx = XapiContext(home_page="https://lms.example.jp", secret_key="k" * 32)
    from datetime import UTC, datetime

    good = answered(
        ctx,
        student_id=1,
        attempt_id=2,
        assessment_id=3,
        grade="P3",
        item_id="DEP-001",
        option_ids=("A", "B"),
        key=("A",),
        answer=["B"],
        correct=False,
        position=1,
        difficulty=0.2,
        response_time_ms=1000,
        at=datetime.now(UTC),
    )
    assert validate_statement(good) == []
    bad = json.loads(json.dumps(good))
    del bad["result"]["score"]["scaled"]
    bad["actor"]["mbox"] = "mailto:taro@example.jp"
    bad["version"] = "1.0.0"
    problems = validate_statement(bad)
    assert any("scaled" in p for p in problems) and any("e-mail" in p for p in problems)
    assert any("1.0.3" in p for p in problems)


def test_no_acknowledgement_when_the_commit_fails(
    app: Any, world: Any, clock: Any, db_session: Session, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D's SessionDep commits before the response is sent: a failing commit must give an error, not an ack."""
    from fastapi.testclient import TestClient

    assignment = make_assignment(db_session, world, clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        from tests.lms.conftest import csrf_of

        page = client.get("/login")
        client.post(
            "/login",
            data={"username": "s-a1", "password": "correct-horse-42", "csrf_token": csrf_of(page.text)},
        )
        headers = csrf_headers(client, settings)
        view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
        body = answer_body(view["items"][0])
        # Every commit of the app (ORM session or Core connection, as the answer route's fast path uses)
        # goes through its dialect's do_commit: fail it there, as the database would.
        dialect = app.state.engine.dialect
        original = dialect.do_commit
        failing = {"on": True}

        def do_commit(dbapi_connection: Any) -> None:
            if failing["on"]:
                raise dialect.loaded_dbapi.OperationalError("disk full")
            original(dbapi_connection)

        monkeypatch.setattr(dialect, "do_commit", do_commit)
        response = client.post(f"/api/v1/attempts/{view['attempt_id']}/answers", json=body, headers=headers)
        assert response.status_code == 503  # the database refused: a reason and a next step, in Japanese
        assert "ack" not in response.text and "データベースにつながりません" in response.json()["detail"]
        db_session.expire_all()
        assert db_session.exec(select(func.count()).select_from(Response)).one() == 0
        failing["on"] = False
        retry = client.post(f"/api/v1/attempts/{view['attempt_id']}/answers", json=body, headers=headers)
        assert retry.status_code == 200 and retry.json()["ack"] == body["client_event_id"]
        assert retry.json()["duplicate"] is False
        db_session.expire_all()
        assert db_session.exec(select(func.count()).select_from(Response)).one() == 1
