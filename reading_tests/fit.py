"""Item fit for sparse data: a leave-one-out χ² (Yen's Q1 with predictive expectations) and mean squares.

Leave-one-out χ² (the statistic that decides the misfit flag)
    For every response ``x_ij`` we predict it from the student's *other* answers: with the posterior
    ``π_i(θ_q)`` of student ``i`` on a grid (prior N(0, 1)) and ``f_ij(θ) = P_j(θ)`` for a correct,
    ``1 − P_j(θ)`` for a wrong answer, the leave-one-out posterior is ``π_i,−j ∝ π_i / f_ij``, so

        E_ij = Σ_q π_iq P_jq / f_ijq / Σ_q π_iq / f_ijq,     θ̃_ij = Σ_q π_iq θ_q / f_ijq / Σ_q π_iq / f_ijq.

    The responders of item ``j`` are split into ``G`` (default 10) groups of equal size by ``θ̃_ij`` and

        X²_j = Σ_g n_g (O_g − E_g)² / (E_g (1 − E_g)),     O_g, E_g = group means of x_ij and E_ij,

    referred to χ² with ``G − k`` degrees of freedom (``k`` = item parameters; Yen 1981).  Because the
    expectations are predictive (item ``j``'s own answer is left out), the statistic does not shrink the
    way residuals against an EAP that includes the item do — important for short, sparse forms, where
    Orlando & Thissen's summed-score S-X² cannot be formed since every student has a different form.
    The effect size is the weighted root mean squared difference ``RMSD_j = sqrt(Σ_g n_g (O_g − E_g)² / n)``.
    An item is flagged when ``p < α / J`` (Bonferroni, α = 0.05) **and** ``RMSD > 0.05``: the first
    condition asks for a misfit that is not noise, the second for one large enough to matter.

Mean squares (reported for reference, Wright & Masters 1982)
    with EAP θ̂, ``W = P (1 − P)``: ``outfit = mean z²``, ``infit = Σ (x − P)² / Σ W``.  They compare the
    residual *variance* with the binomial one and so react to a wrong slope, but not to a wrong shape
    when the fitted slope is near zero.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

from reading_tests._threads import single_blas_thread
from reading_tests.estimation import posterior_grid
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import FloatArray, prob

N_GROUPS = 10
RMSD_LIMIT = 0.05
ALPHA = 0.05


@dataclass(frozen=True, eq=False)
class ItemFit:
    """Fit statistics per item (arrays in the order of ``item_ids``)."""

    item_ids: tuple[str, ...]
    n: np.ndarray
    chi2: FloatArray
    df: np.ndarray
    p_value: FloatArray
    rmsd: FloatArray
    infit: FloatArray
    outfit: FloatArray
    misfit: np.ndarray


def _loo_predictions(
    data: ResponseData, p: ItemParams, nodes: FloatArray, post: FloatArray, chunk: int = 20_000
) -> list[tuple[np.ndarray, np.ndarray, FloatArray, FloatArray]]:
    """For correct and for wrong answers: (rows, cols, E_ij, θ̃_ij)."""
    pq = np.clip(prob(nodes[:, None], p.a[None, :], p.b[None, :], p.c[None, :]), 1e-12, 1 - 1e-12)  # Q × J
    out = []
    for matrix, f in ((data.correct, pq), (data.incorrect, 1.0 - pq)):
        coo = matrix.tocoo()
        order = np.argsort(coo.row, kind="stable")
        rows, cols = coo.row[order].astype(np.int64), coo.col[order].astype(np.int64)
        e = np.empty(rows.size)
        t = np.empty(rows.size)
        inv_f, p_f, th_f = 1.0 / f, pq / f, nodes[:, None] / f
        bounds = np.searchsorted(rows, np.arange(0, data.n_students + chunk, chunk))
        for lo, hi in itertools.pairwise(bounds.tolist()):
            if hi == lo:
                continue
            r, c = rows[lo:hi], cols[lo:hi]
            first = int(r[0])
            w = post[first : int(r[-1]) + 1]
            s0 = (w @ inv_f)[r - first, c]
            e[lo:hi] = (w @ p_f)[r - first, c] / s0
            t[lo:hi] = (w @ th_f)[r - first, c] / s0
        out.append((rows, cols, e, t))
    return out


def item_fit(
    data: ResponseData,
    params: ItemParams,
    *,
    n_groups: int = N_GROUPS,
    alpha: float = ALPHA,
    rmsd_limit: float = RMSD_LIMIT,
) -> ItemFit:
    """Fit statistics and misfit flags of every item in ``data`` (see the module docstring)."""
    p = params.subset(list(data.item_ids))
    k = data.n_items
    nodes, post = posterior_grid(data, p)
    with single_blas_thread():
        parts = _loo_predictions(data, p, nodes, post)
    rows = np.concatenate([parts[0][0], parts[1][0]])
    cols = np.concatenate([parts[0][1], parts[1][1]])
    x = np.concatenate([np.ones(parts[0][0].size), np.zeros(parts[1][0].size)])
    e = np.concatenate([parts[0][2], parts[1][2]])
    t = np.concatenate([parts[0][3], parts[1][3]])
    n_par = np.array([{"1pl": 1, "2pl": 2, "3pl": 3}[m] for m in p.model])

    stat = np.zeros(k)
    rmsd = np.zeros(k)
    order = np.lexsort((t, cols))  # by item, then by θ̃
    cols_s = cols[order]
    starts = np.searchsorted(cols_s, np.arange(k + 1))
    n = np.diff(starts)
    groups = np.minimum(n_groups, np.maximum(n // 20, 1))  # at least ~20 answers per group
    for j in range(k):
        lo, hi = starts[j], starts[j + 1]
        if hi == lo:
            continue
        idx = order[lo:hi]
        g = (np.arange(hi - lo) * groups[j]) // (hi - lo)
        ng = np.bincount(g, minlength=groups[j])
        og = np.bincount(g, weights=x[idx], minlength=groups[j]) / ng
        eg = np.bincount(g, weights=e[idx], minlength=groups[j]) / ng
        eg_safe = np.clip(eg, 1e-6, 1 - 1e-6)
        stat[j] = float((ng * (og - eg) ** 2 / (eg_safe * (1.0 - eg_safe))).sum())
        rmsd[j] = float(np.sqrt((ng * (og - eg) ** 2).sum() / ng.sum()))
    df = np.maximum(groups - n_par, 1)
    p_value = np.asarray(chi2.sf(stat, df), dtype=float)

    theta = post @ nodes
    pr = np.clip(prob(theta[rows], p.a[cols], p.b[cols], p.c[cols]), 1e-9, 1 - 1e-9)
    w = pr * (1.0 - pr)
    r2 = (x - pr) ** 2
    n_safe = np.maximum(n, 1)
    outfit = np.bincount(cols, weights=r2 / w, minlength=k) / n_safe
    infit = np.bincount(cols, weights=r2, minlength=k) / np.maximum(
        np.bincount(cols, weights=w, minlength=k), 1e-12
    )
    misfit = (n > 0) & (p_value < alpha / max(k, 1)) & (rmsd > rmsd_limit)
    return ItemFit(
        item_ids=data.item_ids,
        n=n.astype(np.int64),
        chi2=stat,
        df=df.astype(np.int64),
        p_value=p_value,
        rmsd=rmsd,
        infit=np.asarray(infit, dtype=float),
        outfit=np.asarray(outfit, dtype=float),
        misfit=misfit,
    )
