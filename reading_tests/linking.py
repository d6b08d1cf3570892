"""Scale linking of dichotomous item parameters through common (anchor) items, with a drift check.

A linear transformation ``θ_to = A θ_from + B`` carries parameters from the "from" scale onto the "to"
scale: ``a* = a / A``, ``b* = A b + B``, ``c* = c`` (Kolen & Brennan 2014, ch. 6).  A and B come from
the anchors, items calibrated on both scales:

- ``mean-mean``: ``A = mean(a_from) / mean(a_to)``, ``B = mean(b_to) − A mean(b_from)``;
- ``mean-sigma``: ``A = sd(b_to) / sd(b_from)``, same ``B`` (Marco 1977);
- ``haebara``: minimises ``Σ_q w_q Σ_j (P_j(θ_q; to) − P_j(θ_q; from*))²`` (Haebara 1980);
- ``stocking-lord``: minimises ``Σ_q w_q (Σ_j P_j(θ_q; to) − Σ_j P_j(θ_q; from*))²`` (Stocking & Lord 1983);

the characteristic-curve criteria on 61 equally spaced nodes on [−4, 4] of the "to" scale with N(0, 1)
weights (one-directional), minimised by BFGS from the mean-sigma solution.

Drift
    After the transformation, an anchor has drifted when its difficulty moved by more than
    ``threshold`` (default 0.3 logits) **and** the move is beyond its error:
    ``z = (b*_from − b_to) / sqrt((A·se_b,from)² + se_b,to²) > 1.96`` (the z condition is skipped
    when an SE is missing).  Drifted anchors should be dropped and the linking repeated
    (:func:`link` with ``drop_drifted=True`` does that once).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.optimize import minimize

from reading_tests.errors import InvalidInput
from reading_tests.io import ItemParams
from reading_tests.irt import FloatArray, prob

Method = Literal["mean-mean", "mean-sigma", "haebara", "stocking-lord"]
METHODS: tuple[Method, ...] = ("mean-mean", "mean-sigma", "haebara", "stocking-lord")
DRIFT_THRESHOLD = 0.3
DRIFT_Z = 1.96
NODES = np.linspace(-4.0, 4.0, 61)
WEIGHTS = np.exp(-0.5 * NODES**2) / np.exp(-0.5 * NODES**2).sum()


@dataclass(frozen=True)
class Drift:
    item_id: str
    b_from: float
    b_to: float
    difference: float
    se: float
    z: float
    drifted: bool


@dataclass
class Linking:
    """Result of :func:`link`: ``θ_to = slope · θ_from + intercept`` (Kolen & Brennan's A and B)."""

    method: str
    slope: float
    intercept: float
    anchors: list[str]
    dropped: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "A": self.slope,
            "B": self.intercept,
            "anchors": self.anchors,
            "dropped": self.dropped,
            "drift": [
                {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in d.__dict__.items()
                }
                for d in self.drift
            ],
        }


def transform(params: ItemParams, A: float, B: float) -> ItemParams:
    """Parameters on the new scale ``θ' = A θ + B`` (SEs scaled accordingly)."""
    if not (A > 0 and math.isfinite(A) and math.isfinite(B)):
        raise InvalidInput(f"linking constants must be finite with A > 0 (got A={A}, B={B})")
    return ItemParams(
        item_ids=params.item_ids,
        model=params.model,
        a=params.a / A,
        b=A * params.b + B,
        c=params.c.copy(),
        se_a=params.se_a / A,
        se_b=A * params.se_b,
        se_c=params.se_c.copy(),
        n=params.n.copy(),
        extra=dict(params.extra),
    )


def _moments(method: Method, f: ItemParams, t: ItemParams) -> tuple[float, float]:
    if method == "mean-mean":
        A = float(f.a.mean() / t.a.mean())
    else:
        sd_f = float(f.b.std())
        if sd_f == 0:
            raise InvalidInput("mean-sigma linking needs anchors with different difficulties")
        A = float(t.b.std() / sd_f)
    return A, float(t.b.mean() - A * f.b.mean())


