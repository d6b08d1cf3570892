"""Ability estimates against brute-force integration and a general-purpose optimiser."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize

from reading_tests.errors import InvalidInput
from reading_tests.estimation import eap, estimate, estimate_by_skill, map_estimate, mle
from reading_tests.io import ItemParams, ResponseData

RNG = np.random.default_rng(3)
K = 12
A = RNG.lognormal(0, 0.3, K)
B = RNG.normal(0, 1, K)
C = np.where(np.arange(K) % 3 == 0, 0.2, 0.0)
PARAMS = ItemParams.create(
    [f"i{j}" for j in range(K)], A, B, C, model=["3pl" if c > 0 else "2pl" for c in C],
    extra={"skill": ["DEP" if j < 6 else "INF" for j in range(K)]},
)  # fmt: skip


def patterns() -> np.ndarray:
    x = (RNG.random((6, K)) < 0.6).astype(float)
    x[3] = 1.0  # all correct
    x[4] = 0.0  # all wrong
    x[2, :5] = np.nan  # a shorter form
    x[5, ::2] = np.nan
    return x


X = patterns()
DATA = ResponseData.from_dense(X, item_ids=PARAMS.item_ids)


def loglik(theta: float, x: np.ndarray) -> float:
    p = C + (1 - C) / (1 + np.exp(-A * (theta - B)))
    seen = ~np.isnan(x)
    return float(np.sum(np.where(x[seen] == 1, np.log(p[seen]), np.log1p(-p[seen]))))


def test_eap_matches_numerical_integration() -> None:
    result = eap(DATA, PARAMS)
    for i, x in enumerate(X):

        def dens(t: float, x: np.ndarray = x) -> float:
            return float(np.exp(loglik(t, x) - 0.5 * t * t))

        z = integrate.quad(dens, -12, 12, limit=200, epsabs=1e-13)[0]
        mean = integrate.quad(lambda t: t * dens(t), -12, 12, limit=200, epsabs=1e-13)[0] / z
        var = (
            integrate.quad(lambda t, m=mean: (t - m) ** 2 * dens(t), -12, 12, limit=200, epsabs=1e-13)[0] / z
        )
        assert result.theta[i] == pytest.approx(mean, abs=1e-6)
        assert result.se[i] == pytest.approx(np.sqrt(var), abs=1e-6)
    assert result.n_items.tolist() == [12, 12, 7, 12, 12, 6]


def test_map_matches_scipy_optimize() -> None:
    result = map_estimate(DATA, PARAMS)
    for i, x in enumerate(X):
        ref = optimize.minimize_scalar(
            lambda t, x=x: -(loglik(t, x) - 0.5 * t * t),
            bounds=(-8, 8),
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert result.theta[i] == pytest.approx(ref.x, abs=1e-5)
    # SE = 1 / sqrt(test information + prior precision)
    p = C + (1 - C) / (1 + np.exp(-A * (result.theta[0] - B)))
    info = np.sum(A**2 * (1 - p) / p * ((p - C) / (1 - C)) ** 2)
    assert result.se[0] == pytest.approx(1 / np.sqrt(info + 1), rel=1e-6)


def test_mle_matches_bounded_optimiser_and_flags_extreme_patterns() -> None:
    result = mle(DATA, PARAMS)
    for i, x in enumerate(X):
        ref = optimize.minimize_scalar(
            lambda t, x=x: -loglik(t, x), bounds=(-4, 4), method="bounded", options={"xatol": 1e-10}
        )
        assert result.theta[i] == pytest.approx(ref.x, abs=1e-4)
    assert result.at_bound.tolist() == [False, False, False, True, True, False]
    assert result.theta[3] == 4.0 and result.theta[4] == -4.0
    assert np.all(np.isfinite(result.se))


def test_estimates_are_vectorised_and_consistent_across_methods() -> None:
    rng = np.random.default_rng(8)
    theta = rng.normal(size=3000)
    k = 40
    a, b = rng.lognormal(0, 0.3, k), rng.normal(0, 1, k)
    p = 1 / (1 + np.exp(-a * (theta[:, None] - b)))
    x = (rng.random(p.shape) < p).astype(float)
    params = ItemParams.create([f"q{j}" for j in range(k)], a, b)
    data = ResponseData.from_dense(x, item_ids=params.item_ids)
    for method in ("eap", "map", "mle"):
        est = estimate(data, params, method)
        ok = ~est.at_bound
        assert np.corrcoef(est.theta[ok], theta[ok])[0, 1] > 0.9
        # the SE describes the error
        z = (est.theta[ok] - theta[ok]) / est.se[ok]
        assert 0.85 < np.std(z) < 1.2


def test_per_skill_and_overall() -> None:
    scores = estimate_by_skill(DATA, PARAMS)
    assert set(scores) == {"DEP", "INF", "overall"}
    dep_only = eap(DATA.subset_items(PARAMS.item_ids[:6]), PARAMS.subset(PARAMS.item_ids[:6]))
    np.testing.assert_allclose(scores["DEP"].theta, dep_only.theta)
    np.testing.assert_allclose(scores["overall"].theta, eap(DATA, PARAMS).theta)
    assert scores["DEP"].n_items[2] == 1  # only item i5 of DEP on the short form


def test_unknown_items_and_methods_are_invalid_input() -> None:
    other = ResponseData.from_dense(np.ones((2, 1)), item_ids=["zz"])
    with pytest.raises(InvalidInput, match="unknown item 'zz'"):
        eap(other, PARAMS)
    with pytest.raises(InvalidInput, match="unknown method"):
        estimate(DATA, PARAMS, "wle")  # type: ignore[arg-type]
