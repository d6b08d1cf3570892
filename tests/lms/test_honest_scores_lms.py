"""Issue 13 in the LMS: the stored honest report, practice as a separate record, engagement for staff only."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from lms.reading.attempts import score_responses
from lms.reading.delivery import item_bank
from lms.reading.models import Attempt, AttemptReport, Response, SkillEstimate
from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment


def _take(client: Any, headers: dict[str, str], assignment_id: int, *, correct: bool, ms: int = 30000) -> int:
    """Start an assignment and answer every item (right or wrong) in ``ms`` milliseconds each."""
    bank = item_bank()
    view = client.post(f"/api/v1/assignments/{assignment_id}/start", headers=headers).json()
    attempt_id = int(view["attempt_id"])
    while True:
        item = view["items"][0]
        key = bank[item["item_id"]].key[0]
        wrong = next(o["id"] for o in item["options"] if o["id"] != key)
        body = {**answer_body(item, key if correct else wrong), "response_time_ms": ms}
        response = client.post(f"/api/v1/attempts/{attempt_id}/answers", json=body, headers=headers)
        assert response.status_code == 200, response.text
        view = response.json()
        if view["finished"]:
            return attempt_id


def _answered(db: Session, attempt_id: int) -> list[Response]:
    return list(db.exec(select(Response).where(Response.attempt_id == attempt_id)).all())


def _snapshot(db: Session) -> list[tuple[Any, ...]]:
    db.expire_all()
    rows = db.exec(select(SkillEstimate).order_by(col(SkillEstimate.id))).all()
    return [(r.attempt_id, r.skill, r.theta, r.se, r.scale_score, r.band) for r in rows]


def test_a_finished_test_stores_its_honest_report(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock, min_items=6, max_items=6)
    sign_in("s-a1")
    attempt_id = _take(client, csrf_headers(client, settings), assignment.id, correct=True)
    stored = db_session.exec(select(AttemptReport).where(AttemptReport.attempt_id == attempt_id)).one()
    attempt = db_session.get(Attempt, attempt_id)
    assert stored.kind == "test" and attempt is not None and attempt.theta is not None
    report = stored.report
    assert report["n_items"] == 6 and report["n_scored"] == 6 and report["provisional"] is True
    assert abs(report["overall"]["theta"] - attempt.theta) < 0.05  # same model, same answers
    assert report["overall"]["lower"] < report["overall"]["scale_score"] < report["overall"]["upper"]
    assert not report["engagement"]["flagged"] and report["notes_ja"]


def test_rapid_answers_give_staff_a_neutral_note_and_the_child_nothing(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock, min_items=6, max_items=6)
    sign_in("s-a1")
    attempt_id = _take(client, csrf_headers(client, settings), assignment.id, correct=False, ms=600)
    mine = client.get(f"/api/v1/attempts/{attempt_id}/results").json()
    assert mine["engagement"] is None
    page = client.get(f"/results/{attempt_id}").text
    assert "あてずっぽう" not in page and "当て推量" not in page and "解答時間" not in page
    client.cookies.clear()
    sign_in("t-a1")
    theirs = client.get(f"/api/v1/attempts/{attempt_id}/results").json()
    assert theirs["engagement"]["flagged"] and theirs["engagement"]["n_rapid"] == 6
    assert theirs["engagement"]["teacher_note_ja"] in client.get(f"/results/{attempt_id}").text
    assert "当て推量" not in theirs["engagement"]["teacher_note_ja"]
    rows = db_session.exec(select(SkillEstimate).where(SkillEstimate.attempt_id == attempt_id)).all()
    assert rows and all(r.guessing for r in rows)  # the column carries the disengagement flag


def test_a_weak_but_careful_reader_is_not_flagged(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock, min_items=6, max_items=6)
    sign_in("s-a1")
    attempt_id = _take(client, csrf_headers(client, settings), assignment.id, correct=False, ms=45000)
    rows = db_session.exec(select(SkillEstimate).where(SkillEstimate.attempt_id == attempt_id)).all()
    assert rows and not any(r.guessing for r in rows)
    # the old "accuracy not above chance" rule flagged exactly this child
    old = score_responses(item_bank(), [(r.item_id, False) for r in _answered(db_session, attempt_id)])
    assert all(e["guessing"] for e in old)


def test_practice_never_changes_test_scores_growth_or_history(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    """Issue 13's case: a practice set (one skill, 6 items) moved the overall score 509 → 528, added a
    point to the growth chart and said 「前回より 19 点アップ」."""
    test = make_assignment(db_session, world, clock, skills=("DEP", "ANA"), min_items=6, max_items=6)
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    test_attempt = _take(client, headers, test.id, correct=False)
    before_rows = _snapshot(db_session)
    before = client.get(f"/api/v1/attempts/{test_attempt}/results").json()
    before_page = client.get(f"/results/{test_attempt}").text

    practice_items = tuple(i.id for i in item_bank() if i.skill == "ANA" and i.irt is not None)[:6]
    # the old scoring of this practice set would have produced a different overall score
    old_way = score_responses(item_bank(), [(i, True) for i in practice_items])
    assert next(e for e in old_way if e["skill"] == "ALL")["scale_score"] > before["overall"]["upper"]
    practice = make_assignment(
        db_session, world, clock, kind="practice", skills=("ANA",), item_ids=practice_items
    )
    practice_attempt = _take(client, headers, practice.id, correct=True)

    assert _snapshot(db_session) == before_rows  # no skill_estimate row: board figures unchanged too
    attempt = db_session.get(Attempt, practice_attempt)
    assert attempt is not None and attempt.status == "submitted" and attempt.theta is None
    record = client.get(f"/api/v1/attempts/{practice_attempt}/results").json()
    assert record["kind"] == "practice" and record["practice_record"]["n_correct"] == 6
    after = client.get(f"/api/v1/attempts/{test_attempt}/results").json()
    assert {k: v for k, v in after.items() if k != "practice"} == {
        k: v for k, v in before.items() if k != "practice"
    }
    assert [h["attempt_id"] for h in after["history"]] == [test_attempt] and after["growth"] is None
    after_page = client.get(f"/results/{test_attempt}").text
    assert "前回" not in after_page and after_page.count("<circle") == before_page.count("<circle") == 0
    practice_page = client.get(f"/results/{practice_attempt}").text
    assert "6問中 6問 正解" in practice_page and "テストの点数には入りません" in practice_page
    assert "だいたい" not in practice_page
