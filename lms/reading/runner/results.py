"""The student's results page: the growth chart, drawn on the server as a small inline SVG (no chart
library on a Chromebook). Scores, advice and recommended practice come from `lms.reading.results`."""

from __future__ import annotations

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
    """One finished attempt's overall scale score."""

    when: datetime
    score: int
    attempt_id: int


def history_points(history: list[dict[str, Any]], *, limit: int = 8) -> list[HistoryPoint]:
    """The newest ``limit`` points of the service's ``history`` (oldest first), skipping undated rows."""
    points = [
        HistoryPoint(datetime.fromisoformat(h["date"]), int(h["scale_score"]), int(h["attempt_id"]))
        for h in history
        if h.get("date")
    ]
    points.sort(key=lambda p: p.when)
    return points[-limit:]


def growth_since_last(points: list[HistoryPoint], attempt_id: int) -> int | None:
    """Overall score change from the attempt before ``attempt_id`` (None when it is the first)."""
    for i, point in enumerate(points):
        if point.attempt_id == attempt_id:
            return point.score - points[i - 1].score if i > 0 else None
    return None


def growth_svg(points: list[HistoryPoint], *, current_attempt_id: int | None = None) -> str:
    """A small line chart of overall scores (inline SVG with a text alternative); '' with < 2 points."""
    if len(points) < 2:
        return ""
    width, height, pad_left, pad_right, pad_top, pad_bottom = 560, 200, 72, 32, 24, 36
    scores = [p.score for p in points]
    low = min(300, (min(scores) // 100) * 100)
    high = max(700, -(-max(scores) // 100) * 100)
    step = (width - pad_left - pad_right) / (len(points) - 1)

    def x(i: int) -> float:
        return pad_left + i * step

    def y(score: int) -> float:
        return pad_top + (high - score) / (high - low) * (height - pad_top - pad_bottom)

    summary = "、".join(f"{p.when:%Y年%m月%d日} {p.score}点" for p in points)
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
        current = " current" if p.attempt_id == current_attempt_id else ""
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(p.score):.1f}" r="6" class="dot{current}"/>'
            f'<text x="{x(i):.1f}" y="{y(p.score) - 12:.1f}" text-anchor="middle" '
            f'class="value">{p.score}</text>'
            f'<text x="{x(i):.1f}" y="{height - 10}" text-anchor="middle" class="axis">{p.when:%m/%d}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
