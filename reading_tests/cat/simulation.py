"""Monte Carlo simulation of adaptive tests, the information bound, and Sympson–Hetter calibration.

Simulees with true abilities θ answer each item with probability ``P_i(θ)`` (3PL).  Every simulee
runs through a real :class:`~reading_tests.cat.session.CatSession`, one at a time, exactly as a live
server would; a *step* is one :meth:`~CatSession.record` (θ̂ update) plus one
:meth:`~CatSession.next_item` (selection or stop decision) and is timed with ``perf_counter_ns``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from reading_tests.cat.bank import CatPool
from reading_tests.cat.selection import ExposureControl
from reading_tests.cat.session import CatDesign, CatSession
from reading_tests.errors import InvalidInput
from reading_tests.irt import FloatArray

_SEED_BITS = 53


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Per-simulee outcomes and per-item usage of a simulation.

    Attributes
    ----------
    theta, theta_hat, se : ndarray of shape (N,)
        True θ, final EAP θ̂ and posterior SD.
    items : list of list of str
        Administered item ids per simulee, in order.
    administered : ndarray of int, shape (n,)
        Number of simulees who were administered each pool item.
    selected : ndarray of int, shape (n,)
        Number of simulees for whom each item was selected (administered or set aside by the
        Sympson–Hetter lottery): the numerator of ``P(S_i)``.
    step_ns : ndarray of int
        Duration of every step in nanoseconds.
    """

    theta: FloatArray
    theta_hat: FloatArray
    se: FloatArray
    items: list[list[str]]
    administered: NDArray[np.int64]
    selected: NDArray[np.int64]
    step_ns: NDArray[np.int64] = field(repr=False)

    @property
    def exposure_rates(self) -> FloatArray:
        """``r_i = (number of simulees administered item i) / N``."""
        return np.asarray(self.administered / self.theta.size, dtype=float)

    def summary(self) -> dict[str, float]:
        """``rmse = sqrt(mean (θ̂ − θ)²)``, ``bias = mean(θ̂ − θ)``, mean length, ``max_i r_i``, step times.

        Returns
        -------
        dict
            Keys ``rmse, bias, mean_length, max_exposure, mean_step_ms, p99_step_ms``.
        """
        err = self.theta_hat - self.theta
        steps_ms = self.step_ns / 1e6 if self.step_ns.size else np.zeros(1)
        return {
            "rmse": float(np.sqrt(np.mean(err**2))),
            "bias": float(np.mean(err)),
            "mean_length": float(np.mean([len(x) for x in self.items])),
            "max_exposure": float(self.exposure_rates.max()),
            "mean_step_ms": float(np.mean(steps_ms)),
            "p99_step_ms": float(np.percentile(steps_ms, 99)),
        }

    def to_json_dict(self) -> dict[str, Any]:
        """The ``giga irt simulate-cat`` result (DESIGN §5.3): ``{"simulees": [...], "summary": {...}}``."""
        simulees = [
            {"theta": float(t), "theta_hat": float(h), "se": float(s), "items": list(items)}
            for t, h, s, items in zip(self.theta, self.theta_hat, self.se, self.items, strict=True)
        ]
        return {"simulees": simulees, "summary": self.summary()}


