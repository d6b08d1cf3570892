"""Incremental EAP ability estimation on a fixed grid for one live CAT session.

The session keeps the log-posterior of θ on the pool's grid ``θ_1 … θ_G``.  Starting from the N(0, 1)
prior ``ℓ_0(θ_g) = −θ_g² / 2`` (constants drop out), an answer ``x ∈ {0, 1}`` to item i adds one
precomputed row:

    ℓ_{t+1}(θ_g) = ℓ_t(θ_g) + x · log P_i(θ_g) + (1 − x) · log(1 − P_i(θ_g)).

The expected a posteriori estimate and its posterior standard deviation are

    w_g = exp(ℓ(θ_g)),   θ̂ = Σ w_g θ_g / Σ w_g,   SE² = Σ w_g θ_g² / Σ w_g − θ̂²

(Bock & Mislevy 1982).  With equally spaced points the quadrature weights cancel.
"""

from __future__ import annotations

import math

import numpy as np

from reading_tests.cat.bank import CatPool
from reading_tests.errors import InvalidInput
from reading_tests.irt import FloatArray


def prior_log_density(grid: FloatArray, mean: float = 0.0, sd: float = 1.0) -> FloatArray:
    """Unnormalised log density of the N(mean, sd²) prior on the grid: ``−(θ_g − μ)² / (2σ²)``.

    Parameters
    ----------
    grid : ndarray of shape (G,)
    mean, sd : float
        Prior mean μ and standard deviation σ > 0.

    Returns
    -------
    ndarray of shape (G,)
    """
    if not sd > 0:
        raise InvalidInput(f"the prior standard deviation must be > 0 (got {sd})")
    return np.asarray(-0.5 * ((grid - mean) / sd) ** 2, dtype=float)


def add_response(log_post: FloatArray, bank: CatPool, item: int, response: int) -> None:
    """Add the log-likelihood of one answer to ``log_post`` in place.

    ``ℓ ← ℓ + log P_i(θ)`` for a correct answer (1) and ``ℓ ← ℓ + log(1 − P_i(θ))`` for a wrong one (0).

    Parameters
    ----------
    log_post : ndarray of shape (G,)
        Log-posterior on ``bank.grid``; modified in place.
    bank : CatPool
    item : int
        Pool position of the item.
    response : int
        0 or 1.
    """
    log_post += bank.log_p[item] if response else bank.log_q[item]


def eap(grid: FloatArray, log_post: FloatArray, moments: FloatArray | None = None) -> tuple[float, float]:
    """EAP estimate and posterior SD from a log-posterior on a grid.

    ``θ̂ = Σ w_g θ_g / Σ w_g`` and ``SE = sqrt(Σ w_g θ_g² / Σ w_g − θ̂²)`` with
    ``w_g = exp(ℓ_g)`` (ℓ is a sum of log-probabilities, so ≤ 0 and far from underflow for any test
    length in practice; ``max ℓ`` is subtracted first when it is not).

    Parameters
    ----------
    grid : ndarray of shape (G,)
    log_post : ndarray of shape (G,)
    moments : ndarray of shape (G, 3), optional
        :func:`moment_matrix` (grid), precomputed by the pool (``CatPool.moments``) for speed.

    Returns
    -------
    (float, float)
        θ̂ and SE.
    """
    m = moment_matrix(grid) if moments is None else moments
    total, m1, m2 = (np.exp(log_post) @ m).tolist()
    if not 1e-250 < total < 1e250:  # far from the prior's scale: shift before exponentiating
        total, m1, m2 = (np.exp(log_post - log_post.max()) @ m).tolist()
    m1 /= total
    return m1, math.sqrt(max(m2 / total - m1 * m1, 0.0))


def moment_matrix(grid: FloatArray) -> FloatArray:
    """``M = [1, θ_g, θ_g²]`` as a (G, 3) matrix, so that ``exp(ℓ) @ M = (Σ w, Σ w θ, Σ w θ²)``."""
    return np.stack([np.ones_like(grid), grid, grid * grid], axis=1)


def eap_from_responses(
    bank: CatPool, items: list[int], responses: list[int], prior_mean: float = 0.0, prior_sd: float = 1.0
) -> tuple[float, float]:
    """EAP θ̂ and SE of a whole response pattern (non-incremental; used to rebuild a session).

    ``ℓ(θ_g) = log φ(θ_g) + Σ_j [x_j log P_j(θ_g) + (1 − x_j) log(1 − P_j(θ_g))]``, then :func:`eap`.

    Parameters
    ----------
    bank : CatPool
    items : list of int
        Pool positions of the answered items.
    responses : list of int
        0/1 answers, same length as ``items``.
    prior_mean, prior_sd : float
        Normal prior.

    Returns
    -------
    (float, float)
        θ̂ and SE.
    """
    log_post = prior_log_density(bank.grid, prior_mean, prior_sd)
    for item, response in zip(items, responses, strict=True):
        add_response(log_post, bank, item, response)
    return eap(bank.grid, log_post, bank.moments)
