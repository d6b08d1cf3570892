"""Intervals, band probabilities, growth and norms, checked against simulation and direct formulas."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reading_tests.errors import InvalidInput
from reading_tests.reporting import GradeNorms, ScoreReport, band_probabilities, growth
from reading_tests.scoring import band, scale_score


def test_interval_and_child_range() -> None:
    r = ScoreReport.from_theta(0.0, 0.3)
    assert r.scale_score == 500
    assert (r.lower, r.upper) == (441, 559)  # 500 ∓ 1.96·30 = 441.2 / 558.8
    assert (r.child_lower, r.child_upper) == (440, 560)
    assert r.child_range_ja == "だいたい 440〜560 点"
    assert r.child_lower <= r.lower and r.child_upper >= r.upper
    json.dumps(r.to_dict(), ensure_ascii=False)


def test_band_probabilities_match_monte_carlo() -> None:
    rng = np.random.default_rng(3)
    for theta, se in [(0.4, 0.5), (-1.3, 0.25), (2.0, 0.8)]:
        draws = rng.normal(theta, se, 200_000)
        observed = np.bincount(band(scale_score(draws)) - 1, minlength=5) / draws.size
        assert np.allclose(band_probabilities(theta, se), observed, atol=0.005)


def test_band_named_only_when_probable() -> None:
    sure = ScoreReport.from_theta(0.0, 0.1)
    assert sure.band.levels == (3,) and not sure.band.ambiguous and sure.band.probability > 0.99
    vague = ScoreReport.from_theta(0.5, 0.4)  # on the cut between 標準 and よくできている
    assert vague.band.ambiguous and vague.band.levels == (3, 4)
    assert "標準" in vague.band.text_ja and "よくできている" in vague.band.text_ja


def test_score_rejects_nan() -> None:
    with pytest.raises(InvalidInput):
        ScoreReport.from_theta(math.nan, 0.3)


def test_false_growth_rate_is_about_five_percent_under_no_change() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    theta = rng.normal(size=n)
    se1, se2 = rng.uniform(0.25, 0.45, n), rng.uniform(0.25, 0.45, n)
    t1, t2 = theta + rng.normal(size=n) * se1, theta + rng.normal(size=n) * se2
    claims = [
        growth(ScoreReport.from_theta(a, s), ScoreReport.from_theta(b, u)).direction != "same"
        for a, s, b, u in zip(t1, se1, t2, se2, strict=True)
    ]
    assert 0.035 < np.mean(claims) < 0.065


def test_growth_rule_and_texts() -> None:
    before = ScoreReport.from_theta(0.0, 0.3)
    up = growth(before, ScoreReport.from_theta(1.0, 0.3))
    assert up.direction == "up" and up.se == pytest.approx(100 * math.sqrt(0.18))
    assert "アップ" in up.text_ja
    same = growth(before, ScoreReport.from_theta(0.5, 0.3))  # 50 < 1.96·42.4
    assert same.direction == "same" and same.text_ja == "前回とほぼ同じ（誤差の範囲）です。"
    assert growth(before, ScoreReport.from_theta(-1.0, 0.3)).direction == "down"
    assert growth(before, ScoreReport.from_theta(1.0, 0.3), disengaged=True).direction == "unclear"


def test_norms_recover_grade_distribution_from_eap() -> None:
    rng = np.random.default_rng(11)
    grades, theta_hat, se = [], [], []
    for g, mu in [(3, -1.0), (6, 0.0)]:
        true = rng.normal(mu, 0.8, 3000)
        s = 0.4
        # EAP under a N(mu, 0.8²) population: shrinkage factor 0.8²/(0.8² + s²)
        k = 0.64 / (0.64 + s**2)
        obs = true + rng.normal(0, s, true.size)
        theta_hat.append(mu + k * (obs - mu))
        se.append(np.full(true.size, math.sqrt(k) * s))
        grades.append(np.full(true.size, g))
    norms = GradeNorms.from_estimates(np.concatenate(grades), np.concatenate(theta_hat), np.concatenate(se))
    assert norms.by_grade[3].mean == pytest.approx(-1.0, abs=0.05)
    assert norms.by_grade[3].sd == pytest.approx(0.8, abs=0.04)
    pos = norms.position(3, -1.0, 0.3)
    assert pos is not None and pos.percentile == pytest.approx(50, abs=3)
    assert pos.lower < pos.percentile < pos.upper and pos.provisional
    assert norms.position(9, 0.0, 0.3) is None
