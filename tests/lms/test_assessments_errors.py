"""Bad input to the answer endpoint: a clear 4xx, nothing stored, nothing else changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.reading.models import Attempt, AttemptItem, Response, SkillEstimate, XapiOutbox
from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment


def _snapshot(db_session: Session) -> tuple[Any, ...]:
    db_session.expire_all()
    counts = tuple(
        int(db_session.exec(select(func.count()).select_from(model)).one())
        for model in (Response, XapiOutbox, AttemptItem, SkillEstimate)
    )
    attempts = tuple(
        (a.id, a.status, a.position, a.cat_state, a.finished_at)
        for a in db_session.exec(select(Attempt).order_by(col(Attempt.id)))
    )
    return counts, attempts


@pytest.fixture
def started(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> dict[str, Any]:
    assignment = make_assignment(db_session, world, clock, time_limit_s=600, closes_in=timedelta(minutes=15))
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    return {"view": view, "headers": headers, "url": f"/api/v1/attempts/{view['attempt_id']}/answers"}


def _not_offered(started: dict[str, Any], **_: Any) -> dict[str, Any]:
    body = answer_body(started["view"]["items"][0])
    offered = {i["item_id"] for i in started["view"]["items"]}
    body["item_id"] = next(
        i for i in ("DEP-001", "DEP-002", "DEP-003", "DEP-004", "DEP-005") if i not in offered
    )
    return body


def _window_closed(started: dict[str, Any], clock: Any, **_: Any) -> dict[str, Any]:
    clock.advance(minutes=16)
    return answer_body(started["view"]["items"][0])


def _deadline_passed(started: dict[str, Any], clock: Any, **_: Any) -> dict[str, Any]:
    clock.advance(seconds=601)
    return answer_body(started["view"]["items"][0])


def _unknown_option(started: dict[str, Any], **_: Any) -> dict[str, Any]:
    return answer_body(started["view"]["items"][0], option="Z9")


def _two_options_for_single_choice(started: dict[str, Any], **_: Any) -> dict[str, Any]:
    item = next(i for i in started["view"]["items"] if i["format"] != "select_all")
    body = answer_body(item)
    body["answer"] = [o["id"] for o in item["options"][:2]]
    return body


CASES: list[tuple[str, Callable[..., dict[str, Any]], int, str]] = [
    ("item not offered", _not_offered, 400, "出された問題ではありません"),
    ("window closed", _window_closed, 409, "受付は終わりました"),
    ("deadline passed", _deadline_passed, 409, "時間が終わりました"),
    ("unknown option", _unknown_option, 400, "選択肢にありません"),
    ("two options", _two_options_for_single_choice, 400, "一つだけ"),
]


@pytest.mark.parametrize(("name", "make_body", "status", "message"), CASES, ids=[c[0] for c in CASES])
def test_refused_answers_store_nothing(
    client: Any,
    started: dict[str, Any],
    clock: Any,
    db_session: Session,
    name: str,
    make_body: Callable[..., dict[str, Any]],
    status: int,
    message: str,
) -> None:
    before = _snapshot(db_session)
    body = make_body(started, clock=clock)
    response = client.post(started["url"], json=body, headers=started["headers"])
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert _snapshot(db_session) == before


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("answer"),
        lambda b: b.update(answer=[]),
        lambda b: b.update(client_event_id="short"),
        lambda b: b.update(client_event_id="has spaces in it!"),
        lambda b: b.update(response_time_ms=-5),
        lambda b: b.update(answer="A"),
    ],
    ids=["no answer", "empty answer", "short event id", "bad event id", "negative time", "answer not a list"],
)
def test_malformed_answers_are_422(
    client: Any, started: dict[str, Any], db_session: Session, mutate: Any
) -> None:
    before = _snapshot(db_session)
    body = answer_body(started["view"]["items"][0])
    mutate(body)
    response = client.post(started["url"], json=body, headers=started["headers"])
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert _snapshot(db_session) == before


def test_another_students_attempt_is_404(
    client: Any, started: dict[str, Any], sign_in: Any, db_session: Session, settings: Any
) -> None:
    before = _snapshot(db_session)
    sign_in("s-a1b")
    headers = csrf_headers(client, settings)
    body = answer_body(started["view"]["items"][0])
    response = client.post(started["url"], json=body, headers=headers)
    assert response.status_code == 404 and "見つかりません" in response.json()["detail"]
    assert client.get(f"/api/v1/attempts/{started['view']['attempt_id']}").status_code == 404
    assert (
        client.post(f"/api/v1/attempts/{started['view']['attempt_id']}/finish", headers=headers).status_code
        == 404
    )
    assert client.get(f"/api/v1/attempts/{started['view']['attempt_id']}/results").status_code == 404
    assert client.post("/api/v1/attempts/999999/answers", json=body, headers=headers).status_code == 404
    assert _snapshot(db_session) == before


def test_board_gets_403_on_an_individual_attempt(
    client: Any, started: dict[str, Any], sign_in: Any, db_session: Session, settings: Any
) -> None:
    before = _snapshot(db_session)
    sign_in("board")
    headers = csrf_headers(client, settings)
    attempt_id = started["view"]["attempt_id"]
    response = client.post(started["url"], json=answer_body(started["view"]["items"][0]), headers=headers)
    assert response.status_code == 403 and "教育委員会" in response.json()["detail"]
    assert client.get(f"/api/v1/attempts/{attempt_id}").status_code == 403
    assert client.get(f"/api/v1/attempts/{attempt_id}/results").status_code == 403
    assert _snapshot(db_session) == before


def test_answers_to_a_finished_attempt_are_409(
    client: Any, started: dict[str, Any], db_session: Session
) -> None:
    attempt_id = started["view"]["attempt_id"]
    first = answer_body(started["view"]["items"][0])
    assert client.post(started["url"], json=first, headers=started["headers"]).status_code == 200
    finish = client.post(f"/api/v1/attempts/{attempt_id}/finish", headers=started["headers"])
    assert finish.status_code == 200 and finish.json()["status"] == "submitted"
    before = _snapshot(db_session)
    late = answer_body(started["view"]["items"][1])
    response = client.post(started["url"], json=late, headers=started["headers"])
    assert response.status_code == 409 and "終わっています" in response.json()["detail"]
    assert _snapshot(db_session) == before
    # the retry of an answer that was stored before the end still gets its acknowledgement
    retry = client.post(started["url"], json=first, headers=started["headers"])
    assert retry.status_code == 200 and retry.json()["duplicate"] is True and retry.json()["finished"] is True


def test_without_csrf_header_nothing_is_stored(
    client: Any, started: dict[str, Any], db_session: Session
) -> None:
    before = _snapshot(db_session)
    response = client.post(started["url"], json=answer_body(started["view"]["items"][0]))
    assert response.status_code == 403
    assert _snapshot(db_session) == before


def test_a_student_outside_the_class_cannot_start(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock)
    sign_in("s-a2")  # class A2
    response = client.post(
        f"/api/v1/assignments/{assignment.id}/start", headers=csrf_headers(client, settings)
    )
    assert response.status_code == 404
    assert (
        int(
            db_session.exec(
                select(func.count()).select_from(Attempt).where(Attempt.student_id == world.users["s-a2"].id)
            ).one()
        )
        == 0
    )


def test_time_over_expires_the_attempt_and_scores_it(
    client: Any, started: dict[str, Any], clock: Any, db_session: Session
) -> None:
    attempt_id = started["view"]["attempt_id"]
    assert (
        client.post(
            started["url"], json=answer_body(started["view"]["items"][0]), headers=started["headers"]
        ).status_code
        == 200
    )
    clock.advance(seconds=601)
    view = client.get(f"/api/v1/attempts/{attempt_id}").json()
    assert view["status"] == "expired" and view["items"] == []
    results = client.get(f"/api/v1/attempts/{attempt_id}/results")
    assert results.status_code == 200 and results.json()["overall"]["n_items"] == 1
