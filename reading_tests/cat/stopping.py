"""Stopping rules for adaptive tests.

A test of ``n`` administered items with current posterior SD ``SE(θ̂)`` stops when

    n ≥ L_max,   or   (SE_target > 0  and  n ≥ L_min  and  SE(θ̂) ≤ SE_target).

``SE_target = 0`` gives a fixed-length test of ``L_max`` items.  With EAP, ``SE`` is the posterior
standard deviation; for a 20-item reading test on a good pool it falls to about 0.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reading_tests.errors import InvalidInput


@dataclass(frozen=True)
class StoppingRule:
    """Minimum/maximum length and SE target.

    Attributes
    ----------
    max_items : int
        Maximum length ``L_max ≥ 1``.
    min_items : int
        Minimum length ``1 ≤ L_min ≤ L_max`` before the SE rule may stop the test.
    se_target : float
        Stop once ``SE(θ̂) ≤ se_target``; 0 disables the rule (fixed length).
    """

    max_items: int
    min_items: int = 1
    se_target: float = 0.0

    def __post_init__(self) -> None:
        if self.max_items < 1:
            raise InvalidInput(f"the maximum test length must be ≥ 1 (got {self.max_items})")
        if not 1 <= self.min_items <= self.max_items:
            raise InvalidInput(
                f"the minimum test length must be between 1 and the maximum {self.max_items} "
                f"(got {self.min_items})"
            )
        if not np.isfinite(self.se_target) or self.se_target < 0:
            raise InvalidInput(f"the SE target must be ≥ 0 (got {self.se_target})")

    def should_stop(self, n_items: int, se: float) -> bool:
        """True when ``n ≥ L_max`` or (``SE_target > 0``, ``n ≥ L_min`` and ``SE ≤ SE_target``).

        Parameters
        ----------
        n_items : int
            Items administered so far.
        se : float
            Current posterior SD of θ.
        """
        if n_items >= self.max_items:
            return True
        return self.se_target > 0 and n_items >= self.min_items and se <= self.se_target
