"""Real browser: the runner never waits for nothing. A state the server cannot read ends on the error
screen with the server's sentence (a full run once left the page on the wait screen for good: the stored
CAT state had become unreadable and every request of the attempt got 400); a request that hangs on a dead
connection is given up and sent again; and a wait screen that nothing ends asks the server again (the belt).
The page's clock is Playwright's, so the limits pass without waiting."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlmodel import Session

from tests.browser.test_runner_take_test import (
    SAVED,
    answer_current,
    answer_until_done,
    make_cat,
    responses,
    shown_item,
    sign_in,
    wait_status,
)

pytestmark = pytest.mark.browser
STATE_URL = re.compile(r"/api/v1/attempts/\d+$")
MISMATCH = "この受験の記録が、現在のテスト設定と合いません。先生に受験のやり直しを依頼してください。"


def _refuse(route: Any) -> None:
    body = json.dumps({"detail": MISMATCH}, ensure_ascii=False)
    route.fulfill(status=400, content_type="application/json", body=body)


def test_a_state_the_server_cannot_read_ends_on_the_error_screen(
    page: Any, live_server: str, world: Any, db_session: Session
) -> None:
    assignment = make_cat(db_session, world, length=2)
    sign_in(page, live_server)
    page.goto(f"{live_server}/test/{assignment.id}")
    answered = [answer_current(page)]
    wait_status(page, SAVED)
    # from here the attempt's state cannot be read: its last answer and the state read are refused
    page.route("**/answers", _refuse)
    page.route(STATE_URL, lambda route: _refuse(route) if route.request.method == "GET" else route.fallback())
    answer_current(page)  # the last item: the page waits for its acknowledgement
    page.wait_for_selector("#screen-error:not([hidden])", timeout=15_000)
    assert page.locator("#error-text").inner_text() == MISMATCH
    assert page.evaluate("document.activeElement.id") == "error-heading"
    # mid-test the heading says the test cannot go on (the page's own heading is about starting it)
    assert page.locator("#error-heading").get_attribute("data-text") == "テストを続けられませんでした"
    assert page.locator("#screen-wait").is_hidden()
    assert [r.item_id for r in responses(db_session, assignment.id, "s-a1", world)] == answered


def test_an_answer_that_hangs_on_a_dead_connection_is_sent_again(
    page: Any, live_server: str, world: Any, db_session: Session
) -> None:
    assignment = make_cat(db_session, world, length=6)
    sign_in(page, live_server)
    page.clock.install()
    page.goto(f"{live_server}/test/{assignment.id}")
    held: list[Any] = []

    def hang_first(route: Any) -> None:  # no answer at all for the first try (kept, never fulfilled)
        if not held:
            held.append(route)
        else:
            route.fallback()

    page.route("**/answers", hang_first)
    answered = [answer_current(page)]
    page.wait_for_function("() => window.GigaRunner.state.sending")
    assert held
    page.clock.fast_forward(35_000)  # past the request limit: given up, then sent again after the backoff
    wait_status(page, SAVED)
    page.unroute("**/answers")
    answer_until_done(page, answered)
    stored = responses(db_session, assignment.id, "s-a1", world)
    assert [r.item_id for r in stored] == answered and len(answered) == 6


def test_a_wait_screen_that_nothing_ends_asks_the_server_again(
    page: Any, live_server: str, world: Any, db_session: Session
) -> None:
    assignment = make_cat(db_session, world, length=6)
    state_reads: list[str] = []
    page.on("request", lambda r: state_reads.append(r.url) if STATE_URL.search(r.url) else None)
    sign_in(page, live_server)
    page.clock.install()
    page.goto(f"{live_server}/test/{assignment.id}")
    first = shown_item(page)
    # a lost wake-up, made by hand: the page holds the item but shows the wait screen, nothing scheduled
    page.evaluate(
        """() => { const s = window.GigaRunner.state; s.queue.unshift(s.shown); s.shown = null;
                   document.getElementById('item-form').hidden = true;
                   document.getElementById('screen-wait').hidden = false; }"""
    )
    page.clock.fast_forward(5_000)
    assert page.locator("#screen-wait").is_visible() and not state_reads
    page.clock.fast_forward(25_000)  # past the 20 s belt: the page reads the attempt's state and goes on
    assert shown_item(page) == first and state_reads
    answered = [answer_current(page)]
    answer_until_done(page, answered)
    assert len(responses(db_session, assignment.id, "s-a1", world)) == 6
