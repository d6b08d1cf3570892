"""Item calibration by marginal maximum likelihood (Bock & Aitkin 1981), EM over quadrature.

Model
    ``P_j(θ) = c_j + (1 − c_j) / (1 + exp(−a_j (θ − b_j)))`` with θ ~ N(μ, σ²); μ = 0, σ = 1 unless
    anchor items fix the scale, in which case μ and σ are estimated (Bock & Zimowski 1997).
    1PL: one common ``a`` (``rasch=True`` fixes a = 1); 2PL: ``c = 0``; 3PL: ``c_j`` with a
    Beta(α, β) prior (default Beta(5, 17), mode 0.2) and a weak normal prior on ``log a``
    (default N(0, 1)) that keeps the 3PL likelihood away from its flat ridges; the 3PL estimates are
    therefore posterior modes (MAP), the 1PL/2PL estimates are plain MML.

Marginal log-likelihood
    ``ℓ(ψ) = Σ_i log Σ_q w_q Π_j P_j(θ_q)^{x_ij} Q_j(θ_q)^{1 − x_ij}`` over the items student ``i``
    answered, with an equally spaced grid ``θ_q`` on [−6, 6] and normal weights ``w_q``.

Algorithm
    EM (E-step: two sparse matrix products; M-step: vectorised Fisher scoring over all items, see
    :mod:`reading_tests._em`), accelerated by SQUAREM (Varadhan & Roland 2008, scheme S3) with a
    monotonicity guard: an extrapolated point is kept only when it does not lower ``ℓ`` (``ℓ + log
    prior`` for the 3PL).  Convergence: largest change of an internal parameter (``a``, ``d = −a b``,
    ``logit c``, μ, log σ) below ``tol`` between two EM steps.  The iterations run in single
    precision when ``tol ≥ 1e-5`` (see :class:`reading_tests._em.Design`); the final E-step — the
    reported ``ℓ`` and the standard errors — in double precision.  BLAS runs on one thread
    (:mod:`reading_tests._threads`).

Quadrature nodes
    With ``n_nodes=None`` the node count is chosen from the data: first from the number of items per
    student, then, after convergence, from the posterior standard deviations ``s_i`` of the students:
    the spacing must not exceed ``1.2 · s`` (1st percentile of ``s_i``), which bounds the relative
    integration error of each student's likelihood by about ``2 exp(−2π²/1.44) ≈ 2·10⁻⁶``
    (equally spaced rule on a bell-shaped integrand).  If the check asks for more nodes, EM continues
    on the finer grid from the current estimates.  At least 41 nodes are always used.

Standard errors
    From the observed information by Louis's (1982) identity,
    ``I = Σ_i E[−∇² log f(x_i, θ)] − Σ_i Cov[∇ log f(x_i, θ)]`` (posterior moments).
    ``se="louis"`` evaluates it in full: the complete-data information is block diagonal, and the
    cross-item part of ``Σ_i E_i[S Sᵀ]`` needs, per node, the posterior-weighted Gram matrices of the
    correct/incorrect indicators (:mod:`reading_tests._louis`; ≈ 3·N·J²·Q multiply-adds) — this is
    the exact observed information and agrees with ``"full"`` to 4 digits.  ``se="block"`` keeps
    only the per-item blocks (cross-item covariances left out), which costs one pass over the data
    but gives SEs of ``b`` too small by a median 3–10 % and up to 25 % on long complete forms
    (accurate only when each item is one of many a student answered in a sparse design; for the
    1PL the row of the shared slope is exact).  ``se="full"`` differentiates the exact
    Fisher-identity gradient of ``ℓ`` numerically (central differences, 2·(number of parameters)
    E-steps), the slow reference.  ``se="auto"`` (default) takes "full" when its cost, about
    2 · parameters · responses · nodes multiply-adds, stays below 3·10⁸ (e.g. LSAT-7), "louis" while
    3 · N · J² · Q ≤ 2·10¹⁰ and J ≤ ~450 (e.g. 5,000 × 80, 40,000 × 50) and "block" otherwise.
    SEs of ``b`` and ``c`` follow by the delta method.  Latent μ and σ are treated as known.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit, ndtri

from reading_tests import _em, _louis
from reading_tests._em import Design, EStep, Priors
from reading_tests._quadrature import grid, nodes_for_posterior_sd, normal_log_weights
from reading_tests._threads import single_blas_thread
from reading_tests.errors import InvalidInput
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import MODELS, FloatArray, Model

SEMethod = Literal["auto", "louis", "block", "full", "none"]
FULL_SE_BUDGET = 3e8  # multiply-adds allowed for se="auto" to choose the numerical ("full") method
LOUIS_SE_BUDGET = 2e10  # multiply-adds (3 · N · J² · Q) allowed for se="auto" to choose "louis"
LOUIS_SE_MEMORY = 3e8  # bytes of its node-wise Gram matrices (24 · J² · Q), i.e. up to ~450 items


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    params : ItemParams
        Item parameters of every item in the data (anchors keep their fixed values).
    loglik : float
        Marginal log-likelihood ``ℓ`` at the estimates (without prior terms).
    n_iter : int
        Number of EM steps (E-steps) used.
    converged : bool
        Whether the convergence criterion was met within ``max_iter``.
    n_nodes : int
        Number of quadrature nodes of the final grid.
    latent_mean, latent_sd : float
        μ and σ of the latent distribution (0 and 1 unless anchors were given).
    se_method : str
        The standard-error method actually used ("full", "block" or "none"; "auto" resolved).
    """

    params: ItemParams
    loglik: float
    n_iter: int
    converged: bool
    n_nodes: int
    latent_mean: float
    latent_sd: float
    se_method: str = "none"


