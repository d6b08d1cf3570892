"""Item selection: maximum information, content balancing, randomesque and Sympson–Hetter exposure control."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from reading_tests.cat import CatDesign, CatPool, ExposureControl, calibrate_sympson_hetter, simulate
from reading_tests.cat.rng import uniform
from reading_tests.cat.selection import ContentBalancer, quotas, select_item
from reading_tests.cat.simulation import random_pool
from reading_tests.errors import InvalidInput
from reading_tests.irt import information


@pytest.fixture(scope="module")
def pool() -> CatPool:
    return random_pool(
        300, seed=11, skills=("DEP", "ANA", "PARA", "INF"), genres=("textbook", "news", "dict")
    )


def test_quotas_use_largest_remainders() -> None:
    assert quotas([0.4, 0.3, 0.2, 0.1], 20) == [8, 6, 4, 2]
    assert quotas([1 / 3, 1 / 3, 1 / 3], 20) == [7, 7, 6]
    assert quotas([0.55, 0.45], 5) == [3, 2]
    assert sum(quotas([0.123, 0.456, 0.421], 37)) == 37


def test_maximum_information_picks_the_argmax_of_exact_information(pool: CatPool) -> None:
    none = ExposureControl.build("none", bank=pool)
    rng = np.random.default_rng(3)
    for _ in range(50):
        theta = float(rng.uniform(-3, 3))
        used = [int(i) for i in rng.choice(pool.size, 15, replace=False)]
        exact = information(theta, pool.a, pool.b, pool.c)
        exact[used] = -1
        choice = select_item(pool, theta, used, exposure=none, seed=0, step=15)
        assert choice.item == int(np.argmax(exact))


def test_uniform_draws_are_reproducible_and_uniform() -> None:
    draws = np.array([uniform(12345, step, draw) for step in range(200) for draw in range(25)])
    assert draws.min() >= 0 and draws.max() < 1
    assert abs(draws.mean() - 0.5) < 0.01
    assert np.histogram(draws, bins=10, range=(0, 1))[0].min() > 400  # 500 expected per bin
    assert uniform(12345, 3, 1) == uniform(12345, 3, 1) != uniform(12346, 3, 1)


def test_randomesque_spreads_first_items_over_the_top_k(pool: CatPool) -> None:
    control = ExposureControl.build("randomesque", bank=pool, k=5)
    firsts = Counter(select_item(pool, 0.0, [], exposure=control, seed=s, step=0).item for s in range(2000))
    top5 = set(np.argsort(-pool.information(0.0))[:5].tolist())
    assert set(firsts) == top5
    assert min(firsts.values()) > 300  # 400 expected each


def test_content_balancing_reaches_target_proportions(pool: CatPool) -> None:
    targets = {
        "skill": {"DEP": 0.4, "ANA": 0.3, "PARA": 0.2, "INF": 0.1},
        "genre": {"textbook": 0.5, "news": 0.25, "dict": 0.25},
    }
    design = CatDesign.build(pool, max_items=20, content=targets, exposure="randomesque", randomesque_k=3)
    result = simulate(design, np.random.default_rng(5).standard_normal(300), seed=6)
    skills = dict(zip(pool.item_ids, pool.attributes["skill"].codes.tolist(), strict=True))
    genres = dict(zip(pool.item_ids, pool.attributes["genre"].codes.tolist(), strict=True))
    cats_s, cats_g = pool.attributes["skill"].categories, pool.attributes["genre"].categories
    want_s = {"DEP": 8, "ANA": 6, "PARA": 4, "INF": 2}
    want_g = {"textbook": 10, "news": 5, "dict": 5}
    exact = 0
    for items in result.items:
        got_s = Counter(cats_s[skills[i]] for i in items)
        got_g = Counter(cats_g[genres[i]] for i in items)
        exact += got_s == Counter(want_s) and got_g == Counter(want_g)
    assert exact >= 0.98 * len(result.items)
    # Without balancing the counts are far from these targets (the check above is not vacuous).
    free = simulate(CatDesign.build(pool, max_items=20), np.random.default_rng(5).standard_normal(50), seed=6)
    assert sum(Counter(cats_s[skills[i]] for i in items) == Counter(want_s) for items in free.items) < 5


def test_content_targets_are_validated(pool: CatPool) -> None:
    with pytest.raises(InvalidInput, match="sum to 1"):
        ContentBalancer.build(pool, {"skill": {"DEP": 0.5, "ANA": 0.2}}, 20)
    with pytest.raises(InvalidInput, match="no items"):
        ContentBalancer.build(pool, {"skill": {"XYZ": 1.0}}, 20)
    with pytest.raises(InvalidInput, match="not in the item pool"):
        ContentBalancer.build(pool, {"format": {"choice": 1.0}}, 20)


def test_sympson_hetter_keeps_exposure_below_target(pool: CatPool) -> None:
    design = CatDesign.build(pool, max_items=20)
    thetas = np.random.default_rng(8).standard_normal(1000)
    unconstrained = simulate(design, thetas, seed=9)
    assert unconstrained.exposure_rates.max() > 0.9  # the first item goes to everyone
    calibration = calibrate_sympson_hetter(design, 0.25, n_simulees=1000, max_iterations=15, seed=10)
    assert calibration.converged
    assert calibration.parameters.min() < 0.5 and calibration.parameters.max() == 1.0
    controlled = design.with_exposure(
        ExposureControl.build("sympson-hetter", bank=pool, sh_parameters=calibration.parameters)
    )
    result = simulate(controlled, thetas, seed=9)  # fresh sessions, not the calibration sample
    assert result.exposure_rates.max() <= 0.30
    # Exposure control costs a little precision, not much.
    assert result.summary()["rmse"] < 1.15 * unconstrained.summary()["rmse"]


def test_exposure_settings_are_validated(pool: CatPool) -> None:
    with pytest.raises(InvalidInput, match="exposure control"):
        ExposureControl.build("lottery", bank=pool)
    with pytest.raises(InvalidInput, match="one value in"):
        ExposureControl.build("sympson-hetter", bank=pool, sh_parameters=[0.5] * 3)
    with pytest.raises(InvalidInput, match="unattainable"):
        calibrate_sympson_hetter(CatDesign.build(pool, max_items=20), 0.05)
