"""Real browser: the runner treats a 4xx as final (says so, drops that answer, goes on) and sets aside an
answer that the server keeps failing with 500, so that one bad answer never blocks a device's queue
(issue 15).  The server's answers are replaced through Playwright's routing for the one request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session

from tests.browser.test_runner_take_test import (
    SAVED,
    answer_current,
    make_cat,
    responses,
    shown_item,
    sign_in,
)

pytestmark = pytest.mark.browser


def _start(page: Any, live_server: str, world: Any, db_session: Session) -> Any:
    assignment = make_cat(db_session, world, length=6)
    sign_in(page, live_server)
    page.get_by_role("link", name="はじめる").click()
    page.wait_for_url(f"{live_server}/test/{assignment.id}")
    shown_item(page)
    return assignment


def _outbox(page: Any) -> int:
    """Answers still waiting to be sent (set-aside ones are kept, not waiting)."""
    return int(
        page.evaluate(
            "new Promise(ok => indexedDB.open('giga-runner', 1).onsuccess = e => "
            "{ const r = e.target.result.transaction('outbox').objectStore('outbox').getAll();"
            "  r.onsuccess = () => ok(r.result.filter(x => !x.parked).length); })"
        )
    )


def test_a_refused_answer_is_shown_dropped_and_the_test_goes_on(
    page: Any, live_server: str, world: Any, db_session: Session
) -> None:
    assignment = _start(page, live_server, world, db_session)
    calls: list[int] = []

    def refuse_first(route: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            body = json.dumps(
                {"detail": "device_hint に使えない文字がふくまれています。"}, ensure_ascii=False
            )
            route.fulfill(status=422, content_type="application/json", body=body)
        else:
            route.continue_()

    page.route("**/answers", refuse_first)
    answer_current(page)
    page.wait_for_function("(document.getElementById('status').dataset.text || '').includes('使えない文字')")
    answer_current(page)  # the runner went on: the next item (its plan from the server) is answered
    page.wait_for_function(f"(document.getElementById('status').dataset.text || '') === '{SAVED}'")
    assert len(calls) == 2  # the refused answer was not sent again
    assert len(responses(db_session, assignment.id, "s-a1", world)) == 1
    assert _outbox(page) == 0


def test_an_answer_that_keeps_failing_with_500_is_set_aside(
    page: Any, live_server: str, world: Any, db_session: Session
) -> None:
    assignment = _start(page, live_server, world, db_session)
    failures: list[int] = []

    def fail_first_answer(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        if not failures or (body.get("client_event_id") == failures[0] and len(failures) < 99):
            failures.append(body.get("client_event_id"))
            route.fulfill(status=500, content_type="application/json", body='{"detail": "boom"}')
        else:
            route.continue_()

    page.route("**/answers", fail_first_answer)
    answer_current(page)
    for _ in range(6):  # hurry the backoff (1, 2, 4, 8 s) along
        page.wait_for_timeout(300)
        page.evaluate("window.GigaRunner.drain()")
    page.wait_for_function(
        "(document.getElementById('status').dataset.text || '').includes('サーバーが受け取れませんでした')",
        timeout=30_000,
    )
    assert len(failures) == 5  # tried five times, then set aside (kept on the device, not sent again)
    answer_current(page)
    page.wait_for_function(f"(document.getElementById('status').dataset.text || '') === '{SAVED}'")
    assert len(responses(db_session, assignment.id, "s-a1", world)) == 1
    assert _outbox(page) == 0