@dataclass
class _State:
    a: FloatArray
    d: FloatArray
    g: FloatArray  # logit c (free 3PL items)
    c_fixed: FloatArray  # c of fixed items (and 0 for free non-3PL items)
    mean: float
    sd: float


class _Problem:
    """Everything fixed during one calibration; knows how to pack the free parameters."""

    def __init__(
        self,
        design: Design,
        model: Model,
        rasch: bool,
        free: np.ndarray,
        estimate_latent: bool,
        priors: Priors,
    ) -> None:
        self.design = design
        self.model = model
        self.rasch = rasch
        self.free = free
        self.idx = np.flatnonzero(free)
        self.three = model == "3pl"
        self.estimate_latent = estimate_latent
        self.priors = priors
        self.nodes: FloatArray = grid(41)
        self.custom_logw: FloatArray | None = None
        self.n_estep = 0
        self.precise = False  # float32 EM iterations (see _em.Design); set for tolerances below 1e-5

    def logw(self, st: _State) -> FloatArray:
        if self.custom_logw is not None:
            return self.custom_logw
        return normal_log_weights(self.nodes, st.mean, st.sd)

    def c(self, st: _State) -> FloatArray:
        c = st.c_fixed.copy()
        if self.three:
            c[self.idx] = expit(st.g[self.idx])
        return c

    def pack(self, st: _State, *, latent: bool = True) -> FloatArray:
        parts: list[FloatArray] = []
        if self.model == "1pl":
            if not self.rasch:
                parts.append(st.a[self.idx[:1]])
        else:
            parts.append(st.a[self.idx])
        parts.append(st.d[self.idx])
        if self.three:
            parts.append(st.g[self.idx])
        if latent and self.estimate_latent:
            parts.append(np.array([st.mean, math.log(st.sd)]))
        return np.concatenate(parts)

    def unpack(self, x: FloatArray, like: _State, *, latent: bool = True) -> _State:
        st = _State(like.a.copy(), like.d.copy(), like.g.copy(), like.c_fixed, like.mean, like.sd)
        k = self.idx.size
        pos = 0
        if self.model == "1pl":
            if not self.rasch:
                st.a[self.idx] = x[0]
                pos = 1
        else:
            st.a[self.idx] = x[:k]
            pos = k
        st.d[self.idx] = x[pos : pos + k]
        pos += k
        if self.three:
            st.g[self.idx] = x[pos : pos + k]
            pos += k
        if latent and self.estimate_latent:
            st.mean = float(x[pos])
            st.sd = float(math.exp(x[pos + 1]))
        return st

    def estep(self, st: _State, *, keep_post: bool = False, precise: bool = True) -> EStep:
        self.n_estep += 1
        return _em.e_step(
            self.design,
            st.a,
            st.d,
            self.c(st),
            self.nodes,
            self.logw(st),
            keep_post=keep_post,
            precise=precise,
        )

    def em_map(self, st: _State) -> tuple[_State, float]:
        """One EM step: returns the updated state and ``ℓ + log prior`` at the input state."""
        es = self.estep(st, precise=self.precise)
        a, d, g = _em.m_step(
            st.a,
            st.d,
            st.g,
            self.free,
            self.nodes,
            es.r1,
            es.r0,
            model=self.model,
            rasch=self.rasch,
            priors=self.priors if self.three else Priors(),
        )
        mean, sd = st.mean, st.sd
        if self.estimate_latent:
            mean, sd = _em.latent_update(es.mass, self.nodes)
        return _State(a, d, g, st.c_fixed, mean, sd), es.loglik + self.log_prior(st)

    def log_prior(self, st: _State) -> float:
        """Prior terms of the free items: EM increases ``ℓ + log prior``, not ``ℓ`` alone."""
        if not self.three:
            return 0.0
        i = self.idx
        return float(_em.prior_value(st.a[i], st.g[i], True, self.priors).sum())

    def valid(self, st: _State) -> bool:
        ok = bool(np.all(np.isfinite(st.a)) and np.all(np.isfinite(st.d)) and np.all(np.isfinite(st.g)))
        if self.three:
            ok = ok and bool(np.all(st.a[self.idx] > _em.A_MIN))
        return ok and math.isfinite(st.mean) and 0.05 < st.sd < 20


