"""Differential item functioning: Mantel–Haenszel with ETS classes and logistic-regression DIF.

Matching
    Students are matched on their number-correct score.  ``matching="total"`` (default) includes the
    studied item, as Holland & Thayer (1988) require for the MH statistic to be free of DIF under the
    Rasch model; ``matching="rest"`` leaves it out.  Only students who answered the studied item count.
    The matching score is the number correct over the items a student answered, so for sparse designs
    (different forms per student) it is only meaningful when the forms are parallel.

Mantel–Haenszel (Holland & Thayer 1988)
    In stratum ``k`` with reference correct/wrong ``A_k, B_k`` and focal correct/wrong ``C_k, D_k``
    (total ``T_k``): ``α_MH = Σ A_k D_k / T_k / Σ B_k C_k / T_k``, ``Δ_MH = −2.35 ln α_MH`` (negative:
    the item favours the reference group), the SE of ``ln α_MH`` by Robins, Breslow & Greenland (1986),
    and the continuity-corrected ``χ²_MH = (|Σ A_k − Σ E A_k| − ½)² / Σ Var A_k`` on 1 df.  Strata with
    only one group present carry no information and are dropped.

ETS classes (Zwick 2012)
    A: ``|Δ| < 1`` or ``χ²_MH`` not significant at α = 0.05;
    C: ``|Δ| ≥ 1.5`` and ``|Δ|`` significantly above 1 (one-sided, ``(|Δ| − 1) / SE > 1.645``);
    B: otherwise.

Logistic regression (Swaminathan & Rogers 1990)
    Nested models ``logit P = β₀ + β₁ S``, ``+ β₂ G``, ``+ β₃ S·G`` with ``S`` the standardised matching
    score and ``G`` the focal indicator; likelihood-ratio tests for uniform DIF (β₂, 1 df) and
    non-uniform DIF (β₃, 1 df), and the Nagelkerke ΔR² between the first and last model as effect size
    (Jodoin & Gierl 2001: < 0.035 negligible, 0.035–0.07 moderate, > 0.07 large).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit
from scipy.stats import chi2, norm

from reading_tests.errors import InvalidInput
from reading_tests.io import ResponseData
from reading_tests.irt import FloatArray

Matching = Literal["total", "rest"]
DELTA_SCALE = -2.35


@dataclass(frozen=True)
class MantelHaenszel:
    alpha: float
    delta: float
    se_delta: float
    chi2: float
    p_value: float
    ets_class: str


@dataclass(frozen=True)
class LogisticDIF:
    lr_uniform: float
    p_uniform: float
    lr_nonuniform: float
    p_nonuniform: float
    delta_r2: float


@dataclass(frozen=True)
class ItemDIF:
    item_id: str
    n_reference: int
    n_focal: int
    mh: MantelHaenszel
    lr: LogisticDIF


def mantel_haenszel(x: np.ndarray, focal: np.ndarray, strata: np.ndarray) -> MantelHaenszel:
    """MH statistics for 0/1 responses ``x``, boolean ``focal`` and integer ``strata`` (one per student)."""
    _, s = np.unique(strata, return_inverse=True)
    m = int(s.max()) + 1 if s.size else 0
    a = np.bincount(s, weights=(~focal) & (x == 1), minlength=m)
    b = np.bincount(s, weights=(~focal) & (x == 0), minlength=m)
    c = np.bincount(s, weights=focal & (x == 1), minlength=m)
    d = np.bincount(s, weights=focal & (x == 0), minlength=m)
    nr, nf = a + b, c + d
    keep = (nr > 0) & (nf > 0)
    a, b, c, d, nr, nf = a[keep], b[keep], c[keep], d[keep], nr[keep], nf[keep]
    t = nr + nf
    if t.size == 0:
        nan = math.nan
        return MantelHaenszel(nan, nan, nan, nan, nan, "A")
    num, den = (a * d / t).sum(), (b * c / t).sum()
    alpha = num / den if den > 0 else math.inf
    # Robins–Breslow–Greenland variance of ln α_MH
    p_, q_ = (a + d) / t, (b + c) / t
    r_, s_ = a * d / t, b * c / t
    var_log = (p_ * r_).sum() / (2 * num**2) + (p_ * s_ + q_ * r_).sum() / (2 * num * den)
    var_log += (q_ * s_).sum() / (2 * den**2)
    se_delta = abs(DELTA_SCALE) * math.sqrt(var_log) if num > 0 and den > 0 else math.inf
    m1, m0 = a + c, b + d
    expected = nr * m1 / t
    var_a = np.where(t > 1, nr * nf * m1 * m0 / (t * t * np.maximum(t - 1, 1)), 0.0)
    vsum = float(var_a.sum())
    stat = (abs(a.sum() - expected.sum()) - 0.5) ** 2 / vsum if vsum > 0 else 0.0
    p_value = float(chi2.sf(stat, 1))
    delta = DELTA_SCALE * math.log(alpha) if 0 < alpha < math.inf else math.copysign(math.inf, 1 - alpha)
    return MantelHaenszel(
        float(alpha), delta, se_delta, float(stat), p_value, ets_class(delta, se_delta, p_value)
    )


def ets_class(delta: float, se_delta: float, p_value: float, alpha: float = 0.05) -> str:
    """ETS A/B/C from Δ_MH, its SE and the MH χ² p-value (see the module docstring)."""
    size = abs(delta)
    if not (p_value < alpha) or size < 1.0:
        return "A"
    if size >= 1.5 and (size - 1.0) / se_delta > norm.ppf(0.95):
        return "C"
    return "B"


def _logit_loglik(x: FloatArray, design: FloatArray, max_iter: int = 50) -> float:
    """Maximised log-likelihood of a logistic regression (Newton–Raphson; ridge 1e-8 for separation)."""
    beta = np.zeros(design.shape[1])
    ll_old = -math.inf
    for _ in range(max_iter):
        eta = design @ beta
        p = expit(eta)
        ll = float((x * eta - np.logaddexp(0.0, eta)).sum())
        grad = design.T @ (x - p)
        hess = (design * (p * (1 - p))[:, None]).T @ design + 1e-8 * np.eye(design.shape[1])
        beta = beta + np.linalg.solve(hess, grad)
        if abs(ll - ll_old) < 1e-10:
            break
        ll_old = ll
    eta = design @ beta
    return float((x * eta - np.logaddexp(0.0, eta)).sum())


def logistic_dif(x: np.ndarray, focal: np.ndarray, score: np.ndarray) -> LogisticDIF:
    """Likelihood-ratio tests of uniform and non-uniform DIF (see the module docstring)."""
    xf = x.astype(float)
    sd = score.std()
    s = (score - score.mean()) / (sd if sd > 0 else 1.0)
    g = focal.astype(float)
    one = np.ones_like(s)
    ll0 = _logit_loglik(xf, np.column_stack([one, s]))
    ll1 = _logit_loglik(xf, np.column_stack([one, s, g]))
    ll2 = _logit_loglik(xf, np.column_stack([one, s, g, s * g]))
    n = xf.size
    p0 = xf.mean()
    ll_null = float(n * (p0 * math.log(p0) + (1 - p0) * math.log(1 - p0))) if 0 < p0 < 1 else 0.0

    def nagelkerke(ll: float) -> float:
        cox_snell = 1.0 - math.exp(2.0 * (ll_null - ll) / n)
        top = 1.0 - math.exp(2.0 * ll_null / n)
        return cox_snell / top if top > 0 else 0.0

    lr_u = max(2.0 * (ll1 - ll0), 0.0)
    lr_n = max(2.0 * (ll2 - ll1), 0.0)
    return LogisticDIF(
        lr_uniform=lr_u,
        p_uniform=float(chi2.sf(lr_u, 1)),
        lr_nonuniform=lr_n,
        p_nonuniform=float(chi2.sf(lr_n, 1)),
        delta_r2=nagelkerke(ll2) - nagelkerke(ll0),
    )


def dif(
    data: ResponseData,
    groups: Mapping[str, str],
    focal: str,
    *,
    reference: str | None = None,
    matching: Matching = "total",
) -> list[ItemDIF]:
    """DIF of every item between the focal group and the reference group (all others by default).

    ``groups`` maps student id → group label; students without a label (or in neither group) are left out.
    """
    if matching not in ("total", "rest"):
        raise InvalidInput(f"matching must be 'total' or 'rest' (got {matching!r})")
    labels = np.array([groups.get(sid) for sid in data.student_ids], dtype=object)
    is_focal = labels == focal
    has_label = np.array([label is not None for label in labels], dtype=bool)
    in_ref = has_label & ~is_focal if reference is None else labels == reference
    if not is_focal.any():
        raise InvalidInput(f"no student is in the focal group {focal!r}")
    if not in_ref.any():
        raise InvalidInput("no student is in the reference group")
    x1 = data.correct.tocsc()
    ans = data.answered.tocsc()
    total = np.asarray(data.correct.sum(axis=1)).ravel()
    out: list[ItemDIF] = []
    for j, item in enumerate(data.item_ids):
        rows = ans.indices[ans.indptr[j] : ans.indptr[j + 1]]
        rows = rows[is_focal[rows] | in_ref[rows]]
        xj = np.asarray(x1[rows, j].toarray()).ravel().astype(np.int64)
        fj = is_focal[rows]
        score = total[rows] - (xj if matching == "rest" else 0)
        if rows.size == 0 or not fj.any() or fj.all():
            nan = math.nan
            mh = MantelHaenszel(nan, nan, nan, nan, nan, "A")
            lr = LogisticDIF(nan, nan, nan, nan, nan)
        else:
            mh = mantel_haenszel(xj, fj, score)
            lr = logistic_dif(xj, fj, score.astype(float))
        out.append(ItemDIF(item, int((~fj).sum()), int(fj.sum()), mh, lr))
    return out


DIF_COLUMNS: Sequence[str] = (
    "item_id",
    "n_reference",
    "n_focal",
    "alpha_mh",
    "delta_mh",
    "se_delta_mh",
    "chi2_mh",
    "p_mh",
    "ets_class",
    "lr_uniform",
    "p_uniform",
    "lr_nonuniform",
    "p_nonuniform",
    "delta_r2",
)


def dif_rows(results: Sequence[ItemDIF]) -> list[list[str]]:
    """Rows for a CSV with :data:`DIF_COLUMNS` (numbers with 6 significant digits)."""

    def f(v: float) -> str:
        return "" if math.isnan(v) else f"{v:.6g}"

    return [
        [
            r.item_id,
            str(r.n_reference),
            str(r.n_focal),
            f(r.mh.alpha),
            f(r.mh.delta),
            f(r.mh.se_delta),
            f(r.mh.chi2),
            f(r.mh.p_value),
            r.mh.ets_class,
            f(r.lr.lr_uniform),
            f(r.lr.p_uniform),
            f(r.lr.lr_nonuniform),
            f(r.lr.p_nonuniform),
            f(r.lr.delta_r2),
        ]
        for r in results
    ]
