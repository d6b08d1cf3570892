"""Numerical core of the EM calibration (private; see :mod:`reading_tests.calibration`).

Items are parametrised internally in slope–intercept form

    P_j(θ) = c_j + (1 − c_j) σ(a_j θ + d_j),   σ(z) = 1 / (1 + e^(−z)),   c_j = σ(γ_j),

so that ``b_j = −d_j / a_j``.  Responses are the sparse students × 2J matrix ``X = [X¹ X⁰]`` of
correct and incorrect indicators.  With quadrature nodes ``θ_q`` and log weights ``log w_q``:

E-step
    ``ℓ_iq = (X [log P; log Q])_iq + log w_q`` (one sparse product), the posterior
    ``π_iq = exp(ℓ_iq) / Σ_q exp(ℓ_iq)``, the marginal log-likelihood ``Σ_i log Σ_q exp(ℓ_iq)`` and the
    expected counts ``[r¹; r⁰] = Xᵀ π`` (2J × Q, a second sparse product).
M-step
    for every item at once, Fisher scoring on ``Σ_q r¹_jq log P_j(θ_q) + r⁰_jq log Q_j(θ_q) + log prior``
    with gradient ``Σ_q (r¹ − n P)/(P Q) ∂P`` and information ``Σ_q n ∂P ∂Pᵀ / (P Q)``
    (``n = r¹ + r⁰``), step halving where the objective would fall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.special import expit

from reading_tests.irt import FloatArray

P_FLOOR = 1e-12
A_MIN = 1e-3


@dataclass(frozen=True)
class Priors:
    """Penalty terms of the M-step (MAP item estimates).

    ``c_beta = (α, β)`` adds ``(α − 1) log c + (β − 1) log(1 − c)``; ``log_a = (μ, s)`` adds
    ``−(log a − μ)² / (2 s²)``.  ``None`` means no penalty.
    """

    c_beta: tuple[float, float] | None = None
    log_a: tuple[float, float] | None = None


@dataclass
class EStep:
    """Result of one E-step."""

    loglik: float
    r1: FloatArray  # J × Q expected correct counts
    r0: FloatArray  # J × Q expected incorrect counts
    mass: FloatArray  # Q, expected number of students at each node
    post: NDArray[np.floating[Any]] | None  # N × Q posterior, kept only on request


class Design:
    """The response design, stored for fast products with dense ``items × nodes`` matrices.

    Sparse data keep ``X = [X¹ X⁰]`` as CSR (and its CSC transpose).  Data with at least half of the
    cells observed are stored densely, using ``X¹ log P + X⁰ log Q = X¹ (log P − log Q) + A log Q``
    (``A`` = observed indicator, a constant row when the data are complete) so that each E-step is two
    BLAS products of size N × J × Q.

    The indicators are stored as float32: the EM iterations run in single precision (the posterior
    weights and expected counts agree with double precision to about 1e-5 relative, far below the
    convergence tolerance) and the final E-step, which gives the reported log-likelihood and the
    standard errors, runs in double precision (``precise=True``).
    """

    def __init__(self, correct: sp.csr_matrix, incorrect: sp.csr_matrix) -> None:
        n, j = (int(v) for v in correct.shape)
        self.n_items = j
        self.correct = sp.csr_matrix(correct, dtype=np.float32)
        self.incorrect = sp.csr_matrix(incorrect, dtype=np.float32)
        nnz = self.correct.nnz + self.incorrect.nnz
        self.dense = nnz >= 0.5 * n * j and n * j <= 50_000_000
        if self.dense:
            self.x1 = self.correct.toarray()
            answered = self.x1 + self.incorrect.toarray()
            self.complete = bool(nnz == n * j)
            self.answered = None if self.complete else answered
        else:
            self.x = sp.csr_matrix(sp.hstack([self.correct, self.incorrect], format="csr"), dtype=np.float32)
            self.x.sort_indices()
            self.xt = self.x.T  # CSC view: fast products with dense N × Q matrices

    def node_loglik(self, log_p: FloatArray, log_q: FloatArray) -> FloatArray:
        """``Σ_j x¹_ij log P_jq + x⁰_ij log Q_jq`` as an N × Q array."""
        if not self.dense:
            return np.asarray(self.x @ np.vstack([log_p, log_q]))
        out = self.x1 @ (log_p - log_q)
        if self.answered is None:
            out += log_q.sum(axis=0)[None, :]
        else:
            out += self.answered @ log_q
        return np.asarray(out)

    def counts(self, post: NDArray[np.floating[Any]]) -> tuple[FloatArray, FloatArray]:
        """Expected counts ``r¹ = X¹ᵀ π`` and ``r⁰ = X⁰ᵀ π`` (J × Q each)."""
        if not self.dense:
            both = np.asarray(self.xt @ post)
            return both[: self.n_items], both[self.n_items :]
        r1 = self.x1.T @ post
        total = (
            np.broadcast_to(post.sum(axis=0), r1.shape) if self.answered is None else self.answered.T @ post
        )
        return np.asarray(r1), np.asarray(total - r1)


def probs(a: FloatArray, d: FloatArray, c: FloatArray, nodes: FloatArray) -> FloatArray:
    """``P_j(θ_q)`` as a J × Q array, clipped away from 0 and 1."""
    p = expit(a[:, None] * nodes[None, :] + d[:, None])
    if np.any(c > 0):
        p = c[:, None] + (1.0 - c[:, None]) * p
    return np.asarray(np.clip(p, P_FLOOR, 1.0 - P_FLOOR), dtype=float)


def e_step(
    design: Design,
    a: FloatArray,
    d: FloatArray,
    c: FloatArray,
    nodes: FloatArray,
    logw: FloatArray,
    *,
    keep_post: bool = False,
    precise: bool = True,
) -> EStep:
    """One E-step (see the module docstring); ``precise=False`` works in float32."""
    p = probs(a, d, c, nodes)
    dtype: type[np.floating[Any]] = np.float64 if precise else np.float32
    ll: NDArray[np.floating[Any]] = design.node_loglik(np.log(p).astype(dtype), np.log1p(-p).astype(dtype))
    ll += np.asarray(logw, dtype=dtype)[None, :]
    m = ll.max(axis=1)
    ll -= m[:, None]
    np.exp(ll, out=ll)
    s = ll.sum(axis=1, dtype=np.float64)
    loglik = float(m.sum(dtype=np.float64) + np.log(s).sum())
    ll *= (1.0 / s).astype(dtype)[:, None]
    r1, r0 = design.counts(ll)
    return EStep(
        loglik=loglik,
        r1=np.asarray(r1, dtype=float),
        r0=np.asarray(r0, dtype=float),
        mass=ll.sum(axis=0, dtype=np.float64),
        post=ll if keep_post else None,
    )


# --------------------------------------------------------------------------- item terms


def _dp(
    a: FloatArray, d: FloatArray, g: FloatArray, nodes: FloatArray, three: bool
) -> tuple[FloatArray, FloatArray]:
    """``P`` (J × Q) and its derivatives ``∂P/∂(a, d[, γ])`` (J × Q × k)."""
    s = expit(a[:, None] * nodes[None, :] + d[:, None])
    ds = s * (1.0 - s)
    if three:
        c = expit(g)[:, None]
        p = c + (1.0 - c) * s
        dz = (1.0 - c) * ds
        parts = [dz * nodes[None, :], dz, c * (1.0 - c) * (1.0 - s)]
    else:
        p = s
        parts = [ds * nodes[None, :], ds]
    return np.clip(p, P_FLOOR, 1.0 - P_FLOOR), np.stack(parts, axis=-1)


def objective(
    a: FloatArray,
    d: FloatArray,
    g: FloatArray,
    nodes: FloatArray,
    r1: FloatArray,
    r0: FloatArray,
    three: bool,
    priors: Priors,
) -> FloatArray:
    """Per-item expected complete-data log posterior ``Σ_q r¹ log P + r⁰ log Q + log prior``."""
    s = expit(a[:, None] * nodes[None, :] + d[:, None])
    if three:
        c = expit(g)[:, None]
        p = c + (1.0 - c) * s
    else:
        p = s
    p = np.clip(p, P_FLOOR, 1.0 - P_FLOOR)
    obj = (r1 * np.log(p) + r0 * np.log1p(-p)).sum(axis=1)
    return np.asarray(obj + prior_value(a, g, three, priors), dtype=float)


def prior_value(a: FloatArray, g: FloatArray, three: bool, priors: Priors) -> FloatArray:
    out = np.zeros_like(a)
    if three and priors.c_beta is not None:
        alpha, beta = priors.c_beta
        c = expit(g)
        out += (alpha - 1.0) * np.log(c) + (beta - 1.0) * np.log1p(-c)
    if priors.log_a is not None:
        mu, sd = priors.log_a
        with np.errstate(invalid="ignore", divide="ignore"):
            la = np.where(a > 0, np.log(np.maximum(a, 1e-300)), -np.inf)
        out += np.where(a > 0, -((la - mu) ** 2) / (2 * sd * sd), -np.inf)
    return out


def scoring_terms(
    a: FloatArray,
    d: FloatArray,
    g: FloatArray,
    nodes: FloatArray,
    r1: FloatArray,
    r0: FloatArray,
    three: bool,
    priors: Priors,
) -> tuple[FloatArray, FloatArray]:
    """Gradient (J × k) and expected information (J × k × k) of :func:`objective`."""
    p, dp = _dp(a, d, g, nodes, three)
    n = r1 + r0
    pq = p * (1.0 - p)
    w = (r1 - n * p) / pq
    grad = np.einsum("jq,jqk->jk", w, dp)
    info = np.einsum("jq,jqk,jql->jkl", n / pq, dp, dp)
    if three and priors.c_beta is not None:
        alpha, beta = priors.c_beta
        c = expit(g)
        grad[:, 2] += (alpha - 1.0) * (1.0 - c) - (beta - 1.0) * c
        info[:, 2, 2] += (alpha + beta - 2.0) * c * (1.0 - c)
    if priors.log_a is not None:
        mu, sd = priors.log_a
        aa = np.maximum(a, A_MIN)
        grad[:, 0] += -(np.log(aa) - mu) / (sd * sd * aa)
        info[:, 0, 0] += 1.0 / (sd * sd * aa * aa)
    return grad, info


def observed_terms(
    a: FloatArray,
    d: FloatArray,
    g: FloatArray,
    nodes: FloatArray,
    r1: FloatArray,
    r0: FloatArray,
    three: bool,
    priors: Priors,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Pieces of Louis's observed information for each item.

    Returns ``(H, S, G1, G0)``: ``H = −Σ_q ∇²(r¹ log P + r⁰ log Q) − ∇² log prior`` (J × k × k, the
    expected complete-data information), ``S = Σ_q r¹ g¹ g¹ᵀ + r⁰ g⁰ g⁰ᵀ`` (J × k × k, the expected
    outer product of complete-data scores) and the per-node scores ``g¹ = ∇ log P``,
    ``g⁰ = ∇ log Q`` (J × Q × k).
    """
    s = expit(a[:, None] * nodes[None, :] + d[:, None])
    ds = s * (1.0 - s)
    k = 3 if three else 2
    jn, qn = s.shape
    th = nodes[None, :]
    if three:
        c = expit(g)[:, None]
        cp = c * (1.0 - c)
    else:
        c = np.zeros((jn, 1))
        cp = np.zeros((jn, 1))
    p = np.clip(c + (1.0 - c) * s, P_FLOOR, 1.0 - P_FLOOR)
    q = 1.0 - p
    dz = (1.0 - c) * ds
    dzz = dz * (1.0 - 2.0 * s)
    dp = np.zeros((jn, qn, k))
    dp[..., 0] = dz * th
    dp[..., 1] = dz
    hp = np.zeros((jn, qn, k, k))  # ∇²P
    hp[..., 0, 0] = dzz * th * th
    hp[..., 0, 1] = hp[..., 1, 0] = dzz * th
    hp[..., 1, 1] = dzz
    if three:
        dp[..., 2] = cp * (1.0 - s)
        cross = -cp * ds
        hp[..., 0, 2] = hp[..., 2, 0] = cross * th
        hp[..., 1, 2] = hp[..., 2, 1] = cross
        hp[..., 2, 2] = cp * (1.0 - 2.0 * c) * (1.0 - s)
    g1 = dp / p[..., None]
    g0 = -dp / q[..., None]
    l1 = r1 / p - r0 / q  # ∂ℓ/∂P
    l2 = -r1 / p**2 - r0 / q**2  # ∂²ℓ/∂P²
    hess = np.einsum("jq,jqk,jql->jkl", l2, dp, dp) + np.einsum("jq,jqkl->jkl", l1, hp)
    h = -hess
    if three and priors.c_beta is not None:
        alpha, beta = priors.c_beta
        cc = expit(g)
        h[:, 2, 2] += (alpha + beta - 2.0) * cc * (1.0 - cc)
    if priors.log_a is not None:
        mu, sd = priors.log_a
        aa = np.maximum(a, A_MIN)
        # −d²/da² of −(log a − μ)²/(2s²) = (1 − (log a − μ)) / (s² a²)
        h[:, 0, 0] += (1.0 - (np.log(aa) - mu)) / (sd * sd * aa * aa)
    s_outer = np.einsum("jq,jqk,jql->jkl", r1, g1, g1) + np.einsum("jq,jqk,jql->jkl", r0, g0, g0)
    return h, s_outer, g1, g0