def simulate(
    design: CatDesign, thetas: ArrayLike, *, seed: int, exclude: Sequence[Iterable[str]] | None = None
) -> SimulationResult:
    """Run one CAT session per simulee and collect θ̂, SE, items, usage and step times.

    Simulee j answers item i correctly when ``u_{j,t} < P_i(θ_j) = c_i + (1 − c_i)/(1 + e^{−a_i(θ_j − b_i)})``
    with ``u`` uniform from ``numpy.random.default_rng(seed)``, which also draws each session's seed.

    Parameters
    ----------
    design : CatDesign
    thetas : array_like of shape (N,)
        True abilities.
    seed : int
        Seed of the simulation (responses and session seeds).
    exclude : sequence of iterables of str, optional
        Per simulee, items it must not get ("no repeat": what the student saw in earlier tests).

    Returns
    -------
    SimulationResult
    """
    theta = np.asarray(thetas, dtype=float).ravel()
    if theta.size == 0 or not np.all(np.isfinite(theta)):
        raise InvalidInput("a simulation needs at least one simulee with a finite θ")
    if exclude is not None and len(exclude) != theta.size:
        raise InvalidInput(f"exclude has {len(exclude)} entries for {theta.size} simulees")
    bank = design.bank
    rng = np.random.default_rng(seed)
    session_seeds = rng.integers(0, 2**_SEED_BITS, size=theta.size).tolist()
    uniforms = rng.random((theta.size, design.stopping.max_items)).tolist()
    a, b, c = bank.a.tolist(), bank.b.tolist(), bank.c.tolist()
    index = bank.index
    administered = np.zeros(bank.size, dtype=np.int64)
    selected = np.zeros(bank.size, dtype=np.int64)
    theta_hat = np.empty(theta.size)
    se = np.empty(theta.size)
    items_out: list[list[str]] = []
    steps: list[int] = []
    clock = time.perf_counter_ns
    for j, th in enumerate(theta.tolist()):
        session = CatSession.start(design, seed=session_seeds[j], exclude=exclude[j] if exclude else ())
        u = uniforms[j]
        item = session.next_item()
        t = 0
        while item is not None:
            i = index[item]
            p = c[i] + (1.0 - c[i]) / (1.0 + math.exp(-a[i] * (th - b[i])))
            response = 1 if u[t] < p else 0
            t += 1
            start = clock()
            session.record(item, response)
            item = session.next_item()
            steps.append(clock() - start)
        theta_hat[j] = session.theta_hat
        se[j] = session.se
        items_out.append([bank.item_ids[i] for i in session.items])
        administered[session.items] += 1
        selected[session.items] += 1
        selected[session.set_aside] += 1
    return SimulationResult(
        theta=theta,
        theta_hat=theta_hat,
        se=se,
        items=items_out,
        administered=administered,
        selected=selected,
        step_ns=np.asarray(steps, dtype=np.int64),
    )


SKILLS = ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH")
GENRES = ("textbook", "newspaper", "encyclopedia", "dictionary", "notice")


def random_pool(
    n: int,
    *,
    seed: int,
    guessing: float = 0.0,
    skills: tuple[str, ...] = SKILLS,
    genres: tuple[str, ...] = GENRES,
) -> CatPool:
    """A simulated pool for studies and tests: ``a ~ LogNormal(0, 0.3)``, ``b ~ N(0, 1)``, ``c ~ U(0, g)``.

    Items get ids ``S0000…``, a skill and a genre drawn uniformly from ``skills`` and ``genres``.

    Parameters
    ----------
    n : int
        Pool size.
    seed : int
    guessing : float
        Upper bound g of the lower asymptotes (0 gives a 2PL pool).
    skills, genres : tuple of str
        Category labels.

    Returns
    -------
    CatPool
    """
    rng = np.random.default_rng(seed)
    a = rng.lognormal(0.0, 0.3, n)
    b = rng.normal(0.0, 1.0, n)
    c = rng.uniform(0.0, guessing, n) if guessing > 0 else np.zeros(n)
    return CatPool.build(
        [f"S{k:04d}" for k in range(n)],
        a,
        b,
        c,
        attributes={"skill": list(rng.choice(skills, n)), "genre": list(rng.choice(genres, n))},
    )


def information_bound(bank: CatPool, thetas: ArrayLike, n_items: int, prior_sd: float = 1.0) -> float:
    """RMSE of an oracle EAP that knows θ and gives each simulee the pool's ``n`` best items at θ.

    With the normal approximation of the posterior, the oracle's posterior variance at θ is
    ``1 / (1/σ² + I_top(θ))``, where ``I_top(θ)`` is the sum of the ``n`` largest item informations at θ,
    and for EAP the mean squared error equals the mean posterior variance, hence

        bound = sqrt( mean_j 1 / (1/σ² + I_top(θ_j)) ).

    No CAT of length n on this pool can do systematically better, because it never has more
    information than the n most informative items at the true θ.

    Parameters
    ----------
    bank : CatPool
    thetas : array_like of shape (N,)
        True abilities of the simulees.
    n_items : int
        Test length n (≤ pool size).
    prior_sd : float
        Prior standard deviation σ.

    Returns
    -------
    float
    """
    theta = np.asarray(thetas, dtype=float).ravel()
    if not 1 <= n_items <= bank.size:
        raise InvalidInput(f"the test length must be between 1 and the pool size {bank.size}")
    info = np.stack([bank.information(float(t)) for t in theta])
    top = np.partition(info, bank.size - n_items, axis=1)[:, bank.size - n_items :].sum(axis=1)
    return float(np.sqrt(np.mean(1.0 / (1.0 / prior_sd**2 + top))))


