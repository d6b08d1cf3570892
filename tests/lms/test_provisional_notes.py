"""While item parameters are provisional (a simulated pilot, not a calibration of real responses), every
teacher and board screen with scores or test planning says so plainly; once they are not, none does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import Session

from lms.reading import delivery as dl
from lms.reading.provisional import PROVISIONAL_NOTE, bank_is_provisional
from reading_tests.items import ItemBank
from tests.lms.assessments_helpers import make_assignment
from tests.lms.conftest import World


@pytest.fixture
def shipped() -> Iterator[ItemBank]:
    bank = dl.item_bank()
    yield bank
    dl.set_item_bank(bank)


def calibrated(bank: ItemBank) -> ItemBank:
    """The same bank as if every item had been calibrated on real responses."""
    return ItemBank(
        [replace(i, irt=replace(i.irt, provisional=False)) if i.irt is not None else i for i in bank]
    )


def staff_pages(world: World, assignment_id: int) -> dict[str, list[str]]:
    a1 = world.classes["A1"].id
    return {
        "t-a1": [
            f"/classes/{a1}/report",
            f"/classes/{a1}/report/print",
            f"/classes/{a1}/assignments",
            f"/classes/{a1}/assignments/new",
            f"/assignments/{assignment_id}/live",
        ],
        "board": ["/board", "/board/print", "/board/ebpm"],
    }


def test_every_staff_screen_says_the_parameters_are_provisional_and_stops_once_calibrated(
    client: Any,
    sign_in: Callable[..., Any],
    world: World,
    db_session: Session,
    clock: Any,
    shipped: ItemBank,
) -> None:
    assert bank_is_provisional()  # the shipped bank: a simulated pilot
    assignment = make_assignment(db_session, world, clock)
    pages = staff_pages(world, assignment.id)
    for username, paths in pages.items():
        sign_in(username)
        for path in paths:
            page = client.get(path)
            assert page.status_code == 200, (path, page.text[:300])
            assert 'id="provisional-note"' in page.text and PROVISIONAL_NOTE in page.text, path
        client.cookies.clear()
    assert "実際の児童生徒の解答で調整しておらず" in PROVISIONAL_NOTE  # pilot, not real responses

    dl.set_item_bank(calibrated(shipped))
    assert not bank_is_provisional()
    for username, paths in pages.items():
        sign_in(username)
        for path in paths:
            assert 'id="provisional-note"' not in client.get(path).text, path
        client.cookies.clear()
