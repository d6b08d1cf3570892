"""Real browser: a student signs in, sees the home page and the big finish button, signs out;
a teacher sees only their own class and its roster."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lms.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    page.wait_for_url(f"{base}/home")


def test_student_signs_in_and_out(page: Any, live_server: str) -> None:
    _sign_in(page, live_server, "s-a1")
    assert page.get_by_role("heading", name="わたしのテスト").is_visible()
    assert page.get_by_role("heading", name="わたしのレッスン").is_visible()
    finish = page.get_by_role("button", name="おわる（サインアウト）")
    assert finish.is_visible()
    box = finish.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 200  # big enough for small hands
    page.screenshot(path="/tmp/giga_student_home.png", full_page=True)
    finish.click()
    page.wait_for_url(f"{live_server}/login?bye=1")
    assert page.get_by_text("サインアウトしました").is_visible()
    page.goto(f"{live_server}/home")
    assert page.url.startswith(f"{live_server}/login")  # signed out for real


def test_teacher_sees_only_their_class(page: Any, live_server: str, world: Any) -> None:
    _sign_in(page, live_server, "t-a1")
    rows = page.locator("#class-list tbody tr")
    assert rows.count() == 1 and "3年1組" in rows.first.inner_text()
    page.screenshot(path="/tmp/giga_teacher_home.png", full_page=True)
    page.get_by_role("link", name="3年1組").click()
    page.wait_for_url(f"{live_server}/classes/{world.classes['A1'].id}")
    roster = page.locator("#roster tbody").inner_text()
    assert "一郎" in roster and "花子" in roster and "次郎" not in roster
    page.screenshot(path="/tmp/giga_teacher_class.png", full_page=True)
    response = page.goto(f"{live_server}/classes/{world.classes['B1'].id}")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="ページが見つかりません").is_visible()


def test_login_page_keyboard_and_skip_link(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "本文へスキップ"
    page.screenshot(path="/tmp/giga_login.png")
    page.get_by_label("ユーザー名").fill("s-a1")
    page.get_by_label("パスワード").fill("wrong-password")
    page.keyboard.press("Enter")
    page.wait_for_selector("#login-error")
    assert "ちがいます" in page.locator("#login-error").inner_text()
