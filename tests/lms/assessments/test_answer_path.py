"""The answer route's own gate and its writes (the route runs the API gate itself, in one thread-pool call,
instead of taking it as a router dependency — see `lms.reading.routes`).

Every test here runs twice: on the route's one-SELECT path (`lms.reading.answer_route`: session,
user and attempt read together) and with that path switched off, on the general path every other route
takes (session lookup, API gate, `submit_answer`) — the two must give the same answers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.params import Depends
from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.reading.models import Attempt, AttemptItem, Response, XapiOutbox
from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment


@pytest.fixture(autouse=True, params=["one_select", "general"])
def answer_path(request: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Which path serves the answers; counts how often the one-SELECT path answered itself."""
    from lms.reading import answer_route

    served = {"one_select": 0}
    original = answer_route._answer_for_cookie

    def one_select(*args: Any, **kwargs: Any) -> Any:
        if request.param == "general":
            raise answer_route._GeneralPath
        ack = original(*args, **kwargs)
        served["one_select"] += 1
        return ack

    monkeypatch.setattr(answer_route, "_answer_for_cookie", one_select)
    served["general_only"] = int(request.param == "general")
    return served


def _answer_first_item(client: Any, started: dict[str, Any]) -> Any:
    return client.post(
        started["url"], json=answer_body(started["view"]["items"][0]), headers=started["headers"]
    )


def _count(db_session: Session, model: Any) -> int:
    db_session.expire_all()
    return int(db_session.exec(select(func.count()).select_from(model)).one())


