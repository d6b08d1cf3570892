"""Item response functions for dichotomous items (1PL/Rasch, 2PL, 3PL).

All functions are vectorised with NumPy broadcasting: ``theta`` and the item parameters may be
scalars or arrays of compatible shape.  The 3PL model is

    P(X = 1 | θ) = c + (1 − c) / (1 + exp(−a (θ − b)))

with discrimination ``a`` (realistic range 0.3–2.5), difficulty ``b`` on the θ scale (−3…3) and
lower asymptote ``c`` (0 for 1PL/2PL, 0.1–0.3 for guessable multiple-choice items).  The 2PL is the
3PL with c = 0; the 1PL/Rasch model fixes a common ``a`` (1 for Rasch).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Model = Literal["1pl", "2pl", "3pl"]
MODELS: tuple[Model, ...] = ("1pl", "2pl", "3pl")

FloatArray = NDArray[np.float64]


def logistic(x: ArrayLike) -> FloatArray:
    """Numerically stable logistic function ``1 / (1 + exp(−x))``."""
    return np.asarray(_expit(np.asarray(x, dtype=float)), dtype=float)


def _expit(x: FloatArray) -> FloatArray:
    from scipy.special import expit

    return np.asarray(expit(x), dtype=float)


def prob(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike = 0.0) -> FloatArray:
    """Probability of a correct response under the 3PL model.

    Parameters
    ----------
    theta : array_like
        Ability θ.
    a, b, c : array_like
        Discrimination, difficulty and lower asymptote.

    Returns
    -------
    ndarray
        ``c + (1 − c) · logistic(a (θ − b))`` broadcast over the inputs.
    """
    a_ = np.asarray(a, dtype=float)
    c_ = np.asarray(c, dtype=float)
    return c_ + (1.0 - c_) * _expit(a_ * (np.asarray(theta, dtype=float) - np.asarray(b, dtype=float)))


def information(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike = 0.0) -> FloatArray:
    """Fisher information of an item at θ.

    For the 3PL model (Birnbaum; Lord 1980, eq. 5.6)

        I(θ) = a² · (Q / P) · ((P − c) / (1 − c))²

    which reduces to ``a² P Q`` when c = 0.
    """
    a_ = np.asarray(a, dtype=float)
    c_ = np.asarray(c, dtype=float)
    p = prob(theta, a_, b, c_)
    q = 1.0 - p
    p_safe = np.clip(p, 1e-12, 1.0)
    return np.asarray(a_**2 * (q / p_safe) * ((p - c_) / (1.0 - c_)) ** 2, dtype=float)


def test_information(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike = 0.0) -> FloatArray:
    """Test information ``Σ_j I_j(θ)`` summed over the last axis of the item parameters."""
    th = np.asarray(theta, dtype=float)[..., None]
    return np.asarray(information(th, a, b, c).sum(axis=-1), dtype=float)


test_information.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
