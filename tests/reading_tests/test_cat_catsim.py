"""Our CAT against catsim, an independent implementation (dev dependency only).

catsim has maximum-information selection but no EAP estimator, so selection is compared directly and θ̂
is compared with an EAP integrated numerically over catsim's own log-likelihood.
"""

from __future__ import annotations

import math
from typing import Any

import catsim.irt as catsim_irt
import catsim.item_bank as catsim_bank
import catsim.selection as catsim_selection
import numpy as np
import pytest
from scipy import integrate

from reading_tests.cat import CatDesign, CatPool, CatSession
from reading_tests.cat.selection import ExposureControl, select_item
from reading_tests.cat.simulation import random_pool


@pytest.fixture(scope="module")
def pool() -> CatPool:
    return random_pool(400, seed=31, guessing=0.25)


@pytest.fixture(scope="module")
def peer(pool: CatPool) -> object:
    return catsim_bank.ItemBank(np.column_stack([pool.a, pool.b, pool.c, np.ones(pool.size)]))


def _catsim_eap(peer: Any, administered: list[int], responses: list[int]) -> tuple[float, float]:
    params = peer.items[administered, :4]
    answers = [bool(x) for x in responses]

    def weight(theta: float) -> float:
        return math.exp(catsim_irt.log_likelihood(theta, answers, params) - 0.5 * theta * theta)

    kw = {"limit": 200, "points": [-2.0, 0.0, 2.0]}
    z = integrate.quad(weight, -4, 4, **kw)[0]  # the same N(0, 1) prior truncated to the grid's ±4
    m1 = integrate.quad(lambda t: t * weight(t), -4, 4, **kw)[0] / z
    m2 = integrate.quad(lambda t: t * t * weight(t), -4, 4, **kw)[0] / z
    return m1, math.sqrt(m2 - m1 * m1)


def test_max_information_choice_matches_catsim(pool: CatPool, peer: Any) -> None:
    selector = catsim_selection.MaxInfoSelector()
    control = ExposureControl.build("none", bank=pool)
    rng = np.random.default_rng(4)
    for _ in range(100):
        theta = float(rng.uniform(-3.5, 3.5))
        used = [int(i) for i in rng.choice(pool.size, int(rng.integers(0, 30)), replace=False)]
        ours = select_item(pool, theta, used, exposure=control, seed=0, step=len(used)).item
        theirs = selector.select(item_bank=peer, administered_items=used, est_theta=theta)
        assert theirs is not None and ours == int(theirs)


def test_whole_sessions_match_catsim_selector_and_integrated_eap(pool: CatPool, peer: Any) -> None:
    selector = catsim_selection.MaxInfoSelector()
    design = CatDesign.build(pool, max_items=15)
    rng = np.random.default_rng(5)
    for seed in range(8):
        theta = float(rng.normal())
        session = CatSession.start(design, seed=seed)
        while (item := session.next_item()) is not None:
            expected = selector.select(
                item_bank=peer, administered_items=session.items, est_theta=session.theta_hat
            )
            assert expected is not None and pool.index[item] == int(expected)
            i = pool.index[item]
            p = pool.c[i] + (1 - pool.c[i]) / (1 + math.exp(-pool.a[i] * (theta - pool.b[i])))
            session.record(item, int(rng.random() < p))
            reference = _catsim_eap(peer, session.items, session.responses)
            assert session.theta_hat == pytest.approx(reference[0], abs=1e-3)
            assert session.se == pytest.approx(reference[1], abs=1e-3)
