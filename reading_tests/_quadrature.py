"""Quadrature grids for integrating over the latent ability θ.

We use an equally spaced grid on ``[−6, 6]`` with weights proportional to the latent density, the
rule mirt uses by default.  For a smooth, bell-shaped integrand with standard deviation ``s`` the
equally spaced (trapezoidal) rule converges geometrically: its relative error is about
``2 exp(−2 π² s² / h²)`` for a node spacing ``h`` (the Poisson summation formula).  The integrand of a
student's marginal likelihood is his posterior, whose standard deviation shrinks like
``1 / sqrt(test information)``; a long form therefore needs a finer grid, which is what
:func:`nodes_for_posterior_sd` computes (``h ≤ 1.2 s`` keeps the relative error below 1e-5).
"""

from __future__ import annotations

import math

import numpy as np

from reading_tests.irt import FloatArray

THETA_LIMIT = 6.0
MIN_NODES = 41
MAX_NODES = 401
SPACING_PER_SD = 1.2


def grid(n_nodes: int, limit: float = THETA_LIMIT) -> FloatArray:
    """``n_nodes`` equally spaced points on ``[−limit, limit]``."""
    return np.linspace(-limit, limit, n_nodes)


def normal_log_weights(nodes: FloatArray, mean: float = 0.0, sd: float = 1.0) -> FloatArray:
    """Log of normalised weights ``w_q ∝ φ((θ_q − μ) / σ)`` (they sum to one on the grid)."""
    z = (nodes - mean) / sd
    logw = -0.5 * z * z
    logw -= logw.max()
    logw -= math.log(float(np.exp(logw).sum()))
    return np.asarray(logw, dtype=float)


def nodes_for_posterior_sd(sd: float, limit: float = THETA_LIMIT) -> int:
    """Smallest odd node count on ``[−limit, limit]`` with spacing ``≤ 1.2 · sd`` (41 … 401)."""
    if not sd > 0:
        return MAX_NODES
    n = math.ceil(2 * limit / (SPACING_PER_SD * sd)) + 1
    n += 1 - n % 2
    return int(min(MAX_NODES, max(MIN_NODES, n)))
