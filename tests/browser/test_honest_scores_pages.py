"""Real browser (issue 13): the child's results page shows the score as a range (bar + 「だいたい …点」) at
1366×768 and 768×1024 with no bare skill number; the teacher's class report shows every score's interval
as text (not only on hover) on screen and in print; axe-core finds no serious or critical violation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from lms.reading.attempts import score_responses
from lms.reading.delivery import item_bank
from lms.reading.models import Assessment, Assignment, Attempt, Response, SkillEstimate
from tests.browser.test_runner_a11y import axe_violations
from tests.browser.test_runner_take_test import sign_in
from tests.factories import pk

pytestmark = pytest.mark.browser


def _finished_test(db: Session, world: Any, username: str, when: datetime, right: int) -> int:
    """A finished 14-item test (two items per skill) stored as the delivery stores one: answers with
    response times and skill estimates; the honest report is computed from them when shown."""
    klass = world.classes["A1"]
    items = [i for i in item_bank() if i.irt is not None and i.grade_min in ("P3", "P4")]
    chosen = [next(i for i in items if i.skill == s) for s in sorted({i.skill for i in items})]
    chosen += [[i for i in items if i.skill == s][1] for s in sorted({i.skill for i in items})]
    assessment = Assessment(title="読解力テスト", kind="cat", created_at=when)
    db.add(assessment)
    db.flush()
    assignment = Assignment(
        assessment_id=pk(assessment), class_id=klass.id, title=f"{when:%-m}月の読解力テスト", opens_at=when
    )
    db.add(assignment)
    db.flush()
    student = world.users[username]
    attempt = Attempt(
        assignment_id=pk(assignment),
        student_id=student.id,
        status="submitted",
        started_at=when,
        finished_at=when + timedelta(minutes=20),
        position=len(chosen),
    )
    db.add(attempt)
    db.flush()
    answers = [(item.id, k < right) for k, item in enumerate(chosen)]
    for position, (item_id, correct) in enumerate(answers):
        db.add(
            Response(
                attempt_id=pk(attempt),
                item_id=item_id,
                position=position,
                answer=["A"],
                correct=correct,
                response_time_ms=35000,
                client_event_id=f"{username}-{attempt.id}-{position}",
                created_at=when,
            )
        )
    for est in score_responses({i.id: i for i in chosen}, answers):
        db.add(SkillEstimate(student_id=student.id, attempt_id=pk(attempt), created_at=when, **est))
    db.commit()
    assert attempt.id is not None
    return attempt.id


@pytest.mark.parametrize("viewport", [(1366, 768), (768, 1024)])
def test_child_results_show_a_range_and_no_bare_skill_number(
    page: Any, live_server: str, world: Any, db_session: Session, viewport: tuple[int, int]
) -> None:
    now = datetime.now(UTC)
    _finished_test(db_session, world, "s-a1", now - timedelta(days=90), right=6)
    attempt_id = _finished_test(db_session, world, "s-a1", now - timedelta(hours=1), right=9)
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    sign_in(page, live_server)
    page.goto(f"{live_server}/results/{attempt_id}")
    shown = page.locator("#overall-range")
    assert shown.is_visible() and shown.inner_text().startswith("だいたい ")
    bar = page.locator("svg.range-bar rect.range")
    assert bar.is_visible() and float(bar.get_attribute("width") or 0) > 10
    box = page.locator("svg.range-bar").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport[0]  # no overflow
    text = page.locator("main").inner_text()
    assert "前回" in text and "あてずっぽう" not in text and "当て推量" not in text
    assert page.locator(".skill-score").count() == 0  # 2 items per skill: no skill number
    assert page.locator(".skills-note").is_visible()
    assert page.locator("svg.growth rect.interval").count() == 2
    assert axe_violations(page) == []
    page.screenshot(path=f"/tmp/i13lms_results_{viewport[0]}.png", full_page=True)


def test_teacher_report_shows_intervals_on_screen_and_in_print(
    page: Any, live_server: str, world: Any, db_session: Session
) -> None:
    now = datetime.now(UTC)
    _finished_test(db_session, world, "s-a1", now - timedelta(hours=2), right=10)
    _finished_test(db_session, world, "s-a1b", now - timedelta(hours=1), right=4)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server, "t-a1")
    page.goto(f"{live_server}/classes/{world.classes['A1'].id}/report")
    intervals = page.locator("#heatmap td.cell .interval")
    assert intervals.count() == 2 and all(intervals.nth(k).is_visible() for k in range(2))
    assert page.locator("#heatmap td.no-number").count() == 14  # 7 skills × 2 students: no number
    assert "当て推量" not in page.locator("main").inner_text()
    assert page.locator("#report-notes").is_visible()
    assert axe_violations(page) == []
    page.emulate_media(media="print")
    assert all(intervals.nth(k).is_visible() for k in range(2))
    page.screenshot(path="/tmp/i13lms_report_print.png", full_page=True)
