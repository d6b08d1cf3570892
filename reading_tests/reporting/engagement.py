r"""Disengagement: rapid guessing by response time, plus person fit.

Rapid guessing (Wise & Kong 2005; Wise & Ma 2012)
    Each item gets a normative threshold ``NT_i = min(0.10 · mean_rt_i, 10 s)`` (NT10, capped), where
    ``mean_rt_i`` is the item's mean response time in the calibration population.  A response faster
    than its threshold is a rapid guess.  Response-time effort ``RTE = 1 − (rapid responses)/(timed
    responses)``; low effort when ``RTE < 0.90`` (on 15 items: two or more rapid guesses).
    Effort-moderated scoring (Wise & DeMars 2006) leaves rapid guesses out of θ̂.

Person fit (Snijders 2001)
    For the 3PL with ``P_i = P_i(θ̂)``, ``Q_i = 1 − P_i``, ``w_i = log(P_i/Q_i)``, ``r_i = P_i'/(P_i Q_i)``
    and θ̂ the MAP estimate under the N(0, 1) prior (estimating equation
    ``Σ (x_i − P_i) r_i + r_0 = 0`` with ``r_0(θ) = −θ``),

        c_n = Σ P_i' w_i / Σ P_i' r_i,     w̃_i = w_i − c_n r_i,
        lz* = [Σ (x_i − P_i) w_i + c_n r_0(θ̂)] / √(Σ w̃_i² P_i Q_i),

    which is asymptotically N(0, 1) for a model-consistent pattern with θ estimated.  Large negative
    values mean an aberrant pattern (easy items wrong, hard items right); ``lz* < −2.33`` (1 % one-sided)
    raises the flag.  Low accuracy by itself is *not* aberrant.

The two are combined with OR.  The teacher gets a neutral note; nothing is shown to the child.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from reading_tests.errors import InvalidInput
from reading_tests.irt import FloatArray, prob

NT_FRACTION = 0.10
NT_CAP_SECONDS = 10.0
RTE_THRESHOLD = 0.90
LZ_THRESHOLD = -2.326
_MAP_GRID = np.linspace(-5.0, 5.0, 201)


def rapid_thresholds(
    mean_rt: ArrayLike, *, fraction: float = NT_FRACTION, cap: float = NT_CAP_SECONDS
) -> FloatArray:
    """``NT_i = min(fraction · mean_rt_i, cap)`` in seconds."""
    m = np.asarray(mean_rt, dtype=float)
    if np.any(~np.isfinite(m) | (m <= 0)):
        raise InvalidInput("item mean response times must be positive numbers of seconds")
    return np.asarray(np.minimum(fraction * m, cap), dtype=float)


def _derivative(theta: float, a: FloatArray, c: FloatArray, p: FloatArray) -> FloatArray:
    # P' = a (P − c)(1 − P)/(1 − c) for the 3PL
    return np.asarray(a * (p - c) * (1.0 - p) / (1.0 - c), dtype=float)


def map_theta(x: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike) -> float:
    """MAP θ̂ under N(0, 1): grid start, then Newton steps on the log-posterior."""
    xs, as_, bs, cs = (np.asarray(v, dtype=float) for v in (x, a, b, c))
    p = np.clip(prob(_MAP_GRID[:, None], as_, bs, cs), 1e-12, 1 - 1e-12)
    logpost = (xs * np.log(p) + (1 - xs) * np.log1p(-p)).sum(axis=1) - 0.5 * _MAP_GRID**2
    theta = float(_MAP_GRID[int(logpost.argmax())])
    for _ in range(30):
        pt = np.clip(prob(theta, as_, bs, cs), 1e-12, 1 - 1e-12)
        d = _derivative(theta, as_, cs, pt)
        grad = float(np.sum((xs - pt) * d / (pt * (1 - pt)))) - theta
        hess = -float(np.sum(d**2 / (pt * (1 - pt)))) - 1.0  # expected (Fisher) curvature, always < 0
        step = grad / hess
        theta -= step
        if abs(step) < 1e-8:
            break
    return theta


def lz_star(x: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike) -> float:
    """Snijders' lz* at the MAP θ̂ (formula in the module docstring); NaN with fewer than 2 items."""
    xs, as_, bs, cs = (np.asarray(v, dtype=float) for v in (x, a, b, c))
    if xs.size < 2:
        return math.nan
    theta = map_theta(xs, as_, bs, cs)
    p = np.clip(prob(theta, as_, bs, cs), 1e-12, 1 - 1e-12)
    q = 1.0 - p
    d = _derivative(theta, as_, cs, p)
    w = np.log(p / q)
    r = d / (p * q)
    c_n = float(np.sum(d * w) / np.sum(d * r))
    w_tilde = w - c_n * r
    var = float(np.sum(w_tilde**2 * p * q))
    if var <= 0:
        return math.nan
    return (float(np.sum((xs - p) * w)) + c_n * (-theta)) / math.sqrt(var)