def _run_em(
    problem: _Problem, st: _State, *, tol: float, max_iter: int, accelerate: bool
) -> tuple[_State, bool]:
    """Iterate EM (optionally SQUAREM-accelerated) until the parameter change is below ``tol``."""

    def change(x: FloatArray, y: FloatArray) -> float:
        return float(np.abs(x - y).max()) if x.size else 0.0

    while problem.n_estep < max_iter:
        x0 = problem.pack(st)
        st1, _ = problem.em_map(st)
        x1 = problem.pack(st1)
        if change(x1, x0) < tol:
            return st1, True
        if not accelerate:
            st = st1
            continue
        st2, ll1 = problem.em_map(st1)
        x2 = problem.pack(st2)
        if change(x2, x1) < tol:
            return st2, True
        r = x1 - x0
        v = x2 - x1 - r
        vv = float(v @ v)
        if vv <= 0:
            st = st2
            continue
        alpha = -math.sqrt(float(r @ r) / vv)
        alpha = max(min(alpha, -1.0), -50.0)
        xp = x0 - 2.0 * alpha * r + alpha * alpha * v
        stp = problem.unpack(xp, st)
        if not problem.valid(stp):
            st = st2
            continue
        st3, llp = problem.em_map(stp)
        # keep the extrapolation only when it did not lower ℓ (monotone SQUAREM); single-precision
        # E-steps give ℓ to about 1e-7 relative (the rounded log P table is shared by all students)
        slack = (1e-8 if problem.precise else 1e-6) * abs(ll1)
        st = st3 if llp >= ll1 - slack and problem.valid(st3) else st2
    return st, False


def _start(
    data: ResponseData,
    model: Model,
    rasch: bool,
    c_prior: tuple[float, float],
    correct: FloatArray,
    n: FloatArray,
) -> _State:
    p = (correct + 0.5) / (n + 1.0)
    k = data.n_items
    a = np.ones(k)
    c0 = 0.0
    if model == "3pl":
        alpha, beta = c_prior
        c0 = (alpha - 1.0) / (alpha + beta - 2.0) if alpha > 1 and beta > 1 else 0.2
        p = np.clip((p - c0) / (1.0 - c0), 0.05, 0.95)
    # marginal P under θ ~ N(0,1) ≈ Φ(d / (1.702 √(1 + (a/1.702)²)))  (logistic ≈ normal ogive)
    d = 1.702 * ndtri(p) * np.sqrt(1.0 + (a / 1.702) ** 2)
    g = np.full(k, logit(c0) if c0 > 0 else 0.0)
    return _State(a=a, d=d, g=g, c_fixed=np.zeros(k), mean=0.0, sd=1.0)


