"""Information/reliability curves and lz* person fit, checked against closed forms and simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reading_tests._simulate import simulate
from reading_tests.curves import empirical_reliability, marginal_reliability, test_curves, write_curves
from reading_tests.estimation import eap
from reading_tests.io import ItemParams, ResponseData
from reading_tests.person_fit import lz_star


def _params(seed: int, k: int) -> ItemParams:
    rng = np.random.default_rng(seed)
    return ItemParams.create([f"i{j}" for j in range(k)], rng.uniform(0.7, 2.0, k), rng.normal(0, 1, k))


def test_rasch_information_closed_form_and_files(tmp_path: Path) -> None:
    p = ItemParams.create(["x", "y"], [1.0, 1.0], [0.0, 1.0], model="2pl")
    c = test_curves(p, points=9)
    pr = 1 / (1 + np.exp(-(c.theta[:, None] - np.array([0.0, 1.0]))))
    np.testing.assert_allclose(c.information, (pr * (1 - pr)).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(c.se, 1 / np.sqrt(c.information), rtol=1e-12)
    write_curves(c, tmp_path / "c.csv", tmp_path / "c.svg")
    assert (tmp_path / "c.csv").read_text().splitlines()[0] == "theta,information,se"
    assert (tmp_path / "c.svg").read_text().startswith("<svg")


def test_marginal_reliability_matches_monte_carlo() -> None:
    p = _params(1, 25)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=200_000)
    info = (p.a**2 * (pr := 1 / (1 + np.exp(-p.a * (theta[:, None] - p.b)))) * (1 - pr)).sum(axis=1)
    expected = 1 / (1 + np.mean(1 / info))
    assert marginal_reliability(p) == pytest.approx(expected, abs=2e-3)


def test_empirical_reliability_is_the_squared_correlation_with_true_theta() -> None:
    p = _params(2, 30)
    rng = np.random.default_rng(1)
    theta = rng.normal(size=4000)
    data = simulate(rng, theta, p.a, p.b)
    rel = empirical_reliability(data, p)
    r2 = np.corrcoef(eap(data, p).theta, theta)[0, 1] ** 2
    assert rel == pytest.approx(r2, abs=0.02)


def test_lz_star_is_standard_normal_under_the_model_and_low_for_guessers() -> None:
    p = _params(3, 40)
    rng = np.random.default_rng(2)
    theta = rng.normal(size=3000)
    data = simulate(rng, theta, p.a, p.b)
    fit = lz_star(data, p)
    z = fit.lz_star[np.isfinite(fit.lz_star)]
    assert z.size > 2900
    assert abs(z.mean()) < 0.1 and 0.9 < z.std() < 1.1
    assert 0.03 < float((z < -1.645).mean()) < 0.08
    # 200 students who guess at random on half of the items
    x = data.to_dense()
    x[:200, :20] = rng.integers(0, 2, (200, 20))
    aberrant = lz_star(ResponseData.from_dense(x), p).lz_star[:200]
    assert np.nanmean(aberrant) < -1.0
