"""Live CAT sessions: stopping, fixed forms, JSON state, resumption and look-ahead."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from reading_tests.cat import CatDesign, CatPool, CatSession, lookahead
from reading_tests.cat.estimation import eap_from_responses
from reading_tests.cat.simulation import random_pool
from reading_tests.errors import InvalidInput
from reading_tests.irt import prob

TARGETS = {
    "skill": {"DEP": 0.25, "ANA": 0.25, "PARA": 0.25, "INF": 0.25},
    "genre": {"textbook": 0.5, "news": 0.5},
}


@pytest.fixture(scope="module")
def pool() -> CatPool:
    return random_pool(
        250, seed=21, guessing=0.2, skills=("DEP", "ANA", "PARA", "INF"), genres=("textbook", "news")
    )


@pytest.fixture(scope="module", params=["none", "randomesque", "sympson-hetter"])
def design(request: pytest.FixtureRequest, pool: CatPool) -> CatDesign:
    method = request.param
    sh = np.random.default_rng(1).uniform(0.3, 1.0, pool.size) if method == "sympson-hetter" else None
    return CatDesign.build(
        pool, max_items=12, exposure=method, randomesque_k=4, sh_parameters=sh, content=TARGETS
    )


def _answer(pool: CatPool, item_id: str, theta: float, rng: np.random.Generator) -> int:
    i = pool.index[item_id]
    return int(rng.random() < prob(theta, pool.a[i], pool.b[i], pool.c[i]))


def _run(session: CatSession, theta: float, seed: int) -> list[tuple[str, int]]:
    rng = np.random.default_rng(seed)
    log = []
    while (item := session.next_item()) is not None:
        x = _answer(session.design.bank, item, theta, rng)
        session.record(item, x)
        log.append((item, x))
    return log


def test_session_estimates_match_batch_eap(design: CatDesign) -> None:
    session = CatSession.start(design, seed=99)
    log = _run(session, 0.7, seed=1)
    assert len(log) == 12 and session.finished and session.next_item() is None
    assert len({item for item, _ in log}) == 12
    items = design.bank.indices([item for item, _ in log])
    expected = eap_from_responses(design.bank, items, [x for _, x in log])
    assert (session.theta_hat, session.se) == pytest.approx(expected, abs=1e-12)


def test_same_seed_same_test_different_seed_differs(design: CatDesign) -> None:
    first = _run(CatSession.start(design, seed=5), 0.0, seed=2)
    again = _run(CatSession.start(design, seed=5), 0.0, seed=2)
    assert first == again
    if design.exposure.method != "none":
        others = {tuple(_run(CatSession.start(design, seed=s), 0.0, seed=2)) for s in range(10)}
        assert len(others) > 1


def test_state_survives_json_and_resumes_identically(design: CatDesign) -> None:
    reference = CatSession.start(design, seed=2024)
    full = _run(reference, -0.4, seed=3)
    # Same student, interrupted after 5 answers with an item pending, resumed "on another device".
    session = CatSession.start(design, seed=2024)
    rng = np.random.default_rng(3)
    for _ in range(5):
        item = session.next_item()
        assert item is not None
        session.record(item, _answer(design.bank, item, -0.4, rng))
    pending = session.next_item()
    stored = json.loads(json.dumps(session.to_dict()))
    resumed = CatSession.from_dict(design, stored)
    assert resumed.next_item() == pending
    assert resumed.theta_hat == pytest.approx(session.theta_hat, abs=1e-12)
    log = [(i, x) for i, x in full[:5]]
    while (item := resumed.next_item()) is not None:
        x = _answer(design.bank, item, -0.4, rng)
        resumed.record(item, x)
        log.append((item, x))
    assert log == full
    assert resumed.to_dict() == reference.to_dict()


def test_lookahead_agrees_with_the_session_and_does_not_mutate_it(design: CatDesign) -> None:
    for seed in range(4):
        session = CatSession.start(design, seed=seed)
        for x in (1, 0, 1):
            session.record(session.next_item() or "", x)
        before = session.to_dict()
        tree = lookahead(session, depth=2)
        assert session.to_dict() == before
        assert tree["item_id"] == session.next_item()
        json.dumps(tree)
        for path in ((0, 0), (0, 1), (1, 0), (1, 1)):
            branch = CatSession.from_dict(design, before)
            node: dict[str, Any] = tree
            for x in path:
                item = branch.next_item()
                assert item is not None and item == node["item_id"]
                branch.record(item, x)
                node = node["after"][str(x)]
            assert branch.next_item() == node["item_id"]
            assert "after" not in node
        assert (
            tree["after"]["0"]["item_id"] != tree["after"]["1"]["item_id"] or design.exposure.method != "none"
        )


def test_lookahead_marks_the_end_of_the_test(pool: CatPool) -> None:
    design = CatDesign.build(pool, max_items=3)
    session = CatSession.start(design, seed=1)
    session.record(session.next_item() or "", 1)
    tree = lookahead(session, depth=2)
    assert tree["after"]["1"]["after"]["0"] == {"item_id": None, "finished": True}
    with pytest.raises(InvalidInput, match="depth"):
        lookahead(session, depth=-1)


def test_se_target_stops_early_but_not_before_min_items(pool: CatPool) -> None:
    design = CatDesign.build(pool, max_items=40, min_items=8, se_target=0.45)
    lengths = []
    for seed in range(20):
        session = CatSession.start(design, seed=seed)
        _run(session, float(np.random.default_rng(seed).normal()), seed=seed)
        assert session.se <= 0.45 or len(session.items) == 40
        lengths.append(len(session.items))
        assert len(session.items) >= 8
    assert np.mean(lengths) < 30


def test_fixed_form_administers_the_form_in_order(pool: CatPool) -> None:
    form = [pool.item_ids[k] for k in (10, 3, 77, 5)]
    design = CatDesign.build(pool, fixed_form=form, exposure="randomesque")
    session = CatSession.start(design, seed=3)
    seen = []
    while (item := session.next_item()) is not None:
        seen.append(item)
        session.record(item, 0)
    assert seen == form
    with pytest.raises(InvalidInput, match="unknown item"):
        CatDesign.build(pool, fixed_form=["nope"])


def test_bad_answers_and_states_are_refused(pool: CatPool) -> None:
    design = CatDesign.build(pool, max_items=5)
    session = CatSession.start(design, seed=1)
    with pytest.raises(InvalidInput, match="no item is waiting"):
        session.record(pool.item_ids[0], 1)
    item = session.next_item()
    assert item is not None
    other = next(i for i in pool.item_ids if i != item)
    with pytest.raises(InvalidInput, match="waiting"):
        session.record(other, 1)
    with pytest.raises(InvalidInput, match="0 or 1"):
        session.record(item, 2)
    state = session.to_dict()
    with pytest.raises(InvalidInput, match="another item pool"):
        CatSession.from_dict(CatDesign.build(pool, max_items=6), state)
    with pytest.raises(InvalidInput, match="lacks the field"):
        CatSession.from_dict(design, {k: v for k, v in state.items() if k != "seed"})
    with pytest.raises(InvalidInput, match="unknown item"):
        CatSession.from_dict(design, {**state, "items": ["zzz"], "responses": [1]})
    with pytest.raises(InvalidInput, match="exceeds the pool size"):
        CatDesign.build(pool, max_items=pool.size + 1)
    with pytest.raises(InvalidInput, match="SE target"):
        CatDesign.build(pool, se_target=-1)


def test_sympson_hetter_set_aside_items_are_kept_in_state(pool: CatPool) -> None:
    sh = np.full(pool.size, 0.2)
    design = CatDesign.build(pool, max_items=10, exposure="sympson-hetter", sh_parameters=sh)
    session = CatSession.start(design, seed=8)
    _run(session, 0.0, seed=8)
    state = session.to_dict()
    assert len(state["set_aside"]) > 10  # with K = 0.2 about four items are passed over per item given
    assert not set(state["set_aside"]) & set(state["items"])
    assert CatSession.from_dict(design, state).to_dict() == state


def test_a_set_aside_item_answered_after_all_is_released_and_the_state_loads(pool: CatPool) -> None:
    """A client answers the item it prefetched from an earlier plan, which a later selection set aside: the
    engine counts it answered, no longer set aside nor unavailable twice, and the state loads again."""
    sh = np.full(pool.size, 0.2)
    design = CatDesign.build(pool, max_items=10, exposure="sympson-hetter", sh_parameters=sh)
    session = CatSession.start(design, seed=8)
    first = session.next_item()
    assert first is not None
    session.record(first, 1)
    assert session.next_item() is not None and session.set_aside  # the lottery passed some over
    passed_over = session.set_aside[0]
    session.pending = passed_over  # the client's answer is to that one
    session.record(design.bank.item_ids[passed_over], 0)
    state = session.to_dict()
    assert design.bank.item_ids[passed_over] in state["items"]
    assert not set(state["set_aside"]) & set(state["items"])
    assert session._unavailable.count(passed_over) == 1
    assert CatSession.from_dict(design, state).to_dict() == state
