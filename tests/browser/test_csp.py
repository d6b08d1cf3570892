"""Real browser with the Content-Security-Policy enforced (issue 15): the pages and the test runner work
without inline script, and the browser reports no violation of the policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from tests.browser.test_runner_take_test import make_cat, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def strict_page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    yield page, violations
    context.close()


def test_sign_in_and_the_runner_work_under_the_policy(
    strict_page: tuple[Any, list[str]], live_server: str, world: Any, db_session: Session
) -> None:
    from playwright.sync_api import expect

    page, violations = strict_page
    assignment = make_cat(db_session, world, length=3)
    sign_in(page, live_server)
    page.get_by_role("link", name="はじめる").click()
    page.wait_for_url(f"{live_server}/test/{assignment.id}")
    options = page.locator("#item-form:not([hidden]) #options input")
    expect(options.first).to_be_visible()
    options.first.check()
    page.get_by_role("button", name="こたえる").click()
    # runner.js ran (the visible text carries ruby; data-text is the plain message)
    expect(page.locator("#status")).to_have_attribute("data-text", "保存しました", timeout=20_000)
    page.locator("#prefs input").first.check()  # the settings form (data-no-submit) does not navigate
    assert page.url == f"{live_server}/test/{assignment.id}"
    assert violations == []
