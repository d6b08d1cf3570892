"""Real browser: a reviewer goes from the home page to the queue of draft items, opens one (a picture item,
rendered as a child sees it), ticks the checklist and approves it; the pages pass axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import Session, select

from lms.reading import delivery as dl
from lms.reading.bank_review.models import ItemReviewDecision
from lms.reading.bank_review.service import grant_reviewer
from reading_tests.items import ItemBank, Review
from tests.browser.test_teacher_reading_tests import _axe_serious, _sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def bank_with_a_picture_draft() -> Iterator[str]:
    shipped = dl.item_bank()
    picture = next(i for i in shipped if i.format == "picture_choice")
    draft = replace(picture, status="draft", review=Review("ai-author-REP", None, None, ()))
    dl.set_item_bank(ItemBank([i if i.id != picture.id else draft for i in shipped]))
    yield picture.id
    dl.set_item_bank(shipped)


def test_a_reviewer_approves_a_draft_from_the_checklist(
    page: Any, live_server: str, world: Any, engine: Any, bank_with_a_picture_draft: str
) -> None:
    item_id = bank_with_a_picture_draft
    with Session(engine) as session:
        grant_reviewer(session, username="t-a1", by=None)
        session.commit()
    base = live_server
    _sign_in(page, base, "t-a1")
    page.get_by_role("link", name="問題のレビュー（下書きの確認）").click()
    page.wait_for_url(f"{base}/bank/review")
    assert _axe_serious(page) == []
    band = dl.item_bank()[item_id].grade_band  # the queue lists drafts by skill × band
    skill_cell = page.locator(f"#review-queue a[href*='skill=REP'][href*='band={band}']")
    skill_cell.click()
    page.get_by_role("link", name=item_id).click()
    page.wait_for_url(f"{base}/bank/review/{item_id}")
    assert page.locator("#child-view svg").count() >= 3  # the pictures as the child sees them
    assert page.locator("#rationales tbody tr").count() >= 3
    assert _axe_serious(page) == []
    page.screenshot(path="/tmp/giga_bank_review_item.png", full_page=True)

    page.get_by_label("承認する（レビュー済みにする）").check()
    page.get_by_role("button", name="判断を記録する").click()
    assert "すべての項目を確認" in page.locator("#review-error").inner_text()  # nothing ticked yet
    for box in page.locator("input[name=checks]").all():
        box.check()
    page.get_by_label("コメント（差し戻すときは必須：直してほしい点）").fill("図の色の説明も確認しました")
    page.get_by_label("承認する（レビュー済みにする）").check()
    page.get_by_role("button", name="判断を記録する").click()
    page.wait_for_url(f"{base}/bank/review?skill=REP*")
    assert item_id in page.get_by_role("status").inner_text()
    with Session(engine) as session:
        row = session.exec(select(ItemReviewDecision)).one()
        assert (row.item_id, row.decision, row.comment) == (item_id, "approve", "図の色の説明も確認しました")
