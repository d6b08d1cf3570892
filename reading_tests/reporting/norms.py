"""Grade-referenced norms: percentiles and bands within a school year, from the calibration population.

Each grade's true-ability distribution is summarised as ``θ ~ N(μ_g, σ_g²)``.  From EAP estimates θ̂ with
posterior SDs ``se`` of ``n_g`` students the law of total variance gives

    μ_g = mean(θ̂),    σ_g² = var(θ̂) + mean(se²)

(EAP shrinks, so var(θ̂) alone would understate the spread).  A student's grade percentile is
``100 Φ((θ̂ − μ_g)/σ_g)`` with the interval from ``θ̂ ± 1.96 se``.  Grade bands reuse the national shares
of the five bands (7/24/38/24/7 %, cuts at the 6.7th, 30.9th, 69.1st and 93.3rd percentiles) so that a
band means the same share of one's own grade.  Norms are ``provisional`` while the bank is (or while
a grade has fewer than ``MIN_NORM_STUDENTS`` students); screens must say so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm

from reading_tests.errors import InvalidInput
from reading_tests.reporting.intervals import Z95

MIN_NORM_STUDENTS = 500
GRADE_BAND_NAMES = (
    "学年の中で低め",
    "学年の中でやや低め",
    "学年の中で平均的",
    "学年の中でやや高め",
    "学年の中で高め",
)
_BAND_Z = norm.ppf([0.0668, 0.3085, 0.6915, 0.9332])


@dataclass(frozen=True)
class GradeNorm:
    grade: int
    mean: float
    sd: float
    n: int
    provisional: bool


@dataclass(frozen=True)
class GradePosition:
    """A score's position in its grade: percentile with interval, and the most likely grade band."""

    grade: int
    percentile: float
    lower: float
    upper: float
    band: int
    band_probability: float
    band_name_ja: str
    provisional: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "percentile": round(self.percentile, 1),
            "lower": round(self.lower, 1),
            "upper": round(self.upper, 1),
            "band": self.band,
            "band_probability": round(self.band_probability, 3),
            "band_name_ja": self.band_name_ja,
            "provisional": self.provisional,
        }


@dataclass(frozen=True)
class GradeNorms:
    """Per-grade normal norms (build with :meth:`from_estimates`)."""

    by_grade: Mapping[int, GradeNorm]

    @classmethod
    def from_estimates(
        cls, grades: ArrayLike, theta: ArrayLike, se: ArrayLike, *, bank_provisional: bool = True
    ) -> GradeNorms:
        g = np.asarray(grades, dtype=np.int64)
        t = np.asarray(theta, dtype=float)
        s = np.asarray(se, dtype=float)
        if not (g.shape == t.shape == s.shape) or g.ndim != 1:
            raise InvalidInput("norms need one grade, θ and SE per student")
        out: dict[int, GradeNorm] = {}
        for grade in sorted(set(g.tolist())):
            m = g == grade
            n = int(m.sum())
            if n < 2:
                continue
            sd = math.sqrt(float(np.var(t[m], ddof=1)) + float(np.mean(s[m] ** 2)))
            provisional = bank_provisional or n < MIN_NORM_STUDENTS
            out[grade] = GradeNorm(grade, float(np.mean(t[m])), sd, n, provisional)
        return cls(out)

    def position(self, grade: int, theta: float, se: float) -> GradePosition | None:
        """The position of ``N(θ̂, se²)`` in its grade, or None when the grade has no norm."""
        gn = self.by_grade.get(grade)
        if gn is None:
            return None
        z = (theta - gn.mean) / gn.sd
        zl = (theta - Z95 * se - gn.mean) / gn.sd
        zu = (theta + Z95 * se - gn.mean) / gn.sd
        # band probabilities for θ ~ N(θ̂, se²) against the grade's z cuts
        cuts_theta = gn.mean + gn.sd * _BAND_Z
        cdf = norm.cdf((cuts_theta - theta) / se) if se > 0 else (theta < cuts_theta).astype(float)
        probs = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
        level = int(probs.argmax()) + 1
        return GradePosition(
            grade=grade,
            percentile=100 * float(norm.cdf(z)),
            lower=100 * float(norm.cdf(zl)),
            upper=100 * float(norm.cdf(zu)),
            band=level,
            band_probability=float(probs[level - 1]),
            band_name_ja=GRADE_BAND_NAMES[level - 1],
            provisional=gn.provisional,
        )
