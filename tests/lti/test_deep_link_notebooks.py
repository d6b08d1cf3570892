"""Deep linking offers the notebook lessons of the class's course (issue 23 leftover): the teacher picks
one in the picker, the real platform (lti1p3platform in uvicorn) verifies the signed reply, and the link's
``giga_target`` opens the lesson for a student of the class. Lessons of another class's course are neither
offered nor accepted; nothing is created on our side (no assignment, no line item)."""

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape
from typing import Any

import httpx
from sqlmodel import Session, select

from lms.audit.models import AuditEvent
from lms.lti.keys import public_jwks
from lms.lti.models import LtiPlatform
from lms.lti.service_models import LtiDeepLinkTicket, LtiLineItem
from lms.notebooks.models import NotebookCourse, NotebookDeadline, NotebookGrade
from lms.reading.models import Assignment
from tests.conftest import RosterCity
from tests.factories import pk
from tests.lti.conftest import launch
from tests.lti.platform import LaunchSpec, TestPlatform
from tests.lti.test_deep_linking_flow import CLASS, CSRF, RETURN, TICKET, count, follow, open_teacher_picker


def notebook_course(
    db_session: Session, roster_city: RosterCity, class_sourced_id: str, course_id: str, lessons: list[str]
) -> NotebookCourse:
    row = NotebookCourse(class_id=pk(roster_city.klass(class_sourced_id)), course_id=course_id)
    db_session.add(row)
    db_session.flush()
    for name in lessons:
        due = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
        db_session.add(NotebookDeadline(course_id=pk(row), assignment_name=name, due_at=due))
    db_session.commit()
    return row


def test_a_teacher_links_a_notebook_lesson_of_the_class_and_a_student_opens_it(
    client: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
) -> None:
    platform.services.tool_jwks = public_jwks(db_session)
    course = notebook_course(db_session, roster_city, CLASS, "es-3-1-prog", ["lesson1"])
    # a lesson known only by its grades is a lesson of the course too
    db_session.add(
        NotebookGrade(
            course_id=pk(course),
            assignment_name="lesson2",
            student_id=pk(roster_city.user("stu-es-1")),
            score=3,
            max_score=5,
        )
    )
    notebook_course(db_session, roster_city, "cls-es-4-1", "es-4-1-prog", ["other-lesson"])
    db_session.commit()
    assignments_before = count(db_session, Assignment)

    picker = open_teacher_picker(client, platform)
    assert 'value="notebook-lesson1"' in picker.text and "ノートブックの授業：lesson1" in picker.text
    assert 'value="notebook-lesson2"' in picker.text
    assert "other-lesson" not in picker.text  # another class's course
    csrf, ticket = CSRF.search(picker.text), TICKET.search(picker.text)
    assert csrf and ticket
    form = {"csrf_token": csrf.group(1), "t": ticket.group(1)}

    # a lesson of another class's course, posted by hand: refused, the ticket still usable
    other = client.post("/lti/deep-link", data={**form, "choice": "notebook-other-lesson"})
    assert other.status_code == 400 and "選ばれた教材が見つかりません" in other.text
    assert db_session.exec(select(LtiDeepLinkTicket)).one().used_at is None

    reply = client.post("/lti/deep-link", data={**form, "choice": "notebook-lesson1"})
    assert reply.status_code == 200, reply.text[:500]
    found = RETURN.search(reply.text)
    assert found is not None, reply.text[:800]
    action, token = unescape(found.group(1)), unescape(found.group(2))
    accepted = httpx.post(action, data={"JWT": token}, timeout=10)  # the platform verifies the signature
    assert accepted.status_code == 200, accepted.text
    [items] = platform.services.deep_links
    [item] = items
    assert item["type"] == "ltiResourceLink" and item["title"] == "ノートブックの授業：lesson1"
    assert item["custom"] == {"giga_target": "/notebooks/es-3-1-prog/lesson1"}
    assert "lineItem" not in item
    assert count(db_session, Assignment) == assignments_before and count(db_session, LtiLineItem) == 0
    ticket_row = db_session.exec(select(LtiDeepLinkTicket)).one()
    assert ticket_row.used_at is not None and ticket_row.assignment_id is None
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.deep_link")).one()
    assert "/notebooks/es-3-1-prog/lesson1" in (event.detail or "")

    # a student of the class opens the link in the portal: the lesson's page
    client.cookies.clear()
    student = LaunchSpec(
        sub="portal-s1", context_id=CLASS, lis={"person_sourcedid": "stu-es-1"}, custom=item["custom"]
    )
    opened = follow(client, launch(client, platform, student, hint="hint-student").response)
    assert opened.status_code == 200 and "ノートブックの授業「lesson1」" in opened.text