def calibrate(
    data: ResponseData,
    model: Model = "2pl",
    *,
    anchors: ItemParams | None = None,
    rasch: bool = False,
    n_nodes: int | None = None,
    quadrature: tuple[FloatArray, FloatArray] | None = None,
    c_prior: tuple[float, float] = (5.0, 17.0),
    log_a_prior: tuple[float, float] | None = (0.0, 1.0),
    se: SEMethod = "auto",
    tol: float = 1e-4,
    max_iter: int = 2000,
    accelerate: bool = True,
) -> Calibration:
    """Calibrate dichotomous items by marginal maximum likelihood.

    Parameters
    ----------
    data : ResponseData
        Responses (sparse; students with no response are ignored).
    model : {"1pl", "2pl", "3pl"}
        Item model of the items being calibrated.
    anchors : ItemParams, optional
        Items whose parameters stay fixed (matched by item id; anchors absent from ``data`` are ignored).
        With anchors, the latent mean and SD are estimated and the new items land on the anchors' scale.
    rasch : bool
        With ``model="1pl"``, fix the common discrimination at 1 (Rasch model).
    n_nodes : int, optional
        Fixed number of equally spaced nodes on [−6, 6]; ``None`` chooses it adaptively (≥ 41).
    quadrature : (nodes, weights), optional
        A custom rule for θ ~ N(0, 1) (weights are normalised); not allowed with anchors.
    c_prior : (α, β)
        Beta prior on the 3PL lower asymptote.
    log_a_prior : (μ, s) or None
        Normal prior on ``log a`` for 3PL items (ignored for 1PL/2PL).
    se : {"auto", "louis", "block", "full", "none"}
        Standard-error method (see the module docstring).
    tol : float
        Convergence tolerance on the internal parameters.
    max_iter : int
        Maximum number of E-steps.
    accelerate : bool
        Use SQUAREM extrapolation.

    Returns
    -------
    Calibration

    Raises
    ------
    InvalidInput
        Unknown model, an item whose responses are all correct or all incorrect (its difficulty is
        not identified), anchors that cover every item of a 1PL common slope, or no responses.
    """
    with single_blas_thread():
        return _calibrate(
            data,
            model,
            anchors=anchors,
            rasch=rasch,
            n_nodes=n_nodes,
            quadrature=quadrature,
            c_prior=c_prior,
            log_a_prior=log_a_prior,
            se=se,
            tol=tol,
            max_iter=max_iter,
            accelerate=accelerate,
        )


