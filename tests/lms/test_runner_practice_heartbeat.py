"""The runner's practice feedback (right/wrong, key, explanation with ruby, only for answered practice
items) and its heartbeat (a silent reader whose page is open is not offline in the live view)."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from lms.reading.authoring import AccommodationIn
from lms.reading.delivery import item_bank
from lms.reading.models import Attempt
from tests.factories import get_row
from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment

FORM = ("DEP-001", "DEP-002", "ANA-001")


def _start(client: Any, assignment: Any, headers: dict[str, str]) -> dict[str, Any]:
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers)
    assert view.status_code == 200, view.text
    return dict(view.json())


def test_practice_feedback_after_each_item_with_ruby(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    s_a1 = world.users["s-a1"]
    assignment = make_assignment(
        db_session,
        world,
        clock,
        kind="practice",
        item_ids=FORM,
        student_ids=[s_a1.id],
        accommodations={s_a1.id: AccommodationIn(ruby_level="all")},
    )
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = _start(client, assignment, headers)
    attempt_id, item = view["attempt_id"], view["items"][0]
    early = client.get(f"/api/v1/attempts/{attempt_id}/feedback/{item['item_id']}")
    assert early.status_code == 404  # not answered yet: the key stays on the server
    bank_item = item_bank()[item["item_id"]]
    wrong = next(o.id for o in bank_item.options if o.id not in bank_item.key)
    answered = client.post(
        f"/api/v1/attempts/{attempt_id}/answers", json=answer_body(item, wrong), headers=headers
    )
    assert answered.status_code == 200
    fb = client.get(f"/api/v1/attempts/{attempt_id}/feedback/{item['item_id']}").json()
    assert fb["correct"] is False and fb["key"] == list(bank_item.key)
    assert fb["explanation_html"] and fb["explanation_speech"]
    if any(ord(ch) > 0x4E00 for ch in bank_item.explanation):  # kanji: the all-ruby child gets <ruby>
        assert "<ruby>" in fb["explanation_html"]
    page = client.get(f"/test/{assignment.id}").text
    assert 'data-mode="practice"' in page and 'id="feedback-next"' in page


def test_no_feedback_during_a_test(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock, kind="fixed", item_ids=FORM)
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = _start(client, assignment, headers)
    item = view["items"][0]
    client.post(f"/api/v1/attempts/{view['attempt_id']}/answers", json=answer_body(item), headers=headers)
    answer = client.get(f"/api/v1/attempts/{view['attempt_id']}/feedback/{item['item_id']}")
    assert answer.status_code == 409 and "れんしゅうのときだけ" in answer.json()["detail"]
    assert 'data-mode="test"' in client.get(f"/test/{assignment.id}").text
    sign_in("s-a1b")  # another child's attempt: 404
    other = client.get(f"/api/v1/attempts/{view['attempt_id']}/feedback/{item['item_id']}")
    assert other.status_code == 404


def test_a_silent_reader_with_the_page_open_is_not_offline(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock, kind="fixed", item_ids=FORM)
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    attempt_id = _start(client, assignment, headers)["attempt_id"]
    for _ in range(3):  # 90 s on one passage, the runner beating every 30 s
        clock.advance(seconds=30)
        beat = client.post(f"/api/v1/attempts/{attempt_id}/heartbeat", headers=headers)
        assert beat.status_code == 200
    sign_in("t-a1")
    live = client.get(f"/api/v1/assignments/{assignment.id}/live").json()
    mine = next(s for s in live["students"] if s["student_id"] == world.users["s-a1"].id)
    assert mine["state"] == "in_progress"
    clock.advance(seconds=80)  # no heartbeat: the device is gone
    live = client.get(f"/api/v1/assignments/{assignment.id}/live").json()
    mine = next(s for s in live["students"] if s["student_id"] == world.users["s-a1"].id)
    assert mine["state"] == "offline"
    db_session.expire_all()
    assert get_row(db_session, Attempt, attempt_id).last_seen_at is not None


def test_live_page_offers_actions_only_where_they_apply(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock, kind="fixed", item_ids=FORM)
    sign_in("s-a1")
    _start(client, assignment, csrf_headers(client, settings))
    sign_in("t-a1")
    page = client.get(f"/assignments/{assignment.id}/live").text

    def row(username: str) -> str:
        match = re.search(rf'<tr data-student="{world.users[username].id}".*?</tr>', page, re.S)
        assert match is not None
        return match.group(0)

    started, not_started = row("s-a1"), row("s-a1b")
    assert re.search(r'data-action="reset"[^>]*>', started) and 'やり直し" hidden' not in started
    assert 'の再開を許可" hidden>' in started  # time has not run out: nothing to resume
    assert "まだ始めていません" in not_started
    assert 'data-action="reset"' not in not_started or 'やり直し" hidden' in not_started
