"""The "no repeat" exclusion set of a CAT session (items seen recently or used in practice)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from reading_tests.cat import CatDesign, CatPool, CatSession, lookahead
from reading_tests.cat.simulation import random_pool
from reading_tests.errors import InvalidInput
from reading_tests.irt import prob


@pytest.fixture(scope="module")
def pool() -> CatPool:
    return random_pool(60, seed=5, guessing=0.2, skills=("DEP", "ANA"), genres=("textbook",))


def _run(session: CatSession, theta: float, rng: np.random.Generator) -> list[str]:
    bank = session.design.bank
    while (item := session.next_item()) is not None:
        i = bank.index[item]
        session.record(item, int(rng.random() < prob(theta, bank.a[i], bank.b[i], bank.c[i])))
    return [bank.item_ids[i] for i in session.items]


@pytest.mark.parametrize("method", ["none", "randomesque", "sympson-hetter"])
def test_excluded_items_are_never_administered(pool: CatPool, method: str) -> None:
    sh = np.full(pool.size, 0.5) if method == "sympson-hetter" else None
    design = CatDesign.build(pool, max_items=15, exposure=method, sh_parameters=sh)
    rng = np.random.default_rng(1)
    for k in range(30):
        first = _run(CatSession.start(design, seed=k), 0.0, rng)
        second = CatSession.start(design, seed=k, exclude=first)
        assert not set(_run(second, 0.0, rng)) & set(first)
        assert len(second.items) == 15


def test_unexcluded_session_would_have_repeated(pool: CatPool) -> None:
    # without the exclusion the same student at the same θ gets overlapping tests (the test above bites)
    design = CatDesign.build(pool, max_items=15)
    rng = np.random.default_rng(2)
    first = _run(CatSession.start(design, seed=1), 0.0, rng)
    assert set(_run(CatSession.start(design, seed=2), 0.0, rng)) & set(first)


def test_exclusions_survive_json_and_lookahead(pool: CatPool) -> None:
    design = CatDesign.build(pool, max_items=10, exposure="randomesque", randomesque_k=3)
    excluded = list(pool.item_ids[:20])
    session = CatSession.start(design, seed=7, exclude=[*excluded, "RETIRED-ITEM"])
    assert [pool.item_ids[i] for i in session.excluded] == excluded
    item = session.next_item()
    assert item is not None
    session.record(item, 1)
    state = json.loads(json.dumps(session.to_dict()))
    assert state["excluded"] == excluded
    restored = CatSession.from_dict(design, state)
    assert restored.next_item() == session.next_item()
    assert not _tree_items(lookahead(session, depth=3)) & set(excluded)
    legacy = dict(state)
    del legacy["excluded"]  # a state saved before exclusions existed still loads
    assert CatSession.from_dict(design, legacy).excluded == []


def _tree_items(node: dict[str, Any]) -> set[str]:
    found = {node["item_id"]} if node.get("item_id") else set()
    for child in node.get("after", {}).values():
        found |= _tree_items(child)
    return found


def test_excluding_everything_ends_the_test(pool: CatPool) -> None:
    design = CatDesign.build(pool, max_items=10)
    session = CatSession.start(design, seed=3, exclude=pool.item_ids)
    assert session.next_item() is None and session.finished


def test_bad_exclusion_state_is_refused(pool: CatPool) -> None:
    design = CatDesign.build(pool, max_items=10)
    state = CatSession.start(design, seed=4, exclude=[pool.item_ids[0]]).to_dict()
    state["excluded"] = "S0000"
    with pytest.raises(InvalidInput, match="excluded"):
        CatSession.from_dict(design, state)