def _calibrate(
    data: ResponseData,
    model: Model = "2pl",
    *,
    anchors: ItemParams | None = None,
    rasch: bool = False,
    n_nodes: int | None = None,
    quadrature: tuple[FloatArray, FloatArray] | None = None,
    c_prior: tuple[float, float] = (5.0, 17.0),
    log_a_prior: tuple[float, float] | None = (0.0, 1.0),
    se: SEMethod = "auto",
    tol: float = 1e-4,
    max_iter: int = 2000,
    accelerate: bool = True,
) -> Calibration:
    if model not in MODELS:
        raise InvalidInput(f"unknown model '{model}' (use 1pl, 2pl or 3pl)")
    if rasch and model != "1pl":
        raise InvalidInput("rasch=True requires model='1pl'")
    keep = data.items_per_student() > 0
    correct_m = data.correct[keep]
    incorrect_m = data.incorrect[keep]
    if correct_m.shape[0] == 0:
        raise InvalidInput("no responses to calibrate")
    n_correct = np.asarray(correct_m.sum(axis=0)).ravel()
    n_total = n_correct + np.asarray(incorrect_m.sum(axis=0)).ravel()
    k = data.n_items
    fixed = np.zeros(k, dtype=bool)
    anchor_pos: dict[str, int] = anchors.index if anchors is not None else {}
    for j, item in enumerate(data.item_ids):
        fixed[j] = item in anchor_pos
    free = ~fixed
    for j in np.flatnonzero(free).tolist():
        if n_total[j] == 0:
            raise InvalidInput(f"nobody answered item '{data.item_ids[j]}'")
        if n_correct[j] in (0, n_total[j]):
            kind = "incorrect" if n_correct[j] == 0 else "correct"
            raise InvalidInput(
                f"every response to item '{data.item_ids[j]}' is {kind}; its difficulty cannot be estimated"
            )
    estimate_latent = bool(fixed.any())
    if estimate_latent and quadrature is not None:
        raise InvalidInput("a custom quadrature cannot be combined with anchors")
    priors = Priors(c_beta=c_prior, log_a=log_a_prior) if model == "3pl" else Priors()
    design = Design(correct_m, incorrect_m)
    problem = _Problem(design, model, rasch, free, estimate_latent, priors)
    problem.precise = tol < 1e-5
    st = _start(data, model, rasch, c_prior, n_correct, n_total)
    if anchors is not None:
        for j in np.flatnonzero(fixed).tolist():
            pos = anchor_pos[data.item_ids[j]]
            st.a[j] = anchors.a[pos]
            st.d[j] = -anchors.a[pos] * anchors.b[pos]
            st.c_fixed[j] = anchors.c[pos]

    if quadrature is not None:
        nodes_in, weights_in = (np.asarray(x, dtype=float) for x in quadrature)
        problem.nodes = nodes_in
        problem.custom_logw = np.log(weights_in / weights_in.sum())
        st, converged = _run_em(problem, st, tol=tol, max_iter=max_iter, accelerate=accelerate)
    elif n_nodes is not None:
        if n_nodes < 5:
            raise InvalidInput("n_nodes must be at least 5")
        problem.nodes = grid(n_nodes)
        st, converged = _run_em(problem, st, tol=tol, max_iter=max_iter, accelerate=accelerate)
    else:
        per_student = np.diff(correct_m.indptr) + np.diff(incorrect_m.indptr)
        k90 = float(np.quantile(per_student, 0.9))
        q = nodes_for_posterior_sd(1.0 / math.sqrt(1.0 + 0.25 * k90))
        for _refine in range(4):
            problem.nodes = grid(q)
            st, converged = _run_em(problem, st, tol=tol, max_iter=max_iter, accelerate=accelerate)
            final = problem.estep(st, keep_post=True)
            assert final.post is not None
            needed = nodes_for_posterior_sd(
                float(np.quantile(_posterior_sd(final.post, problem.nodes), 0.01))
            )
            if needed <= q:
                break
            q = needed
    if se == "auto":
        se = _auto_se(problem, st, correct_m.shape[0], correct_m.nnz + incorrect_m.nnz)
    if se not in ("louis", "block", "full", "none"):
        raise InvalidInput(f"unknown SE method '{se}' (use auto, louis, block, full or none)")
    if n_nodes is not None or quadrature is not None:
        final = problem.estep(st, keep_post=se in ("block", "louis"))
    params = _item_params(data, problem, st, final, se, n_total, anchors, fixed)
    return Calibration(
        params=params,
        loglik=final.loglik,
        n_iter=problem.n_estep,
        converged=converged,
        n_nodes=int(problem.nodes.size),
        latent_mean=st.mean,
        latent_sd=st.sd,
        se_method=se,
    )


def _auto_se(problem: _Problem, st: _State, n_students: int, n_responses: int) -> SEMethod:
    """ "full" for tiny problems, "louis" (exact) while 3 · N · J² · Q fits the budget, else "block"."""
    n_par = problem.pack(st, latent=False).size
    q = problem.nodes.size
    if 2.0 * n_par * n_responses * q <= FULL_SE_BUDGET:
        return "full"
    j = problem.design.n_items
    if 3.0 * n_students * j * j * q <= LOUIS_SE_BUDGET and 24.0 * j * j * q <= LOUIS_SE_MEMORY:
        return "louis"
    return "block"


def _posterior_sd(post: NDArray[np.floating[Any]], nodes: FloatArray) -> FloatArray:
    mean = post @ nodes
    var = post @ (nodes * nodes) - mean * mean
    return np.asarray(np.sqrt(np.maximum(var, 0.0)), dtype=float)


# --------------------------------------------------------------------------- standard errors


