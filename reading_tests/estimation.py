"""Ability estimation for many students at once: EAP, MAP and MLE with standard errors.

With item response functions ``P_j(θ) = c_j + (1 − c_j) σ(a_j (θ − b_j))`` the log-likelihood of a
student who answered the items ``j ∈ J_i`` is

    ℓ_i(θ) = Σ_{j ∈ J_i} x_ij log P_j(θ) + (1 − x_ij) log(1 − P_j(θ)).

EAP (default)
    posterior mean under the prior N(μ, σ²), ``θ̂ = ∫ θ L_i(θ) φ(θ) dθ / ∫ L_i(θ) φ(θ) dθ``, with the
    posterior SD as its standard error; integrals on an equally spaced grid over μ ± 6σ whose spacing is
    at most 1.2 × the smallest posterior SD the items allow (at least 121 nodes).
MAP
    posterior mode, found by Fisher scoring from the EAP with step halving;
    ``SE = 1 / sqrt(I(θ̂) + 1/σ²)`` with the test information ``I(θ) = Σ_j I_j(θ)``.
MLE
    maximiser of ``ℓ_i`` restricted to ``[−4, 4]`` (``bounds``); ``SE = 1 / sqrt(I(θ̂))``.  The MLE does
    not exist when every answer is correct or every answer is wrong (and, for 3PL items, for some
    other patterns): the estimate then stops at the bound and ``at_bound`` is set, so a report can say
    "above 4 / below −4" instead of pretending to a finite value.  Students without responses get NaN.

All methods work on the sparse :class:`~reading_tests.io.ResponseData` (one pass over the observed
responses per Newton step, ``np.bincount`` for the per-student sums).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit

from reading_tests import _em
from reading_tests._quadrature import SPACING_PER_SD
from reading_tests._threads import single_blas_thread
from reading_tests.errors import InvalidInput
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import FloatArray, information, prob

Method = Literal["eap", "map", "mle"]
METHODS: tuple[Method, ...] = ("eap", "map", "mle")
MLE_BOUNDS = (-4.0, 4.0)


@dataclass(frozen=True, eq=False)
class ThetaEstimates:
    """Ability estimates of a group of students.

    Attributes
    ----------
    student_ids : tuple of str
    theta, se : ndarray of float
        Estimate and standard error (NaN for an MLE without responses).
    n_items : ndarray of int
        Number of responses used.
    at_bound : ndarray of bool
        The MLE stopped at a bound (no finite maximum); always False for EAP/MAP.
    method : str
    """

    student_ids: tuple[str, ...]
    theta: FloatArray
    se: FloatArray
    n_items: np.ndarray
    at_bound: np.ndarray
    method: str


@dataclass(frozen=True)
class _Obs:
    rows: np.ndarray
    cols: np.ndarray
    x: FloatArray
    n: int


def _aligned(data: ResponseData, params: ItemParams) -> tuple[ResponseData, ItemParams]:
    pos = params.index
    unknown = [i for i in data.item_ids if i not in pos]
    if unknown:
        raise InvalidInput(f"unknown item '{unknown[0]}' (not in the item parameters)")
    return data, params.subset(list(data.item_ids))


def _observations(data: ResponseData) -> _Obs:
    c = data.correct.tocoo()
    i = data.incorrect.tocoo()
    rows = np.concatenate([c.row, i.row]).astype(np.int64)
    cols = np.concatenate([c.col, i.col]).astype(np.int64)
    x = np.concatenate([np.ones(c.nnz), np.zeros(i.nnz)])
    return _Obs(rows, cols, x, data.n_students)


def _derivatives(obs: _Obs, theta: FloatArray, p: ItemParams) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-student log-likelihood, its first derivative and the test information at ``theta``."""
    a, b, c = p.a[obs.cols], p.b[obs.cols], p.c[obs.cols]
    th = theta[obs.rows]
    s = expit(a * (th - b))
    pr = np.clip(c + (1.0 - c) * s, 1e-12, 1.0 - 1e-12)
    ll = obs.x * np.log(pr) + (1.0 - obs.x) * np.log1p(-pr)
    # dℓ/dθ = a (x − P) (P − c) / (P (1 − c))    (Lord 1980; reduces to a (x − P) for c = 0)
    d1 = a * (obs.x - pr) * (pr - c) / (pr * (1.0 - c))
    info = a * a * (1.0 - pr) / pr * ((pr - c) / (1.0 - c)) ** 2
    n = obs.n
    return (
        np.bincount(obs.rows, weights=ll, minlength=n).astype(float),
        np.bincount(obs.rows, weights=d1, minlength=n).astype(float),
        np.bincount(obs.rows, weights=info, minlength=n).astype(float),
    )


