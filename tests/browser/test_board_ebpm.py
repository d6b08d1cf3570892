"""Real browser: the board opens the evidence page (EBPM) from the dashboard, changes the grade, and
axe-core finds no serious or critical violation; a screenshot goes to /tmp/board_ebpm.png."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from sqlmodel import Session

from lms.board.disclosure_cases import Layout, simulate
from lms.roster.models import Org
from tests.browser.test_board_dashboard import _axe_serious
from tests.lms.conftest import PASSWORD
from tests.lms.test_board_ebpm import _store

pytestmark = pytest.mark.browser


def test_evidence_page_is_reachable_and_accessible(
    page: Any, live_server: str, world: Any, engine: Any
) -> None:
    with Session(engine) as session:
        tiny = Org(sourced_id="school-T", name="みどり山の分校", type="school", identifier="B123456789099",
                   parent_id=world.orgs["district"].id)  # fmt: skip
        session.add(tiny)
        session.flush()
        assert tiny.id is not None
        a, b = world.orgs["A"].id, world.orgs["B"].id
        layout: Layout = [
            (a, "P5", [30, 28], [False, False]), (b, "P5", [25, 26], [False, False]),
            (tiny.id, "P5", [6], [False]), (a, "P3", [31], [False]), (b, "P3", [29], [False]),
        ]  # fmt: skip
        for number, (year, term) in enumerate([(2024, 1), (2024, 2), (2025, 1)], start=1):
            _store(session, simulate(layout, school_year=year, term=term, seed=number), number)
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
    page.locator("#ebpm-link").click()
    page.wait_for_url("**/board/ebpm**")
    page.locator("#e-grade").select_option("P5")
    page.locator("#e-term").select_option("1")
    page.locator("#e-school").select_option(label=world.orgs["A"].name)
    page.get_by_role("button", name="表示").click()
    page.wait_for_url("**grade=P5**")
    assert page.locator("#years-table tbody tr").count() == 4  # two years × (city, school)
    assert page.locator("#versus-table tbody tr").count() == 3
    assert page.locator("#versus-table td.hidden-cell").count() >= 1  # the small school
    assert page.locator("svg#trend").count() == 1
    assert _axe_serious(page) == []
    page.screenshot(path="/tmp/board_ebpm.png", full_page=True)
