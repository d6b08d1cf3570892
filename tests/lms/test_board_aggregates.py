"""Population figures from EAP estimates (lms.board.aggregates) against a simulation with known parameters.

Students are simulated with reading_tests' 2PL model and scored by reading_tests' EAP (N(0, 1) prior);
the plausible-value figures recover the population's mean and SD, the naive SD of the EAPs does not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from lms.board.aggregates import (
    CellSums,
    cell_sums,
    condition_on_group,
    entry_year,
    estimate,
    merge,
    plausible_values,
    rubin,
    school_year_and_term,
    standard_normal_draws,
)
from reading_tests.estimation import eap
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import prob


def _simulate(n: int, mu: float, sigma: float, n_items: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    theta = rng.normal(mu, sigma, n)
    a = rng.uniform(0.8, 1.8, n_items)
    b = rng.normal(mu, 1.0, n_items)  # a grade-appropriate form (the CAT targets each student)
    x = (rng.random((n, n_items)) < prob(theta[:, None], a, b)).astype(float)
    params = ItemParams.create([f"i{j}" for j in range(n_items)], a, b)
    est = eap(ResponseData.from_dense(x, item_ids=params.item_ids), params)
    return est.theta, est.se


def _figures(theta_hat: np.ndarray, se: np.ndarray, *, conditioned: bool = True) -> Any:
    z = standard_normal_draws(np.arange(theta_hat.size), 5)
    m, sd = (condition_on_group(theta_hat, se)[:2]) if conditioned else (theta_hat, se)
    result = estimate(cell_sums(theta_hat, se, np.zeros(theta_hat.size), plausible_values(m, sd, z)))
    assert result is not None
    return result


@pytest.mark.parametrize(
    ("mu", "sigma", "n_items"), [(0.0, 1.0, 12), (0.2, 0.9, 8), (-0.8, 1.1, 10), (1.2, 0.8, 10)]
)
def test_plausible_values_recover_mean_and_sd_while_naive_eap_sd_is_biased_low(
    mu: float, sigma: float, n_items: int
) -> None:
    n = 4000
    theta_hat, se = _simulate(n, mu, sigma, n_items, seed=7)
    result = _figures(theta_hat, se)
    theta = np.random.default_rng(7).normal(mu, sigma, n)  # the simulated students' true abilities
    true_mean, true_sd = 500 + 100 * theta.mean(), 100 * theta.std()
    sampling_se = 100 * sigma / np.sqrt(n)
    assert abs(result.mean - true_mean) < 3 * sampling_se
    # the normal approximation of each posterior costs a few percent on the SD (module docstring)
    assert abs(result.sd - true_sd) < 0.05 * true_sd
    assert result.naive_sd < true_sd - 1.5  # the EAPs' spread is too small
    assert abs(result.sd - true_sd) < 0.5 * abs(result.naive_sd - true_sd)
    # Rubin's SE: at least the plain sampling SE (measurement adds to it), not absurdly larger
    assert 0.9 * sampling_se < result.se_mean < 1.6 * sampling_se
    assert abs(sum(result.band_shares) - 1.0) < 1e-9


def test_without_conditioning_a_group_off_the_prior_is_pulled_toward_500() -> None:
    """Why the PVs are conditioned on the reporting group (the module docstring's numbers)."""
    theta_hat, se = _simulate(4000, 1.2, 0.8, 8, seed=11)
    plain = _figures(theta_hat, se, conditioned=False)
    fitted = _figures(theta_hat, se)
    assert plain.mean < 620 - 10 and abs(fitted.mean - 620) < 5
    assert abs(plain.sd - 80) > abs(fitted.sd - 80)


def test_when_the_prior_is_the_population_conditioning_reproduces_the_textbook_moments() -> None:
    theta_hat, se = _simulate(4000, 0.0, 1.0, 12, seed=5)
    _m, _sd, mu, tau = condition_on_group(theta_hat, se)
    assert mu == pytest.approx(theta_hat.mean(), abs=0.02)
    assert tau**2 == pytest.approx(theta_hat.var() + (se**2).mean(), rel=0.03)


def test_sums_are_additive_so_groups_can_be_merged() -> None:
    theta_hat, se = _simulate(300, 0.0, 1.0, 10, seed=3)
    pv = plausible_values(theta_hat, se, standard_normal_draws(np.arange(300), 5))
    whole = estimate(cell_sums(theta_hat, se, theta_hat < -1, pv))
    parts = [
        cell_sums(theta_hat[s], se[s], theta_hat[s] < -1, pv[s]) for s in (slice(0, 120), slice(120, 300))
    ]
    merged = estimate(merge(parts, 5))
    assert whole is not None and merged is not None
    assert merged.n == 300 and merged.n_guessing == whole.n_guessing
    assert merged.mean == pytest.approx(whole.mean) and merged.sd == pytest.approx(whole.sd)
    assert merged.band_counts == pytest.approx(whole.band_counts)
    assert estimate(CellSums(m=5)) is None


def test_rubin_rules_on_a_known_example() -> None:
    mean, se = rubin([1.0, 2.0, 3.0], [0.5, 0.5, 0.5])
    assert mean == 2.0
    assert se == pytest.approx(np.sqrt(0.5 + (1 + 1 / 3) * 1.0))


def test_draws_are_deterministic_and_standard_normal() -> None:
    z = standard_normal_draws(np.arange(20000), 5)
    assert np.array_equal(z, standard_normal_draws(np.arange(20000), 5))
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 0.03


def test_school_year_term_and_cohort() -> None:
    assert school_year_and_term(datetime(2026, 3, 31, 14, 59, tzinfo=UTC)) == (2025, 3)  # 23:59 JST
    assert school_year_and_term(datetime(2026, 3, 31, 15, 0, tzinfo=UTC)) == (2026, 1)  # 1 April JST
    assert school_year_and_term(datetime(2026, 9, 1, 0, 0, tzinfo=UTC)) == (2026, 2)
    assert (
        entry_year(2026, "P3") == 2024 and entry_year(2027, "P4") == 2024 and entry_year(2030, "J1") == 2024
    )