def characteristic_loss(method: Method, x: FloatArray, f: ItemParams, t: ItemParams) -> float:
    """Haebara or Stocking–Lord criterion at ``x = (A, B)``."""
    A, B = float(x[0]), float(x[1])
    th = NODES[:, None]
    p_to = prob(th, t.a, t.b, t.c)
    p_from = prob(th, f.a / A, A * f.b + B, f.c)
    if method == "haebara":
        return float((WEIGHTS * ((p_to - p_from) ** 2).sum(axis=1)).sum())
    return float((WEIGHTS * (p_to.sum(axis=1) - p_from.sum(axis=1)) ** 2).sum())


def constants(method: Method, f: ItemParams, t: ItemParams) -> tuple[float, float]:
    """Linking constants (A, B) from anchor parameters on both scales (same items, same order)."""
    if method not in METHODS:
        raise InvalidInput(f"unknown linking method {method!r} (use {', '.join(METHODS)})")
    if len(f) < 2:
        raise InvalidInput("linking needs at least two anchor items")
    start = _moments("mean-sigma" if method != "mean-mean" else "mean-mean", f, t)
    if method in ("mean-mean", "mean-sigma"):
        return start
    res = minimize(
        lambda x: characteristic_loss(method, x, f, t),
        np.array(start),
        method="BFGS",
        options={"gtol": 1e-10},
    )
    A, B = float(res.x[0]), float(res.x[1])
    if not (A > 0 and math.isfinite(B)):
        raise InvalidInput(f"{method} linking did not find a valid solution (A = {A:.3g})")
    return A, B


def drift(
    f: ItemParams, t: ItemParams, A: float, B: float, threshold: float = DRIFT_THRESHOLD
) -> list[Drift]:
    """Difficulty drift of each anchor after the transformation (see the module docstring)."""
    out = []
    for j, item in enumerate(f.item_ids):
        b_star = A * f.b[j] + B
        diff = float(b_star - t.b[j])
        se = float(math.hypot(A * f.se_b[j], t.se_b[j]))
        z = abs(diff) / se if math.isfinite(se) and se > 0 else math.nan
        beyond_error = (not math.isfinite(z)) or z > DRIFT_Z
        out.append(
            Drift(item, float(b_star), float(t.b[j]), diff, se, z, abs(diff) > threshold and beyond_error)
        )
    return out


def link(
    source: ItemParams,
    target: ItemParams,
    anchors: Sequence[str] | None = None,
    *,
    method: Method = "stocking-lord",
    threshold: float = DRIFT_THRESHOLD,
    drop_drifted: bool = False,
) -> Linking:
    """Link ``source`` onto the scale of ``target`` through ``anchors`` (default: all common items)."""
    common = [i for i in source.item_ids if i in set(target.item_ids)]
    ids = list(anchors) if anchors is not None else common
    missing = [i for i in ids if i not in set(common)]
    if missing:
        raise InvalidInput(f"anchor items missing from one of the parameter files: {', '.join(missing[:5])}")
    if len(ids) < 2:
        raise InvalidInput("linking needs at least two anchor items present in both parameter files")
    f, t = source.subset(ids), target.subset(ids)
    A, B = constants(method, f, t)
    report = drift(f, t, A, B, threshold)
    dropped: list[str] = []
    if drop_drifted and any(d.drifted for d in report):
        dropped = [d.item_id for d in report if d.drifted]
        keep = [i for i in ids if i not in set(dropped)]
        if len(keep) >= 2:
            f, t = source.subset(keep), target.subset(keep)
            A, B = constants(method, f, t)
            report = drift(source.subset(ids), target.subset(ids), A, B, threshold)
            ids = keep
        else:
            dropped = []
    return Linking(method=method, slope=A, intercept=B, anchors=ids, dropped=dropped, drift=report)
