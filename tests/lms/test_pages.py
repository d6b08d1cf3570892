"""Pages: Japanese, accessible basics, the right content per role, error pages."""

from __future__ import annotations

from typing import Any

from tests.lms.conftest import csrf_of


def test_login_page_basics(client: Any) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="ja">' in html and 'class="skip-link" href="#main"' in html
    assert (
        '<label for="username">' in html
        and 'id="username"' in html
        and 'autocomplete="current-password"' in html
    )
    assert csrf_of(html)
    assert page.headers["cache-control"] == "no-store"


def test_root_redirects(client: Any, sign_in: Any) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    sign_in("s-a1")
    assert client.get("/", follow_redirects=False).headers["location"] == "/home"


def test_student_home(client: Any, sign_in: Any) -> None:
    sign_in("s-a1")
    html = client.get("/home").text
    for text in ("わたしのテスト", "わたしのレッスン", "おわる（サインアウト）", "一郎さん", "3年1組"):
        assert text in html, text
    assert 'id="finish-button"' in html and 'action="/logout"' in html


def test_teacher_home_lists_only_their_class(client: Any, sign_in: Any, world: Any) -> None:
    sign_in("t-a1")
    html = client.get("/home").text
    assert f'href="/classes/{world.classes["A1"].id}"' in html
    assert "3年2組" not in html and "1年1組" not in html
    assert "おわる（サインアウト）" not in html and "サインアウト" in html
    roster = client.get(f"/classes/{world.classes['A1'].id}").text
    assert "一郎" in roster and "花子" in roster and "次郎" not in roster and "出席番号" in roster


def test_school_admin_home(client: Any, sign_in: Any) -> None:
    sign_in("sa-a")
    html = client.get("/home").text
    assert "3年1組" in html and "3年2組" in html and "1年1組" not in html
    assert "学校の教職員アカウント" in html and "t-a1" in html and "t-b1" not in html


def test_board_home_shows_counts_and_no_names(client: Any, sign_in: Any) -> None:
    sign_in("board")
    html = client.get("/home").text
    assert "みどり第一小学校" in html and "みどり中学校" in html and 'id="school-list"' in html
    for name in ("一郎", "花子", "次郎", "三郎"):
        assert name not in html


def test_admin_home_links(client: Any, sign_in: Any) -> None:
    sign_in("admin")
    html = client.get("/home").text
    for href in ("/admin/roster", "/admin/audit", "/tokens"):
        assert f'href="{href}"' in html


def test_audit_page_filters(client: Any, sign_in: Any) -> None:
    sign_in("t-a1")
    client.cookies.clear()
    sign_in("admin")
    html = client.get("/admin/audit", params={"action": "auth.login", "actor": "t-a1"}).text
    assert "<td>サインイン</td>" in html and "1件" in html and "testclient" in html
    assert "利用者: 山田 先生A" in html and "auth.login</" not in html  # Japanese, with names (issue 19)
    assert '<option value="auth.login" selected>サインイン</option>' in html
    bad = client.get("/admin/audit", params={"date_from": "yesterday"})
    assert bad.status_code == 400 and "2026-04-01 の形" in bad.text


def test_not_found_page_is_japanese(client: Any) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert '<html lang="ja">' in response.text and "ページが見つかりません" in response.text


def test_too_many_requests_page(client: Any, world: Any, settings: Any) -> None:
    for _ in range(settings.login_max_failures + 1):
        page = client.get("/login")
        response = client.post(
            "/login", data={"username": "s-a1", "password": "x" * 9, "csrf_token": csrf_of(page.text)}
        )
    assert (
        response.status_code == 429
        and '<html lang="ja">' in response.text
        and "分ほど待って" in response.text
    )


def test_static_css_and_font_fallback(client: Any) -> None:
    css = client.get("/static/app.css")
    assert css.status_code == 200 and "BIZ UDPGothic" in css.text and "sans-serif" in css.text
    assert ":focus-visible" in css.text


def test_validation_error_on_a_page_is_a_japanese_400(client: Any, sign_in: Any) -> None:
    sign_in("t-a1")
    response = client.get("/classes/abc")
    assert response.status_code == 400 and "入力内容に誤りがあります" in response.text


def test_an_unexpected_error_is_explained_in_japanese(app: Any) -> None:
    """Not Starlette's "Internal Server Error": what happened and what to do, as a page or as JSON."""
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    def broken() -> None:
        raise RuntimeError("a bug")

    def database_down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    app.add_api_route("/test-broken", broken)
    app.add_api_route("/api/v1/test-database-down", database_down)
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/test-broken")
        assert page.status_code == 500 and "text/html" in page.headers["content-type"]
        assert "サーバーで問題が起きました" in page.text and "もう一度お試しください" in page.text
        assert "Internal Server Error" not in page.text
        api = client.get("/api/v1/test-database-down")
        assert api.status_code == 503 and "データベースにつながりません" in api.json()["detail"]
