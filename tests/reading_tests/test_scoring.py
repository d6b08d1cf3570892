"""Reported scale, bands and the guessing-level flag."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import binom

from reading_tests.errors import InvalidInput
from reading_tests.io import ResponseData
from reading_tests.scoring import (
    BANDS,
    band,
    band_name,
    chance_level,
    guessing_flags,
    poisson_binomial_sf,
    scale_score,
)


def test_scale_score_rounds_half_away_from_zero() -> None:
    assert scale_score([0.0, 1.0, -1.234, 0.125, -0.125, 2.5]).tolist() == [500, 600, 377, 513, 488, 750]
    with pytest.raises(InvalidInput):
        scale_score([np.nan])


def test_bands_follow_the_cut_points() -> None:
    scores = [100, 349, 350, 449, 450, 549, 550, 649, 650, 900]
    assert band(scores).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [b.level for b in BANDS] == [1, 2, 3, 4, 5]
    assert band_name(3) == "標準"
    # about 7/24/38/24/7 % of a N(0,1) population
    theta = np.random.default_rng(0).normal(size=200_000)
    share = np.bincount(band(scale_score(theta)), minlength=6)[1:] / theta.size
    np.testing.assert_allclose(share, [0.067, 0.242, 0.383, 0.242, 0.067], atol=0.01)


def test_chance_levels() -> None:
    assert chance_level("single_choice", 4) == 0.25
    assert chance_level("picture_choice", 3) == pytest.approx(1 / 3)
    assert chance_level("same_different") == 0.5
    assert chance_level("select_all", 4) == pytest.approx(1 / 15)
    with pytest.raises(InvalidInput, match="unknown item format"):
        chance_level("essay")


def test_poisson_binomial_tail_matches_enumeration_and_binomial() -> None:
    p = [0.25, 0.5, 1 / 15, 0.25, 1 / 3]
    for x in range(7):
        brute = sum(
            np.prod([pk if o else 1 - pk for pk, o in zip(p, outcome, strict=True)])
            for outcome in itertools.product([0, 1], repeat=5)
            if sum(outcome) >= x
        )
        assert poisson_binomial_sf([x], [[pk] for pk in p])[0] == pytest.approx(brute, abs=1e-12)
    xs = np.arange(0, 11)
    np.testing.assert_allclose(poisson_binomial_sf(xs, [np.full(11, 0.25)] * 10), binom.sf(xs - 1, 10, 0.25))


def test_guessing_flag_per_skill() -> None:
    # four students, DEP: 8 four-option items; INF: 4 same/different items
    items = [f"d{j}" for j in range(8)] + [f"f{j}" for j in range(4)]
    skills = {i: ("DEP" if i.startswith("d") else "INF") for i in items}
    chance = {i: (0.25 if i.startswith("d") else 0.5) for i in items}
    x = np.array(
        [
            [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1],  # 6/8 DEP (p≈0.004), 4/4 INF (p=0.0625)
            [1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0],  # 2/8 DEP: chance level
            [1, 1, 1, 1, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ]
    )
    result = guessing_flags(ResponseData.from_dense(x, item_ids=items), chance, skills)
    dep, inf = result["DEP"], result["INF"]
    assert dep.flag.tolist() == [False, True, False, True]
    assert dep.p_value[0] == pytest.approx(binom.sf(5, 8, 0.25))
    assert dep.p_value[2] == pytest.approx(0.25**4)  # 4/4 on a shorter form
    assert inf.flag.tolist() == [True, True, False, True]  # 4/4 same/different is still p = 1/16
    assert inf.n_items.tolist() == [4, 4, 0, 4]
    assert np.isnan(inf.p_value[2])
