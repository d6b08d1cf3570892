"""Real browser: every page a teacher, a school administrator and a child reach by following links from
their home page (same origin, GET, up to 40 pages each) answers 200 and is axe-core clean (serious and
critical WCAG 2.2 A/AA and best-practice rules): issue 19's "axe-core clean on every page a teacher or child
reaches". The runner (/test/…) and its practice mode have their own axe tests (test_runner_a11y.py,
test_classroom_practice.py); the QR card pages theirs (test_signin_cards_browser.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urldefrag, urlparse

import pytest
from sqlmodel import Session

from tests.browser.test_runner_a11y import axe_violations, make_fixed_form
from tests.lms.conftest import PASSWORD

pytestmark = pytest.mark.browser

SKIP = ("/logout", "/static/", "/login", "/test/")  # sign-out; files; the runner has its own a11y tests
MAX_PAGES = 40


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    page.wait_for_url(f"{base}/home")


def _crawl(page: Any, base: str) -> dict[str, list[str]]:
    """Visit every same-origin page reachable from /home; the axe violations of each (empty lists: clean)."""
    host = urlparse(base).netloc
    queue, seen = ["/home"], {"/home"}
    found: dict[str, list[str]] = {}
    while queue and len(found) < MAX_PAGES:
        path = queue.pop(0)
        response = page.goto(base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        found[path] = axe_violations(page)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            url = urlparse(urldefrag(href)[0])
            target = url.path + (f"?{url.query}" if url.query else "")
            if url.netloc != host or target in seen or url.path.endswith(".csv"):
                continue
            if any(url.path.startswith(prefix) for prefix in SKIP):
                continue
            seen.add(target)
            queue.append(target)
    return found


@pytest.mark.parametrize("username", ["t-a1", "sa-a", "s-a1"])
def test_every_page_reached_from_home_is_axe_clean(
    page: Any, live_server: str, world: Any, db_session: Session, username: str
) -> None:
    make_fixed_form(db_session, world)  # a test given to 3年1組: its list, live view and report have rows
    page.set_viewport_size({"width": 1366, "height": 768})
    _sign_in(page, live_server, username)
    found = _crawl(page, live_server)
    print(f"{username}: {len(found)} pages: {', '.join(sorted(found))}")
    assert len(found) >= (1 if username == "s-a1" else 12)
    assert {path: v for path, v in found.items() if v} == {}
