"""Real browser: the board signs in (password + TOTP), opens the dashboard with data, follows a shareable
URL, and axe-core finds no serious or critical violation; a screenshot goes to /tmp/board_dashboard.png."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from sqlmodel import Session

from lms.board.releases import release_closed_terms
from lms.board.service import refresh_aggregates
from tests.lms.conftest import PASSWORD
from tests.lms.test_board_service import STUDENT_FAMILY, build_history
from tests.support import require_axe

pytestmark = pytest.mark.browser


def _axe_serious(page: Any) -> list[str]:
    page.add_script_tag(path=str(require_axe()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_board_dashboard_renders_and_is_accessible(
    page: Any, live_server: str, world: Any, engine: Any
) -> None:
    with Session(engine) as session:
        history = build_history(session, world)
        school_d = history.schools["D"].id
        refresh_aggregates(session=session)
        release_closed_terms(session)  # the board reads releases (issue 14)
        session.commit()
    base = live_server
    page.goto(f"{base}/login")
    page.get_by_label("ユーザー名").fill("board")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    page.wait_for_url("**/login/mfa**")
    page.locator("#code").fill(pyotp.TOTP(world.totp["board"]).now())
    page.locator("#code").press("Enter")
    page.wait_for_url(f"{base}/home")
    page.goto(f"{base}/board")
    page.locator("#f-year").select_option("2025")
    page.locator("#f-term").select_option("1")
    page.locator("#f-grade").select_option("P3")
    page.locator("#f-school").select_option(label="みどり第二小学校")
    page.get_by_role("button", name="表示").click()
    page.wait_for_url("**/board?year=2025&term=1**")
    assert "grade=P3" in page.url and f"school={school_d}" in page.url
    assert page.locator("#compare-table tbody tr").count() >= 2
    assert page.locator("svg.chart").count() >= 2
    assert page.locator("#grid-table td.hidden-cell").count() >= 1
    assert STUDENT_FAMILY not in page.content()
    assert _axe_serious(page) == []
    page.screenshot(path="/tmp/board_dashboard.png", full_page=True)
    # the same URL in a new tab shows the same figures (filters are shareable)
    mean = page.locator("#kpi-mean").inner_text()
    other = page.context.new_page()
    other.goto(page.url)
    assert other.locator("#kpi-mean").inner_text() == mean
    other.emulate_media(media="print")
    other.goto(page.url.replace("/board?", "/board/print?"))
    assert other.locator("#board-filters").count() == 0
    assert _axe_serious(other) == []
