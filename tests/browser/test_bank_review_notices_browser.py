"""Real browser (issue 17): a school admin appoints a teacher as 問題の確認者 from the admin page; the
teacher, now a reviewer, sends a draft with a figure back from the checklist and then finds 「差し戻された
問題 1 件」 on the home page, the list and the item with the comment and its picture; axe-core is clean."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.test_teacher_reading_tests import _axe_serious, _sign_in

pytestmark = pytest.mark.browser
ITEM = "REP-023"  # a draft by ai-author-REP with its picture in the question
COMMENT = "選択肢Dは「2ばい」の意味が二通りに読めます。"


def test_appoint_then_send_back_then_read_the_notice(page: Any, live_server: str, world: Any) -> None:
    base = live_server
    _sign_in(page, base, "sa-a")
    page.get_by_role("link", name="問題の確認者の指名").click()
    page.wait_for_url(f"{base}/admin/reviewers")
    assert _axe_serious(page) == []
    page.get_by_role("button", name=re.compile("先生Aさんを問題の確認者に指名する")).click()
    page.wait_for_selector("#appoint-done")
    assert "指名しました" in page.locator("#appoint-done").inner_text()
    page.context.clear_cookies()

    _sign_in(page, base, "t-a1")
    page.goto(f"{base}/bank/review/{ITEM}")
    alt = page.locator("#child-figure").get_attribute("aria-label") or ""
    assert "ぼうグラフ" in alt and page.get_by_role("img", name=alt, exact=True).count() == 1
    page.get_by_label("作成者に差し戻す").check()
    page.get_by_label("コメント（差し戻すときは必須：直してほしい点）").fill(COMMENT)
    page.get_by_role("button", name="判断を記録する").click()
    page.wait_for_url(f"{base}/bank/review?*")

    page.goto(f"{base}/home")
    notice = page.locator("#sent-back-notice")
    assert "差し戻された問題 1 件" in notice.inner_text()
    assert _axe_serious(page) == []
    notice.get_by_role("link").click()
    page.wait_for_url(f"{base}/bank/returned")
    assert COMMENT in page.locator("#returned-items").inner_text()
    assert _axe_serious(page) == []
    page.get_by_role("link", name=ITEM).click()
    page.wait_for_url(f"{base}/bank/returned/{ITEM}")
    assert COMMENT in page.locator("#returned-comment").inner_text()
    assert page.locator("#child-figure svg").is_visible()
    assert _axe_serious(page) == []
