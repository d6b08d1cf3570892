"""Only reviewed test-pool items reach a test; practice-pool items stay in practice; drafts reach no child."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace

import pytest

from lms.core.errors import InvalidInput
from lms.reading import delivery as dl
from lms.reading.practice.service import practice_items
from reading_tests.items import ItemBank, load_bank


@functools.cache
def shipped() -> ItemBank:
    return load_bank()


@pytest.fixture
def bank() -> Iterator[ItemBank]:
    """The shipped bank plus a deliverable practice item and a draft test item of known ids."""
    items = list(shipped())
    pilots = [i for i in items if i.status == "pilot" and i.irt is not None and i.skill == "DEP"]
    practice = replace(pilots[0], id="DEP-P99", pool="practice")
    draft = replace(pilots[1], id="DEP-D99", status="draft")
    test_bank = ItemBank([*items, practice, draft])
    dl.set_item_bank(test_bank)
    yield test_bank
    dl.set_item_bank(shipped())


def spec(kind: str, item_ids: tuple[str, ...] = (), skills: tuple[str, ...] = ("DEP",)) -> dl.DesignSpec:
    return dl.DesignSpec(
        kind=kind, skills=skills, min_items=3, max_items=15, se_target=0.3, item_ids=item_ids, pilot_rate=0.0
    )


def test_the_shipped_bank_has_drafts_and_practice_items_to_keep_out(bank: ItemBank) -> None:
    assert any(i.status == "draft" for i in bank) and any(i.pool == "practice" for i in bank)


def test_an_adaptive_test_draws_only_reviewed_test_pool_items(bank: ItemBank) -> None:
    delivery = dl.delivery_for(spec("cat", skills=()))
    assert delivery.items
    assert {bank[i].pool for i in delivery.items} == {"test"}
    assert {bank[i].status for i in delivery.items} <= set(dl.DELIVERED_STATUSES)
    assert "DEP-P99" not in delivery.items and "DEP-D99" not in delivery.items


def test_a_fixed_form_refuses_a_draft_and_a_practice_item(bank: ItemBank) -> None:
    with pytest.raises(InvalidInput, match="DEP-D99"):
        dl.delivery_for(spec("fixed", ("DEP-001", "DEP-D99")))
    with pytest.raises(InvalidInput, match="DEP-P99"):
        dl.delivery_for(spec("fixed", ("DEP-001", "DEP-P99")))
    assert set(dl.delivery_for(spec("fixed", ("DEP-001", "DEP-002"))).items) == {"DEP-001", "DEP-002"}


def test_practice_uses_the_practice_pool_once_it_has_deliverable_items(bank: ItemBank) -> None:
    assert [i.id for i in practice_items()] == ["DEP-P99"]
    dl.set_item_bank(shipped())  # no deliverable practice item yet: practice falls back to the test pool
    fallback = practice_items()
    assert fallback and all(i.pool == "test" and i.status in dl.DELIVERED_STATUSES for i in fallback)
