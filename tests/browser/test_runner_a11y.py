"""Real browser: every item format renders (vertical text, ruby, pictures with alt, checkboxes,
same/different) and axe-core finds no serious or critical WCAG violation on the runner, its end screen
and the results page, in the default look and with large text on a dark background.

axe-core comes from npm (``npm ci`` at the repository root installs ``node_modules/axe-core``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from tests.browser.test_runner_take_test import SAVED, answer_current, shown_item, sign_in, wait_status
from tests.support import require_axe

pytestmark = pytest.mark.browser
FORM = ("DEP-012", "REP-002", "PARA-001", "INST_DICT-001")  # vertical, picture, same/different, select-all


def axe_violations(page: Any) -> list[str]:
    """Serious and critical axe-core violations of the page as it is now (WCAG 2.0–2.2 A/AA rules)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(require_axe()))
    result = page.evaluate(
        """async () => {
             const r = await axe.run(document, {runOnly: {type: 'tag',
               values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
             return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
               .map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', '));
           }"""
    )
    return list(result)


def make_fixed_form(db: Session, world: Any) -> Any:
    from lms.reading import authoring

    assessment = authoring.create_assessment(
        session=db, title="形式のたしかめ", kind="fixed", item_ids=FORM, created_by=world.users["t-a1"]
    )
    now = datetime.now(UTC)
    assignment = authoring.create_assignment(
        session=db,
        assessment=assessment,
        class_=world.classes["A1"],
        now=now,
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(hours=1),
        accommodations={world.users["s-a1"].id: authoring.AccommodationIn(read_aloud=True, ruby_level="all")},
        created_by=world.users["t-a1"],
    )
    db.commit()
    return assignment


def test_formats_and_axe(page: Any, live_server: str, world: Any, db_session: Session) -> None:
    assignment = make_fixed_form(db_session, world)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server)
    page.goto(f"{live_server}/test/{assignment.id}")

    # 1. vertical text with ruby
    assert shown_item(page) == "DEP-012"
    assert page.locator("#stimulus.vertical").count() == 1
    assert page.evaluate("getComputedStyle(document.getElementById('stimulus')).writingMode") == "vertical-rl"
    assert page.locator("#stimulus ruby rt").count() > 0
    assert page.locator("#options input[type=radio]").count() == 4
    assert axe_violations(page) == []
    page.screenshot(path="/tmp/giga_runner_vertical.png")
    answer_current(page)

    # 2. picture choice: inline SVG, named by its alt text
    assert shown_item(page) == "REP-002"
    pictures = page.locator("#options .pic[role=img]")
    assert pictures.count() >= 3 and all(
        pictures.nth(i).get_attribute("aria-label") for i in range(pictures.count())
    )
    assert page.locator("#options svg").count() == pictures.count()
    assert axe_violations(page) == []
    page.screenshot(path="/tmp/giga_runner_picture.png")
    answer_current(page)

    # 3. same/different, with large text on a dark background (kept on the device)
    assert shown_item(page) == "PARA-001"
    assert page.locator("#compare-text").inner_text().strip() != ""
    page.get_by_label("とても大きい").check()
    page.get_by_label("黒").check()
    assert page.evaluate("localStorage.getItem('giga-runner-prefs')") == '{"size":"xlarge","bg":"dark"}'
    assert axe_violations(page) == []
    page.screenshot(path="/tmp/giga_runner_dark_large.png")
    answer_current(page)

    # 4. select-all: checkboxes; arrows move between them, Space ticks, Enter answers
    assert shown_item(page) == "INST_DICT-001"
    assert page.get_by_label("とても大きい").is_checked()  # the choice survived to the next item
    boxes = page.locator("#options input[type=checkbox]")
    assert boxes.count() >= 4
    boxes.first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement === document.querySelectorAll('#options input')[1]")
    page.keyboard.press("Space")
    assert axe_violations(page) == []
    page.keyboard.press("Enter")
    page.wait_for_selector("#screen-done:not([hidden])")
    wait_status(page, SAVED)
    assert axe_violations(page) == []
    from tests.browser.test_runner_take_test import responses

    stored = responses(db_session, assignment.id, "s-a1", world)
    assert [r.item_id for r in stored] == list(FORM)
    assert len(stored[-1].answer) == 2 and stored[-1].accommodations["text_size"] == "xlarge"

    page.get_by_label("白").check()
    page.get_by_label("ふつう").check()
    page.get_by_role("link", name="けっかを見る").click()
    page.wait_for_url(f"{live_server}/results/*")
    assert axe_violations(page) == []
    page.screenshot(path="/tmp/giga_results.png", full_page=True)


def test_home_with_tests_and_error_screen_axe(
    page: Any, live_server: str, world: Any, db_session: Session
) -> None:
    assignment = make_fixed_form(db_session, world)
    sign_in(page, live_server)
    assert page.get_by_role("link", name="はじめる").get_attribute("href") == f"/test/{assignment.id}"
    assert axe_violations(page) == []
    page.screenshot(path="/tmp/giga_student_home_tests.png")
    # the start request fails (e.g. the server is overloaded): a clear message and a retry button
    page.route(
        "**/start", lambda route: route.fulfill(status=503, body="{}", content_type="application/json")
    )
    page.goto(f"{live_server}/test/{assignment.id}")
    page.wait_for_selector("#screen-error:not([hidden])")
    assert axe_violations(page) == []
    page.unroute("**/start")
    page.get_by_role("button", name="もう一度ためす").click()
    assert shown_item(page) == FORM[0]