@pytest.fixture
def started(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> dict[str, Any]:
    assignment = make_assignment(
        db_session, world, clock, min_items=4, max_items=4, closes_in=timedelta(minutes=10)
    )
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    return {"view": view, "headers": headers, "url": f"/api/v1/attempts/{view['attempt_id']}/answers"}


def test_every_other_reading_test_route_takes_the_api_gate_as_a_dependency() -> None:
    from lms.permissions import api_gate
    from lms.reading.routes import answer, router

    for route in router.routes:
        gates = [
            d
            for d in getattr(route, "dependencies", [])
            if isinstance(d, Depends) and d.dependency is api_gate
        ]
        if getattr(route, "endpoint", None) is answer:
            assert not gates  # it calls the gate itself, with the rest of its work on one thread
        else:
            assert gates, f"{route} is not gated"


def test_answers_need_a_signed_in_browser_session(
    client: Any, started: dict[str, Any], db_session: Session
) -> None:
    before = _count(db_session, Response)
    body = answer_body(started["view"]["items"][0])
    client.cookies.clear()
    response = client.post(started["url"], json=body, headers=started["headers"])
    assert response.status_code == 401 and "サインイン" in response.json()["detail"]
    assert _count(db_session, Response) == before


def test_an_expired_session_cannot_answer(
    client: Any, started: dict[str, Any], db_session: Session, clock: Any, settings: Any
) -> None:
    clock.advance(minutes=settings.session_idle_timeout_minutes + 1)
    response = _answer_first_item(client, started)
    assert response.status_code == 401
    assert _count(db_session, Response) == 0


def test_api_tokens_cannot_answer(
    client: Any, started: dict[str, Any], world: Any, db_session: Session, clock: Any
) -> None:
    from lms.auth.service import create_api_token

    teacher = world.users["t-a1"]
    _token, secret = create_api_token(
        session=db_session,
        actor=teacher,
        owner=teacher,
        name="採点スクリプト",
        scopes=["results:read"],
        ip=None,
        now=clock.now(),
    )
    db_session.commit()
    client.cookies.clear()
    response = client.post(
        started["url"],
        json=answer_body(started["view"]["items"][0]),
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 403 and "APIトークン" in response.json()["detail"]
    bad = client.post(
        started["url"],
        json=answer_body(started["view"]["items"][0]),
        headers={"Authorization": "Bearer nope"},
    )
    assert bad.status_code == 401
    assert _count(db_session, Response) == 0


def test_each_answer_writes_response_planned_items_state_and_statement_together(
    client: Any, started: dict[str, Any], db_session: Session, clock: Any
) -> None:
    attempt_id = started["view"]["attempt_id"]
    outbox_before = _count(db_session, XapiOutbox)
    items = started["view"]["items"]
    acks = []
    for step in range(3):
        clock.advance(seconds=20)  # the server's clock stamps the rows
        body = answer_body(items[0], event_id=f"event-{step:04d}")
        ack = client.post(started["url"], json=body, headers=started["headers"])
        assert ack.status_code == 200, ack.text
        acks.append(ack.json())
        items = ack.json()["items"]
        db_session.expire_all()
        attempt = db_session.get(Attempt, attempt_id)
        assert attempt is not None
        stored = list(
            db_session.exec(
                select(Response).where(Response.attempt_id == attempt_id).order_by(col(Response.id))
            )
        )
        # the response row, with θ̂/SE after it, equal to the attempt's
        assert [r.client_event_id for r in stored] == [f"event-{k:04d}" for k in range(step + 1)]
        last = stored[-1]
        assert (
            last.position == step and last.answer == body["answer"] and last.device_hint == "test-chromebook"
        )
        assert last.created_at == clock.now() and attempt.last_seen_at == clock.now()
        assert attempt.position == step + 1 and acks[-1]["position"] == step + 1
        assert attempt.theta == pytest.approx(last.theta_after) and attempt.se == pytest.approx(last.se_after)
        # every item in the stored state's plan has its attempt_item row, and no other item does
        planned = set(json.loads(attempt.cat_state)["offered"])
        rows = set(db_session.exec(select(AttemptItem.item_id).where(AttemptItem.attempt_id == attempt_id)))
        assert rows == planned and {i["item_id"] for i in items} <= planned
        # one xAPI "answered" statement per answer (after the "attempted" one of the start)
        assert _count(db_session, XapiOutbox) == outbox_before + step + 1
    newest = db_session.exec(select(XapiOutbox).order_by(col(XapiOutbox.id).desc())).first()
    assert newest is not None and newest.tries == 0 and newest.sent_at is None
    assert json.loads(newest.statement)["verb"]["id"].endswith("/answered")


def test_a_retry_after_the_window_closed_still_gets_its_ack(
    client: Any, started: dict[str, Any], db_session: Session, clock: Any
) -> None:
    body = answer_body(started["view"]["items"][0])
    first = client.post(started["url"], json=body, headers=started["headers"])
    assert first.status_code == 200
    clock.advance(minutes=11)  # the assignment closed meanwhile
    retry = client.post(started["url"], json=body, headers=started["headers"])
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    assert retry.json()["ack"] == body["client_event_id"]
    late = client.post(started["url"], json=answer_body(first.json()["items"][0]), headers=started["headers"])
    assert late.status_code == 409
    assert _count(db_session, Response) == 1


def test_the_ack_sends_only_the_payloads_the_page_does_not_hold(
    client: Any, started: dict[str, Any], db_session: Session
) -> None:
    view = started["view"]
    held = {item["item_id"]: item for item in view["items"]}
    first = view["items"][0]
    body = {**answer_body(first), "known": [i for i in held if i != first["item_id"]]}
    ack = client.post(started["url"], json=body, headers=started["headers"])
    assert ack.status_code == 200, ack.text
    data = ack.json()
    db_session.expire_all()
    attempt = db_session.get(Attempt, view["attempt_id"])
    assert attempt is not None
    queue = json.loads(attempt.cat_state)["queue"]
    # the queue's ids in order; payloads exactly for the queue items the page did not list
    assert data["queue"] == queue and first["item_id"] not in queue
    assert [i["item_id"] for i in data["items"]] == [i for i in queue if i not in body["known"]]
    # the spliced JSON is the same payload as the full state sends
    full = client.get(f"/api/v1/attempts/{view['attempt_id']}", headers=started["headers"]).json()["items"]
    by_id = {i["item_id"]: i for i in full}
    assert all(item == by_id[item["item_id"]] for item in data["items"])
    # a retry of the same answer (the ack was lost) is acknowledged with the same queue; a page that lists
    # nothing gets every payload of the queue, like a client that does not send ``known``
    retry = client.post(started["url"], json={**body, "known": []}, headers=started["headers"]).json()
    assert retry["duplicate"] is True and retry["queue"] == queue
    assert [i["item_id"] for i in retry["items"]] == queue
    plain = client.post(
        started["url"], json=answer_body(first, event_id=body["client_event_id"]), headers=started["headers"]
    ).json()
    assert plain["duplicate"] is True and [i["item_id"] for i in plain["items"]] == queue


def test_known_is_bounded(client: Any, started: dict[str, Any], db_session: Session) -> None:
    body = {**answer_body(started["view"]["items"][0]), "known": [f"X-{k}" for k in range(65)]}
    response = client.post(started["url"], json=body, headers=started["headers"])
    assert response.status_code == 422
    assert _count(db_session, Response) == 0


def test_a_signed_in_students_answer_is_served_by_the_one_select_path(
    client: Any, started: dict[str, Any], answer_path: dict[str, int]
) -> None:
    ack = _answer_first_item(client, started)
    assert ack.status_code == 200, ack.text
    assert answer_path["one_select"] == (0 if answer_path["general_only"] else 1)


def test_another_students_attempt_is_not_found(
    client: Any, started: dict[str, Any], sign_in: Any, settings: Any, db_session: Session
) -> None:
    body = answer_body(started["view"]["items"][0])
    sign_in("s-a2")  # a classmate, signed in on the same device
    response = client.post(started["url"], json=body, headers=csrf_headers(client, settings))
    assert response.status_code == 404
    assert _count(db_session, Response) == 0


def test_an_answer_without_the_csrf_header_is_refused(
    client: Any, started: dict[str, Any], db_session: Session
) -> None:
    body = answer_body(started["view"]["items"][0])
    response = client.post(started["url"], json=body)
    assert response.status_code == 403 and "読み込み直して" in response.json()["detail"]
    forged = client.post(started["url"], json=body, headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403
    assert _count(db_session, Response) == 0


def test_a_half_signed_in_session_cannot_answer(
    client: Any, started: dict[str, Any], db_session: Session
) -> None:
    from lms.auth.models import AuthSession

    for row in db_session.exec(select(AuthSession)):
        row.stage = "mfa"  # password accepted, second factor still to come
        db_session.add(row)
    db_session.commit()
    response = _answer_first_item(client, started)
    assert response.status_code == 401
    assert _count(db_session, Response) == 0


def test_a_disabled_student_cannot_answer(
    client: Any, started: dict[str, Any], world: Any, db_session: Session
) -> None:
    student = db_session.get(type(world.users["s-a1"]), world.users["s-a1"].id)
    assert student is not None
    student.enabled = False
    db_session.add(student)
    db_session.commit()
    for _ in range(2):  # the live session does not let a disabled account back in
        response = _answer_first_item(client, started)
        assert response.status_code == 401
    assert _count(db_session, Response) == 0


def test_the_session_is_kept_alive_by_answers_at_most_once_a_minute(
    client: Any, started: dict[str, Any], db_session: Session, clock: Any
) -> None:
    from lms.auth.models import AuthSession

    def last_seen() -> Any:
        db_session.expire_all()
        return db_session.exec(select(AuthSession.last_seen_at)).one()

    items = started["view"]["items"]
    clock.advance(minutes=5)
    ack = client.post(
        started["url"], json=answer_body(items[0], event_id="event-0001"), headers=started["headers"]
    )
    assert ack.status_code == 200, ack.text
    touched = clock.now()
    assert last_seen() == touched
    clock.advance(seconds=30)
    ack = client.post(
        started["url"],
        json=answer_body(ack.json()["items"][0], event_id="event-0002"),
        headers=started["headers"],
    )
    assert ack.status_code == 200, ack.text
    assert last_seen() == touched  # not a write per request
