"""Test information, conditional standard error and reliability of a set of items.

- Test information ``I(θ) = Σ_j I_j(θ)`` (:func:`reading_tests.irt.information`) and conditional SE
  ``SE(θ) = 1 / sqrt(I(θ))`` of the maximum-likelihood θ̂ on a θ grid.
- Marginal reliability (Green et al. 1984) ``ρ = σ² / (σ² + E[1 / I(θ)])`` with θ ~ N(μ, σ²) integrated
  on the grid: the share of observed-score variance that is true-score variance when every student
  takes all the items.
- Empirical reliability of EAP scores ``ρ = Var(θ̂_EAP) / (Var(θ̂_EAP) + mean PSD²)`` from response
  data (each student's own items), the number to report for sparse or adaptive forms.

:func:`write_curves` writes the curves as CSV and as a dependency-free SVG line chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import FloatArray, information


@dataclass(frozen=True)
class Curves:
    theta: FloatArray
    information: FloatArray
    se: FloatArray
    marginal_reliability: float


def test_curves(params: ItemParams, lo: float = -4.0, hi: float = 4.0, points: int = 81) -> Curves:
    """Information and conditional SE on ``points`` equally spaced θ in [lo, hi]; marginal reliability."""
    theta = np.linspace(lo, hi, points)
    info = information(theta[:, None], params.a[None, :], params.b[None, :], params.c[None, :]).sum(axis=1)
    se = 1.0 / np.sqrt(np.maximum(info, 1e-300))
    return Curves(theta, info, se, marginal_reliability(params))


test_curves.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def marginal_reliability(params: ItemParams, mean: float = 0.0, sd: float = 1.0) -> float:
    """``σ² / (σ² + E[1/I(θ)])`` over θ ~ N(mean, sd²) (Gauss–Hermite, 61 nodes)."""
    x, w = np.polynomial.hermite_e.hermegauss(61)
    theta = mean + sd * x
    w = w / w.sum()
    info = information(theta[:, None], params.a[None, :], params.b[None, :], params.c[None, :]).sum(axis=1)
    error_var = float((w / np.maximum(info, 1e-300)).sum())
    return sd * sd / (sd * sd + error_var)


def empirical_reliability(data: ResponseData, params: ItemParams) -> float:
    """Reliability of EAP scores from response data (see the module docstring)."""
    from reading_tests.estimation import posterior_grid

    nodes, post = posterior_grid(data, params.subset(list(data.item_ids)))
    eap = post @ nodes
    psd2 = post @ (nodes * nodes) - eap * eap
    keep = data.items_per_student() > 0
    var = float(eap[keep].var())
    return var / (var + float(psd2[keep].mean()))


def write_curves(curves: Curves, csv_path: Path, svg_path: Path | None = None) -> None:
    """CSV ``theta,information,se`` and optionally an SVG chart of both curves."""
    lines = ["theta,information,se"]
    lines += [
        f"{t:.4f},{i:.6g},{s:.6g}"
        for t, i, s in zip(curves.theta, curves.information, curves.se, strict=True)
    ]
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if svg_path is not None:
        svg_path.write_text(_svg(curves), encoding="utf-8")


def _svg(c: Curves, width: int = 640, height: int = 360, pad: int = 48) -> str:
    """Two polylines: information (left axis, blue) and conditional SE (right axis, orange, capped at 2)."""
    x0, x1 = float(c.theta[0]), float(c.theta[-1])
    imax = float(c.information.max()) or 1.0
    smax = 2.0
    se = np.minimum(c.se, smax)

    def px(t: float) -> float:
        return pad + (t - x0) / (x1 - x0) * (width - 2 * pad)

    def py(v: float, top: float) -> float:
        return height - pad - v / top * (height - 2 * pad)

    info_pts = " ".join(f"{px(t):.1f},{py(v, imax):.1f}" for t, v in zip(c.theta, c.information, strict=True))
    se_pts = " ".join(f"{px(t):.1f},{py(v, smax):.1f}" for t, v in zip(c.theta, se, strict=True))
    ticks = []
    for t in range(math.ceil(x0), math.floor(x1) + 1):
        ticks.append(
            f'<text x="{px(t):.1f}" y="{height - pad + 18}" font-size="12" text-anchor="middle">{t}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">\n'
        f"<title>テスト情報量と条件付き標準誤差（周辺信頼性 {c.marginal_reliability:.3f}）</title>\n"
        f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}" '
        'fill="none" stroke="#999"/>\n'
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{info_pts}"/>\n'
        '<polyline fill="none" stroke="#ff7f0e" stroke-width="2" stroke-dasharray="6 3" '
        f'points="{se_pts}"/>\n'
        + "\n".join(ticks)
        + f'\n<text x="{width / 2}" y="{height - 8}" font-size="13" text-anchor="middle">θ</text>\n'
        f'<text x="{pad}" y="{pad - 10}" font-size="13" fill="#1f77b4">情報量 (最大 {imax:.2f})</text>\n'
        f'<text x="{width - pad}" y="{pad - 10}" font-size="13" fill="#ff7f0e" text-anchor="end">'
        f"標準誤差 (0–{smax:g})</text>\n</svg>\n"
    )
