"""A finished test's score reaches the portal's gradebook through the outbox (AGS), against the platform
library's score service; a portal outage keeps it queued and a refused token leaves it unsent."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from lms.audit.models import AuditEvent
from lms.lti import score_sender
from lms.lti.ags import SCALE_MAXIMUM
from lms.lti.deep_linking import resource_id_of
from lms.lti.models import LtiUserLink
from lms.lti.service_models import LtiLineItem, LtiScoreOutbox
from lms.lti.services_token import TokenCache
from lms.reading.models import Attempt, SkillEstimate
from tests.factories import get_row, pk
from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment
from tests.lms.conftest import csrf_of
from tests.lti.portal import Portal, register_portal
from tests.lti.services_platform import Member

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def take_test(client: Any, settings: Any, assignment_id: int) -> int:
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment_id}/start", headers=headers).json()
    while not view.get("finished"):
        body = answer_body(view["items"][0])
        view = client.post(
            f"/api/v1/attempts/{view['attempt_id']}/answers", json=body, headers=headers
        ).json()
    return int(view["attempt_id"])


def linked_assignment(db_session: Session, world: Any, clock: Any, portal: Portal) -> Any:
    """A test of class A1 given through the portal: its line item exists on the platform (made by the
    deep-linking reply), our row does not know its URL yet."""
    assignment = make_assignment(db_session, world, clock, max_items=3, min_items=3)
    resource_id = resource_id_of(pk(assignment))
    portal.platform.add_line_item(label="読解力テスト", scoreMaximum=SCALE_MAXIMUM, resourceId=resource_id)
    db_session.add(
        LtiLineItem(
            assignment_id=pk(assignment),
            lti_context_id=pk(portal.context),
            resource_id=resource_id,
            label="読解力テスト",
            score_maximum=SCALE_MAXIMUM,
        )
    )
    db_session.commit()
    return assignment


def outbox(db_session: Session) -> list[LtiScoreOutbox]:
    db_session.expire_all()
    return list(db_session.exec(select(LtiScoreOutbox).order_by(col(LtiScoreOutbox.id))))


def test_the_scale_score_with_its_interval_reaches_the_portal(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any, engine: Engine
) -> None:
    portal = register_portal(db_session, world.classes["A1"])
    sub = portal.link(db_session, world.users["s-a1"])
    assignment = linked_assignment(db_session, world, clock, portal)
    sign_in("s-a1")
    attempt_id = take_test(client, settings, pk(assignment))
    [queued] = outbox(db_session)
    assert queued.attempt_id == attempt_id and queued.sent_at is None

    with TestClient(portal.platform.app) as http:
        report = score_sender.send_once(engine=engine, client=http, cache=TokenCache())
    assert (report.sent, report.failed) == (1, 0), report.errors
    [(line_item_id, score)] = portal.platform.scores
    overall = db_session.exec(
        select(SkillEstimate).where(SkillEstimate.attempt_id == attempt_id, SkillEstimate.skill == "ALL")
    ).one()
    assert score["userId"] == sub
    assert score["scoreGiven"] == overall.scale_score and score["scoreMaximum"] == SCALE_MAXIMUM
    assert score["activityProgress"] == "Completed" and score["gradingProgress"] == "FullyGraded"
    assert "95%の範囲" in score["comment"] and "標準誤差" in score["comment"] and "得点率" in score["comment"]
    attempt = get_row(db_session, Attempt, attempt_id)
    assert attempt.finished_at is not None and score["timestamp"].startswith(
        attempt.finished_at.strftime("%Y-%m-%dT%H:%M")
    )
    [row] = outbox(db_session)
    assert row.sent_at is not None and row.tries == 0
    line_item = db_session.exec(select(LtiLineItem)).one()
    assert line_item.lineitem_url == line_item_id  # found by resourceId, kept for the next scores


def test_a_portal_outage_keeps_the_score_queued_and_a_retry_sends_it_once(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any, engine: Engine
) -> None:
    portal = register_portal(db_session, world.classes["A1"])
    portal.link(db_session, world.users["s-a1"])
    assignment = linked_assignment(db_session, world, clock, portal)
    sign_in("s-a1")
    attempt_id = take_test(client, settings, pk(assignment))
    assert get_row(db_session, Attempt, attempt_id).status == "submitted"  # the answer never waited
    portal.platform.fail_scores = 1
    cache = TokenCache()
    with TestClient(portal.platform.app) as http:
        first = score_sender.send_once(engine=engine, client=http, cache=cache)
        assert (first.sent, first.failed) == (0, 1) and "503" in first.errors[0]
        [row] = outbox(db_session)
        assert row.sent_at is None and row.tries == 1 and row.locked_until is not None
        assert portal.platform.scores == []
        # not before its backoff ...
        assert score_sender.send_once(engine=engine, client=http, cache=cache).claimed == 0
        # ... then it goes, once
        later = row.locked_until + timedelta(seconds=1)
        second = score_sender.send_once(engine=engine, client=http, cache=cache, clock=lambda: later)
        assert (second.sent, second.failed) == (1, 0), second.errors
        assert len(portal.platform.scores) == 1
        # a resend (say our mark was lost) is the same score: the platform keeps one, we count it delivered
        db_session.execute(
            LtiScoreOutbox.__table__.update().values(sent_at=None, locked_until=None)  # type: ignore[attr-defined]
        )
        db_session.commit()
        third = score_sender.send_once(engine=engine, client=http, cache=cache, clock=lambda: later)
        assert (third.sent, third.failed) == (1, 0)
    assert len(portal.platform.scores) == 1


def test_a_refused_token_leaves_the_score_unsent_with_the_reason(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any, engine: Engine
) -> None:
    portal = register_portal(db_session, world.classes["A1"])
    portal.link(db_session, world.users["s-a1"])
    assignment = linked_assignment(db_session, world, clock, portal)
    sign_in("s-a1")
    take_test(client, settings, pk(assignment))
    portal.platform.refuse_tokens = True
    with TestClient(portal.platform.app) as http:
        report = score_sender.send_once(engine=engine, client=http, cache=TokenCache())
    assert (report.sent, report.failed) == (0, 1)
    [row] = outbox(db_session)
    assert row.sent_at is None and row.last_error is not None and "401" in row.last_error
    assert portal.platform.scores == []


def test_an_assignment_without_a_line_item_queues_nothing(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    register_portal(db_session, world.classes["A1"])
    assignment = make_assignment(db_session, world, clock, max_items=3, min_items=3)
    sign_in("s-a1")
    take_test(client, settings, pk(assignment))
    assert outbox(db_session) == []
    counts = score_sender.score_counts(session=db_session, now=clock.now())
    assert counts == {"sent": 0, "ready": 0, "parked": 0, "waiting": 0}
    assert json.dumps(counts)


def test_a_student_who_never_launched_is_found_in_the_portals_membership(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any, engine: Engine
) -> None:
    portal = register_portal(db_session, world.classes["A1"])
    student = world.users["s-a1"]
    student.sourced_id = "user-s-a1"  # signed in with a QR card, never from the portal: no link
    db_session.add(student)
    db_session.commit()
    portal.platform.members = [Member("portal-77", [LEARNER], lis_person_sourcedid="user-s-a1")]
    assignment = linked_assignment(db_session, world, clock, portal)
    sign_in("s-a1")
    take_test(client, settings, pk(assignment))
    world.users["s-a1b"].sourced_id = "user-s-a1b"  # not in the portal's membership
    db_session.add(world.users["s-a1b"])
    db_session.commit()
    sign_in("s-a1b")
    take_test(client, settings, pk(assignment))
    with TestClient(portal.platform.app) as http:
        report = score_sender.send_once(engine=engine, client=http, cache=TokenCache())
    assert (report.sent, report.failed) == (1, 1)
    assert [s["userId"] for _, s in portal.platform.scores] == ["portal-77"]
    assert "membership" in report.errors[0]
    assert db_session.exec(select(func.count()).select_from(LtiUserLink)).one() == 0  # nothing linked


def test_the_admin_sees_the_waiting_score_and_sends_it_again(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any, engine: Engine
) -> None:
    portal = register_portal(db_session, world.classes["A1"])
    portal.link(db_session, world.users["s-a1"])
    assignment = linked_assignment(db_session, world, clock, portal)
    sign_in("s-a1")
    take_test(client, settings, pk(assignment))
    portal.platform.fail_scores = 1
    with TestClient(portal.platform.app) as http:
        score_sender.send_once(engine=engine, client=http, cache=TokenCache())
    client.cookies.clear()
    sign_in("admin")
    admin_lti = client.get("/admin/lti")
    assert 'href="/admin/lti/scores"' in admin_lti.text  # reachable from the LTI page
    page = client.get("/admin/lti/scores")
    assert page.status_code == 200 and "503" in page.text
    counts = page.text.split('id="score-counts"')[1].split("</table>")[0]
    assert ">1</td>" in counts  # one waiting for its retry
    retried = client.post(
        "/admin/lti/scores/retry", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert retried.status_code == 303
    [row] = outbox(db_session)
    assert row.tries == 0 and row.locked_until is None  # the worker's next round takes it
    assert db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.scores_retry")).one()
    with TestClient(portal.platform.app) as http:
        assert score_sender.send_once(engine=engine, client=http, cache=TokenCache()).sent == 1


def test_only_the_admin_sees_the_score_outbox(client: Any, sign_in: Any, world: Any) -> None:
    for username, status in (("t-a1", 403), ("sa-a", 403), ("s-a1", 403), ("board", 403)):
        client.cookies.clear()
        sign_in(username)
        assert client.get("/admin/lti/scores").status_code == status, username
