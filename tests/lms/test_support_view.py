"""The audited support view: an admin grants a board user one school's individual class reports for a time.

Proves the denials (no grant, another school, after ends_at, revoked, teachers/students) and that every use
is in the audit log with the grant it relied on.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.reading.models import Assessment, Assignment, Attempt, SkillEstimate
from tests.factories import pk
from tests.lms.assessments_helpers import csrf_headers
from tests.lms.conftest import csrf_of


def _finished_test(
    db_session: Session, world: Any, clock: Any, class_key: str, scores: dict[str, int]
) -> None:
    """A submitted attempt with an overall estimate for each student named in ``scores``."""
    teacher = world.users["t-a1"]
    assessment = Assessment(title="読解力テスト", kind="cat", created_by_id=teacher.id)
    db_session.add(assessment)
    db_session.flush()
    assignment = Assignment(
        assessment_id=pk(assessment), class_id=world.classes[class_key].id, title="読解力テスト 1学期"
    )
    db_session.add(assignment)
    db_session.flush()
    for username, score in scores.items():
        attempt = Attempt(
            assignment_id=pk(assignment),
            student_id=world.users[username].id,
            status="submitted",
            finished_at=clock.now() - timedelta(days=1),
        )
        db_session.add(attempt)
        db_session.flush()
        db_session.add(
            SkillEstimate(
                student_id=attempt.student_id,
                attempt_id=pk(attempt),
                skill="ALL",
                theta=(score - 500) / 100,
                se=0.3,
                scale_score=score,
                band=3,
                n_items=10,
            )
        )
    db_session.commit()


def _grant(
    client: Any, settings: Any, world: Any, clock: Any, school: str, minutes: float = 7 * 24 * 60
) -> dict[str, Any]:
    now = clock.now()
    response = client.post(
        "/api/v1/support/grants",
        json={
            "board_user_id": world.users["board"].id,
            "school_id": world.orgs[school].id,
            "reason": "第一小学校の読解力向上の校内研修を支援するため",
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(minutes=minutes)).isoformat(),
        },
        headers=csrf_headers(client, settings),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _support_events(db_session: Session) -> list[AuditEvent]:
    db_session.expire_all()
    return list(
        db_session.exec(
            select(AuditEvent).where(AuditEvent.action == "support.view").order_by(col(AuditEvent.id))
        )
    )


def test_board_without_grant_is_refused(client: Any, sign_in: Any, world: Any, db_session: Session) -> None:
    _finished_test(db_session, world, _Clock(), "A1", {"s-a1": 540, "s-a1b": 460})
    sign_in("board")
    class_id = world.classes["A1"].id
    assert client.get(f"/support/classes/{class_id}/report").status_code == 403
    assert client.get(f"/api/v1/support/classes/{class_id}/report").status_code == 403
    assert client.get(f"/support/schools/{world.orgs['A'].id}").status_code == 403
    # the ordinary teacher route stays closed to the board as well
    assert client.get(f"/classes/{class_id}/report").status_code == 403
    assert _support_events(db_session) == []


class _Clock:
    def now(self) -> Any:
        from datetime import UTC, datetime

        return datetime.now(UTC)


def test_grant_lets_the_board_user_see_that_school_only_and_every_use_is_audited(
    client: Any, sign_in: Any, world: Any, clock: Any, settings: Any, db_session: Session
) -> None:
    _finished_test(db_session, world, clock, "A1", {"s-a1": 540, "s-a1b": 460})
    _finished_test(db_session, world, clock, "B1", {"s-b1": 600})
    sign_in("admin")
    grant = _grant(client, settings, world, clock, "A")
    assert grant["state"] == "active"
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/home").text)})

    sign_in("board")
    page = client.get(f"/support/classes/{world.classes['A1'].id}/report")
    assert page.status_code == 200, page.text
    assert "山田 一郎" in page.text and "540" in page.text
    body = client.get(f"/api/v1/support/classes/{world.classes['A1'].id}/report").json()
    scores = {s["name"]: s["scores"]["ALL"]["scale_score"] for s in body["students"]}
    assert scores == {"山田 一郎": 540, "山田 花子": 460}
    school_page = client.get(f"/support/schools/{world.orgs['A'].id}")
    assert school_page.status_code == 200 and "3年1組" in school_page.text and "3年2組" in school_page.text
    # another school: refused, nothing of it shown
    other = client.get(f"/support/classes/{world.classes['B1'].id}/report")
    assert other.status_code == 403 and "三郎" not in other.text
    assert client.get(f"/api/v1/support/schools/{world.orgs['B'].id}/classes").status_code == 403
    # a class that does not exist: 403 too (no hint that the id is free)
    assert client.get("/support/classes/999999/report").status_code == 403

    events = _support_events(db_session)
    assert [(e.actor_id, e.target_type, e.target_id) for e in events] == [
        (world.users["board"].id, "class", str(world.classes["A1"].id)),
        (world.users["board"].id, "class", str(world.classes["A1"].id)),
        (world.users["board"].id, "school", str(world.orgs["A"].id)),
    ]
    assert all(json.loads(e.detail or "{}")["grant_id"] == grant["id"] for e in events)


def test_after_ends_at_and_after_revocation_it_is_refused(
    client: Any, sign_in: Any, world: Any, clock: Any, settings: Any, db_session: Session
) -> None:
    _finished_test(db_session, world, clock, "A1", {"s-a1": 540})
    sign_in("admin")
    grant = _grant(client, settings, world, clock, "A", minutes=20)
    url = f"/support/classes/{world.classes['A1'].id}/report"
    assert client.get(url).status_code == 200  # the admin may look too (audited)

    client.post("/logout", data={"csrf_token": csrf_of(client.get("/home").text)})
    sign_in("board")
    assert client.get(url).status_code == 200
    clock.advance(minutes=20, seconds=1)  # ends_at passed (the sign-in itself is still valid)
    expired = client.get(url, follow_redirects=False)
    assert expired.status_code == 403 and "期間" in expired.text
    clock.advance(minutes=-10)  # back inside the window …
    assert client.get(url, follow_redirects=False).status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/home").text)})

    sign_in("admin")  # … until the admin revokes it
    revoked = client.post(
        f"/api/v1/support/grants/{grant['id']}/revoke", headers=csrf_headers(client, settings)
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    listed = client.get("/api/v1/support/grants").json()["grants"]
    assert [g["state"] for g in listed] == ["revoked"]
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/home").text)})
    sign_in("board")
    assert client.get(url).status_code == 403
    actions = [e.action for e in db_session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert actions.count("support.grant") == 1 and actions.count("support.revoke") == 1
    assert actions.count("support.view") == 3  # admin once, board twice; refusals are not uses


def test_only_the_admin_grants_and_other_roles_cannot_use_it(
    client: Any, sign_in: Any, world: Any, clock: Any, settings: Any
) -> None:
    sign_in("board")
    now = clock.now()
    body = {
        "board_user_id": world.users["board"].id,
        "school_id": world.orgs["A"].id,
        "reason": "自分で自分に許可を出す",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
    }
    assert (
        client.post("/api/v1/support/grants", json=body, headers=csrf_headers(client, settings)).status_code
        == 403
    )
    assert client.get("/admin/support").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/home").text)})
    sign_in("t-a1")
    assert client.get(f"/support/classes/{world.classes['A1'].id}/report").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/home").text)})
    sign_in("s-a1")
    assert client.get(f"/support/classes/{world.classes['A1'].id}/report").status_code == 404


def test_grant_input_is_checked_with_actionable_messages(
    client: Any, sign_in: Any, world: Any, clock: Any, settings: Any
) -> None:
    sign_in("admin")
    now = clock.now()
    base = {
        "board_user_id": world.users["board"].id,
        "school_id": world.orgs["A"].id,
        "reason": "校内研修の支援のため",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat(),
    }
    headers = csrf_headers(client, settings)
    cases = [
        ({"board_user_id": world.users["t-a1"].id}, "教育委員会のアカウント"),
        ({"school_id": world.orgs["district"].id}, "学校"),
        ({"reason": "なし"}, "理由"),
        ({"ends_at": (now - timedelta(hours=1)).isoformat()}, "終了日時"),
        ({"ends_at": (now + timedelta(days=200)).isoformat()}, "最長"),
    ]
    for change, words in cases:
        response = client.post("/api/v1/support/grants", json={**base, **change}, headers=headers)
        assert response.status_code == 400, (change, response.text)
        assert words in response.text
    # the page form: the same check, shown on the page
    page = client.get("/admin/support")
    form = client.post(
        "/admin/support",
        data={
            "csrf_token": csrf_of(page.text),
            "board_user_id": str(world.users["board"].id),
            "school_id": str(world.orgs["A"].id),
            "reason": "校内研修の支援のため",
            "starts_at": "2026-13-01T09:00",
            "ends_at": "2026-05-01T09:00",
        },
    )
    assert form.status_code == 400 and "開始日時" in form.text
    ok = client.post(
        "/admin/support",
        data={
            "csrf_token": csrf_of(page.text),
            "board_user_id": str(world.users["board"].id),
            "school_id": str(world.orgs["A"].id),
            "reason": "校内研修の支援のため",
            "starts_at": now.astimezone().strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M+00:00"),
        },
        follow_redirects=True,
    )
    assert ok.status_code == 200 and "校内研修の支援のため" in ok.text and "有効" in ok.text
