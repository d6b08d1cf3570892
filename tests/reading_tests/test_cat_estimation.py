"""The CAT pool tables and incremental EAP, checked against direct formulas and numerical integration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from reading_tests.cat.bank import CatPool
from reading_tests.cat.estimation import add_response, eap, eap_from_responses, prior_log_density
from reading_tests.cat.simulation import random_pool
from reading_tests.errors import InvalidInput
from reading_tests.irt import information, prob


@pytest.fixture(scope="module")
def pool() -> CatPool:
    return random_pool(200, seed=7, guessing=0.25)


def test_information_table_matches_birnbaum_formula(pool: CatPool) -> None:
    for theta in (-3.9, -1.234, 0.0, 0.5055, 2.71, 4.0):
        exact = information(theta, pool.a, pool.b, pool.c)
        np.testing.assert_allclose(pool.information(theta), exact, rtol=1e-10)
        np.testing.assert_allclose(pool.information_at(theta), exact, rtol=1e-4, atol=1e-9)


def test_log_tables_hold_log_probabilities(pool: CatPool) -> None:
    p = prob(pool.grid[None, :], pool.a[:, None], pool.b[:, None], pool.c[:, None])
    np.testing.assert_allclose(np.exp(pool.log_p), p, rtol=1e-9)
    np.testing.assert_allclose(np.exp(pool.log_q), 1 - p, rtol=1e-9)
    assert not pool.log_p.flags.writeable


def _eap_by_quadrature(pool: CatPool, items: list[int], responses: list[int]) -> tuple[float, float]:
    """EAP and posterior SD by adaptive integration over the real line (independent of the grid)."""

    def likelihood(theta: float) -> float:
        p = prob(theta, pool.a[items], pool.b[items], pool.c[items])
        x = np.asarray(responses)
        return float(np.prod(np.where(x == 1, p, 1 - p)) * stats.norm.pdf(theta))

    kw = {"limit": 200, "points": [-2, 0, 2]}
    z = integrate.quad(likelihood, -8, 8, **kw)[0]
    m1 = integrate.quad(lambda t: t * likelihood(t), -8, 8, **kw)[0] / z
    m2 = integrate.quad(lambda t: t * t * likelihood(t), -8, 8, **kw)[0] / z
    return m1, float(np.sqrt(m2 - m1 * m1))


@pytest.mark.parametrize("n_items", [1, 5, 20, 40])
def test_eap_on_81_point_grid_agrees_with_numerical_integration(pool: CatPool, n_items: int) -> None:
    rng = np.random.default_rng(n_items)
    for _ in range(5):
        theta = rng.normal()
        items = [int(i) for i in rng.choice(pool.size, n_items, replace=False)]
        p = prob(theta, pool.a[items], pool.b[items], pool.c[items])
        responses = [int(u < pi) for u, pi in zip(rng.random(n_items), p, strict=True)]
        ours = eap_from_responses(pool, items, responses)
        reference = _eap_by_quadrature(pool, items, responses)
        # 0.01 on the θ scale is one point of the reported 500 + 100θ scale; the residual comes from
        # the grid's truncation at ±4 for high-ability patterns.
        assert ours[0] == pytest.approx(reference[0], abs=0.01)
        assert ours[1] == pytest.approx(reference[1], abs=0.01)


def test_incremental_update_equals_batch_and_prior_moments(pool: CatPool) -> None:
    log_post = prior_log_density(pool.grid)
    theta0, se0 = eap(pool.grid, log_post, pool.moments)
    assert theta0 == pytest.approx(0.0, abs=1e-12)
    assert se0 == pytest.approx(1.0, abs=2e-3)  # N(0, 1) truncated at ±4
    items, responses = [3, 17, 42, 99], [1, 0, 1, 1]
    for i, x in zip(items, responses, strict=True):
        add_response(log_post, pool, i, x)
    assert eap(pool.grid, log_post) == pytest.approx(eap_from_responses(pool, items, responses), abs=1e-12)


def test_eap_survives_extreme_log_posteriors(pool: CatPool) -> None:
    log_post = prior_log_density(pool.grid) - 5000.0  # would underflow without the shift
    theta, se = eap(pool.grid, log_post)
    assert theta == pytest.approx(0.0, abs=1e-9)
    assert se == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"item_ids": [], "a": [], "b": []}, "empty"),
        ({"item_ids": ["x", "x"], "a": [1, 1], "b": [0, 0]}, "duplicate"),
        ({"item_ids": ["x", "y"], "a": [1, -1], "b": [0, 0]}, "a must be > 0"),
        ({"item_ids": ["x", "y"], "a": [1, 1], "b": [0, np.nan]}, "non-finite"),
        ({"item_ids": ["x", "y"], "a": [1, 1], "b": [0, 0], "c": [0, 1.0]}, "c must be in"),
        ({"item_ids": ["x", "y"], "a": [1, 1], "b": [0]}, "shape"),
    ],
)
def test_bank_refuses_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        CatPool.build(**kwargs)  # type: ignore[arg-type]


def test_unknown_item_ids_are_named(pool: CatPool) -> None:
    with pytest.raises(InvalidInput, match="'nope'"):
        pool.indices([pool.item_ids[0], "nope"])
