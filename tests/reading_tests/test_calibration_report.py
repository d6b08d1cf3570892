"""calibrate_with_report: fit indices against mirt (R) and named warnings for miskeys and degenerate fits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reading_tests._simulate import simulate
from reading_tests.calibration_report import calibrate_with_report, count_parameters, item_rest_correlation
from reading_tests.io import ResponseData

LSAT7_COUNTS = [12, 19, 1, 7, 3, 19, 3, 17, 10, 5, 3, 7, 7, 23, 8, 28,
                7, 39, 11, 34, 14, 51, 15, 90, 6, 25, 7, 35, 18, 136, 32, 308]  # fmt: skip
LSAT7_PATTERNS = np.array([[int(bit) for bit in format(k, "05b")] for k in range(32)], dtype=float)
# R mirt 1.x, mirt(LSAT7, 1): "Log-likelihood = -2658.805, AIC = 5337.61, BIC = 5386.688, G2 (21) = 31.7"
MIRT_AIC, MIRT_BIC, MIRT_G2, MIRT_G2_DF = 5337.61, 5386.688, 31.7, 21


def lsat7() -> ResponseData:
    return ResponseData.from_dense(np.repeat(LSAT7_PATTERNS, LSAT7_COUNTS, axis=0))


def test_lsat7_fit_indices_match_mirt() -> None:
    _, rep = calibrate_with_report(lsat7(), "2pl")
    assert rep.n_parameters == 10
    assert rep.aic == pytest.approx(MIRT_AIC, abs=0.02)
    assert rep.bic == pytest.approx(MIRT_BIC, abs=0.02)
    assert rep.g2 == pytest.approx(MIRT_G2, abs=0.05)
    assert rep.g2_df == MIRT_G2_DF
    assert rep.converged and rep.se_method == "exact"
    assert rep.warnings == []


def test_parameter_counts() -> None:
    assert count_parameters("rasch", 10, False) == 10
    assert count_parameters("1pl", 10, False) == 11
    assert count_parameters("2pl", 10, True) == 22
    assert count_parameters("3pl", 10, False) == 30


def _miskeyed(seed: int, n: int = 3000, k: int = 40, bad: int = 7) -> tuple[ResponseData, str]:
    """Four-option items; item ``bad`` is scored with a distractor as key (chosen with (1 − P)/3)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.7, 2.2, k)
    b = rng.normal(0, 1, k)
    theta = rng.normal(0, 1, n)
    p = 0.2 + 0.8 / (1 + np.exp(-a * (theta[:, None] - b)))
    chose_key = rng.random((n, k)) < p
    x = chose_key.astype(float)
    # a wrong answer picks one of three distractors at random; the miskeyed item credits distractor 1
    distractor_1 = (~chose_key[:, bad]) & (rng.integers(0, 3, n) == 0)
    x[:, bad] = distractor_1
    return ResponseData.from_dense(x), f"i{bad}"


@pytest.mark.parametrize("model", ["2pl", "3pl"])
def test_a_miskeyed_item_is_named(model: str) -> None:
    data, bad = _miskeyed(1)
    # under the 3PL the miskeyed item drifts along a flat ridge (b → 40 after 2,000 steps); 200 suffice here
    _, rep = calibrate_with_report(data, model, se="block", max_iter=200)
    assert rep.items_with("miskey") == [bad]
    r = item_rest_correlation(data)
    assert r[data.item_ids.index(bad)] < 0 < np.nanmin(np.delete(r, data.item_ids.index(bad)))


def test_item_rest_correlation_matches_numpy_on_complete_data() -> None:
    rng = np.random.default_rng(3)
    data = simulate(rng, rng.normal(size=400), rng.uniform(0.5, 2, 8), rng.normal(size=8))
    x = data.to_dense()
    rest = (x.sum(axis=1, keepdims=True) - x) / (x.shape[1] - 1)
    expected = [np.corrcoef(x[:, j], rest[:, j])[0, 1] for j in range(8)]
    np.testing.assert_allclose(item_rest_correlation(data), expected, atol=1e-12)


def test_degenerate_single_item_and_two_students_are_named() -> None:
    rng = np.random.default_rng(0)
    one = ResponseData.from_dense(rng.integers(0, 2, (200, 1)).astype(float))
    _, rep = calibrate_with_report(one, "2pl")
    assert [w.code for w in rep.warnings][:1] == ["too_few_items"]
    two = ResponseData.from_dense(np.array([[1, 0, 1, 0], [0, 1, 0, 1]], dtype=float))
    _, rep2 = calibrate_with_report(two, "2pl", max_iter=200)
    codes = {w.code for w in rep2.warnings}
    assert "too_few_students" in codes and "too_few_responses" in codes


def test_separating_item_and_sparse_item_are_named() -> None:
    rng = np.random.default_rng(5)
    theta = rng.normal(size=1000)
    data = simulate(rng, theta, rng.uniform(0.8, 1.8, 15), rng.normal(size=15))
    x = data.to_dense()
    x[:, 0] = (x[:, 1:].sum(axis=1) >= np.median(x[:, 1:].sum(axis=1))).astype(float)  # perfect separation
    x[2:, 1] = np.nan  # item i1: two responses only
    x[0, 1], x[1, 1] = 1.0, 0.0
    _, rep = calibrate_with_report(ResponseData.from_dense(x), "2pl", max_iter=500)
    flagged = {(w.code, w.item_id) for w in rep.warnings}
    assert ("separation", "i0") in flagged or ("se_unavailable", "i0") in flagged
    assert ("too_few_responses", "i1") in flagged


def test_non_convergence_is_reported() -> None:
    _, rep = calibrate_with_report(lsat7(), "3pl", max_iter=3)
    assert not rep.converged
    assert rep.warnings[0].code == "not_converged"
    assert math.isfinite(rep.loglik)


def test_default_ses_are_the_exact_observed_information_on_a_long_complete_form() -> None:
    """The per-item ("block") SEs of b are too small on long complete forms; the default is exact."""
    rng = np.random.default_rng(11)
    k = 40
    data = simulate(rng, rng.normal(size=2000), rng.uniform(0.6, 2.4, k), rng.normal(size=k))
    result, rep = calibrate_with_report(data, "2pl")
    assert rep.se_method == "louis"
    reference, _ = calibrate_with_report(data, "2pl", se="exact")
    block, _ = calibrate_with_report(data, "2pl", se="block")
    np.testing.assert_allclose(result.params.se_b, reference.params.se_b, rtol=0.01)
    np.testing.assert_allclose(result.params.se_a, reference.params.se_a, rtol=0.01)
    assert np.median(block.params.se_b / reference.params.se_b) < 0.97  # what the issue reported