def posterior_grid(
    data: ResponseData,
    params: ItemParams,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    n_nodes: int | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Grid nodes (Q) and normalised posterior weights (N × Q) of every student.

    ``params`` must be aligned with ``data.item_ids``.  The grid covers μ ± 6σ with spacing at most
    1.2 × the narrowest possible posterior SD (at least 121 nodes).
    """
    if n_nodes is None:
        # the narrowest posterior: all items at their maximum information a²/4 (2PL bound)
        per = data.items_per_student()
        kmax = float(per.max()) if per.size else 0.0
        amax = float(np.max(params.a)) if len(params) else 1.0
        sd_min = 1.0 / math.sqrt(1.0 / prior_sd**2 + kmax * amax * amax / 4.0)
        n_nodes = max(121, math.ceil(12.0 * prior_sd / (SPACING_PER_SD * sd_min)) + 1)
    nodes = prior_mean + prior_sd * np.linspace(-6.0, 6.0, n_nodes)
    design = _em.Design(data.correct, data.incorrect)
    pr = _em.probs(params.a, -params.a * params.b, params.c, nodes)
    with single_blas_thread():
        ll = design.node_loglik(np.log(pr), np.log1p(-pr))
    ll += -0.5 * ((nodes - prior_mean) / prior_sd) ** 2
    ll -= ll.max(axis=1, keepdims=True)
    w = np.exp(ll)
    w /= w.sum(axis=1, keepdims=True)
    return nodes, w


def eap(
    data: ResponseData,
    params: ItemParams,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    n_nodes: int | None = None,
) -> ThetaEstimates:
    """Expected a posteriori estimates with posterior SDs (see the module docstring)."""
    data, p = _aligned(data, params)
    nodes, w = posterior_grid(data, p, prior_mean=prior_mean, prior_sd=prior_sd, n_nodes=n_nodes)
    mean = w @ nodes
    var = w @ (nodes * nodes) - mean * mean
    return ThetaEstimates(
        data.student_ids,
        np.asarray(mean, dtype=float),
        np.sqrt(np.maximum(var, 0.0)),
        data.items_per_student(),
        np.zeros(data.n_students, dtype=bool),
        "eap",
    )


def _newton(
    obs: _Obs,
    p: ItemParams,
    start: FloatArray,
    *,
    prior: tuple[float, float] | None,
    bounds: tuple[float, float],
    max_iter: int = 100,
    tol: float = 1e-9,
) -> FloatArray:
    """Fisher scoring on ``ℓ_i(θ) [+ log prior]`` for all students, with per-student step halving."""
    lo, hi = bounds

    def objective(theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        ll, d1, info = _derivatives(obs, theta, p)
        if prior is not None:
            mu, sd = prior
            ll = ll - 0.5 * ((theta - mu) / sd) ** 2
            d1 = d1 - (theta - mu) / sd**2
            info = info + 1.0 / sd**2
        return ll, d1, info

    theta = np.clip(start, lo, hi)
    ll, d1, info = objective(theta)
    for _ in range(max_iter):
        step = np.clip(d1 / np.maximum(info, 1e-12), -1.0, 1.0)
        scale = np.ones_like(theta)
        for _half in range(30):
            trial = np.clip(theta + scale * step, lo, hi)
            ll_t, d1_t, info_t = objective(trial)
            worse = ll_t < ll - 1e-12
            if not worse.any():
                break
            scale = np.where(worse, scale * 0.5, scale)
        trial = np.where(worse, theta, trial)
        ll_t, d1_t, info_t = objective(trial)
        moved = float(np.abs(trial - theta).max()) if theta.size else 0.0
        theta, ll, d1, info = trial, ll_t, d1_t, info_t
        if moved < tol:
            break
    return theta


def map_estimate(
    data: ResponseData, params: ItemParams, *, prior_mean: float = 0.0, prior_sd: float = 1.0
) -> ThetaEstimates:
    """Maximum a posteriori estimates, ``SE = 1 / sqrt(I(θ̂) + 1/σ²)``."""
    data, p = _aligned(data, params)
    start = eap(data, p, prior_mean=prior_mean, prior_sd=prior_sd).theta
    obs = _observations(data)
    theta = _newton(obs, p, start, prior=(prior_mean, prior_sd), bounds=(-20.0, 20.0))
    _, _, info = _derivatives(obs, theta, p)
    se = 1.0 / np.sqrt(info + 1.0 / prior_sd**2)
    return ThetaEstimates(
        data.student_ids, theta, se, data.items_per_student(), np.zeros(theta.size, dtype=bool), "map"
    )


def mle(
    data: ResponseData, params: ItemParams, *, bounds: tuple[float, float] = MLE_BOUNDS
) -> ThetaEstimates:
    """Bounded maximum-likelihood estimates, ``SE = 1 / sqrt(I(θ̂))`` (see the module docstring)."""
    data, p = _aligned(data, params)
    lo, hi = bounds
    obs = _observations(data)
    start = eap(data, p).theta
    theta = _newton(obs, p, start, prior=None, bounds=bounds)
    _, _, info = _derivatives(obs, theta, p)
    n_items = data.items_per_student()
    at_bound = (n_items > 0) & ((theta <= lo + 1e-6) | (theta >= hi - 1e-6))
    se = 1.0 / np.sqrt(np.maximum(info, 1e-300))
    empty = n_items == 0
    theta = np.where(empty, np.nan, theta)
    se = np.where(empty, np.nan, se)
    return ThetaEstimates(data.student_ids, theta, se, n_items, at_bound, "mle")


def estimate(data: ResponseData, params: ItemParams, method: Method = "eap") -> ThetaEstimates:
    """Estimate θ of every student with ``method`` (``"eap"``, ``"map"`` or ``"mle"``)."""
    if method == "eap":
        return eap(data, params)
    if method == "map":
        return map_estimate(data, params)
    if method == "mle":
        return mle(data, params)
    raise InvalidInput(f"unknown method '{method}' (use eap, map or mle)")


def estimate_by_skill(
    data: ResponseData,
    params: ItemParams,
    skills: Mapping[str, str] | None = None,
    method: Method = "eap",
) -> dict[str, ThetaEstimates]:
    """θ per skill and overall.

    Parameters
    ----------
    skills : mapping of item id to skill code, optional
        Defaults to the ``skill`` column of ``params``.

    Returns
    -------
    dict
        One entry per skill (estimated from that skill's items only) plus ``"overall"`` (all items,
        a unidimensional reading score).  A student without items in a skill gets the prior
        (EAP/MAP: θ = 0, SE = 1) or NaN (MLE), with ``n_items = 0``.
    """
    data, p = _aligned(data, params)
    if skills is None:
        if "skill" not in p.extra:
            raise InvalidInput("the item parameters have no 'skill' column")
        skills = dict(zip(p.item_ids, p.extra["skill"], strict=True))
    missing = [i for i in data.item_ids if i not in skills]
    if missing:
        raise InvalidInput(f"item '{missing[0]}' has no skill")
    out: dict[str, ThetaEstimates] = {}
    for skill in sorted({skills[i] for i in data.item_ids}):
        items: Sequence[str] = [i for i in data.item_ids if skills[i] == skill]
        out[skill] = estimate(data.subset_items(items), p.subset(items), method)
    out["overall"] = estimate(data, p, method)
    return out


def test_information_at(params: ItemParams, theta: float) -> float:
    """Test information ``Σ_j I_j(θ)`` of ``params`` at one θ (convenience for reports)."""
    return float(np.sum(information(theta, params.a, params.b, params.c)))


test_information_at.__test__ = False  # type: ignore[attr-defined]


def expected_score(params: ItemParams, theta: float) -> float:
    """Expected number correct ``Σ_j P_j(θ)``."""
    return float(np.sum(prob(theta, params.a, params.b, params.c)))
