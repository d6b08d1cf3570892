"""Real browser: a REP item with its picture in the question (``figure``) — the child sees the drawing
under the text, a screen reader hears its Japanese alt text once (the drawing itself is hidden from it),
axe-core finds nothing serious, and the next item without a figure shows none (issue 17)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from lms.reading import delivery as dl
from reading_tests.items import ItemBank
from tests.browser.test_runner_a11y import axe_violations
from tests.browser.test_runner_take_test import answer_current, shown_item, sign_in

pytestmark = pytest.mark.browser
FORM = ("REP-023", "DEP-012")  # a figure, then an item without one
# Headless Chromium has no voices: a speechSynthesis that records what the runner would say.
SPEECH_RECORDER = """
window.__spoken = [];
Object.defineProperty(window, "speechSynthesis", {configurable: true, value: {
  speaking: false, cancel: function () {}, getVoices: function () { return []; },
  speak: function (u) { window.__spoken.push(u.text); }
}});
"""


@pytest.fixture
def figure_bank() -> Iterator[None]:
    """The shipped bank with REP-023 (a reviewed-looking copy of the draft) deliverable."""
    previous = dl.item_bank()
    draft = previous["REP-023"]
    assert draft.figure is not None
    items = [dataclasses.replace(i, status="pilot") if i.id == "REP-023" else i for i in previous]
    dl.set_item_bank(ItemBank(items))
    yield
    dl.set_item_bank(previous)


def test_a_child_sees_the_figure_and_a_screen_reader_hears_its_alt_text(
    page: Any, live_server: str, world: Any, db_session: Session, figure_bank: None
) -> None:
    from lms.reading import authoring

    assessment = authoring.create_assessment(
        session=db_session, title="図のある問題", kind="fixed", item_ids=FORM, created_by=world.users["t-a1"]
    )
    now = datetime.now(UTC)
    assignment = authoring.create_assignment(
        session=db_session,
        assessment=assessment,
        class_=world.classes["A1"],
        now=now,
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(hours=1),
        accommodations={world.users["s-a1"].id: authoring.AccommodationIn(read_aloud=True)},
        created_by=world.users["t-a1"],
    )
    db_session.commit()
    page.set_viewport_size({"width": 1024, "height": 768})
    page.add_init_script(SPEECH_RECORDER)
    sign_in(page, live_server)
    page.goto(f"{live_server}/test/{assignment.id}")

    assert shown_item(page) == "REP-023"
    figure = page.locator("#figure")
    assert figure.is_visible()
    box = figure.locator("svg").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100  # drawn, not collapsed
    assert figure.locator("svg rect").count() >= 4  # the four bars
    # one name for screen readers: the wrapper's Japanese alt text; the drawing is hidden from them
    assert figure.get_attribute("role") == "img"
    shipped = dl.item_bank()["REP-023"].figure
    assert shipped is not None and figure.get_attribute("aria-label") == shipped.alt
    assert "ぼうグラフ" in (figure.get_attribute("aria-label") or "")
    assert figure.locator("svg").get_attribute("aria-hidden") == "true"
    # what a screen reader announces: one image, named by the alt text (computed by the browser)
    alt = figure.get_attribute("aria-label") or ""
    named = page.get_by_role("img", name=alt, exact=True)
    assert named.count() == 1 and "1はん6さつ" in alt
    assert "1はん6さつ" in figure.aria_snapshot()
    assert axe_violations(page) == []
    page.screenshot(path="/tmp/giga_runner_figure.png")
    # read-aloud (the child's accommodation) says the picture too, after the text, in the stored reading
    page.get_by_role("button", name="読み上げ").click()
    spoken: list[str] = page.evaluate("window.__spoken")
    speech = dl.item_payload(dl.item_bank()["REP-023"], 4)["speech"]
    assert len(spoken) == 1 and spoken[0].startswith(speech["stimulus"])
    assert spoken[0].index(speech["figure"]) >= len(speech["stimulus"]) and "1はん6さつ" in speech["figure"]
    answer_current(page)

    assert shown_item(page) == "DEP-012"
    assert page.locator("#figure").is_hidden() and page.locator("#figure svg").count() == 0
