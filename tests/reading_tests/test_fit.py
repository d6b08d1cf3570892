"""Item fit flags misfitting items and leaves well-fitting ones alone."""

from __future__ import annotations

import numpy as np
import pytest

from reading_tests._simulate import simulate
from reading_tests.calibration import calibrate
from reading_tests.fit import item_fit
from reading_tests.io import ResponseData


@pytest.mark.parametrize("form", [None, (20, 30)], ids=["complete", "sparse"])
def test_misfitting_items_are_flagged(form: tuple[int, int] | None) -> None:
    rng = np.random.default_rng(5)
    k, n = 40, 4000
    a, b = rng.lognormal(0, 0.3, k), rng.normal(0, 1, k)
    theta = rng.normal(size=n)
    x = simulate(rng, theta, a, b, items_per_student=form).to_dense()
    seen = ~np.isnan(x)
    # item 1: not monotone in θ; item 2: strong guessing (c = 0.4) that a 2PL cannot follow
    x[:, 1] = np.where(seen[:, 1], rng.random(n) < np.where(np.abs(theta) < 0.7, 0.2, 0.8), np.nan)
    x[:, 2] = np.where(seen[:, 2], rng.random(n) < 0.4 + 0.6 / (1 + np.exp(-2.5 * (theta - 1))), np.nan)
    data = ResponseData.from_dense(x)
    fit = item_fit(data, calibrate(data, "2pl", se="none").params)
    assert np.flatnonzero(fit.misfit).tolist() == [1, 2]
    good = np.ones(k, dtype=bool)
    good[[1, 2]] = False
    # under the model the statistic is about χ²(df): its mean ratio to df is near one
    assert 0.7 < np.mean(fit.chi2[good] / fit.df[good]) < 1.4
    assert np.all(np.abs(fit.infit[good] - 1) < 0.15)
