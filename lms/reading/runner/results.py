"""The student's results page: the growth chart, drawn on the server as a small inline SVG (no chart
library on a Chromebook). Scores, advice and recommended practice come from `lms.reading.results`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

SKILL_ORDER: tuple[str, ...] = ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH")


def in_skill_order(skills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-skill results in the order of DESIGN §5.1 (the order the teacher report uses too)."""
    rank = {code: i for i, code in enumerate(SKILL_ORDER)}
    return sorted(skills, key=lambda s: rank.get(str(s.get("skill")), len(rank)))


def practice_summary(recommendations: list[Any]) -> list[tuple[str, int]]:
    """(reason, number of items) in first-seen order: one line per reason instead of one per item."""
    counts: dict[str, int] = {}
    for rec in recommendations:
        reason = rec.get("reason") if isinstance(rec, dict) else getattr(rec, "reason", None)
        if reason:
            counts[str(reason)] = counts.get(str(reason), 0) + 1
    return list(counts.items())


@dataclass(frozen=True)
class HistoryPoint:
    """One finished test's overall scale score and its 95 % interval."""

    when: datetime
    score: int
    attempt_id: int
    lower: int | None = None
    upper: int | None = None

    @property
    def low(self) -> int:
        return self.score if self.lower is None else self.lower

    @property
    def high(self) -> int:
        return self.score if self.upper is None else self.upper


def history_points(history: list[dict[str, Any]], *, limit: int = 8) -> list[HistoryPoint]:
    """The newest ``limit`` points of the service's ``history`` (oldest first), skipping undated rows."""
    points = [
        HistoryPoint(
            datetime.fromisoformat(h["date"]),
            int(h["scale_score"]),
            int(h["attempt_id"]),
            h.get("lower"),
            h.get("upper"),
        )
        for h in history
        if h.get("date")
    ]
    points.sort(key=lambda p: p.when)
    return points[-limit:]


def axis_label(points: Sequence[HistoryPoint], i: int) -> str:
    """Month/day, with the year at the first point and where the year changes (06/15 twice was ambiguous)."""
    when = points[i].when
    if i == 0 or points[i - 1].when.year != when.year:
        return f"{when.year}/{when.month}/{when.day}"
    return f"{when.month}/{when.day}"


def growth_svg(points: list[HistoryPoint], *, current_attempt_id: int | None = None) -> str:
    """A small line chart of overall scores with each test's 95 % interval as a shaded bar (inline SVG
    with a text alternative); '' with < 2 points."""
    if len(points) < 2:
        return ""
    width, height, pad_left, pad_right, pad_top, pad_bottom = 560, 200, 72, 32, 24, 36
    low = min(300, (min(p.low for p in points) // 100) * 100)
    high = max(700, -(-max(p.high for p in points) // 100) * 100)
    step = (width - pad_left - pad_right) / (len(points) - 1)

    def x(i: int) -> float:
        return pad_left + i * step

    def y(score: int) -> float:
        return pad_top + (high - score) / (high - low) * (height - pad_top - pad_bottom)

    summary = "、".join(f"{p.when:%Y年%m月%d日} だいたい{p.low}〜{p.high}点" for p in points)
    parts = [
        f'<svg class="growth" viewBox="0 0 {width} {height}" role="img" aria-labelledby="growth-title" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="growth-title">{escape("総合のスコアのうつりかわり: " + summary)}</title>',
    ]
    for grid in range(low, high + 1, 100):
        parts.append(
            f'<line x1="{pad_left - 16}" x2="{width - pad_right + 16}" y1="{y(grid):.1f}" y2="{y(grid):.1f}" '
            f'class="grid"/><text x="{pad_left - 22}" y="{y(grid) + 5:.1f}" text-anchor="end" '
            f'class="axis">{grid}</text>'
        )
    line = " ".join(f"{x(i):.1f},{y(p.score):.1f}" for i, p in enumerate(points))
    parts.append(f'<polyline points="{line}" class="line"/>')
    for i, p in enumerate(points):
        if p.high > p.low:
            parts.append(
                f'<rect x="{x(i) - 7:.1f}" y="{y(p.high):.1f}" width="14" '
                f'height="{y(p.low) - y(p.high):.1f}" rx="4" class="interval"/>'
            )
    for i, p in enumerate(points):
        current = " current" if p.attempt_id == current_attempt_id else ""
        # the first and last labels grow inwards so that they stay inside the chart
        anchor, shift = ("start", -7) if i == 0 else ("end", 7) if i == len(points) - 1 else ("middle", 0)
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(p.score):.1f}" r="6" class="dot{current}"/>'
            f'<text x="{x(i) + shift:.1f}" y="{y(p.high) - 6:.1f}" text-anchor="{anchor}" '
            f'class="value">{p.low}〜{p.high}</text>'
            f'<text x="{x(i):.1f}" y="{height - 10}" text-anchor="middle" class="axis">'
            f"{axis_label(points, i)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def range_bar_svg(lower: int, upper: int, *, low: int = 200, high: int = 800) -> str:
    """A horizontal bar from ``low`` to ``high`` points with the child's range shaded (inline SVG; the
    same range is printed as text next to it, 「だいたい 470〜530 点」)."""
    width, height, pad = 560, 64, 24
    lower, upper = max(min(lower, upper), low), min(max(lower, upper), high)

    def x(score: float) -> float:
        return pad + (score - low) / (high - low) * (width - 2 * pad)

    title = f"{low}点から{high}点のものさしの、{lower}〜{upper}点のあたり"
    parts = [
        f'<svg class="range-bar" viewBox="0 0 {width} {height}" role="img" aria-labelledby="range-bar-title" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="range-bar-title">{escape(title)}</title>',
        f'<rect x="{x(low):.1f}" y="14" width="{x(high) - x(low):.1f}" height="18" rx="9" class="track"/>',
        f'<rect x="{x(lower):.1f}" y="10" width="{max(x(upper) - x(lower), 6):.1f}" height="26" rx="8" '
        'class="range"/>',
    ]
    for tick in range(low, high + 1, 100):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - 6}" text-anchor="middle" class="axis">{tick}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
