"""Scores with their uncertainty: 95 % interval, a range a child can read, band membership with probability.

A score is a posterior for θ summarised by its mean θ̂ and SD ``se``; intervals use the normal
approximation ``θ ~ N(θ̂, se²)`` (the EAP posterior of a 15–40 item test is close to normal).

* Reported score ``500 + 100 θ̂`` and its 95 % interval ``500 + 100 (θ̂ ± 1.96 se)``.
* Child range: the interval rounded outwards to 10 points, shown as 「だいたい 470〜530 点」.
* Band probabilities ``P(band k) = Φ((u_k − θ̂)/se) − Φ((l_k − θ̂)/se)`` with the θ cuts of
  :data:`reading_tests.scoring.BANDS` (−1.5, −0.5, 0.5, 1.5, each less 0.005 because the band is that of
  the rounded score).  A single band is named only when its
  probability is at least ``BAND_CONFIDENCE`` (0.80); otherwise the two most likely bands are named
  together (「あと一歩」か「標準」のあたり), which is what the data support.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from reading_tests.errors import InvalidInput
from reading_tests.scoring import BANDS, SCALE_MEAN, SCALE_SD, band_name

Z95 = 1.959963984540054
BAND_CONFIDENCE = 0.80
CHILD_ROUNDING = 10
# band of the *rounded* score: round(500 + 100 θ) ≥ L  ⇔  θ ≥ (L − 0.5 − 500)/100
_THETA_CUTS = np.array([(b.lower - 0.5 - SCALE_MEAN) / SCALE_SD for b in BANDS[1:]])


def _round_half_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def band_probabilities(theta: float, se: float) -> tuple[float, ...]:
    """``P(band k)`` for k = 1…5 under ``θ ~ N(θ̂, se²)`` (se = 0 gives the band of θ̂ with probability 1)."""
    if se <= 0:
        level = int(np.searchsorted(_THETA_CUTS, theta, side="right"))
        return tuple(1.0 if k == level else 0.0 for k in range(len(BANDS)))
    cdf = norm.cdf((_THETA_CUTS - theta) / se)
    edges = np.concatenate([[0.0], cdf, [1.0]])
    return tuple(float(p) for p in np.diff(edges))


@dataclass(frozen=True)
class BandStatement:
    """Which band(s) the score lies in, with probability; ``ambiguous`` when no band reaches 0.80."""

    levels: tuple[int, ...]
    probability: float
    ambiguous: bool
    text_ja: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": list(self.levels),
            "probability": round(self.probability, 3),
            "ambiguous": self.ambiguous,
            "text_ja": self.text_ja,
        }


def band_statement(probabilities: tuple[float, ...], confidence: float = BAND_CONFIDENCE) -> BandStatement:
    """Name the most likely band if ``P ≥ confidence``, else the most likely pair of adjacent bands."""
    p = np.asarray(probabilities)
    best = int(p.argmax())
    if p[best] >= confidence:
        level = best + 1
        return BandStatement((level,), float(p[best]), False, f"「{band_name(level)}」（確率 {p[best]:.0%}）")
    pairs = [(float(p[k] + p[k + 1]), k) for k in range(len(p) - 1)]
    mass, k = max(pairs)
    levels = (k + 1, k + 2)
    text = f"「{band_name(levels[0])}」か「{band_name(levels[1])}」のあたり（確率 {mass:.0%}）"
    return BandStatement(levels, mass, True, text)


@dataclass(frozen=True)
class ScoreReport:
    """One score with its uncertainty, on θ and on the reported scale.

    Attributes
    ----------
    theta, se : float
        Posterior mean and SD of θ.
    scale_score : int
        ``round(500 + 100 θ̂)``.
    scale_se : float
        ``100 se``.
    lower, upper : int
        95 % interval on the reported scale, ``round(500 + 100 (θ̂ ∓ 1.96 se))``.
    child_lower, child_upper : int
        The interval rounded outwards to 10 points (「だいたい child_lower〜child_upper 点」).
    band_probabilities : tuple of float
        ``P(band 1…5)``.
    band : BandStatement
    """

    theta: float
    se: float
    scale_score: int
    scale_se: float
    lower: int
    upper: int
    child_lower: int
    child_upper: int
    band_probabilities: tuple[float, ...]
    band: BandStatement

    @classmethod
    def from_theta(cls, theta: float, se: float) -> ScoreReport:
        """Build the report of a posterior ``N(θ̂, se²)``."""
        if not (math.isfinite(theta) and math.isfinite(se)) or se < 0:
            raise InvalidInput(f"a score needs a finite θ and a non-negative SE (got {theta}, {se})")
        lo = SCALE_MEAN + SCALE_SD * (theta - Z95 * se)
        hi = SCALE_MEAN + SCALE_SD * (theta + Z95 * se)
        probs = band_probabilities(theta, se)
        return cls(
            theta=theta,
            se=se,
            scale_score=_round_half_away(SCALE_MEAN + SCALE_SD * theta),
            scale_se=SCALE_SD * se,
            lower=_round_half_away(lo),
            upper=_round_half_away(hi),
            child_lower=int(math.floor(lo / CHILD_ROUNDING) * CHILD_ROUNDING),
            child_upper=int(math.ceil(hi / CHILD_ROUNDING) * CHILD_ROUNDING),
            band_probabilities=probs,
            band=band_statement(probs),
        )

    @property
    def child_range_ja(self) -> str:
        """「だいたい 470〜530 点」."""
        return f"だいたい {self.child_lower}〜{self.child_upper} 点"

    def to_dict(self) -> dict[str, Any]:
        return {
            "theta": round(self.theta, 4),
            "se": round(self.se, 4),
            "scale_score": self.scale_score,
            "scale_se": round(self.scale_se, 1),
            "lower": self.lower,
            "upper": self.upper,
            "child_lower": self.child_lower,
            "child_upper": self.child_upper,
            "child_range_ja": self.child_range_ja,
            "band_probabilities": [round(p, 3) for p in self.band_probabilities],
            "band": self.band.to_dict(),
        }
