"""M2: LSAT-7 against the PyPI mirt port and R mirt, null rejection rate by simulation, misfit detection."""

from __future__ import annotations

import numpy as np
import pytest

from reading_tests._simulate import simulate
from reading_tests.calibration import calibrate
from reading_tests.errors import InvalidInput
from reading_tests.io import ItemParams, ResponseData
from reading_tests.m2 import m2

LSAT7_COUNTS = [12, 19, 1, 7, 3, 19, 3, 17, 10, 5, 3, 7, 7, 23, 8, 28,
                7, 39, 11, 34, 14, 51, 15, 90, 6, 25, 7, 35, 18, 136, 32, 308]  # fmt: skip
LSAT7_PATTERNS = np.array([[int(bit) for bit in format(k, "05b")] for k in range(32)], dtype=float)


def test_lsat7_matches_mirt() -> None:
    data = ResponseData.from_dense(np.repeat(LSAT7_PATTERNS, LSAT7_COUNTS, axis=0))
    res = m2(data, calibrate(data, "2pl", tol=1e-6).params)
    # R mirt: M2(mirt(LSAT7, 1)) → M2 = 11.94, df = 5, p = 0.036, RMSEA = 0.037
    assert res.df == 5
    assert res.m2 == pytest.approx(11.94, abs=0.01)
    assert res.rmsea2 == pytest.approx(0.037, abs=0.001)
    mirt = pytest.importorskip("mirt")
    x = data.to_dense().astype(int)
    ref = mirt.compute_m2(mirt.fit_mirt(x, model="2PL"), x)
    assert res.m2 == pytest.approx(ref["M2"], abs=0.01)


def test_null_rejection_rate_is_near_nominal() -> None:
    rng = np.random.default_rng(8)
    k = 10
    a, b = rng.uniform(0.7, 2.0, k), rng.normal(0, 1, k)
    p_values = []
    for _ in range(100):
        data = simulate(rng, rng.normal(size=1000), a, b)
        p_values.append(m2(data, calibrate(data, "2pl", se="none").params).p_value)
    rate = float((np.array(p_values) < 0.05).mean())
    assert 0.01 <= rate <= 0.10, rate  # 100 replications: 0.05 ± 2.3 SE


def test_a_second_dimension_is_detected() -> None:
    rng = np.random.default_rng(9)
    n, k = 2000, 12
    theta1, theta2 = rng.normal(size=n), rng.normal(size=n)
    a, b = rng.uniform(1.0, 2.0, k), rng.normal(0, 1, k)
    theta = np.where(np.arange(k)[None, :] < 6, theta1[:, None], theta2[:, None])
    x = (rng.random((n, k)) < 1 / (1 + np.exp(-a * (theta - b)))).astype(float)
    data = ResponseData.from_dense(x)
    res = m2(data, calibrate(data, "2pl", se="none").params)
    assert res.p_value < 1e-10 and res.rmsea2 > 0.05 and res.srmsr > 0.1


def test_too_few_items_is_invalid_input() -> None:
    data = ResponseData.from_dense(np.array([[0, 1], [1, 0], [1, 1], [0, 0]], dtype=float))
    params = ItemParams.create(["i0", "i1"], [1.0, 1.0], [0.0, 0.0])
    with pytest.raises(InvalidInput, match="marginals"):
        m2(data, params)


def test_an_unidentified_item_is_named_not_a_traceback() -> None:
    """A 3PL miskey drifts to b ≈ 40: the margins ignore its parameters and Δ is singular."""
    rng = np.random.default_rng(3)
    k = 8
    data = simulate(rng, rng.normal(size=500), rng.uniform(0.8, 2.0, k), rng.normal(0, 1, k))
    b = np.zeros(k)
    b[2] = 40.0
    params = ItemParams.create([f"i{j}" for j in range(k)], np.ones(k), b, np.full(k, 0.2), model="3pl")
    with pytest.raises(InvalidInput, match="i2"):
        m2(data, params)
