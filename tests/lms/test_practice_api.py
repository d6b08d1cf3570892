"""Practice recommendations through the service and the HTTP API: content, overrides, assignment, denials."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.reading.models import Assessment, Assignment, AssignmentTarget, Attempt, Response, SkillEstimate
from lms.reading.practice import service
from lms.reading.practice.models import PracticeOverride
from reading_tests.items import load_bank
from tests.factories import pk
from tests.lms.conftest import csrf_of

BANK = load_bank()
NOW = datetime(2026, 6, 10, 1, 0, tzinfo=UTC)  # 10:00 in Japan


def _attempt(session: Session, world: Any, student: str, *, at: datetime) -> Attempt:
    klass = world.classes["A1"]
    assessment = Assessment(title="読解力テスト", kind="cat", created_at=at)
    session.add(assessment)
    session.flush()
    assignment = Assignment(
        assessment_id=pk(assessment), class_id=klass.id, title="読解力テスト", opens_at=at
    )
    session.add(assignment)
    session.flush()
    attempt = Attempt(
        assignment_id=pk(assignment), student_id=world.users[student].id, status="submitted", finished_at=at
    )
    session.add(attempt)
    session.flush()
    return attempt


def give_results(session: Session, world: Any, student: str = "s-a1") -> dict[str, Any]:
    """A finished test: ANA weakest, INF next; a wrong REP answer yesterday; one ANA item answered."""
    attempt = _attempt(session, world, student, at=NOW - timedelta(days=1))
    thetas = {
        "DEP": 0.9,
        "ANA": -1.3,
        "PARA": 0.4,
        "INF": -0.6,
        "REP": 0.8,
        "INST_DICT": 0.5,
        "INST_MATH": 1.0,
    }
    for skill, theta in {**thetas, "ALL": 0.1}.items():
        session.add(
            SkillEstimate(
                student_id=world.users[student].id,
                attempt_id=pk(attempt),
                skill=skill,
                theta=theta,
                se=0.4,
                scale_score=round(500 + 100 * theta),
                band=3,
                created_at=NOW - timedelta(days=1),
            )
        )
    rep = next(i for i in BANK if i.skill == "REP" and i.grade_min == "P3")
    ana = next(i for i in BANK if i.skill == "ANA" and i.grade_min == "P3")
    for position, (item, correct) in enumerate([(rep, False), (ana, True)], start=1):
        session.add(
            Response(
                attempt_id=pk(attempt),
                item_id=item.id,
                position=position,
                answer=["A"],
                correct=correct,
                client_event_id=f"ev-{student}-{position}",
                created_at=NOW - timedelta(days=1),
            )
        )
    session.commit()
    return {"rep": rep.id, "ana": ana.id}


def test_recommendation_targets_weak_skills_reviews_misses_and_skips_seen_items(
    db_session: Session, world: Any
) -> None:
    seen = give_results(db_session, world)
    student = world.users["s-a1"]
    recs = service.recommend_for(session=db_session, student=student, now=NOW)
    assert recs, "a student with results gets practice"
    assert recs[0].kind == "review" and recs[0].skill == "REP"
    assert recs[0].reason == "前にまちがえた『イメージ同定』のふくしゅうです"
    growth = [r for r in recs if r.kind == "growth"]
    assert growth and {r.skill for r in growth} <= {"ANA", "INF"}
    assert any(r.reason == "『照応解決』の力をのばす問題です" for r in growth)
    assert seen["ana"] not in {r.item_id for r in recs}
    by_id = {i.id: i for i in BANK}
    assert all(by_id[r.item_id].grade_min in ("P1", "P2", "P3") for r in recs)  # class A1 is P3
    assert service.recommend_for(session=db_session, student=student, now=NOW) == recs  # stable in a day
    assert all("key" not in r.to_dict() for r in recs)


def test_no_review_before_it_is_due(db_session: Session, world: Any) -> None:
    give_results(db_session, world)
    recs = service.recommend_for(
        session=db_session, student=world.users["s-a1"], now=NOW - timedelta(days=1) + timedelta(hours=1)
    )
    assert all(r.kind != "review" for r in recs)


def _api_csrf(client: Any) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_of(client.get("/tokens").text)}


def test_student_sees_own_practice_only(client: Any, db_session: Session, world: Any, sign_in: Any) -> None:
    give_results(db_session, world)
    sign_in("s-a1")
    mine = client.get("/api/v1/practice/me")
    assert mine.status_code == 200
    assert mine.json() and {"item_id", "reason", "skill_name", "kind"} <= set(mine.json()[0])
    own = client.get(f"/api/v1/students/{world.users['s-a1'].id}/practice")
    assert own.status_code == 200
    other = client.get(f"/api/v1/students/{world.users['s-a1b'].id}/practice")
    assert other.status_code == 404
    assert client.get("/api/v1/students/999999/practice").status_code == 404
    assert client.get(f"/api/v1/classes/{world.classes['A1'].id}/practice").status_code == 404
    changed = client.put(
        f"/api/v1/students/{world.users['s-a1'].id}/practice/override",
        json={"skills": ["DEP"]},
        headers=_api_csrf(client),
    )
    assert changed.status_code == 403
    assert "先生" in changed.json()["detail"] or "先生" in changed.text


@pytest.mark.parametrize(
    ("username", "class_key", "status"),
    [
        ("t-a1", "A1", 200),
        ("sa-a", "A1", 200),
        ("admin", "A1", 200),
        ("t-b1", "A1", 404),
        ("board", "A1", 403),
    ],
)
def test_class_practice_permissions(
    client: Any, db_session: Session, world: Any, sign_in: Any, username: str, class_key: str, status: int
) -> None:
    give_results(db_session, world)
    sign_in(username)
    response = client.get(f"/api/v1/classes/{world.classes[class_key].id}/practice")
    assert response.status_code == status, response.text
    student = client.get(f"/api/v1/students/{world.users['s-a1'].id}/practice")
    assert student.status_code == status
    if status == 200:
        rows = {row["student_id"]: row for row in response.json()}
        assert set(rows) == {world.users["s-a1"].id, world.users["s-a1b"].id}
        assert rows[world.users["s-a1"].id]["recommended"][0]["kind"] == "review"
    page = client.get(f"/classes/{world.classes[class_key].id}/practice")
    assert page.status_code == status
    if status == 200:
        assert "前にまちがえた『イメージ同定』のふくしゅうです" in page.text


def test_teacher_override_is_used_audited_and_reversible(
    client: Any, db_session: Session, world: Any, sign_in: Any
) -> None:
    give_results(db_session, world)
    sign_in("t-a1")
    headers = _api_csrf(client)
    student_id = world.users["s-a1"].id
    chosen = [i.id for i in BANK if i.skill == "PARA"][:2]
    response = client.put(
        f"/api/v1/students/{student_id}/practice/override", json={"item_ids": chosen}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["item_id"] for r in body["recommended"]] == chosen
    assert body["recommended"][0]["reason"] == "先生がえらんだ『同義文判定』の問題です"
    assert body["automatic"] and body["automatic"] != body["recommended"]
    assert body["override"]["item_ids"] == chosen

    narrowed = client.put(
        f"/api/v1/students/{student_id}/practice/override", json={"skills": ["DEP"]}, headers=headers
    ).json()
    assert narrowed["recommended"] and {r["skill"] for r in narrowed["recommended"]} == {"DEP"}

    bad = client.put(
        f"/api/v1/students/{student_id}/practice/override", json={"item_ids": ["NOPE-999"]}, headers=headers
    )
    assert bad.status_code == 400 and "NOPE-999" in bad.text
    assert (
        client.put(f"/api/v1/students/{student_id}/practice/override", json={}, headers=headers).status_code
        == 400
    )
    assert (
        client.put(
            f"/api/v1/students/{student_id}/practice/override", json={"skills": ["XYZ"]}, headers=headers
        ).status_code
        == 400
    )
    other = client.put(
        f"/api/v1/students/{world.users['s-b1'].id}/practice/override",
        json={"skills": ["DEP"]},
        headers=headers,
    )
    assert other.status_code == 404

    cleared = client.delete(f"/api/v1/students/{student_id}/practice/override", headers=headers).json()
    assert cleared["override"] is None and cleared["recommended"] == cleared["automatic"]
    db_session.expire_all()
    actions = [
        e.action
        for e in db_session.exec(select(AuditEvent).where(AuditEvent.target_id == str(student_id)))
        if e.action.startswith("practice.")
    ]
    assert actions.count("practice.override") == 2
    assert "practice.override_cleared" in actions and "practice.view" in actions


def test_assigning_practice_gives_each_student_their_own_set(
    client: Any, db_session: Session, world: Any, sign_in: Any
) -> None:
    give_results(db_session, world)
    sign_in("t-a1")
    response = client.post(
        f"/api/v1/classes/{world.classes['A1'].id}/practice/assign", json={}, headers=_api_csrf(client)
    )
    assert response.status_code == 200, response.text
    done = {row["student_id"]: row for row in response.json()}
    assert set(done) == {world.users["s-a1"].id, world.users["s-a1b"].id}
    db_session.expire_all()
    for student_id, row in done.items():
        assignment = db_session.get(Assignment, row["assignment_id"])
        assert assignment is not None
        assessment = db_session.get(Assessment, assignment.assessment_id)
        assert assessment is not None and assessment.kind == "practice"
        assert assessment.item_ids == row["item_ids"]
        targets = db_session.exec(
            select(AssignmentTarget.user_id).where(AssignmentTarget.assignment_id == assignment.id)
        ).all()
        assert targets == [student_id]
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "practice.assign")).one()
    assert len(json.loads(event.detail or "{}")["assignments"]) == 2
    # the assigned items are now planned in an open attempt, so tomorrow's set avoids them
    student = world.users["s-a1"]
    again = service.automatic_for(session=db_session, student=student, now=NOW + timedelta(days=1))
    assert not set(done[student.id]["item_ids"]) & {r.item_id for r in again}
    stranger = client.post(
        f"/api/v1/classes/{world.classes['A1'].id}/practice/assign",
        json={"student_ids": [world.users["s-b1"].id]},
        headers=_api_csrf(client),
    )
    assert stranger.status_code == 400


def test_teacher_page_override_form(client: Any, db_session: Session, world: Any, sign_in: Any) -> None:
    give_results(db_session, world)
    sign_in("t-a1")
    page = client.get(f"/classes/{world.classes['A1'].id}/practice")
    token = csrf_of(page.text)
    student_id = world.users["s-a1b"].id
    response = client.post(
        f"/classes/{world.classes['A1'].id}/practice/override",
        data={"csrf_token": token, "student_id": str(student_id), "skills": ["INF", "REP"], "item_ids": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303
    shown = client.get(response.headers["location"])
    assert "おすすめを変更しました" in shown.text and "先生が変更" in shown.text
    outsider = client.post(
        f"/classes/{world.classes['A1'].id}/practice/override",
        data={"csrf_token": token, "student_id": str(world.users["s-b1"].id), "skills": ["INF"]},
        follow_redirects=False,
    )
    assert outsider.status_code == 404
    db_session.expire_all()
    rows = db_session.exec(
        select(PracticeOverride).where(col(PracticeOverride.student_id) == student_id)
    ).all()
    assert [r.skills for r in rows] == [["INF", "REP"]]