def _item_params(
    data: ResponseData,
    problem: _Problem,
    st: _State,
    final: EStep,
    se: SEMethod,
    n_total: FloatArray,
    anchors: ItemParams | None,
    fixed: np.ndarray,
) -> ItemParams:
    k = data.n_items
    idx = problem.idx
    a, d = st.a, st.d
    c = problem.c(st)
    b = -d / a
    se_a = np.full(k, np.nan)
    se_b = np.full(k, np.nan)
    se_c = np.full(k, np.nan)
    models: list[str] = [problem.model] * k
    if anchors is not None:
        pos = anchors.index
        for j in np.flatnonzero(fixed).tolist():
            src = pos[data.item_ids[j]]
            models[j] = anchors.model[src]
            b[j] = anchors.b[src]
            se_a[j], se_b[j], se_c[j] = anchors.se_a[src], anchors.se_b[src], anchors.se_c[src]
    if se != "none" and idx.size:
        cov = _covariance(problem, st, final, se)  # (n_free, k, k) in (a, d[, γ]); a shared for 1PL
        fa, fd = a[idx], d[idx]
        va, vd, cad = cov[:, 0, 0], cov[:, 1, 1], cov[:, 0, 1]
        # b = −d/a: ∂b/∂a = d/a², ∂b/∂d = −1/a
        vb = (fd / fa**2) ** 2 * va + vd / fa**2 - 2.0 * (fd / fa**2) / fa * cad
        se_b[idx] = np.sqrt(np.maximum(vb, 0.0))
        if not problem.rasch:
            se_a[idx] = np.sqrt(np.maximum(va, 0.0))
        if problem.three:
            cc = c[idx]
            se_c[idx] = cc * (1.0 - cc) * np.sqrt(np.maximum(cov[:, 2, 2], 0.0))
    return ItemParams(
        item_ids=data.item_ids,
        model=tuple(models),
        a=np.asarray(a, dtype=float).copy(),
        b=np.asarray(b, dtype=float),
        c=np.asarray(c, dtype=float),
        se_a=se_a,
        se_b=se_b,
        se_c=se_c,
        n=np.asarray(n_total, dtype=np.int64),
    )


def _covariance(problem: _Problem, st: _State, final: EStep, se: SEMethod) -> FloatArray:
    """Per-item covariance blocks of ``(a, d[, γ])`` for the free items."""
    idx = problem.idx
    kk = 3 if problem.three else 2
    if se == "full":
        info = _full_information(problem, st)
        cov_full = _safe_inverse(info)
        return _blocks_from_packed(problem, cov_full, kk)
    assert final.post is not None
    h, s_outer, g1, g0 = _em.observed_terms(
        st.a, st.d, st.g, problem.nodes, final.r1, final.r0, problem.three, problem.priors
    )
    if se == "louis":
        item_info = _louis.item_information(problem.design, final.post, h, g1, g0)
        info = _louis.packed_information(item_info, idx, problem.model, problem.rasch, problem.three)
        return _blocks_from_packed(problem, _safe_inverse(info), kk)
    m = _em.mean_score_outer(problem.design, final.post, g1, g0)
    info_items = (h - (s_outer - m))[idx]  # Louis, per item
    if problem.model != "1pl":
        return np.stack([_safe_inverse(blk) for blk in info_items])
    if problem.rasch:
        out = np.zeros((idx.size, 2, 2))
        out[:, 1, 1] = 1.0 / np.maximum(info_items[:, 1, 1], 1e-300)
        return out
    # Common slope: arrowhead information over (a, d_1 … d_J).  The row of the shared a is exact
    # (its complete-data score sums over all of a student's items, so the cross-item covariances
    # cannot be left out); only the d_j–d_k covariances are dropped.
    n = idx.size
    full = np.zeros((n + 1, n + 1))
    full[0, 0] = h[idx, 0, 0].sum()
    full[0, 1:] = full[1:, 0] = h[idx, 0, 1]
    full[np.arange(1, n + 1), np.arange(1, n + 1)] = info_items[:, 1, 1]
    var_a, cov_ad = _common_slope_covariances(problem, final.post, g1, g0)
    full[0, 0] -= var_a
    full[0, 1:] -= cov_ad
    full[1:, 0] -= cov_ad
    return _blocks_from_packed(problem, _safe_inverse(full), 2)


