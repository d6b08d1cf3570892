"""Reported scores: the 500 + 100·θ scale, five bands, and the "guessing-level" flag.

Scale
    ``score = round(500 + 100 θ)`` (half away from zero), the look of the national assessment's IRT
    score (mean 500 in the calibration population, SD 100).  Its standard error is ``100 · SE(θ)``.
Bands (on the reported scale; each band is 100 points wide around the mean, i.e. one SD of θ)

    ====  ===========  ==================  =====================
    band  score        θ                   name
    ====  ===========  ==================  =====================
    1     < 350        θ < −1.5            もう少し（基礎から）
    2     350 – 449    −1.5 ≤ θ < −0.5     あと一歩
    3     450 – 549    −0.5 ≤ θ < 0.5      標準
    4     550 – 649    0.5 ≤ θ < 1.5       よくできている
    5     ≥ 650        θ ≥ 1.5             たいへんよくできている
    ====  ===========  ==================  =====================

    Under θ ~ N(0, 1) the bands hold about 7 %, 24 %, 38 %, 24 % and 7 % of students.
Guessing-level flag
    A student's number correct ``X`` in a skill is compared with what blind guessing would give: under
    guessing ``X`` is Poisson-binomial with the items' chance levels ``p_k`` (1/#options for single choice
    and picture choice, 1/2 for same/different, ``1/(2^k − 1)`` for select-all with ``k`` options — one of
    the non-empty subsets).  The one-sided p-value ``P(X ≥ x_obs | guessing)`` is computed exactly by
    convolution; the flag is set when it exceeds ``alpha`` (default 0.05), i.e. when the accuracy is
    not significantly above chance.  Few items give little evidence: with two four-option items even two
    correct answers (p = 0.0625) are flagged, which is the honest reading.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from reading_tests.errors import InvalidInput
from reading_tests.io import ResponseData
from reading_tests.irt import FloatArray

SCALE_MEAN = 500.0
SCALE_SD = 100.0


@dataclass(frozen=True)
class Band:
    """One reporting band: ``lower ≤ score < upper`` on the reported scale."""

    level: int
    lower: float
    upper: float
    name_ja: str


BANDS: tuple[Band, ...] = (
    Band(1, -math.inf, 350, "もう少し（基礎から）"),
    Band(2, 350, 450, "あと一歩"),
    Band(3, 450, 550, "標準"),
    Band(4, 550, 650, "よくできている"),
    Band(5, 650, math.inf, "たいへんよくできている"),
)

FORMATS = ("single_choice", "picture_choice", "same_different", "select_all", "true_false_cannot_tell")


def scale_score(theta: ArrayLike) -> np.ndarray:
    """``round(500 + 100 θ)`` as integers (half away from zero)."""
    x = SCALE_MEAN + SCALE_SD * np.asarray(theta, dtype=float)
    if np.isnan(x).any():
        raise InvalidInput("cannot put a missing θ on the reported scale")
    return np.asarray(np.sign(x) * np.floor(np.abs(x) + 0.5), dtype=np.int64)


def band(score: ArrayLike) -> np.ndarray:
    """Band level 1–5 of reported scores (see the table in the module docstring)."""
    s = np.asarray(score, dtype=float)
    cuts = np.array([b.lower for b in BANDS[1:]])
    return np.asarray(np.searchsorted(cuts, s, side="right") + 1, dtype=np.int64)


def band_name(level: int) -> str:
    """Japanese name of a band level."""
    for b in BANDS:
        if b.level == level:
            return b.name_ja
    raise InvalidInput(f"unknown band level {level}")


def chance_level(fmt: str, n_options: int = 4) -> float:
    """Probability of a correct answer by blind guessing for an item format.

    ``single_choice`` / ``picture_choice`` / ``true_false_cannot_tell``: ``1/n_options``;
    ``same_different``: 1/2; ``select_all``: ``1/(2^n_options − 1)`` (a uniformly chosen non-empty subset).
    """
    if fmt in ("single_choice", "picture_choice", "true_false_cannot_tell"):
        if n_options < 2:
            raise InvalidInput(f"a {fmt} item needs at least two options")
        return 1.0 / n_options
    if fmt == "same_different":
        return 0.5
    if fmt == "select_all":
        if n_options < 1:
            raise InvalidInput("a select_all item needs at least one option")
        return 1.0 / float(2**n_options - 1)
    raise InvalidInput(f"unknown item format '{fmt}' (use {', '.join(FORMATS)})")


def poisson_binomial_sf(successes: ArrayLike, probs: Sequence[ArrayLike]) -> FloatArray:
    """``P(X ≥ x)`` for ``X = Σ_k B_k``, ``B_k ~ Bernoulli(p_k)`` independent, for many students at once.

    Parameters
    ----------
    successes : array_like of int, shape (n,)
        Observed counts ``x``.
    probs : sequence of array_like, each shape (n,)
        ``probs[t][i]`` is the chance level of the t-th answered item of student ``i``; use 0 for
        padding (an item a student did not answer adds nothing).

    Returns
    -------
    ndarray of float, shape (n,)
        The upper-tail probabilities, from the exact distribution built by convolution
        ``f_t(k) = f_{t−1}(k)(1 − p_t) + f_{t−1}(k − 1) p_t``.
    """
    x = np.asarray(successes, dtype=np.int64)
    n = x.size
    m = len(probs)
    dist = np.zeros((n, m + 1))
    dist[:, 0] = 1.0
    for t, pt in enumerate(probs):
        p = np.broadcast_to(np.asarray(pt, dtype=float), (n,))[:, None]
        shifted = np.zeros_like(dist)
        shifted[:, 1 : t + 2] = dist[:, : t + 1]
        dist = dist * (1.0 - p) + shifted * p
    tail = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]  # tail[:, k] = P(X ≥ k)
    k = np.clip(x, 0, m)
    out = tail[np.arange(n), k]
    return np.asarray(np.where(x > m, 0.0, out), dtype=float)


@dataclass(frozen=True, eq=False)
class GuessingCheck:
    """Guessing-level result of one skill: per student correct count, items, p-value and flag."""

    n_correct: np.ndarray
    n_items: np.ndarray
    p_value: FloatArray
    flag: np.ndarray


def guessing_flags(
    data: ResponseData,
    chance: Mapping[str, float],
    skills: Mapping[str, str],
    *,
    alpha: float = 0.05,
) -> dict[str, GuessingCheck]:
    """Per-skill guessing-level flags (see the module docstring).

    Parameters
    ----------
    data : ResponseData
    chance : mapping of item id to chance level (see :func:`chance_level`)
    skills : mapping of item id to skill code
    alpha : float
        Significance level of the one-sided test.

    Returns
    -------
    dict of skill to GuessingCheck
        Students without items in a skill get ``p_value = NaN`` and ``flag = False``.
    """
    missing = [i for i in data.item_ids if i not in chance or i not in skills]
    if missing:
        raise InvalidInput(f"item '{missing[0]}' has no chance level or skill")
    out: dict[str, GuessingCheck] = {}
    for skill in sorted({skills[i] for i in data.item_ids}):
        cols = [j for j, i in enumerate(data.item_ids) if skills[i] == skill]
        p_items = np.array([chance[data.item_ids[j]] for j in cols])
        if np.any((p_items <= 0) | (p_items >= 1)):
            raise InvalidInput(f"chance levels of skill '{skill}' must lie strictly between 0 and 1")
        answered = (data.correct[:, cols] + data.incorrect[:, cols]).toarray() > 0
        n_correct = np.asarray(data.correct[:, cols].sum(axis=1)).ravel().astype(np.int64)
        n_items = answered.sum(axis=1)
        probs = [np.where(answered[:, t], p_items[t], 0.0) for t in range(len(cols))]
        pv = poisson_binomial_sf(n_correct, probs)
        pv = np.where(n_items > 0, pv, np.nan)
        out[skill] = GuessingCheck(n_correct, n_items, pv, (n_items > 0) & (pv > alpha))
    return out