@dataclass(frozen=True)
class SympsonHetterCalibration:
    """Result of :func:`calibrate_sympson_hetter`.

    Attributes
    ----------
    parameters : ndarray of shape (n,)
        Exposure-control parameters ``K_i``.
    max_exposure : list of float
        Largest observed exposure rate in each iteration.
    converged : bool
        True when the last iteration, run with ``parameters``, kept the maximum exposure within
        ``r_max + tolerance``; otherwise ``parameters`` is the update after the last iteration.
    """

    parameters: FloatArray
    max_exposure: list[float]
    converged: bool


def calibrate_sympson_hetter(
    design: CatDesign,
    r_max: float,
    *,
    n_simulees: int = 1000,
    max_iterations: int = 20,
    tolerance: float | None = None,
    seed: int = 0,
    theta_mean: float = 0.0,
    theta_sd: float = 1.0,
) -> SympsonHetterCalibration:
    """Calibrate Sympson–Hetter exposure-control parameters by iterated simulation.

    Start with ``K_i = 1``.  Each iteration simulates ``n_simulees`` examinees with θ ~ N(0, 1) under the
    current ``K``, estimates the selection rate ``P(S_i)`` (share of examinees for whom item i came up
    in the lottery) and sets

        K_i ← 1 if P(S_i) ≤ r*,   else   K_i ← r* / P(S_i),

    so that ``P(A_i) = P(S_i) K_i ≤ r*`` (Sympson & Hetter 1985), with the working target
    ``r* = max(r_max − 2σ, L_max / n)``, ``σ = sqrt(r_max (1 − r_max) / N)``: K is computed from noisy
    rates, and aiming at r_max itself left the true rates of the items held there scattered around it
    (fresh runs peaked at 0.27–0.29 for r_max = 0.25).  Stops once the largest observed exposure rate
    ``max_i P(A_i) ≤ r* + tolerance`` (returning the K that achieved it) or after ``max_iterations``.

    Parameters
    ----------
    design : CatDesign
        The test design (its exposure setting is replaced by Sympson–Hetter).
    r_max : float
        Target maximum exposure rate in (0, 1]; must be at least ``L_max / n`` to be attainable.
    n_simulees : int
        Simulees per iteration (1,000–5,000 usual).
    max_iterations : int
    tolerance : float, optional
        Slack on ``r*`` accepted as converged.  Default ``3σ``: observed rates of the many items held at
        ``r*`` scatter by their binomial error, so the largest of them exceeds ``r*`` by two to three
        standard errors even when every ``P(A_i) ≤ r*`` (the check is then ``max ≤ r_max + σ``,
        0.264 for r_max = 0.25 and N = 1,000).
    seed : int
        Seed; iteration t uses seed + t.
    theta_mean, theta_sd : float
        Population of the simulees (default N(0, 1); a grade band's own population for a band's test).

    Returns
    -------
    SympsonHetterCalibration
    """
    bank = design.bank
    if not 0 < r_max <= 1:
        raise InvalidInput(f"r_max must be in (0, 1] (got {r_max})")
    if r_max * bank.size < design.stopping.max_items:
        raise InvalidInput(
            f"r_max {r_max} is unattainable: {bank.size} items cannot fill {design.stopping.max_items} places"
        )
    noise = np.sqrt(r_max * (1.0 - r_max) / n_simulees)  # binomial SE of one observed rate
    # Aim below r_max by two SEs: K computed from noisy rates would otherwise leave the true rates of the
    # items held at the target scattered around r_max, about half of them above it (0.27–0.29 for 0.25).
    # …but never below what the test length needs (n items at r* must fill max_items places).
    target = max(r_max - 2.0 * noise, design.stopping.max_items / bank.size)
    slack = 3.0 * noise if tolerance is None else tolerance
    k = np.ones(bank.size)
    history: list[float] = []
    rng = np.random.default_rng(seed)
    for iteration in range(max_iterations):
        control = ExposureControl.build("sympson-hetter", bank=bank, sh_parameters=k)
        result = simulate(
            design.with_exposure(control),
            theta_mean + theta_sd * rng.standard_normal(n_simulees),
            seed=seed + iteration,
        )
        history.append(float(result.exposure_rates.max()))
        if history[-1] <= target + slack:
            return SympsonHetterCalibration(parameters=k, max_exposure=history, converged=True)
        p_select = result.selected / n_simulees
        k = np.where(p_select > target, target / np.maximum(p_select, 1e-12), 1.0)
    return SympsonHetterCalibration(parameters=k, max_exposure=history, converged=False)
