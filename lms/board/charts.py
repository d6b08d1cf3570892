# ruff: noqa: E501  (one SVG element per line reads better than split f-strings)
"""Server-rendered SVG charts of the board dashboard (no JavaScript, prints well, light on a Chromebook).

Each chart is a ``role="img"`` SVG with a ``<title>``; the page puts the same numbers in a table next to it
(the screen-reader alternative), so colour is never the only carrier of information.  Text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: band colours (light → dark blue, as on the teacher's report); hidden shares are grey with a pattern
BAND_COLOURS: tuple[str, ...] = ("#e4ecf7", "#bcd4ec", "#93bbe0", "#5b8fc7", "#2f5f9a")
BAND_TEXT: tuple[str, ...] = ("#1d2433", "#1d2433", "#1d2433", "#ffffff", "#ffffff")
HIDDEN_FILL = "url(#hidden-pattern)"
_DEFS = (
    '<defs><pattern id="hidden-pattern" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eceff3"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#a3acb9" stroke-width="2"/></pattern></defs>'
)


def _svg(width: int, height: int, title: str, body: str, chart_id: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" class="chart" id="{chart_id}">'
        f'<title id="{chart_id}-title">{escape(title)}</title>{_DEFS}{body}</svg>'
    )


def histogram_svg(
    edges: Sequence[float],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    chart_id: str = "hist",
) -> str:
    """Percent of students per score bin; the first series as bars, the others as outlined steps."""
    width, height, left, bottom, top = 640, 260, 48, 40, 16
    bins = len(edges) - 1
    plot_w, plot_h = width - left - 12, height - bottom - top
    shares = []
    for _label, counts in series:
        total = sum(counts) or 1.0
        shares.append([100.0 * c / total for c in counts])
    peak = max([max(s) for s in shares if s] + [10.0])
    ymax = 10.0 * (int(peak // 10) + 1)
    bw = plot_w / bins
    parts = []
    for tick in range(0, int(ymax) + 1, 10):
        y = top + plot_h * (1 - tick / ymax)
        parts.append(f'<line x1="{left}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5dbe3"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#3b4556">{tick}%</text>'
        )
    if shares:
        for i, value in enumerate(shares[0]):
            h = plot_h * value / ymax
            x = left + i * bw
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" fill="#5b8fc7"/>'
            )
    for values in shares[1:]:
        path = []
        for i, value in enumerate(values):
            y = top + plot_h * (1 - value / ymax)
            path.append(
                f"{'M' if i == 0 else 'L'}{left + i * bw:.1f},{y:.1f} L{left + (i + 1) * bw:.1f},{y:.1f}"
            )
        parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="#b3541e" stroke-width="2.5"/>')
    for i in range(0, bins + 1, 2):
        x = left + i * bw
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" fill="#3b4556">{int(edges[i])}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="12" fill="#1d2433">尺度得点</text>'
    )
    legend_x = left + 8
    for n, (label, _c) in enumerate(series):
        colour = "#5b8fc7" if n == 0 else "#b3541e"
        y = top + 4 + 16 * n
        parts.append(f'<rect x="{legend_x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        parts.append(
            f'<text x="{legend_x + 16}" y="{y + 11}" font-size="12" fill="#1d2433">{escape(label)}</text>'
        )
    return _svg(width, height, title, "".join(parts), chart_id)


def bands_svg(
    rows: Sequence[tuple[str, Sequence[float | None] | None]], *, title: str, chart_id: str = "bands"
) -> str:
    """One 100 % bar per row, a segment per band; hidden shares (None) share one hatched segment."""
    label_w, width, bar_h, gap, top = 170, 640, 22, 8, 8
    height = top + len(rows) * (bar_h + gap) + 30
    plot_w = width - label_w - 12
    parts = []
    for r, (label, shares) in enumerate(rows):
        y = top + r * (bar_h + gap)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="#1d2433">{escape(label)}</text>'
        )
        if shares is None:
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" fill="{HIDDEN_FILL}"/>'
            )
            parts.append(
                f'<text x="{label_w + 8}" y="{y + 15}" font-size="12" fill="#1d2433">非公表（少人数）</text>'
            )
            continue
        x = float(label_w)
        known = sum(s for s in shares if s is not None)
        for band, share in enumerate(shares):
            if share is None:
                continue
            w = plot_w * share
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{BAND_COLOURS[band]}"/>'
            )
            if share >= 0.07:
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + 15}" text-anchor="middle" font-size="11" fill="{BAND_TEXT[band]}">{round(share * 100)}%</text>'
                )
            x += w
        rest = max(0.0, 1.0 - known)
        if rest > 0.001:
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{plot_w * rest:.1f}" height="{bar_h}" fill="{HIDDEN_FILL}"/>'
            )
    y = height - 20
    x = float(label_w)
    for band in range(5):
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{BAND_COLOURS[band]}" stroke="#556070"/>'
        )
        parts.append(
            f'<text x="{x + 16:.1f}" y="{y + 11}" font-size="11" fill="#1d2433">段階{band + 1}</text>'
        )
        x += 70
    parts.append(f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{HIDDEN_FILL}" stroke="#556070"/>')
    parts.append(f'<text x="{x + 16:.1f}" y="{y + 11}" font-size="11" fill="#1d2433">非公表</text>')
    return _svg(width, height, title, "".join(parts), chart_id)


@dataclass(frozen=True)
class GrowthPoint:
    label: str
    values: tuple[tuple[float, float] | None, ...]  # (mean, se) per series; None: hidden or no data


def growth_svg(
    points: Sequence[GrowthPoint], series: Sequence[str], *, title: str, chart_id: str = "growth"
) -> str:
    """Means with 95 % intervals (± 1.96 SE) over terms, one line per series (school, city)."""
    width, height, left, bottom, top = 640, 260, 52, 56, 30
    plot_w, plot_h = width - left - 16, height - bottom - top
    values = [v for p in points for v in p.values if v is not None]
    if not values:
        return _svg(
            width, 60, title, '<text x="10" y="30" font-size="13">公表できる値がありません</text>', chart_id
        )
    low = min(m - 1.96 * s for m, s in values)
    high = max(m + 1.96 * s for m, s in values)
    lo, hi = 50 * int(low // 50), 50 * (int(high // 50) + 1)
    step = plot_w / max(len(points) - 1, 1) if len(points) > 1 else 0.0

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    parts = []
    for tick in range(lo, hi + 1, 50):
        parts.append(
            f'<line x1="{left}" x2="{width - 16}" y1="{y_of(tick):.1f}" y2="{y_of(tick):.1f}" stroke="#d5dbe3"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y_of(tick) + 4:.1f}" text-anchor="end" font-size="11" fill="#3b4556">{tick}</text>'
        )
    colours = ("#2f5f9a", "#b3541e")
    dashes = ("", ' stroke-dasharray="6 4"')
    for s, name in enumerate(series):
        offset = (s - (len(series) - 1) / 2) * 6
        path: list[str] = []
        for i, point in enumerate(points):
            x = left + (i * step if len(points) > 1 else plot_w / 2) + offset
            v = point.values[s] if s < len(point.values) else None
            if v is None:
                continue
            m, se = v
            path.append(f"{'M' if not path else 'L'}{x:.1f},{y_of(m):.1f}")
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y_of(m - 1.96 * se):.1f}" y2="{y_of(m + 1.96 * se):.1f}" stroke="{colours[s]}" stroke-width="2"/>'
            )
            marker = (f'<circle cx="{x:.1f}" cy="{y_of(m):.1f}" r="4.5" fill="{colours[s]}"/>' if s == 0 else
                      f'<rect x="{x - 4:.1f}" y="{y_of(m) - 4:.1f}" width="8" height="8" fill="{colours[s]}"/>')  # fmt: skip
            parts.append(marker)
        if path:
            parts.append(
                f'<path d="{" ".join(path)}" fill="none" stroke="{colours[s]}" stroke-width="2"{dashes[s % 2]}/>'
            )
        parts.append(f'<rect x="{left + 8 + 150 * s}" y="8" width="12" height="12" fill="{colours[s]}"/>')
        parts.append(
            f'<text x="{left + 24 + 150 * s}" y="18" font-size="12" fill="#1d2433">{escape(name)}</text>'
        )
    for i, point in enumerate(points):
        x = left + (i * step if len(points) > 1 else plot_w / 2)
        for line, text in enumerate(point.label.split("\n")):
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 18 + 14 * line}" text-anchor="middle" font-size="11" fill="#3b4556">{escape(text)}</text>'
            )
    return _svg(width, height, title, "".join(parts), chart_id)


def binned_histogram_svg(
    series: Sequence[tuple[str, Sequence[tuple[int, int, float]]]], *, title: str, chart_id: str = "hist"
) -> str:
    """A release's protected histogram: per series its own (merged, unequal) bins with rounded counts.

    Heights are the share of the series' (rounded) pupils per 100 points, so a merged wide bin is not drawn
    taller than its density; the first series as bars, the others as outlined steps.
    """
    width, height, left, bottom, top = 640, 260, 48, 40, 16
    lo_edge, hi_edge = 200, 800
    plot_w, plot_h = width - left - 12, height - bottom - top

    def x_of(score: float) -> float:
        return left + plot_w * (score - lo_edge) / (hi_edge - lo_edge)

    densities = []
    for _label, bins in series:
        total = sum(count for _lo, _hi, count in bins) or 1.0
        densities.append([(lo, hi, 100.0 * count / total * 100.0 / (hi - lo)) for lo, hi, count in bins])
    peak = max([d for bins in densities for _lo, _hi, d in bins] + [10.0])
    ymax = 10.0 * (int(peak // 10) + 1)
    parts = []
    for tick in range(0, int(ymax) + 1, 10):
        y = top + plot_h * (1 - tick / ymax)
        parts.append(f'<line x1="{left}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5dbe3"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#3b4556">{tick}%</text>'
        )
    for n, bins in enumerate(densities):
        for lo, hi, d in bins:
            h = plot_h * d / ymax
            x0, x1 = x_of(lo), x_of(hi)
            if n == 0:
                parts.append(
                    f'<rect x="{x0 + 1:.1f}" y="{top + plot_h - h:.1f}" width="{x1 - x0 - 2:.1f}" height="{h:.1f}" fill="#5b8fc7"/>'
                )
            else:
                parts.append(
                    f'<path d="M{x0:.1f},{top + plot_h - h:.1f} L{x1:.1f},{top + plot_h - h:.1f}" fill="none" stroke="#b3541e" stroke-width="2.5"/>'
                )
    for score in range(lo_edge, hi_edge + 1, 100):
        parts.append(
            f'<text x="{x_of(score):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" fill="#3b4556">{score}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="12" fill="#1d2433">尺度得点（縦軸は100点あたりの割合）</text>'
    )
    for n, (label, _bins) in enumerate(series):
        colour = "#5b8fc7" if n == 0 else "#b3541e"
        y = top + 4 + 16 * n
        parts.append(f'<rect x="{left + 8}" y="{y}" width="12" height="12" fill="{colour}"/>')
        parts.append(
            f'<text x="{left + 24}" y="{y + 11}" font-size="12" fill="#1d2433">{escape(label)}</text>'
        )
    return _svg(width, height, title, "".join(parts), chart_id)