def _common_slope_covariances(
    problem: _Problem, post: NDArray[np.floating[Any]], g1: FloatArray, g0: FloatArray
) -> tuple[float, FloatArray]:
    """``Σ_i Var_i(S_ia)`` and ``Σ_i Cov_i(S_ia, s_ij,d)`` for a slope shared by the free items.

    ``S_ia(θ) = Σ_j ∂ log f(x_ij | θ)/∂a`` is one more "E-step" product of the design with the node
    scores; the covariances with item j's intercept score come from the expected counts of the
    weights ``π_iq (S_ia(θ_q) − E_i S_ia)``.
    """
    free = problem.free[:, None]
    s_a = problem.design.node_loglik(np.where(free, g1[..., 0], 0.0), np.where(free, g0[..., 0], 0.0))
    mean_a = (post * s_a).sum(axis=1)
    var_a = float(((post * s_a * s_a).sum(axis=1) - mean_a * mean_a).sum())
    r1, r0 = problem.design.counts(post * (s_a - mean_a[:, None]))
    cov = (r1 * g1[..., 1] + r0 * g0[..., 1]).sum(axis=1)
    return var_a, np.asarray(cov[problem.idx], dtype=float)


def _blocks_from_packed(problem: _Problem, cov: FloatArray, kk: int) -> FloatArray:
    """Per-item (a, d[, γ]) covariance blocks from the covariance of the packed parameter vector."""
    n = problem.idx.size
    out = np.zeros((n, kk, kk))
    if problem.model == "1pl":
        off = 0 if problem.rasch else 1
        for j in range(n):
            pos = [0, off + j] if not problem.rasch else [off + j, off + j]
            for u in range(2):
                for v in range(2):
                    out[j, u, v] = cov[pos[u], pos[v]]
        if problem.rasch:
            out[:, 0, :] = 0.0
            out[:, :, 0] = 0.0
        return out
    for j in range(n):
        pos = [j + t * n for t in range(kk)]
        out[j] = cov[np.ix_(pos, pos)]
    return out


def _safe_inverse(m: FloatArray) -> FloatArray:
    try:
        return np.asarray(np.linalg.inv(m), dtype=float)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.pinv(m), dtype=float)


def _full_information(problem: _Problem, st: _State) -> FloatArray:
    """Observed information of the packed item parameters by central differences of the exact gradient.

    The gradient comes from Fisher's identity ``∇ℓ = Σ_q r¹ ∇log P + r⁰ ∇log Q`` (+ prior), one E-step.
    """
    x0 = problem.pack(st, latent=False)

    def gradient(x: FloatArray) -> FloatArray:
        s = problem.unpack(x, st, latent=False)
        es = problem.estep(s)
        g, _ = _em.scoring_terms(
            s.a[problem.idx],
            s.d[problem.idx],
            s.g[problem.idx],
            problem.nodes,
            es.r1[problem.idx],
            es.r0[problem.idx],
            problem.three,
            problem.priors,
        )
        return _pack_gradient(problem, g)

    return _numeric_jacobian(gradient, x0)


def _pack_gradient(problem: _Problem, g: FloatArray) -> FloatArray:
    parts: list[FloatArray] = []
    if problem.model == "1pl":
        if not problem.rasch:
            parts.append(np.array([g[:, 0].sum()]))
    else:
        parts.append(g[:, 0])
    parts.append(g[:, 1])
    if problem.three:
        parts.append(g[:, 2])
    return np.concatenate(parts)


def _numeric_jacobian(func: Callable[[FloatArray], FloatArray], x0: FloatArray) -> FloatArray:
    n = x0.size
    out = np.zeros((n, n))
    for t in range(n):
        h = 1e-4 * max(1.0, abs(float(x0[t])))
        xp, xm = x0.copy(), x0.copy()
        xp[t] += h
        xm[t] -= h
        out[:, t] = (func(xp) - func(xm)) / (2.0 * h)
    info = -(out + out.T) / 2.0
    return np.asarray(info, dtype=float)
