"""DIF: Mantel–Haenszel against statsmodels' StratifiedTable, logistic regression against statsmodels Logit,
and detection of simulated uniform and non-uniform DIF."""

from __future__ import annotations

import numpy as np
import pytest

from reading_tests.dif import dif, ets_class, logistic_dif, mantel_haenszel
from reading_tests.errors import InvalidInput
from reading_tests.io import ResponseData

sm = pytest.importorskip("statsmodels.api")
from statsmodels.stats.contingency_tables import StratifiedTable  # noqa: E402


def _two_groups(seed: int, n: int = 2000, k: int = 30) -> tuple[ResponseData, dict[str, str]]:
    """Item 0: uniform DIF (b + 0.6 for the focal group); item 1: non-uniform (a 1.8 vs 0.5, b = 0)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.8, 1.8, k)
    b = rng.normal(0, 0.8, k)
    a[1], b[1] = 1.8, 0.0
    theta = rng.normal(0, 1, 2 * n)
    focal = np.arange(2 * n) >= n
    af = np.where(focal[:, None], a, a)
    bf = np.where(focal[:, None], b, b)
    bf[focal, 0] += 0.6
    af[focal, 1] = 0.5
    p = 1 / (1 + np.exp(-af * (theta[:, None] - bf)))
    x = (rng.random(p.shape) < p).astype(float)
    data = ResponseData.from_dense(x)
    groups = {sid: ("F" if f else "R") for sid, f in zip(data.student_ids, focal, strict=True)}
    return data, groups


def test_mantel_haenszel_equals_statsmodels() -> None:
    data, groups = _two_groups(1)
    x = data.to_dense()
    focal = np.array([groups[s] == "F" for s in data.student_ids])
    total = x.sum(axis=1)
    for j in (0, 1, 5):
        mh = mantel_haenszel(x[:, j].astype(int), focal, total.astype(int))
        tables = []
        for s in np.unique(total):
            sel = total == s
            ref, foc = sel & ~focal, sel & focal
            t = np.array([[(x[ref, j] == 1).sum(), (x[ref, j] == 0).sum()],
                          [(x[foc, j] == 1).sum(), (x[foc, j] == 0).sum()]], dtype=float)  # fmt: skip
            if t[0].sum() > 0 and t[1].sum() > 0:
                tables.append(t)
        st = StratifiedTable(tables)
        assert mh.alpha == pytest.approx(st.oddsratio_pooled, rel=1e-10)
        assert mh.se_delta == pytest.approx(2.35 * st.logodds_pooled_se, rel=1e-10)
        assert mh.chi2 == pytest.approx(st.test_null_odds(correction=True).statistic, rel=1e-10)
        assert mh.p_value == pytest.approx(st.test_null_odds(correction=True).pvalue, rel=1e-8)


def test_logistic_dif_equals_statsmodels_likelihood_ratios() -> None:
    data, groups = _two_groups(2, n=800)
    x = data.to_dense()
    focal = np.array([groups[s] == "F" for s in data.student_ids]).astype(float)
    score = x.sum(axis=1)
    s = (score - score.mean()) / score.std()
    for j in (0, 1, 4):
        res = logistic_dif(x[:, j].astype(int), focal.astype(bool), score)
        ll = [
            sm.Logit(x[:, j], sm.add_constant(np.column_stack(cols))).fit(disp=0).llf
            for cols in ([s], [s, focal], [s, focal, s * focal])
        ]
        assert res.lr_uniform == pytest.approx(2 * (ll[1] - ll[0]), abs=1e-6)
        assert res.lr_nonuniform == pytest.approx(2 * (ll[2] - ll[1]), abs=1e-6)


def test_simulated_dif_is_found_and_null_items_are_not() -> None:
    false_mh = false_lr = 0
    nulls = 0
    for seed in range(3):
        data, groups = _two_groups(10 + seed)
        res = dif(data, groups, "F")
        assert res[0].mh.ets_class in ("B", "C") and res[0].mh.delta < 0  # harder for the focal group
        assert res[0].lr.p_uniform < 1e-6
        assert res[1].lr.p_nonuniform < 1e-6
        for r in res[2:]:
            nulls += 1
            false_mh += r.mh.p_value < 0.05
            false_lr += r.lr.p_uniform < 0.05
    # nominal 5 % of 84 null items ≈ 4.2; with the DIF items in the matching score a little more is expected
    assert false_mh / nulls <= 0.12
    assert false_lr / nulls <= 0.12


def test_ets_classes() -> None:
    assert ets_class(-0.8, 0.2, 0.001) == "A"
    assert ets_class(-1.2, 0.2, 0.001) == "B"
    assert ets_class(-1.7, 0.2, 0.001) == "C"
    assert ets_class(-1.7, 0.6, 0.001) == "B"  # not significantly beyond 1
    assert ets_class(-2.0, 0.2, 0.2) == "A"  # not significant


def test_empty_focal_group_is_invalid_input() -> None:
    data, groups = _two_groups(3, n=50, k=5)
    with pytest.raises(InvalidInput, match="focal"):
        dif(data, groups, "nobody")
