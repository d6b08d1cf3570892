"""Simulated response data for tests and benchmarks (private)."""

from __future__ import annotations

import numpy as np

from reading_tests.io import ResponseData
from reading_tests.irt import FloatArray


def simulate(
    rng: np.random.Generator,
    theta: FloatArray,
    a: FloatArray,
    b: FloatArray,
    c: FloatArray | None = None,
    *,
    items_per_student: tuple[int, int] | None = None,
) -> ResponseData:
    """Draw 0/1 responses from the 3PL model.

    ``items_per_student=(lo, hi)`` gives each student a random form of ``lo … hi`` distinct items
    (sparse design); ``None`` gives every student every item.
    """
    n, k = theta.size, a.size
    cc = np.zeros(k) if c is None else c
    if items_per_student is None:
        rows = np.repeat(np.arange(n), k)
        cols = np.tile(np.arange(k), n)
    else:
        lo, hi = items_per_student
        sizes = rng.integers(lo, hi + 1, size=n)
        # a random form per student: the first `size` entries of a random permutation of the items
        keys = rng.random((n, k))
        order = np.argsort(keys, axis=1)
        mask = np.arange(k)[None, :] < sizes[:, None]
        rows = np.repeat(np.arange(n), sizes)
        cols = order[mask]
    z = a[cols] * (theta[rows] - b[cols])
    p = cc[cols] + (1.0 - cc[cols]) / (1.0 + np.exp(-z))
    x = (rng.random(rows.size) < p).astype(np.int8)
    return ResponseData.from_triplets(rows, cols, x, [f"s{i}" for i in range(n)], [f"i{j}" for j in range(k)])