def mean_score_outer(
    design: Design, post: NDArray[np.floating[Any]], g1: FloatArray, g0: FloatArray, chunk: int = 20_000
) -> FloatArray:
    """``Σ_i ē_ij ē_ijᵀ`` per item, with ``ē_ij = Σ_q π_iq g^{x_ij}_j(θ_q)`` the posterior mean score.

    Computed in row chunks as the dense product ``π G`` read off at the observed entries.
    """
    jn, qn, k = g1.shape
    out = np.zeros((jn, k, k))
    # single-precision products: ē needs ~1e-6 relative accuracy only
    flat1 = g1.transpose(1, 0, 2).reshape(qn, jn * k).astype(np.float32)
    flat0 = g0.transpose(1, 0, 2).reshape(qn, jn * k).astype(np.float32)
    n = post.shape[0]
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        pc = post[start:stop].astype(np.float32)
        if design.dense:
            x1 = design.x1[start:stop, :, None]
            e = np.where(x1 > 0, (pc @ flat1).reshape(-1, jn, k), (pc @ flat0).reshape(-1, jn, k))
            if design.answered is not None:
                e *= design.answered[start:stop, :, None]
            e64 = e.astype(np.float64)
            out += np.einsum("ijk,ijl->jkl", e64, e64)
            continue
        for mat, flat in ((design.correct, flat1), (design.incorrect, flat0)):
            lo, hi = mat.indptr[start], mat.indptr[stop]
            if hi == lo:
                continue
            rows = np.repeat(np.arange(stop - start), np.diff(mat.indptr[start : stop + 1]))
            cols = mat.indices[lo:hi]
            full = (pc @ flat).ravel()
            base = rows * (jn * k) + cols * k
            e = np.stack([full[base + t] for t in range(k)], axis=1)  # nnz × k
            for u in range(k):
                for v in range(u, k):
                    acc = np.bincount(cols, weights=e[:, u] * e[:, v], minlength=jn)
                    out[:, u, v] += acc
                    if v != u:
                        out[:, v, u] += acc
    return out


