"""Real browser, issue 19: the live view is based on the runner's heartbeat. A child who has not answered
for 90 s but whose runner is open stays 「解答中」; when the page is gone, the same silence is
「通信が途切れています」. (The heartbeat interval is shortened in the page for the test; the server's rule is
unchanged.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from tests.browser.test_runner_a11y import axe_violations
from tests.browser.test_runner_take_test import make_cat, shown_item, sign_in

pytestmark = pytest.mark.browser
FAST_HEARTBEAT = (
    "new MutationObserver((_, o) => { const r = document.getElementById('runner');"
    " if (r) { r.dataset.heartbeatMs = '400'; o.disconnect(); } })"
    ".observe(document, {childList: true, subtree: true});"
)


def _silent_for(engine: Any, attempt_id: int, seconds: int) -> None:
    from lms.reading.models import Attempt

    with Session(engine) as session:
        session.execute(
            update(Attempt)
            .where(col(Attempt.id) == attempt_id)
            .values(last_seen_at=datetime.now(UTC) - timedelta(seconds=seconds))
        )
        session.commit()


def _state(teacher: Any, base: str, assignment_id: int, student_id: int) -> str:
    live = teacher.request.get(f"{base}/api/v1/assignments/{assignment_id}/live").json()
    return str(next(s for s in live["students"] if s["student_id"] == student_id)["state"])


def test_a_slow_reader_is_not_offline(
    browser: Any, live_server: str, world: Any, engine: Any, db_session: Session
) -> None:
    from lms.reading.models import Attempt

    assignment = make_cat(db_session, world)
    child_context = browser.new_context(
        locale="ja-JP", viewport={"width": 1366, "height": 768}, bypass_csp=True
    )
    child_context.add_init_script(FAST_HEARTBEAT)
    child = child_context.new_page()
    beats: list[str] = []
    child.on("request", lambda r: beats.append(r.url) if r.url.endswith("/heartbeat") else None)
    sign_in(child, live_server, "s-a1")
    child.goto(f"{live_server}/test/{assignment.id}")
    shown_item(child)  # reading the first passage, not answering
    with Session(engine) as db:
        attempt = db.exec(select(Attempt).where(Attempt.student_id == world.users["s-a1"].id)).one()
    teacher = browser.new_context(
        locale="ja-JP", viewport={"width": 1366, "height": 768}, bypass_csp=True
    ).new_page()
    sign_in(teacher, live_server, "t-a1")
    student_id = world.users["s-a1"].id

    _silent_for(engine, attempt.id or 0, 90)  # 90 s without an answer …
    child.wait_for_timeout(1200)  # … while the open runner keeps beating
    assert len(beats) >= 2
    assert _state(teacher, live_server, assignment.id, student_id) == "in_progress"
    teacher.goto(f"{live_server}/assignments/{assignment.id}/live")
    row = teacher.locator(f'tr[data-student="{student_id}"]')
    assert "途切れ" not in row.inner_text()
    assert row.get_by_role("button", name="再開を許可").is_hidden()  # nothing to resume while reading
    assert axe_violations(teacher) == []

    child_context.close()  # the Chromebook is gone: the same silence now means offline
    _silent_for(engine, attempt.id or 0, 90)
    assert _state(teacher, live_server, assignment.id, student_id) == "offline"