@dataclass(frozen=True)
class Engagement:
    """Disengagement evidence of one attempt.

    Attributes
    ----------
    n_timed : int
        Responses with a response time and an item threshold.
    rapid : tuple of bool
        Per response (in attempt order): faster than the item's threshold.
    rte : float or None
        Response-time effort; None without timed responses.
    lz_star : float
        Person-fit statistic (NaN with fewer than 2 items).
    low_effort, misfit, flagged : bool
        ``RTE < 0.90``; ``lz* < −2.33``; either.
    teacher_note_ja : str or None
        A neutral, actionable note for the teacher (None when not flagged).  Nothing goes to the child.
    """

    n_timed: int
    rapid: tuple[bool, ...]
    rte: float | None
    lz_star: float
    low_effort: bool
    misfit: bool
    flagged: bool
    teacher_note_ja: str | None

    @property
    def n_rapid(self) -> int:
        return sum(self.rapid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_timed": self.n_timed,
            "n_rapid": self.n_rapid,
            "rte": None if self.rte is None else round(self.rte, 3),
            "lz_star": None if math.isnan(self.lz_star) else round(self.lz_star, 3),
            "low_effort": self.low_effort,
            "misfit": self.misfit,
            "flagged": self.flagged,
            "teacher_note_ja": self.teacher_note_ja,
        }


def assess_engagement(
    x: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    c: ArrayLike,
    *,
    seconds: ArrayLike | None = None,
    thresholds: ArrayLike | None = None,
    rte_threshold: float = RTE_THRESHOLD,
    lz_threshold: float = LZ_THRESHOLD,
) -> Engagement:
    """Combine rapid guessing (when times and thresholds are known) and person fit.

    ``seconds[i]`` / ``thresholds[i]`` may be NaN for a response without a time or an item without a
    normative mean; such responses do not count towards RTE.  Person fit uses the responses that are
    not rapid guesses (effort-moderated).
    """
    xs = np.asarray(x, dtype=float)
    n = xs.size
    if seconds is not None and thresholds is not None:
        t = np.asarray(seconds, dtype=float)
        nt = np.asarray(thresholds, dtype=float)
        if t.shape != xs.shape or nt.shape != xs.shape:
            raise InvalidInput("response times and thresholds need one value per response")
        timed = np.isfinite(t) & np.isfinite(nt)
        rapid = timed & (t < nt)
    else:
        timed = np.zeros(n, dtype=bool)
        rapid = np.zeros(n, dtype=bool)
    n_timed = int(timed.sum())
    rte = 1.0 - float(rapid.sum()) / n_timed if n_timed else None
    keep = ~rapid
    arr = [np.asarray(v, dtype=float)[keep] for v in (a, b, c)]
    fit = lz_star(xs[keep], *arr)
    low_effort = rte is not None and rte < rte_threshold
    misfit = bool(math.isfinite(fit) and fit < lz_threshold)
    note: str | None = None
    if low_effort:
        note = (
            f"{n_timed} 問中 {int(rapid.sum())} 問で、問題文を読むには短すぎる時間で解答していました。"
            "この回の点数は参考値です（短すぎる解答は点数の計算から除いています）。"
            "本人の様子を確かめ、落ち着いて取り組める機会をもう一度つくることを検討してください。"
        )
    elif misfit:
        note = (
            "解答のパターンが、この点数の人によく見られるものと大きく異なりました"
            "（易しい問題で誤答し、難しい問題で正答するなど）。点数の解釈に注意し、必要なら本人と一緒に振り返ってください。"
        )
    return Engagement(
        n_timed=n_timed,
        rapid=tuple(bool(v) for v in rapid),
        rte=rte,
        lz_star=fit,
        low_effort=low_effort,
        misfit=misfit,
        flagged=low_effort or misfit,
        teacher_note_ja=note,
    )
