"""Person fit: Snijders' (2001) lz*, the standardised log-likelihood corrected for an estimated θ.

With ``w_j = log(P_j / Q_j)`` and ``r_j = P'_j / (P_j Q_j)`` at the student's maximum-likelihood θ̂,

    lz* = Σ_j (x_j − P_j) w_j / sqrt(Σ_j P_j Q_j (w_j − c r_j)²),    c = Σ_j P'_j w_j / Σ_j P'_j r_j,

over the items the student answered (for the MLE the correction ``r_0`` of Snijders' paper is 0).  It is
asymptotically N(0, 1) for a student who answers according to the model; large negative values
(e.g. < −1.645) mean an unlikely pattern: guessing, copying, careless errors on easy items.  Students
whose MLE is at a bound (all correct, all wrong) or with fewer than 5 answers get NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reading_tests.estimation import mle
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import FloatArray, prob

MIN_ITEMS = 5


@dataclass(frozen=True)
class PersonFit:
    student_ids: tuple[str, ...]
    theta: FloatArray
    lz_star: FloatArray
    n_items: np.ndarray


def lz_star(data: ResponseData, params: ItemParams) -> PersonFit:
    """lz* of every student (see the module docstring)."""
    p = params.subset(list(data.item_ids))
    est = mle(data, p)
    coo = data.answered.tocoo()
    rows, cols = coo.row, coo.col
    x = np.asarray(data.correct[rows, cols]).ravel()
    th = est.theta[rows]
    a, b, c = p.a[cols], p.b[cols], p.c[cols]
    pr = np.clip(prob(th, a, b, c), 1e-12, 1 - 1e-12)
    q = 1.0 - pr
    dp = a * (pr - c) * q / (1.0 - c)
    w = np.log(pr / q)
    r = dp / (pr * q)
    n = data.n_students
    num_c = np.bincount(rows, weights=dp * w, minlength=n)
    den_c = np.bincount(rows, weights=dp * r, minlength=n)
    cn = num_c / np.where(den_c > 0, den_c, np.nan)
    wt = w - cn[rows] * r
    top = np.bincount(rows, weights=(x - pr) * w, minlength=n)
    var = np.bincount(rows, weights=pr * q * wt * wt, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = top / np.sqrt(var)
    bad = est.at_bound | (est.n_items < MIN_ITEMS) | ~np.isfinite(out)
    return PersonFit(data.student_ids, est.theta, np.where(bad, np.nan, out), est.n_items)
