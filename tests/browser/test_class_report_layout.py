"""Real browser, issue 19: the class report at 1366×768 shows every skill column without scrolling sideways
(读解力（総合） included), the name column stays in view, and the A4 landscape print holds every column."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from tests.browser.test_runner_a11y import axe_violations
from tests.browser.test_runner_take_test import sign_in
from tests.lms.test_practice_api import give_results

pytestmark = pytest.mark.browser
A4_LANDSCAPE_PX = round((297 - 20) / 25.4 * 96)  # the printable width at 10 mm margins, CSS pixels


def _columns_fit(page: Any, width: int) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """width => {
                 const heads = [...document.querySelectorAll('#heatmap thead th')];
                 const table = document.getElementById('heatmap');
                 return {names: heads.map(h => h.innerText.trim()),
                         right: Math.max(...heads.map(h => h.getBoundingClientRect().right)),
                         overflow: table.parentElement.scrollWidth - table.parentElement.clientWidth,
                         width: width};
               }""",
            width,
        )
    )


def test_report_fits_the_screen_and_a4_landscape(
    page: Any, live_server: str, world: Any, db_session: Session
) -> None:
    give_results(db_session, world)
    give_results(db_session, world, "s-a1b")
    klass = world.classes["A1"].id
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server, "t-a1")
    page.goto(f"{live_server}/classes/{klass}/report")
    screen = _columns_fit(page, 1366)
    assert len(screen["names"]) == 2 + 8 and "読解力（総合）" in screen["names"]
    assert screen["overflow"] <= 0, screen  # nothing hidden behind a sideways scroll
    assert screen["right"] <= 1366 - 15, screen  # the last column is on screen (room for a scrollbar)
    assert (
        page.get_by_role("link", name="山田 一郎").get_attribute("href", timeout=2000).startswith("/results/")
    )
    assert axe_violations(page) == []

    page.goto(f"{live_server}/classes/{klass}/report/print")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_LANDSCAPE_PX, "height": 740})
    printed = _columns_fit(page, A4_LANDSCAPE_PX)
    assert len(printed["names"]) == 10
    assert printed["overflow"] <= 0 and printed["right"] <= A4_LANDSCAPE_PX, printed
    pdf = page.pdf(format="A4", landscape=True, print_background=True)
    assert pdf[:4] == b"%PDF"
