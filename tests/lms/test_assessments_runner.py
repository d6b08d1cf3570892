"""The test runner API end to end: start, answer to the end, resume, idempotent retries, results."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.reading.models import Attempt, AttemptItem, Response, SkillEstimate, XapiOutbox
from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment

FORBIDDEN_KEYS = ("key", "explanation", "irt", "correct")


def _count(db_session: Session, model: Any, *where: Any) -> int:
    db_session.expire_all()
    return int(db_session.exec(select(func.count()).select_from(model).where(*where)).one())


def _assert_no_key(items: list[dict[str, Any]]) -> None:
    for item in items:
        for name in FORBIDDEN_KEYS:
            assert name not in item
        assert set(item) >= {"item_id", "stimulus_html", "instruction_html", "options", "speech"}
        text = json.dumps(item, ensure_ascii=False)
        assert '"key"' not in text and '"explanation"' not in text


def test_a_student_takes_a_cat_to_the_end(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock, max_items=5, min_items=5)
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    assert view["status"] == "in_progress" and view["position"] == 0 and view["expected_length"] == 5
    assert len(view["items"]) == 3  # current + two prefetched
    attempt_id = view["attempt_id"]
    seen: list[str] = []
    acks: list[str] = []
    while True:
        _assert_no_key(view["items"])
        item = view["items"][0]
        assert item["item_id"] not in seen, "an answered item came back"
        seen.append(item["item_id"])
        body = answer_body(item)
        response = client.post(f"/api/v1/attempts/{attempt_id}/answers", json=body, headers=headers)
        assert response.status_code == 200, response.text
        view = response.json()
        assert view["ack"] == body["client_event_id"] and view["saved"] and not view["duplicate"]
        acks.append(view["ack"])
        assert view["position"] == len(seen)
        if view["finished"]:
            break
    assert len(seen) == 5 and view["status"] == "submitted" and view["items"] == []

    rows = db_session.exec(
        select(Response).where(Response.attempt_id == attempt_id).order_by(col(Response.position))
    ).all()
    assert [r.item_id for r in rows] == seen
    assert [r.position for r in rows] == list(range(5))
    assert [r.client_event_id for r in rows] == acks
    assert all(r.theta_after is not None and 0 < (r.se_after or 0) < 1 for r in rows)
    assert all(r.response_time_ms == 4200 and r.device_hint == "test-chromebook" for r in rows)
    offered = set(db_session.exec(select(AttemptItem.item_id).where(AttemptItem.attempt_id == attempt_id)))
    assert set(seen) <= offered
    estimates = {
        e.skill: e
        for e in db_session.exec(select(SkillEstimate).where(SkillEstimate.attempt_id == attempt_id))
    }
    assert {"ALL", "DEP", "ANA"} <= set(estimates)
    assert estimates["ALL"].n_items == 5
    assert estimates["ALL"].scale_score == round(500 + 100 * estimates["ALL"].theta)

    results = client.get(f"/api/v1/attempts/{attempt_id}/results")
    assert results.status_code == 200, results.text
    data = results.json()
    overall = data["overall"]
    assert overall["skill"] == "ALL" and overall["lower"] < overall["scale_score"] < overall["upper"]
    assert overall["child_range_ja"] == f"だいたい {overall['child_lower']}〜{overall['child_upper']} 点"
    assert {s["skill"] for s in data["skills"]} == {"DEP", "ANA"}
    # five items cannot support a skill number (PRMSE): no number, the reason instead
    assert all(s["name_ja"] and not s["show_number"] and s["score"] is None for s in data["skills"])
    assert data["skills_note_ja"] and data["engagement"] is None  # engagement is never shown to the child
    assert [h["attempt_id"] for h in data["history"]] == [attempt_id]
    assert data["history"][0]["lower"] == overall["lower"] and data["growth"] is None
    # finishing again is idempotent
    again = client.post(f"/api/v1/attempts/{attempt_id}/finish", headers=headers)
    assert again.status_code == 200 and again.json()["status"] == "submitted"
    assert _count(db_session, SkillEstimate, SkillEstimate.attempt_id == attempt_id) == len(estimates)


def test_a_retried_answer_is_stored_once_and_acknowledged_the_same(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock)
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    body = answer_body(view["items"][0])
    first = client.post(f"/api/v1/attempts/{view['attempt_id']}/answers", json=body, headers=headers)
    outbox = _count(db_session, XapiOutbox)
    second = client.post(f"/api/v1/attempts/{view['attempt_id']}/answers", json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["duplicate"] is False and second.json()["duplicate"] is True
    assert (
        second.json()["ack"] == first.json()["ack"] and second.json()["position"] == first.json()["position"]
    )
    assert second.json()["items"] == first.json()["items"]
    assert _count(db_session, Response, Response.client_event_id == body["client_event_id"]) == 1
    assert _count(db_session, Response) == 1
    assert _count(db_session, XapiOutbox) == outbox


def test_reload_and_start_again_resume_the_same_attempt(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock)
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    ack = client.post(
        f"/api/v1/attempts/{view['attempt_id']}/answers", json=answer_body(view["items"][0]), headers=headers
    ).json()
    resumed = client.get(f"/api/v1/attempts/{view['attempt_id']}").json()
    restarted = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    for state in (resumed, restarted):
        assert state["attempt_id"] == view["attempt_id"] and state["status"] == "in_progress"
        assert state["position"] == 1 and state["items"] == ack["items"]
        assert state["answered"] == [ack["ack"]]
        assert state["deadline_at"] == view["deadline_at"]
    assert _count(db_session, Attempt) == 2  # one prepared attempt per student of class A1, no more
    assert _count(db_session, Attempt, Attempt.status == "in_progress") == 1


def test_prefetched_items_can_be_answered_out_of_order_while_offline(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock, max_items=6, min_items=6)
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    queued = view["items"]
    # the page went through the three queued items offline; the answers arrive later, the last first
    bodies = [answer_body(item) for item in queued]
    url = f"/api/v1/attempts/{view['attempt_id']}/answers"
    for body in (bodies[2], bodies[0], bodies[1]):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 200, response.text
    final = client.get(f"/api/v1/attempts/{view['attempt_id']}").json()
    assert final["position"] == 3
    assert not {i["item_id"] for i in final["items"]} & {i["item_id"] for i in queued}
    assert _count(db_session, Response) == 3


def test_ruby_follows_the_accommodation(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    from lms.reading.authoring import AccommodationIn

    student = world.users["s-a1"]
    assignment = make_assignment(
        db_session,
        world,
        clock,
        accommodations={student.id: AccommodationIn(ruby_level="none", read_aloud=True)},
    )
    sign_in("s-a1")
    view = client.post(
        f"/api/v1/assignments/{assignment.id}/start", headers=csrf_headers(client, settings)
    ).json()
    assert view["accommodations"]["read_aloud"] is True
    assert all("<ruby>" not in (item["stimulus_html"] or "") for item in view["items"])
    assert all(item["speech"]["stimulus"] for item in view["items"])

    sign_in("s-a1b")  # class A1 is P3: kanji above grade 3 get ruby
    other = client.post(
        f"/api/v1/assignments/{assignment.id}/start", headers=csrf_headers(client, settings)
    ).json()
    assert other["attempt_id"] != view["attempt_id"]
    assert other["accommodations"]["read_aloud"] is False
