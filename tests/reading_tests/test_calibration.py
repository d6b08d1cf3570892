"""MML calibration checked against published values, an independent likelihood, girth and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss

from reading_tests._simulate import simulate
from reading_tests.calibration import calibrate
from reading_tests.errors import InvalidInput
from reading_tests.io import ItemParams, ResponseData

# LSAT-7 (Bock & Lieberman 1970): counts of the 32 response patterns 00000 … 11111, item 1 the most
# significant digit, as distributed with R's ltm/mirt (and PyPI mirt's load_dataset("LSAT7")).
LSAT7_COUNTS = [12, 19, 1, 7, 3, 19, 3, 17, 10, 5, 3, 7, 7, 23, 8, 28,
                7, 39, 11, 34, 14, 51, 15, 90, 6, 25, 7, 35, 18, 136, 32, 308]  # fmt: skip
LSAT7_PATTERNS = np.array([[int(bit) for bit in format(k, "05b")] for k in range(32)], dtype=float)
# mirt (R) 2PL estimates: mod <- mirt(LSAT7, 1); coef(mod, IRTpars = TRUE); logLik(mod)
MIRT_A = np.array([0.988, 1.081, 1.706, 0.765, 0.736])
MIRT_LOGLIK = -2658.805
# mirt (PyPI 1.2.0) Oakes observed-information SEs of a and b on the same data
MIRT_SE_A = np.array([0.1775, 0.1689, 0.3183, 0.1343, 0.1512])
MIRT_SE_B = np.array([0.2632, 0.1093, 0.1156, 0.1299, 0.4456])


def lsat7() -> ResponseData:
    assert sum(LSAT7_COUNTS) == 1000
    return ResponseData.from_dense(np.repeat(LSAT7_PATTERNS, LSAT7_COUNTS, axis=0))


_GH_NODES, _GH_WEIGHTS = hermegauss(121)


def independent_loglik(a: np.ndarray, b: np.ndarray) -> float:
    """LSAT-7 2PL marginal log-likelihood by 121-point Gauss–Hermite quadrature (no library code)."""
    x, w = _GH_NODES, _GH_WEIGHTS / _GH_WEIGHTS.sum()
    p = 1.0 / (1.0 + np.exp(-a[None, :] * (x[:, None] - b[None, :])))  # nodes × items
    # patterns × nodes: Π_j p^x (1 − p)^(1 − x)
    like = np.prod(np.where(LSAT7_PATTERNS[:, None, :] == 1, p[None], 1.0 - p[None]), axis=2)
    return float(np.dot(LSAT7_COUNTS, np.log(like @ w)))


def test_lsat7_2pl_matches_mirt() -> None:
    result = calibrate(lsat7(), "2pl")
    assert result.converged
    np.testing.assert_allclose(result.params.a, MIRT_A, atol=0.01)
    assert result.loglik == pytest.approx(MIRT_LOGLIK, abs=0.01)
    # the reported log-likelihood is the true marginal likelihood at the estimates …
    assert independent_loglik(result.params.a, result.params.b) == pytest.approx(result.loglik, abs=1e-3)


def test_lsat7_estimates_are_a_maximum_of_the_independent_likelihood() -> None:
    result = calibrate(lsat7(), "2pl", tol=1e-6)
    x0 = np.concatenate([result.params.a, result.params.b])
    f0 = independent_loglik(result.params.a, result.params.b)
    h = 1e-4
    for t in range(10):
        up, down = x0.copy(), x0.copy()
        up[t] += h
        down[t] -= h
        grad = (independent_loglik(up[:5], up[5:]) - independent_loglik(down[:5], down[5:])) / (2 * h)
        assert abs(grad) < 0.05  # a maximum: no direction improves ℓ (scale: ℓ ≈ −2659)
        assert independent_loglik(up[:5], up[5:]) <= f0 + 1e-6


def test_lsat7_full_standard_errors_match_observed_information() -> None:
    result = calibrate(lsat7(), "2pl", se="full", tol=1e-6)
    # invert the numerical Hessian of the independent likelihood in (a, b)
    x0 = np.concatenate([result.params.a, result.params.b])
    h = 1e-3
    hess = np.zeros((10, 10))

    def f(x: np.ndarray) -> float:
        return independent_loglik(x[:5], x[5:])

    for s in range(10):
        for t in range(10):
            e_s, e_t = np.eye(10)[s] * h, np.eye(10)[t] * h
            hess[s, t] = (f(x0 + e_s + e_t) - f(x0 + e_s - e_t) - f(x0 - e_s + e_t) + f(x0 - e_s - e_t)) / (
                4 * h * h
            )
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    np.testing.assert_allclose(result.params.se_a, se[:5], rtol=0.02)
    np.testing.assert_allclose(result.params.se_b, se[5:], rtol=0.02)
    np.testing.assert_allclose(result.params.se_a, MIRT_SE_A, rtol=0.03)
    np.testing.assert_allclose(result.params.se_b, MIRT_SE_B, rtol=0.03)


def test_block_standard_errors_are_close_to_full_ones() -> None:
    block = calibrate(lsat7(), "2pl", se="block")
    full = calibrate(lsat7(), "2pl", se="full")
    # five items: the cross-item terms matter a little; block SEs are at most ~10 % smaller
    ratio = block.params.se_a / full.params.se_a
    assert np.all((ratio > 0.88) & (ratio < 1.02))
    # for a problem this small the default picks the exact method
    np.testing.assert_allclose(calibrate(lsat7(), "2pl").params.se_a, full.params.se_a, rtol=1e-3)


def test_more_quadrature_nodes_do_not_move_the_estimates() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.lognormal(0, 0.3, 100), rng.normal(0, 1, 100)
    data = simulate(rng, rng.normal(size=2000), a, b)  # complete 100-item forms: narrow posteriors
    auto = calibrate(data, "2pl", se="none")
    fine = calibrate(data, "2pl", se="none", n_nodes=161)
    coarse = calibrate(data, "2pl", se="none", n_nodes=21)
    assert auto.n_nodes > 41
    assert np.abs(auto.params.a - fine.params.a).max() < 2e-3
    assert np.abs(auto.params.b - fine.params.b).max() < 2e-3
    # …whereas a coarse grid biases the slopes (what the adaptive rule prevents)
    assert np.abs(coarse.params.a - fine.params.a).max() > 0.02


@pytest.mark.slow
def test_sparse_2pl_recovery() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.lognormal(0, 0.3, 100), rng.normal(0, 1, 100)
    data = simulate(rng, rng.normal(size=20_000), a, b, items_per_student=(20, 30))
    result = calibrate(data, "2pl")
    assert result.converged
    rmse_a = np.sqrt(np.mean((result.params.a - a) ** 2))
    rmse_b = np.sqrt(np.mean((result.params.b - b) ** 2))
    assert rmse_a <= 0.06
    assert rmse_b <= 0.06
    # 0.06 is close to what the data allow (≈ 5,000 answers per item): the RMSE expected from the
    # information, sqrt(mean SE²), is 0.05–0.06 for this design, and the errors match it
    assert 0.8 < rmse_a / np.sqrt(np.mean(result.params.se_a**2)) < 1.25
    assert 0.8 < rmse_b / np.sqrt(np.mean(result.params.se_b**2)) < 1.25
    # the SEs describe the actual estimation error: z-scores have unit spread
    z = np.concatenate(
        [(result.params.a - a) / result.params.se_a, (result.params.b - b) / result.params.se_b]
    )
    assert 0.8 < np.std(z) < 1.2


def test_3pl_with_prior_on_c_converges_and_recovers() -> None:
    rng = np.random.default_rng(31)
    k = 40
    a, b, c = rng.lognormal(0.1, 0.25, k), rng.normal(0, 1, k), rng.uniform(0.15, 0.25, k)
    data = simulate(rng, rng.normal(size=8000), a, b, c)
    result = calibrate(data, "3pl")
    assert result.converged
    assert result.params.model == ("3pl",) * k
    assert np.sqrt(np.mean((result.params.c - c) ** 2)) < 0.06
    assert np.sqrt(np.mean((result.params.a - a) ** 2)) < 0.2
    assert np.sqrt(np.mean((result.params.b - b) ** 2)) < 0.2
    assert np.all(np.isfinite(result.params.se_c)) and np.all(result.params.se_c > 0)


def test_rasch_and_1pl_match_direct_maximisation() -> None:
    from scipy.optimize import minimize

    rasch = calibrate(lsat7(), "1pl", rasch=True)
    onepl = calibrate(lsat7(), "1pl")
    two = calibrate(lsat7(), "2pl")
    assert np.all(rasch.params.a == 1.0)
    assert np.ptp(onepl.params.a) == 0.0
    assert two.loglik >= onepl.loglik >= rasch.loglik - 1e-6  # nested models
    # the same models fitted by a general-purpose optimiser on the independent likelihood
    one_ref = minimize(lambda x: -independent_loglik(np.full(5, x[0]), x[1:]), np.r_[1.5, np.zeros(5)])
    assert onepl.params.a[0] == pytest.approx(one_ref.x[0], abs=2e-3)
    np.testing.assert_allclose(onepl.params.b, one_ref.x[1:], atol=3e-3)
    assert onepl.loglik == pytest.approx(-one_ref.fun, abs=1e-3)
    rasch_ref = minimize(lambda x: -independent_loglik(np.ones(5), x), np.zeros(5))
    np.testing.assert_allclose(rasch.params.b, rasch_ref.x, atol=3e-3)


def test_anchor_calibration_puts_new_items_on_the_scale() -> None:
    rng = np.random.default_rng(99)
    n_anchor, n_new = 30, 15
    a = rng.lognormal(0, 0.25, n_anchor + n_new)
    b = rng.normal(0, 1, n_anchor + n_new)
    theta = rng.normal(0.5, 1.0, 10_000)  # a stronger population than the calibration one
    data = simulate(rng, theta, a, b, items_per_student=(15, 25))
    anchors = ItemParams.create(list(data.item_ids[:n_anchor]), a[:n_anchor], b[:n_anchor])
    anchored = calibrate(data, "2pl", anchors=anchors)
    new = slice(n_anchor, None)
    np.testing.assert_array_equal(anchored.params.a[:n_anchor], a[:n_anchor])  # anchors held fixed
    assert anchored.latent_mean == pytest.approx(0.5, abs=0.05)
    assert anchored.latent_sd == pytest.approx(1.0, abs=0.05)
    assert np.sqrt(np.mean((anchored.params.b[new] - b[new]) ** 2)) < 0.08
    assert abs(np.mean(anchored.params.b[new] - b[new])) < 0.04
    # without anchors the scale is the population's own: every b shifts by about −0.5
    free = calibrate(data, "2pl", se="none")
    assert np.mean(free.params.b[new] - b[new]) == pytest.approx(-0.5, abs=0.1)


@pytest.mark.slow
def test_agrees_with_girth_on_the_same_quadrature() -> None:
    import girth
    from girth.utilities.utils import _get_quadrature_points
    from scipy.stats import norm

    rng = np.random.default_rng(11)
    a, b = rng.lognormal(0, 0.3, 20), rng.normal(0, 0.8, 20)
    data = simulate(rng, rng.normal(size=3000), a, b)
    nodes, weights = _get_quadrature_points(41, -4.5, 4.5)  # girth's Gauss–Legendre rule on [−4.5, 4.5]
    ours = calibrate(data, "2pl", quadrature=(nodes, weights * norm.pdf(nodes)), tol=1e-6)
    theirs = girth.twopl_mml(data.to_dense().T.astype(int), {"use_LUT": False, "max_iteration": 200})
    # girth stops at a change of 1e-3 in a and solves b from the marginal proportion correct rather than
    # the MML score equation, so agreement is to about 1e-3 in a and 5e-3 in b, not to machine precision
    np.testing.assert_allclose(ours.params.a, theirs["Discrimination"], atol=2e-3)
    np.testing.assert_allclose(ours.params.b, theirs["Difficulty"], atol=6e-3)


@pytest.mark.parametrize(
    ("column", "fragment"),
    [(np.ones(50), "every response to item 'i1' is correct"), (np.zeros(50), "is incorrect")],
)
def test_items_without_variance_are_rejected(column: np.ndarray, fragment: str) -> None:
    rng = np.random.default_rng(0)
    x = (rng.random((50, 3)) < 0.5).astype(float)
    x[:, 1] = column
    with pytest.raises(InvalidInput, match=fragment):
        calibrate(ResponseData.from_dense(x), "2pl")


def test_unknown_model_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown model"):
        calibrate(lsat7(), "4pl")  # type: ignore[arg-type]


def test_1pl_block_standard_errors_agree_with_full_ones() -> None:
    # the shared slope's information needs the cross-item covariances: check them against the
    # numerically differentiated exact gradient
    rng = np.random.default_rng(3)
    b = rng.normal(0, 1, 30)
    data = simulate(rng, rng.normal(size=3000), np.full(30, 1.3), b, items_per_student=(10, 20))
    block = calibrate(data, "1pl", se="block")
    full = calibrate(data, "1pl", se="full")
    assert block.params.se_a[0] == pytest.approx(full.params.se_a[0], rel=0.03)
    np.testing.assert_allclose(block.params.se_b, full.params.se_b, rtol=0.08)


@pytest.mark.slow
def test_3pl_louis_blocks_agree_with_numerical_information() -> None:
    # the analytic 3PL complete-data Hessian (Louis blocks) against central differences of the
    # exact Fisher-identity gradient: they differ only by the small cross-item terms
    rng = np.random.default_rng(3)
    k = 25
    a, b, c = rng.lognormal(0.1, 0.25, k), rng.normal(0, 1, k), rng.uniform(0.15, 0.25, k)
    data = simulate(rng, rng.normal(size=4000), a, b, c, items_per_student=(10, 15))
    block = calibrate(data, "3pl", se="block")
    full = calibrate(data, "3pl", se="full")
    for name in ("se_a", "se_b", "se_c"):
        ratio = getattr(block.params, name) / getattr(full.params, name)
        assert np.all((ratio > 0.93) & (ratio < 1.01)), name
