r"""Skill scores that borrow strength from the other skills, and whether a skill number adds information.

Model (higher-order IRT, de la Torre & Song 2009)
    Each skill's ability is a general reading factor plus a specific part,

        θ_s = λ g + √(1 − λ²) e_s,     g, e_s ~ N(0, 1) independent,

    so every θ_s is N(0, 1) and two skills correlate ``ρ = λ²`` (the skill correlation; default 0.8,
    provisional until estimated from calibration data).  Item j of skill s answers with the 3PL
    ``P_j(θ_s)``.  Given g the skills are independent, so the exact posterior needs only 1-D sums on a
    grid (no 7-dimensional quadrature):

        L_s(θ)    = Π_{j ∈ s} P_j(θ)^{x_j} (1 − P_j(θ))^{1 − x_j}          (1 when the skill has no item)
        M_s(g)    = ∫ L_s(θ) N(θ; λ g, 1 − λ²) dθ
        p(g | x)  ∝ φ(g) Π_s M_s(g)
        p(g, θ_s | x) ∝ φ(g) Π_{t ≠ s} M_t(g) · N(θ_s; λ g, 1 − λ²) L_s(θ_s).

    The skill score is the posterior mean of θ_s (an augmented subscore: Wainer et al. 2001 regress the
    subscore on all the others; this is its IRT form) and its SE the posterior SD.  The *relative*
    strength ``δ_s = θ_s − λ g`` (the skill above or below what the child's general level predicts;
    prior N(0, 1 − λ²), independent of g) gets its posterior 95 % interval from the same joint grid.

Added value (Haberman 2008; Sinharay 2010)
    PRMSE of a predictor of the true θ_s is ``1 − E(θ_s − pred)² / Var θ_s``.  With each skill's items
    summarised by the effective information ``Ī_s`` defined by ``1/(1 + Ī_s) = E_x[Var(θ_s | x)]`` (the
    mean posterior variance of the skill-only EAP, exact by enumerating patterns up to 10 items), the
    measurements act as ``y_s = θ_s + ε_s`` with ``Var ε_s = 1/Ī_s`` and

    * PRMSE(s) of the skill-only score:       ``Ī_s / (1 + Ī_s)``;
    * PRMSE(x) of the overall score:          ``corr²(θ_s, Σ_t w_t y_t)``, ``w_t ∝ Ī_t`` (the
      information-weighted composite that a unidimensional score approximates);
    * PRMSE(aug) of the augmented score:      ``1 − [(Σ⁻¹ + D)⁻¹]_{ss}``, ``Σ = (1 − ρ) I + ρ 11ᵀ``,
      ``D = diag(Ī_t)``.

    A separate skill number is shown only when ``PRMSE(s) > PRMSE(x) + margin`` (Haberman's criterion:
    the skill's own items predict its true score better than the overall score does).  Otherwise the
    report names a skill as relatively stronger or weaker only when the 95 % interval of δ_s excludes 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from reading_tests.errors import InvalidInput
from reading_tests.irt import FloatArray, information, prob

DEFAULT_SKILL_CORRELATION = 0.8
GRID = np.linspace(-5.0, 5.0, 101)
_PRIOR_POINTS = np.linspace(-4.0, 4.0, 41)


@dataclass(frozen=True)
class SkillItems:
    """The answered items of one skill: 3PL parameters and 0/1 responses (arrays of equal length)."""

    a: FloatArray
    b: FloatArray
    c: FloatArray
    x: NDArray[np.int64]

    @classmethod
    def of(cls, a: ArrayLike, b: ArrayLike, c: ArrayLike, x: ArrayLike) -> SkillItems:
        arrays = [np.asarray(v, dtype=float) for v in (a, b, c)]
        resp = np.asarray(x, dtype=np.int64)
        if any(arr.shape != resp.shape for arr in arrays) or resp.ndim != 1:
            raise InvalidInput("a skill's parameters and responses must be 1-D and of equal length")
        if np.any((resp != 0) & (resp != 1)):
            raise InvalidInput("responses must be 0 or 1")
        return cls(arrays[0], arrays[1], arrays[2], resp)

    @property
    def n(self) -> int:
        return int(self.x.size)

    def log_likelihood(self, grid: FloatArray) -> FloatArray:
        """``log L_s(θ_g)`` on ``grid``."""
        if self.n == 0:
            return np.zeros_like(grid)
        p = np.clip(prob(grid[:, None], self.a, self.b, self.c), 1e-12, 1 - 1e-12)
        return np.asarray((self.x * np.log(p) + (1 - self.x) * np.log1p(-p)).sum(axis=1), dtype=float)

    def information(self, theta: FloatArray) -> FloatArray:
        """``I_s(θ) = Σ_j I_j(θ)``."""
        if self.n == 0:
            return np.zeros_like(theta)
        return np.asarray(information(theta[:, None], self.a, self.b, self.c).sum(axis=1), dtype=float)


@dataclass(frozen=True)
class SkillPosterior:
    """Higher-order posterior of one skill: θ_s mean/SD and δ_s = θ_s − λ g mean/SD/95 % interval."""

    skill: str
    theta: float
    se: float
    delta: float
    delta_se: float
    delta_lower: float
    delta_upper: float


def _loading(rho: float) -> float:
    if not 0.0 <= rho < 1.0:
        raise InvalidInput(f"the skill correlation must be in [0, 1) (got {rho})")
    return math.sqrt(rho)


@dataclass(frozen=True, eq=False)
class _Tables:
    """Grid tables of one λ: the conditional prior K and δ = θ − λ g sorted once for its quantiles."""

    kern: FloatArray
    delta_sorted: FloatArray
    order: NDArray[np.intp]


@lru_cache(maxsize=8)
def _tables(lam: float) -> _Tables:
    grid = GRID
    log_k = -0.5 * (grid[None, :] - lam * grid[:, None]) ** 2 / (1.0 - lam**2)
    kern = np.exp(log_k - log_k.max(axis=1, keepdims=True))
    kern /= kern.sum(axis=1, keepdims=True)  # K[i, j] = N(θ_j; λ g_i, 1 − λ²) normalised over j
    delta = (grid[None, :] - lam * grid[:, None]).ravel()
    order = np.argsort(delta, kind="stable")
    return _Tables(kern, delta[order], order)


def _wsum(w: FloatArray, v: FloatArray) -> float:
    # elementwise product, not `w @ v`: a threaded BLAS is ~30x slower on a busy machine (_threads.py)
    return float((w * v).sum())


def skill_posteriors(
    skills: Mapping[str, SkillItems], *, rho: float = DEFAULT_SKILL_CORRELATION
) -> dict[str, SkillPosterior]:
    """Exact higher-order posteriors of every skill on a 101-point grid (see the module docstring)."""
    lam = _loading(rho)
    grid = GRID
    tables = _tables(lam)
    kern = tables.kern
    log_prior_g = -0.5 * grid**2
    lik: dict[str, FloatArray] = {}
    log_m: dict[str, FloatArray] = {}
    for name, items in skills.items():
        ll = items.log_likelihood(grid)
        shift = ll.max()
        lik[name] = np.exp(ll - shift)
        log_m[name] = np.log(np.maximum((kern * lik[name]).sum(axis=1), 1e-300)) + shift
    total_log_m = sum(log_m.values(), np.zeros_like(grid))
    out: dict[str, SkillPosterior] = {}
    for name in skills:
        log_w = log_prior_g + total_log_m - log_m[name]
        w = np.exp(log_w - log_w.max())
        joint = w[:, None] * kern * lik[name][None, :]
        joint /= joint.sum()
        marg = joint.sum(axis=0)
        mean = _wsum(marg, grid)
        sd = math.sqrt(max(_wsum(marg, grid**2) - mean**2, 0.0))
        w_sorted = joint.ravel()[tables.order]
        d = tables.delta_sorted
        d_mean = _wsum(w_sorted, d)
        d_sd = math.sqrt(max(_wsum(w_sorted, d**2) - d_mean**2, 0.0))
        cum = np.cumsum(w_sorted) - 0.5 * w_sorted
        lo, hi = (float(v) for v in np.interp([0.025, 0.975], cum, d))
        out[name] = SkillPosterior(name, mean, sd, d_mean, d_sd, lo, hi)
    return out


@dataclass(frozen=True)
class AddedValue:
    """Haberman's PRMSE comparison for one skill of a given test form.

    Attributes
    ----------
    skill : str
    n_items : int
    prmse_skill : float
        PRMSE(s) of the skill-only score.
    prmse_overall : float
        PRMSE(x) of the overall score as a predictor of the true skill score.
    prmse_augmented : float
        PRMSE of the higher-order (augmented) skill score.
    adds_value : bool
        ``prmse_skill > prmse_overall + margin``: a separate skill number may be shown.
    """

    skill: str
    n_items: int
    prmse_skill: float
    prmse_overall: float
    prmse_augmented: float
    adds_value: bool


EXACT_PATTERN_ITEMS = 10


def mean_posterior_variance(items: SkillItems) -> float:
    """``E_x[Var(θ | x)]`` of the skill-only EAP under θ ~ N(0, 1), i.e. ``1 − PRMSE(s)``.

    Exact for up to 10 items (a sum over all ``2^n`` response patterns on the 101-point grid; with few
    3PL items the posterior is far from normal and ``1/(1 + I)`` overstates the information); above that
    the normal approximation ``E_θ[1/(1 + I(θ))]`` over 41 quadrature points.
    """
    if items.n == 0:
        return 1.0
    if items.n > EXACT_PATTERN_ITEMS:
        w = np.exp(-0.5 * _PRIOR_POINTS**2)
        w /= w.sum()
        return _wsum(w, 1.0 / (1.0 + items.information(_PRIOR_POINTS)))
    grid = GRID
    prior = np.exp(-0.5 * grid**2)
    prior /= prior.sum()
    p = np.clip(prob(grid[:, None], items.a, items.b, items.c), 1e-12, 1 - 1e-12)  # (G, n)
    patterns = (np.arange(2**items.n)[:, None] >> np.arange(items.n)[None, :]) & 1  # (2^n, n)
    log_l = patterns @ np.log(p).T + (1 - patterns) @ np.log1p(-p).T  # (2^n, G); small, one call
    joint = np.exp(log_l) * prior[None, :]
    p_x = joint.sum(axis=1)
    mean = (joint * grid).sum(axis=1) / p_x
    var = (joint * grid**2).sum(axis=1) / p_x - mean**2
    return float((p_x * var).sum())


def effective_information(items: SkillItems) -> float:
    """``Ī`` with ``1/(1 + Ī) = E_x[Var(θ | x)]`` (:func:`mean_posterior_variance`)."""
    return 1.0 / mean_posterior_variance(items) - 1.0


def added_value(
    skills: Mapping[str, SkillItems],
    *,
    rho: float = DEFAULT_SKILL_CORRELATION,
    margin: float = 0.0,
) -> dict[str, AddedValue]:
    """PRMSE(s), PRMSE(x) and PRMSE(aug) of every skill of a form (formulas in the module docstring)."""
    _loading(rho)
    names = list(skills)
    k = len(names)
    if k == 0:
        return {}
    info = np.array([effective_information(skills[s]) for s in names])
    sigma = (1.0 - rho) * np.eye(k) + rho * np.ones((k, k))
    post_cov = np.linalg.inv(np.linalg.inv(sigma) + np.diag(info))
    out: dict[str, AddedValue] = {}
    total_info = info.sum()
    w = info / total_info if total_info > 0 else np.zeros(k)
    # composite y = Σ w_t (θ_t + ε_t): Var = wᵀΣw + Σ w_t²/Ī_t = wᵀΣw + Σ w_t / total_info
    var_y = float(w @ sigma @ w) + (1.0 / total_info if total_info > 0 else 0.0)
    for i, s in enumerate(names):
        prmse_s = float(info[i] / (1.0 + info[i]))
        cov = float(sigma[i] @ w)
        prmse_x = cov**2 / var_y if var_y > 0 else 0.0
        prmse_aug = float(1.0 - post_cov[i, i])
        out[s] = AddedValue(s, skills[s].n, prmse_s, prmse_x, prmse_aug, prmse_s > prmse_x + margin)
    return out