def m_step(
    a: FloatArray,
    d: FloatArray,
    g: FloatArray,
    free: FloatArray,
    nodes: FloatArray,
    r1: FloatArray,
    r0: FloatArray,
    *,
    model: str,
    rasch: bool,
    priors: Priors,
    max_iter: int = 30,
    tol: float = 1e-8,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Maximise the expected complete-data log posterior over the free items (vectorised)."""
    three = model == "3pl"
    idx = np.flatnonzero(free)
    if idx.size == 0:
        return a, d, g
    a, d, g = a.copy(), d.copy(), g.copy()
    fa, fd, fg = a[idx], d[idx], g[idx]
    s1, s0 = r1[idx], r0[idx]
    k = 3 if three else 2
    for _ in range(max_iter):
        obj = objective(fa, fd, fg, nodes, s1, s0, three, priors)
        grad, info = scoring_terms(fa, fd, fg, nodes, s1, s0, three, priors)
        step: FloatArray = np.zeros((idx.size, k))
        if model == "1pl":
            gd, idd = grad[:, 1], info[:, 1, 1]
            if rasch:
                step[:, 1] = gd / idd
            else:
                iad = info[:, 0, 1]
                schur = info[:, 0, 0].sum() - (iad * iad / idd).sum()
                sa = (grad[:, 0].sum() - (iad * gd / idd).sum()) / schur
                step[:, 0] = sa
                step[:, 1] = (gd - iad * sa) / idd
        else:
            ridge = 1e-9 * np.eye(k)[None, :, :]
            step = np.asarray(np.linalg.solve(info + ridge, grad[..., None])[..., 0], dtype=float)
        common = model == "1pl" and not rasch
        big = np.abs(step).max(axis=1)
        if common:  # one shared slope: cap the whole step at once
            big = np.full(idx.size, big.max())
        step *= np.minimum(1.0, 1.0 / np.maximum(big, 1e-300))[:, None]
        scale = np.ones(idx.size)
        for _half in range(12):
            na = fa + scale * step[:, 0]
            nd = fd + scale * step[:, 1]
            ng = fg + scale * step[:, 2] if three else fg
            new = objective(na, nd, ng, nodes, s1, s0, three, priors)
            if common:
                bad = np.full(idx.size, not (new.sum() >= obj.sum() - 1e-10 and np.all(na > A_MIN)))
            else:
                bad = ~(new >= obj - 1e-10)
                if priors.log_a is not None:
                    bad |= na <= A_MIN
            if not bad.any():
                break
            scale = np.where(bad, scale * 0.5, scale)
        else:
            scale = np.where(bad, 0.0, scale)
        fa = fa + scale * step[:, 0]
        fd = fd + scale * step[:, 1]
        if three:
            fg = fg + scale * step[:, 2]
        if float((np.abs(step) * scale[:, None]).max()) < tol:
            break
    a[idx], d[idx], g[idx] = fa, fd, fg
    return a, d, g


def latent_update(mass: FloatArray, nodes: FloatArray) -> tuple[float, float]:
    """Mean and SD of the latent distribution from the expected node masses."""
    total = float(mass.sum())
    mean = float((mass * nodes).sum() / total)
    var = float((mass * nodes * nodes).sum() / total) - mean * mean
    return mean, math.sqrt(max(var, 1e-6))
