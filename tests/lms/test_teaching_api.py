"""The teacher side through HTTP: assign, live view, reset / resume / close, class report, CSV, audit."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.reading.attempts import score_responses
from lms.reading.delivery import item_bank
from lms.reading.models import (
    Accommodation,
    Assignment,
    AssignmentTarget,
    Attempt,
    Response,
)
from tests.factories import pk, skill_estimate
from tests.lms.conftest import csrf_of

FORM_ITEMS = ["DEP-001", "DEP-002", "ANA-001"]


def signed_in(client: Any, sign_in: Any, username: str) -> str:
    """Sign in and return the session's CSRF token (for the JSON API's X-CSRF-Token header)."""
    sign_in(username)
    return csrf_of(client.get("/home").text)


def assign(client: Any, token: str, class_id: int, **body: Any) -> Any:
    payload = {"title": "5月の読解力テスト", "kind": "cat", "max_items": 6, **body}
    return client.post(
        f"/api/v1/classes/{class_id}/assignments", json=payload, headers={"X-CSRF-Token": token}
    )


def audit_actions(db_session: Session) -> list[str]:
    db_session.expire_all()
    return [e.action for e in db_session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def test_assign_to_a_group_with_accommodations_prepares_their_attempts(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    token = signed_in(client, sign_in, "t-a1")
    s1 = world.users["s-a1"]
    response = assign(
        client,
        token,
        world.classes["A1"].id,
        student_ids=[s1.id],
        accommodations=[{"user_id": s1.id, "ruby_level": "all", "extra_time_pct": 50, "read_aloud": True}],
        time_limit_min=20,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["students"] == 1
    aid = body["assignment_id"]
    targets = db_session.exec(select(AssignmentTarget).where(AssignmentTarget.assignment_id == aid)).all()
    assert [t.user_id for t in targets] == [s1.id]
    acc = db_session.exec(select(Accommodation).where(Accommodation.assignment_id == aid)).one()
    assert (acc.ruby_level, acc.extra_time_pct, acc.read_aloud, acc.large_text) == ("all", 50, True, False)
    attempts = db_session.exec(select(Attempt).where(Attempt.assignment_id == aid)).all()
    assert [(a.student_id, a.status) for a in attempts] == [(s1.id, "created")]
    assert "assignment.create" in audit_actions(db_session)


def test_assign_refuses_bad_settings_with_a_clear_message(client: Any, sign_in: Any, world: Any) -> None:
    token = signed_in(client, sign_in, "t-a1")
    klass = world.classes["A1"].id
    bad = assign(client, token, klass, kind="fixed", item_ids=["NOPE-999"])
    assert bad.status_code == 400 and "問題バンクにない" in bad.json()["detail"]
    bad = assign(client, token, klass, student_ids=[world.users["s-b1"].id])  # not in this class
    assert bad.status_code == 400 and "このクラスにいない" in bad.json()["detail"]
    bad = assign(client, token, klass, min_items=9, max_items=3)
    assert bad.status_code == 400 and "最少問題数" in bad.json()["detail"]
    assert assign(client, token, klass, max_items="many").status_code == 422
    assert client.get(f"/api/v1/classes/{klass}/report").json()["students"][0]["scores"] == {}


def test_the_assign_form_creates_a_fixed_form_and_redirects_to_the_live_view(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    sign_in("t-a1")
    klass = world.classes["A1"].id
    page = client.get(f"/classes/{klass}/assignments/new")
    assert page.status_code == 200 and "山田 一郎" in page.text and "DEP-001" in page.text
    s1 = world.users["s-a1"].id
    form = {
        "csrf_token": csrf_of(page.text),
        "title": "固定フォームのテスト",
        "kind": "fixed",
        "item_ids": FORM_ITEMS,
        "target": "all",
        "acc_user": [str(s1), str(world.users["s-a1b"].id)],
        f"large_{s1}": "on",
        "opens_at": "",
        "closes_at": "",
    }
    done = client.post(f"/classes/{klass}/assignments", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assignment = db_session.exec(select(Assignment).where(Assignment.class_id == klass)).one()
    assert done.headers["location"] == f"/assignments/{assignment.id}/live"
    acc = db_session.exec(select(Accommodation).where(Accommodation.assignment_id == assignment.id)).one()
    assert acc.user_id == s1 and acc.large_text and not acc.read_aloud
    live = client.get(done.headers["location"])
    assert live.status_code == 200 and "未開始" in live.text and "約3問" in live.text
    # a window that closes before it opens is refused, with the form kept
    form.update({"opens_at": "2030-05-01T10:00", "closes_at": "2030-05-01T09:00", "title": "二つめ"})
    again = client.post(f"/classes/{klass}/assignments", data=form, follow_redirects=False)
    assert (
        again.status_code == 400
        and "終了日時は開始日時より後" in again.text
        and 'value="二つめ"' in again.text
    )


def test_live_view_tracks_progress_offline_and_finish(
    client: Any, sign_in: Any, world: Any, db_session: Session, clock: Any
) -> None:
    token = signed_in(client, sign_in, "t-a1")
    aid = assign(client, token, world.classes["A1"].id).json()["assignment_id"]
    attempt = db_session.exec(
        select(Attempt).where(Attempt.assignment_id == aid, Attempt.student_id == world.users["s-a1"].id)
    ).one()
    attempt.status, attempt.position = "in_progress", 3
    attempt.started_at = attempt.last_seen_at = clock.now() - timedelta(seconds=30)
    db_session.add(attempt)
    db_session.commit()
    live = client.get(f"/api/v1/assignments/{aid}/live").json()
    rows = {row["name"]: row for row in live["students"]}
    assert rows["山田 一郎"]["state"] == "in_progress" and rows["山田 一郎"]["label"] == "4 / 約6問"
    assert rows["山田 花子"]["state"] == "not_started"
    assert live["counts"]["in_progress"] == 1 and live["counts"]["not_started"] == 1
    clock.advance(seconds=31)  # 61 s without an answer: a slow reader, not offline
    live = client.get(f"/api/v1/assignments/{aid}/live").json()
    assert live["counts"]["offline"] == 0
    clock.advance(seconds=15)  # 76 s without an answer or a heartbeat
    live = client.get(f"/api/v1/assignments/{aid}/live").json()
    assert live["counts"]["offline"] == 1
    assert "通信が途切れています" in {r["name"]: r for r in live["students"]}["山田 一郎"]["label"]


def test_reset_resume_and_close(
    client: Any, sign_in: Any, world: Any, db_session: Session, clock: Any
) -> None:
    token = signed_in(client, sign_in, "t-a1")
    headers = {"X-CSRF-Token": token}
    aid = assign(client, token, world.classes["A1"].id, time_limit_min=10).json()["assignment_id"]
    first = db_session.exec(
        select(Attempt).where(Attempt.assignment_id == aid, Attempt.student_id == world.users["s-a1"].id)
    ).one()
    reset = client.post(f"/api/v1/attempts/{first.id}/reset", headers=headers)
    assert reset.status_code == 200, reset.text
    db_session.expire_all()
    attempts = db_session.exec(
        select(Attempt).where(Attempt.assignment_id == aid, Attempt.student_id == world.users["s-a1"].id)
    ).all()
    assert sorted((a.attempt_no, a.status) for a in attempts) == [(1, "reset"), (2, "created")]
    live = client.get(f"/api/v1/assignments/{aid}/live").json()
    assert {r["name"]: r for r in live["students"]}["山田 一郎"]["attempt_id"] == reset.json()["attempt_id"]
    assert client.post(f"/api/v1/attempts/{first.id}/reset", headers=headers).status_code == 409
    # time over → the teacher lets the student continue
    fresh = db_session.get(Attempt, reset.json()["attempt_id"])
    assert fresh is not None
    fresh.status, fresh.started_at = "expired", clock.now() - timedelta(minutes=11)
    fresh.deadline_at = fresh.finished_at = clock.now() - timedelta(minutes=1)
    db_session.add(fresh)
    db_session.commit()
    resumed = client.post(f"/api/v1/attempts/{fresh.id}/resume", headers=headers)
    assert resumed.status_code == 200 and resumed.json()["status"] == "in_progress", resumed.text
    # close for everyone
    closed = client.post(f"/api/v1/assignments/{aid}/close", headers=headers)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    db_session.expire_all()
    statuses = {a.status for a in db_session.exec(select(Attempt).where(Attempt.assignment_id == aid))}
    assert statuses <= {"reset", "expired", "submitted"}
    assert client.post(f"/api/v1/assignments/{aid}/close", headers=headers).status_code == 409
    assert client.post(f"/api/v1/attempts/{fresh.id}/resume", headers=headers).status_code == 409
    actions = audit_actions(db_session)
    for action in ("attempt.reset", "attempt.resume", "assignment.close"):
        assert action in actions
    # the API needs the CSRF header when called with the browser session
    assert client.post(f"/api/v1/assignments/{aid}/close").status_code == 403


def seed_results(db_session: Session, world: Any, client: Any, token: str) -> int:
    """A fixed form taken by both students of A1: responses and estimates stored as the delivery would."""
    aid = assign(client, token, world.classes["A1"].id, kind="fixed", item_ids=FORM_ITEMS).json()[
        "assignment_id"
    ]
    answers = {
        "s-a1": [("DEP-001", ["A"], True), ("DEP-002", ["B"], True), ("ANA-001", ["C"], False)],
        "s-a1b": [("DEP-001", ["C"], False), ("DEP-002", ["C"], False), ("ANA-001", ["C"], False)],
    }
    for username, rows in answers.items():
        student = world.users[username]
        attempt = db_session.exec(
            select(Attempt).where(Attempt.assignment_id == aid, Attempt.student_id == student.id)
        ).one()
        attempt.status = "submitted"
        db_session.add(attempt)
        for position, (item_id, answer, correct) in enumerate(rows):
            db_session.add(
                Response(
                    attempt_id=pk(attempt),
                    item_id=item_id,
                    position=position,
                    answer=answer,
                    correct=correct,
                    client_event_id=f"{username}-{item_id}",
                )
            )
        for est in score_responses(
            {item.id: item for item in item_bank().items}, [(item_id, ok) for item_id, _, ok in rows]
        ):
            db_session.add(
                skill_estimate(
                    attempt,
                    est["skill"],
                    est["scale_score"],
                    band=est["band"],
                    guessing=est["guessing"],
                    se=est["se"],
                    n_items=est["n_items"],
                    theta=est["theta"],
                )
            )
    db_session.commit()
    return int(aid)


def test_class_report_page_json_print_and_csv(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    token = signed_in(client, sign_in, "t-a1")
    aid = seed_results(db_session, world, client, token)
    klass = world.classes["A1"].id
    data = client.get(f"/api/v1/classes/{klass}/report?assignment_id={aid}").json()
    by_name = {s["name"]: s for s in data["students"]}
    overall = by_name["山田 花子"]["scores"]["ALL"]
    assert overall["lower"] < overall["scale_score"] < overall["upper"] and overall["se"] > 50
    assert overall["band_text_ja"].startswith("「")
    # three items: no skill number (PRMSE), no guessing talk
    assert by_name["山田 花子"]["scores"]["DEP"]["scale_score"] is None
    assert by_name["山田 花子"]["scores"]["DEP"]["lower"] is None and data["notes_ja"]
    page = client.get(f"/classes/{klass}/report?assignment_id={aid}")
    assert page.status_code == 200
    interval = f'<span class="interval">（{overall["lower"]}〜{overall["upper"]}）</span>'
    assert interval in page.text and "当て推量" not in page.text and data["notes_ja"][0] in page.text
    assert 'id="item-analysis"' in page.text and "50%" in page.text  # DEP-001: one of two correct
    assert "<svg" in page.text and 'role="img"' in page.text
    ana = next(i for i in data["items"] if i["item_id"] == "ANA-001")
    assert ana["facility"] == 0.0 and {o["id"]: o["rate"] for o in ana["options"]}["C"] == 1.0
    printable = client.get(f"/classes/{klass}/report/print?assignment_id={aid}")
    assert (
        printable.status_code == 200
        and "printable" in printable.text
        and "/static/print.css" in printable.text
    )
    exported = client.get(f"/classes/{klass}/report.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:8] == [
        "出席番号",
        "氏名",
        "ふりがな",
        "読解力（総合） スコア",
        "読解力（総合） 95%下限",
        "読解力（総合） 95%上限",
        "読解力（総合） 段階",
        "読解力（総合） 所見",
    ]
    assert rows[0][8:10] == ["係り受け解析 スコア", "係り受け解析 95%下限"]
    assert rows[0][-2:] == ["学年の中での位置（暫定）", "解答の様子"]
    assert rows[2][:6] == [
        "2",
        "山田 花子",
        "ヤマダ テスト",
        *[str(overall[k]) for k in ("scale_score", "lower", "upper")],
    ]
    assert rows[2][8:10] == ["", ""]  # DEP: no number, no interval
    assert all(row[3] and row[4] and row[5] for row in rows[1:3])  # every score has its interval
    actions = audit_actions(db_session)
    assert actions.count("report.view") == 2 and "report.print" in actions and "report.export" in actions
    assert client.get(f"/classes/{klass}/report?assignment_id=abc").status_code == 400
    other = client.get(f"/api/v1/classes/{klass}/report?assignment_id=999999")
    assert other.status_code == 404


def test_a_reset_attempt_leaves_the_report(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    token = signed_in(client, sign_in, "t-a1")
    aid = seed_results(db_session, world, client, token)
    attempt = db_session.exec(
        select(Attempt).where(Attempt.assignment_id == aid, Attempt.student_id == world.users["s-a1b"].id)
    ).one()
    assert (
        client.post(f"/api/v1/attempts/{attempt.id}/reset", headers={"X-CSRF-Token": token}).status_code
        == 200
    )
    data = client.get(f"/api/v1/classes/{world.classes['A1'].id}/report").json()
    assert {s["name"]: s["scores"] for s in data["students"]}["山田 花子"] == {}


@pytest.mark.parametrize("username", ["sa-a", "admin"])
def test_school_admin_and_admin_read_the_report(client: Any, sign_in: Any, world: Any, username: str) -> None:
    sign_in(username)
    assert client.get(f"/classes/{world.classes['A1'].id}/report").status_code == 200
