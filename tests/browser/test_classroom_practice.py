"""Real browser, issue 19: practice as practice. A teacher hands out practice from the class page; the
assignment list shows the round once with the children's names; a child with large text and all-kanji ruby
takes it and sees right/wrong, the answer and the explanation after every item (axe-core clean), and the
runner's counter survives a reload."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from tests.browser.test_runner_a11y import axe_violations
from tests.browser.test_runner_take_test import shown_item, sign_in
from tests.factories import pk
from tests.lms.test_practice_api import give_results

pytestmark = pytest.mark.browser


def _results_with_accommodations(db: Session, world: Any) -> None:
    from lms.reading.models import Accommodation, Assignment

    give_results(db, world)
    test = db.exec(select(Assignment).where(Assignment.class_id == world.classes["A1"].id)).first()
    assert test is not None
    db.add(
        Accommodation(
            assignment_id=pk(test), user_id=world.users["s-a1"].id, ruby_level="all", large_text=True
        )
    )
    db.commit()


def test_practice_with_feedback_from_the_class_page(
    browser: Any, live_server: str, world: Any, db_session: Session
) -> None:
    _results_with_accommodations(db_session, world)
    klass = world.classes["A1"].id
    teacher = browser.new_context(
        locale="ja-JP", viewport={"width": 1366, "height": 768}, bypass_csp=True
    ).new_page()
    sign_in(teacher, live_server, "t-a1")
    teacher.goto(f"{live_server}/classes/{klass}")
    teacher.get_by_role("link", name="練習（一人ひとりに合わせた問題）").click()
    teacher.wait_for_url(f"{live_server}/classes/{klass}/practice")
    assert "ねらいは「正答の見こみ 60〜75%」ですが" in teacher.content()
    teacher.get_by_role("button", name="この内容でクラス全員に配る").click()
    teacher.get_by_text("一人ひとりに練習問題を配りました。").wait_for()
    assert axe_violations(teacher) == []
    teacher.goto(f"{live_server}/classes/{klass}/assignments")
    assert teacher.locator("tr.practice-round").count() == 1
    teacher.get_by_text("2人の実施状況").click()
    assert teacher.get_by_role("link", name="山田 一郎").is_visible()
    assert axe_violations(teacher) == []

    child = browser.new_context(
        locale="ja-JP", viewport={"width": 1366, "height": 768}, bypass_csp=True
    ).new_page()
    sign_in(child, live_server, "s-a1")
    child.get_by_role("link", name="はじめる").first.click()
    child.wait_for_url(f"{live_server}/test/*")
    first = shown_item(child)
    assert child.locator("#runner").get_attribute("data-mode") == "practice"
    assert child.locator("#runner").get_attribute("data-size") == "large"  # carried from the test
    assert child.locator("#stimulus ruby rt, #instruction ruby rt").count() > 0  # all-kanji ruby
    answered = 0
    while True:
        item_id = shown_item(child)
        child.locator("#options input").first.check()
        child.get_by_role("button", name="こたえる").click()
        child.locator("#feedback-key:not([hidden])").wait_for(timeout=15_000)
        verdict = child.locator("#feedback-result").get_attribute("data-text")
        assert verdict in ("せいかい！", "ざんねん。もう一度よく読んでみよう。")
        assert "<ruby>" in child.locator("#feedback-result").inner_html() or verdict == "せいかい！"
        assert child.locator("#feedback-explanation").inner_text().strip()
        if answered == 0:
            assert axe_violations(child) == []
            child.reload()  # the counter keeps the answer from before the reload
            assert shown_item(child) != first
            assert (child.locator("#item-number").get_attribute("data-text") or "").startswith("もんだい 2")
            answered = 1
            continue
        answered += 1
        child.get_by_role("button", name="つぎへ").click()
        child.wait_for_function(
            "id => { const s = window.GigaRunner.state;"
            " return s.finished || (s.shown && s.shown.item_id !== id)"
            " || !document.getElementById('screen-wait').hidden; }",
            arg=item_id,
        )
        if child.locator("#screen-done").is_visible() or child.evaluate("window.GigaRunner.state.finished"):
            break
        if answered > 12:
            raise AssertionError("practice did not end")
    child.locator("#screen-done").wait_for(state="visible", timeout=15_000)
    assert answered >= 2
