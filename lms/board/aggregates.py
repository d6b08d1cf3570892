"""Population figures from individual EAP estimates: plausible values, Rubin's rules, additive cell sums.

Why not just average the students' scores
-----------------------------------------
Each student's reported θ̂ is an EAP, the posterior mean under the N(0, 1) prior, with posterior SD ``SE``.
EAPs are shrunk toward the prior mean, so their spread underestimates the population's: by the law of
total variance, for a population that the prior describes,

    Var(θ) = Var(E[θ | x]) + E[Var(θ | x)] = Var(θ̂_EAP) + E[SE²],   E[θ̂_EAP] = E[θ].

The standard remedy (Mislevy 1991; NAEP, PISA, TIMSS) is **plausible values** (PVs): for every student
draw ``M`` values from the posterior and compute every statistic once per PV.  Drawing from
``N(θ̂_EAP, SE²)`` reproduces exactly the two moments above — but only for a population the N(0, 1) prior
describes.  A school or grade whose mean is not 0 (every grade, on a vertical scale) would have its mean
pulled toward 500 and its SD distorted (simulated: 8 items, true N(0.2, 0.9²) → mean −10, SD +6 points).
So, like NAEP's conditioning model restricted to the reporting variables, we condition on the reporting
group g = (school, grade, skill, school year, term):

1. Undo the prior (normal approximation): the likelihood of student i is ``N(t_i, 1/λ_i)`` with
   ``λ_i = 1/SE_i² − 1/σ₀²`` and ``t_i = (θ̂_i/SE_i² − μ₀/σ₀²)/λ_i`` (μ₀ = 0, σ₀ = 1).
2. Fit the group's population ``θ ~ N(μ_g, τ_g²)`` by marginal maximum likelihood (EM:
   ``m_i = (λ_i t_i + μ_g/τ_g²)/(λ_i + 1/τ_g²)``, ``v_i = 1/(λ_i + 1/τ_g²)``; ``μ_g = mean m_i``,
   ``τ_g² = mean((m_i − μ_g)² + v_i)``).  With the prior equal to the population this returns exactly
   mean(θ̂_EAP) and var(θ̂_EAP) + mean(SE²).
3. Draw ``θ̃_im = m_i + √v_i · z_im`` (m = 1 … M = 5).  Groups of fewer than 5 students (never
   published) keep the N(0, 1) posterior.

Every statistic ``Q`` (mean, SD, share per band, histogram) is computed per PV and combined by
**Rubin's rules**:

    Q̄ = (1/M) Σ_m Q_m,   Ū = (1/M) Σ_m U_m,   B = 1/(M − 1) Σ_m (Q_m − Q̄)²,   T = Ū + (1 + 1/M) B,

with ``U_m = s_m²/n`` the sampling variance of the mean of PV m; ``√T`` is the standard error of the
mean: sampling uncertainty (the students seen as a sample of the cohorts the city teaches) plus
measurement uncertainty (``B``).  The z-values are a deterministic function of (student, skill, school
year, term, m) (SplitMix64 hash → inverse normal CDF), so re-running the aggregation gives the same figures.

Caveat (stated on the dashboard)
--------------------------------
The posterior is approximated by a normal distribution (good when a student answered about 10 items or
more; with fewer the tails are less certain), and the conditioning uses only the reporting groups: any
other breakdown (e.g. a subgroup inside a school) would be pulled toward its group's mean.  The SE treats
the tested students as a sample; for a census one may read it as the uncertainty of the city's "true"
level, not of who happened to be tested.

Everything a figure needs is kept as *sums* (:class:`CellSums`), so any group is the sum of its cells.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

from lms.core.jst import (  # re-exported: the board's modules import them from here
    GRADE_LABELS as GRADE_LABELS,
)
from lms.core.jst import (
    GRADES as GRADES,
)
from lms.core.jst import (
    JST as JST,
)
from lms.core.jst import (
    entry_year as entry_year,
)
from lms.core.jst import (
    grade_number as grade_number,
)
from lms.core.jst import (
    school_year_and_term as school_year_and_term,
)
from lms.core.jst import (
    term_bounds as term_bounds,
)
from reading_tests.scoring import BANDS, SCALE_MEAN, SCALE_SD

FloatArray = NDArray[np.float64]
TERM_LABELS: dict[int, str] = {1: "1学期（4〜8月）", 2: "2学期（9〜12月）", 3: "3学期（1〜3月）"}
#: histogram bins on the reported scale: [200, 250), …, [750, 800); values outside go to the end bins
HIST_EDGES: tuple[float, ...] = tuple(float(x) for x in range(200, 801, 50))
N_BANDS = len(BANDS)
_BAND_CUTS_THETA = np.array([(b.lower - SCALE_MEAN) / SCALE_SD for b in BANDS[1:]])
_HIST_CUTS_THETA = np.array([(e - SCALE_MEAN) / SCALE_SD for e in HIST_EDGES[1:-1]])


def _splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def standard_normal_draws(keys: ArrayLike, m: int) -> FloatArray:
    """Deterministic N(0, 1) deviates, shape ``(len(keys), m)``, as a function of the integer keys."""
    k = np.asarray(keys, dtype=np.int64).astype(np.uint64)
    cols = np.arange(1, m + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = _splitmix64(_splitmix64(k)[:, None] * np.uint64(0x100000001B3) + cols[None, :])
    u = ((mixed >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)
    return np.asarray(ndtri(u), dtype=np.float64)


def condition_on_group(
    eap: ArrayLike, se: ArrayLike, *, prior_mean: float = 0.0, prior_sd: float = 1.0, iterations: int = 200
) -> tuple[FloatArray, FloatArray, float, float]:
    """Posterior means and SDs under the group's fitted N(μ_g, τ_g²) (steps 1–2 of the module docstring).

    Returns ``(m, sd, μ_g, τ_g)``; a group of fewer than 5 students keeps its EAPs and SEs.  Step for step
    the arithmetic of `condition_on_groups` (a test holds them bit-identical), so a group gets the same
    figures from a release's microdata as from the board's cells.
    """
    e = np.asarray(eap, dtype=float)
    s = np.maximum(np.asarray(se, dtype=float), 1e-6)
    if e.size < 5:
        return e.copy(), s.copy(), prior_mean, prior_sd
    lam = np.maximum(1.0 / s**2 - 1.0 / prior_sd**2, 1e-6)
    t = (e / s**2 - prior_mean / prior_sd**2) / lam
    mu = _mean(e)
    tau2 = _mean((e - mu) ** 2) + _mean(s**2)
    for _ in range(iterations):
        precision = lam + 1.0 / tau2
        m = (lam * t + mu / tau2) / precision
        new_mu = _mean(m)
        new_tau2 = max(_mean((m - new_mu) ** 2 + 1.0 / precision), 1e-4)
        done = abs(new_mu - mu) < 1e-7 and abs(new_tau2 - tau2) < 1e-7
        mu, tau2 = new_mu, new_tau2
        if done:
            break
    precision = lam + 1.0 / tau2
    return (lam * t + mu / tau2) / precision, np.sqrt(1.0 / precision), mu, math.sqrt(tau2)


_FIRST = np.zeros(1, dtype=np.int64)


def _mean(values: FloatArray) -> float:
    """The mean as `condition_on_groups` sums a group (``add.reduceat``: its rounding, not ``mean``'s)."""
    return float(np.add.reduceat(values, _FIRST)[0] / float(values.size))


def condition_on_groups(
    eap: ArrayLike,
    se: ArrayLike,
    starts: ArrayLike,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    iterations: int = 200,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """`condition_on_group` for many groups at once: the students of group g are the rows
    ``starts[g]:starts[g + 1]`` (contiguous, ``starts[0] == 0``).  Returns ``(m, sd, μ, τ)``, μ and τ per
    group.  Each group's EM iterations stop when *it* converges, so a group's figures do not depend on the
    other groups (a term rebuilt alone equals the same term in a full rebuild).  Issue 22: one call per
    group (tens of thousands of small ``mean`` calls) was the largest part of a term's rebuild.
    """
    e = np.asarray(eap, dtype=float)
    s = np.maximum(np.asarray(se, dtype=float), 1e-6)
    first = np.asarray(starts, dtype=np.int64)
    n_groups = first.size
    mu = np.full(n_groups, prior_mean)
    tau2 = np.full(n_groups, prior_sd**2)
    if e.size == 0 or n_groups == 0:
        return e.copy(), s.copy(), mu, np.sqrt(tau2)
    sizes = np.diff(np.append(first, e.size))

    counts = sizes.astype(float)

    def group_mean(values: FloatArray) -> FloatArray:
        return np.asarray(np.add.reduceat(values, first) / counts, dtype=np.float64)

    lam = np.maximum(1.0 / s**2 - 1.0 / prior_sd**2, 1e-6)
    t = (e / s**2 - prior_mean / prior_sd**2) / lam
    fitted = sizes >= 5
    start_mu = group_mean(e)
    start_var = group_mean((e - np.repeat(start_mu, sizes)) ** 2) + group_mean(s**2)
    mu = np.where(fitted, start_mu, mu)
    tau2 = np.where(fitted, start_var, tau2)
    active = fitted.copy()
    for _ in range(iterations):
        if not active.any():
            break
        row_tau2 = np.repeat(tau2, sizes)
        precision = lam + 1.0 / row_tau2
        m = (lam * t + np.repeat(mu, sizes) / row_tau2) / precision
        new_mu = group_mean(m)
        new_tau2 = np.maximum(group_mean((m - np.repeat(new_mu, sizes)) ** 2 + 1.0 / precision), 1e-4)
        done = (np.abs(new_mu - mu) < 1e-7) & (np.abs(new_tau2 - tau2) < 1e-7)
        mu = np.where(active, new_mu, mu)
        tau2 = np.where(active, new_tau2, tau2)
        active &= ~done
    row_tau2 = np.repeat(tau2, sizes)
    precision = lam + 1.0 / row_tau2
    fitted_rows = np.repeat(fitted, sizes)
    post_mean = np.where(fitted_rows, (lam * t + np.repeat(mu, sizes) / row_tau2) / precision, e)
    post_sd = np.where(fitted_rows, np.sqrt(1.0 / precision), s)
    return post_mean, post_sd, mu, np.sqrt(tau2)


def plausible_values(post_mean: ArrayLike, post_sd: ArrayLike, z: ArrayLike) -> FloatArray:
    """``θ̃_im = m_i + sd_i z_im``: draws from each student's (normal) posterior, shape (n, M)."""
    e = np.asarray(post_mean, dtype=float)
    s = np.asarray(post_sd, dtype=float)
    return np.asarray(e[:, None] + s[:, None] * np.asarray(z, dtype=float), dtype=np.float64)


@dataclass
class CellSums:
    """Additive sufficient statistics of a group of students (θ scale); ``+`` merges two groups."""

    m: int
    n: int = 0
    n_guessing: int = 0
    sum_eap: float = 0.0
    sumsq_eap: float = 0.0
    sum_se2: float = 0.0
    pv_sum: list[float] = field(default_factory=list)
    pv_sumsq: list[float] = field(default_factory=list)
    pv_bands: list[list[int]] = field(default_factory=list)
    pv_hist: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pv_sum = self.pv_sum or [0.0] * self.m
        self.pv_sumsq = self.pv_sumsq or [0.0] * self.m
        self.pv_bands = self.pv_bands or [[0] * N_BANDS for _ in range(self.m)]
        self.pv_hist = self.pv_hist or [0] * (len(HIST_EDGES) - 1)

    def add(self, other: CellSums) -> None:
        """Merge ``other`` into this group (in place)."""
        if other.m != self.m:
            raise ValueError("cannot merge groups with different numbers of plausible values")
        self.n += other.n
        self.n_guessing += other.n_guessing
        self.sum_eap += other.sum_eap
        self.sumsq_eap += other.sumsq_eap
        self.sum_se2 += other.sum_se2
        self.pv_sum = [a + b for a, b in zip(self.pv_sum, other.pv_sum, strict=True)]
        self.pv_sumsq = [a + b for a, b in zip(self.pv_sumsq, other.pv_sumsq, strict=True)]
        self.pv_bands = [
            [a + b for a, b in zip(ra, rb, strict=True)]
            for ra, rb in zip(self.pv_bands, other.pv_bands, strict=True)
        ]
        self.pv_hist = [a + b for a, b in zip(self.pv_hist, other.pv_hist, strict=True)]


def cell_sums(eap: ArrayLike, se: ArrayLike, guessing: ArrayLike, pv: ArrayLike) -> CellSums:
    """The sums of one group from its students' EAPs, SEs, guessing flags and plausible values (n × M)."""
    e = np.asarray(eap, dtype=float)
    if e.size == 0:
        return CellSums(m=np.asarray(pv, dtype=float).reshape(0, -1).shape[1])
    return cells_sums(e, se, guessing, pv, np.zeros(1, dtype=np.int64))[0]


def cells_sums(
    eap: ArrayLike, se: ArrayLike, guessing: ArrayLike, pv: ArrayLike, starts: ArrayLike
) -> list[CellSums]:
    """`cell_sums` of many groups at once: group c is the rows ``starts[c]:starts[c + 1]`` (contiguous,
    non-empty, ``starts[0] == 0``).  Issue 22: one call per cell was a fifth of a term's rebuild."""
    e = np.asarray(eap, dtype=float)
    s = np.asarray(se, dtype=float)
    pv = np.asarray(pv, dtype=float).reshape(e.size, -1)
    first = np.asarray(starts, dtype=np.int64)
    m, n_cells, n_bins = pv.shape[1], first.size, len(HIST_EDGES) - 1
    sizes = np.diff(np.append(first, e.size))
    cell_of_row = np.repeat(np.arange(n_cells), sizes)
    bands = np.searchsorted(_BAND_CUTS_THETA, pv, side="right")  # 0..4
    band_index = (cell_of_row[:, None] * m + np.arange(m)[None, :]) * N_BANDS + bands
    band_counts = np.bincount(band_index.ravel(), minlength=n_cells * m * N_BANDS).reshape(
        n_cells, m, N_BANDS
    )
    hist = np.searchsorted(_HIST_CUTS_THETA, pv, side="right")
    hist_counts = np.bincount((cell_of_row[:, None] * n_bins + hist).ravel(), minlength=n_cells * n_bins)
    guessing_n = np.add.reduceat(np.asarray(guessing, dtype=bool).astype(np.int64), first)
    sum_eap, sumsq_eap = np.add.reduceat(e, first), np.add.reduceat(e * e, first)
    sum_se2 = np.add.reduceat(s * s, first)
    pv_sum, pv_sumsq = np.add.reduceat(pv, first, axis=0), np.add.reduceat(pv * pv, first, axis=0)
    bands_list = band_counts.reshape(n_cells, m, N_BANDS).tolist()
    hist_list = hist_counts.reshape(n_cells, n_bins).tolist()
    return [
        CellSums(
            m=m,
            n=int(sizes[c]),
            n_guessing=int(guessing_n[c]),
            sum_eap=float(sum_eap[c]),
            sumsq_eap=float(sumsq_eap[c]),
            sum_se2=float(sum_se2[c]),
            pv_sum=pv_sum[c].tolist(),
            pv_sumsq=pv_sumsq[c].tolist(),
            pv_bands=bands_list[c],
            pv_hist=hist_list[c],
        )
        for c in range(n_cells)
    ]


def merge(cells: Iterable[CellSums], m: int) -> CellSums:
    """The sums of the union of disjoint groups."""
    total = CellSums(m=m)
    for cell in cells:
        total.add(cell)
    return total


@dataclass(frozen=True)
class PopulationEstimate:
    """Figures of one group on the reported scale (500 + 100θ); see the module docstring.

    ``mean``/``se_mean``: PV mean with Rubin's SE; ``sd``: PV SD (= √(var(EAP) + mean(SE²)));
    ``naive_sd``: SD of the EAPs (biased low, shown only for comparison); ``band_shares``: PV shares per
    band (1–5); ``band_counts``: the same as expected counts; ``guessing_share``: share flagged at
    guessing level; ``hist``: PV histogram divided by M (expected students per bin).
    """

    n: int
    mean: float
    se_mean: float
    sd: float
    naive_sd: float
    band_shares: tuple[float, ...]
    band_counts: tuple[float, ...]
    guessing_share: float
    n_guessing: int
    hist: tuple[float, ...]


def rubin(estimates: ArrayLike, variances: ArrayLike) -> tuple[float, float]:
    """Rubin's rules: ``(Q̄, √(Ū + (1 + 1/M) B))`` from M estimates and their sampling variances."""
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = q.size
    between = float(q.var(ddof=1)) if m > 1 else 0.0
    return float(q.mean()), math.sqrt(float(u.mean()) + (1.0 + 1.0 / m) * between)


def estimate(sums: CellSums) -> PopulationEstimate | None:
    """Population figures of a group from its sums (None for an empty group)."""
    n = sums.n
    if n == 0:
        return None
    q = np.array(sums.pv_sum) / n
    var_m = (np.array(sums.pv_sumsq) - n * q * q) / (n - 1) if n > 1 else np.zeros_like(q)
    var_m = np.maximum(var_m, 0.0)
    mean, se = rubin(q, var_m / n)
    eap_mean = sums.sum_eap / n
    naive_var = max((sums.sumsq_eap - n * eap_mean**2) / (n - 1), 0.0) if n > 1 else 0.0
    counts = np.array(sums.pv_bands, dtype=float).mean(axis=0)
    return PopulationEstimate(
        n=n,
        mean=SCALE_MEAN + SCALE_SD * mean,
        se_mean=SCALE_SD * se,
        sd=SCALE_SD * float(np.sqrt(var_m).mean()),
        naive_sd=SCALE_SD * math.sqrt(naive_var),
        band_shares=tuple(float(c / n) for c in counts),
        band_counts=tuple(float(c) for c in counts),
        guessing_share=sums.n_guessing / n,
        n_guessing=sums.n_guessing,
        hist=tuple(h / sums.m for h in sums.pv_hist),
    )
