"""S-X²: expected proportions against brute-force pattern enumeration, null rejection rate by simulation,
and detection of a misfitting item."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from reading_tests._simulate import simulate
from reading_tests.calibration import calibrate
from reading_tests.errors import InvalidInput
from reading_tests.io import ItemParams, ResponseData
from reading_tests.sx2 import _summed_score, s_x2


def test_lord_wingersky_equals_pattern_enumeration() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 0.9, (6, 3))
    expected = np.zeros((7, 3))
    for pattern in itertools.product([0, 1], repeat=6):
        x = np.array(pattern)[:, None]
        expected[x.sum()] += np.prod(np.where(x == 1, p, 1 - p), axis=0)
    np.testing.assert_allclose(_summed_score(p), expected, atol=1e-14)


def test_null_rejection_rate_is_near_nominal() -> None:
    rng = np.random.default_rng(1)
    k = 20
    a, b = rng.uniform(0.7, 2.0, k), rng.normal(0, 1, k)
    p_values = []
    for _ in range(15):
        data = simulate(rng, rng.normal(size=1000), a, b)
        fitted = calibrate(data, "2pl", se="none").params
        p_values.append(s_x2(data, fitted).p_value)
    rate = float((np.concatenate(p_values) < 0.05).mean())
    assert 0.02 <= rate <= 0.09, rate  # 300 tests: nominal 0.05 ± 2 SE


def test_a_misfitting_item_is_detected() -> None:
    rng = np.random.default_rng(2)
    k = 20
    a, b = rng.uniform(0.7, 2.0, k), rng.normal(0, 1, k)
    theta = rng.normal(size=3000)
    x = simulate(rng, theta, a, b).to_dense()
    # item 0: non-monotone (a "trick" item that the best students overthink)
    p0 = 0.8 * np.exp(-0.5 * theta**2)
    x[:, 0] = rng.random(3000) < p0
    data = ResponseData.from_dense(x)
    fitted = calibrate(data, "2pl", se="none").params
    res = s_x2(data, fitted)
    assert res.p_value[0] < 1e-6
    assert float(np.median(res.p_value[1:])) > 0.1


def test_incomplete_data_is_refused() -> None:
    x = np.array([[1, 0, np.nan], [0, 1, 1], [1, 1, 0]], dtype=float)
    params = ItemParams.create(["i0", "i1", "i2"], [1, 1, 1], [0, 0, 0])
    with pytest.raises(InvalidInput, match="complete"):
        s_x2(ResponseData.from_dense(x), params)
