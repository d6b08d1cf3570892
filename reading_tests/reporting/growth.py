"""Growth between two test scores, claimed only beyond its measurement error.

With independent errors the change ``Δ = θ̂₂ − θ̂₁`` has ``SE(Δ) = √(SE₁² + SE₂²)`` (reliable-change
index, Jacobson & Truax 1991).  "up"/"down" is said only when ``|Δ| > 1.96 SE(Δ)``; otherwise
「前回とほぼ同じ（誤差の範囲）」.  When either test was taken with low effort (the disengagement flag), no
direction is claimed at all.  Under no true change the false "up"/"down" rate is about 5 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from reading_tests.errors import InvalidInput
from reading_tests.reporting.intervals import Z95, ScoreReport
from reading_tests.scoring import SCALE_SD

Direction = Literal["up", "down", "same", "unclear"]


@dataclass(frozen=True)
class GrowthReport:
    """Change between two scores on the reported scale (points), with its SE and 95 % interval."""

    delta: float
    se: float
    lower: float
    upper: float
    direction: Direction
    text_ja: str
    teacher_text_ja: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "delta": round(self.delta, 1),
            "se": round(self.se, 1),
            "lower": round(self.lower, 1),
            "upper": round(self.upper, 1),
            "direction": self.direction,
            "text_ja": self.text_ja,
            "teacher_text_ja": self.teacher_text_ja,
        }


def growth(previous: ScoreReport, current: ScoreReport, *, disengaged: bool = False) -> GrowthReport:
    """Change from ``previous`` to ``current`` (see the module docstring for the rule)."""
    delta = SCALE_SD * (current.theta - previous.theta)
    se = SCALE_SD * math.sqrt(previous.se**2 + current.se**2)
    if not math.isfinite(delta) or not math.isfinite(se):
        raise InvalidInput("growth needs two finite scores with finite SEs")
    lower, upper = delta - Z95 * se, delta + Z95 * se
    span = f"変化 {delta:+.0f} 点（95%区間 {lower:+.0f}〜{upper:+.0f} 点）"
    if disengaged:
        direction: Direction = "unclear"
        text = "今回の結果だけでは、前回とのちがいはわかりません。"
        teacher = f"{span}。どちらかの回で解答時間が極端に短い問題が多かったため、変化は判定しません。"
    elif se > 0 and abs(delta) > Z95 * se:
        direction = "up" if delta > 0 else "down"
        word = "アップ" if delta > 0 else "ダウン"
        text = f"前回より だいたい {abs(delta):.0f} 点{word}しました（誤差をこえる変化です）。"
        teacher = f"{span}。誤差をこえる変化です。"
    else:
        direction = "same"
        text = "前回とほぼ同じ（誤差の範囲）です。"
        teacher = f"{span}。誤差の範囲内で、変化があったとは言えません。"
    return GrowthReport(delta, se, lower, upper, direction, text, teacher)
