"""Linking: exact recovery, an independent optimisation of the characteristic-curve criteria, recovery of
known A, B from two separate calibrations, and anchor drift."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from reading_tests._simulate import simulate
from reading_tests.calibration import calibrate
from reading_tests.io import ItemParams
from reading_tests.linking import METHODS, link, transform


def _bank(seed: int, k: int = 20, three: bool = False) -> ItemParams:
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.1, 0.25, k) if three else None
    return ItemParams.create(
        [f"i{j}" for j in range(k)],
        rng.uniform(0.6, 2.0, k),
        rng.normal(0, 1, k),
        c,
        model="3pl" if three else "2pl",
        se_b=np.full(k, 0.05),
    )


@pytest.mark.parametrize("method", METHODS)
def test_exact_transformation_is_recovered(method: str) -> None:
    target = _bank(1, three=True)
    # source scale: θ_to = 1.3 θ_from − 0.4, so the source parameters are the inverse transform
    source = transform(target, 1 / 1.3, 0.4 / 1.3)
    res = link(source, target, method=method)  # type: ignore[arg-type]
    assert res.slope == pytest.approx(1.3, abs=1e-5)
    assert res.intercept == pytest.approx(-0.4, abs=1e-5)
    assert not any(d.drifted for d in res.drift)


def _independent_criterion(kind: str, x: np.ndarray, f: ItemParams, t: ItemParams) -> float:
    th = np.linspace(-4, 4, 61)
    w = np.exp(-(th**2) / 2)
    w /= w.sum()
    total = 0.0
    for q in range(th.size):  # plain loops, no library code
        pt = [t.c[j] + (1 - t.c[j]) / (1 + np.exp(-t.a[j] * (th[q] - t.b[j]))) for j in range(len(t))]
        pf = [
            f.c[j] + (1 - f.c[j]) / (1 + np.exp(-(f.a[j] / x[0]) * (th[q] - (x[0] * f.b[j] + x[1]))))
            for j in range(len(f))
        ]
        if kind == "haebara":
            total += w[q] * sum((u - v) ** 2 for u, v in zip(pt, pf, strict=True))
        else:
            total += w[q] * (sum(pt) - sum(pf)) ** 2
    return total


@pytest.mark.parametrize("method", ["haebara", "stocking-lord"])
def test_characteristic_curve_methods_agree_with_independent_optimisation(method: str) -> None:
    target = _bank(2, k=12, three=True)
    rng = np.random.default_rng(3)
    noisy = transform(target, 0.8, 0.3)
    noisy = ItemParams.create(
        noisy.item_ids, noisy.a * rng.lognormal(0, 0.1, 12), noisy.b + rng.normal(0, 0.15, 12), noisy.c,
        model="3pl",
    )  # fmt: skip
    res = link(noisy, target, method=method)  # type: ignore[arg-type]
    ref = minimize(
        lambda x: _independent_criterion(method, x, noisy, target),
        np.array([1.0, 0.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-14, "maxiter": 4000},
    )
    assert res.slope == pytest.approx(ref.x[0], abs=1e-4)
    assert res.intercept == pytest.approx(ref.x[1], abs=1e-4)


def test_known_constants_are_recovered_from_two_calibrations() -> None:
    """Group 2 has θ ~ N(0.5, 1.2²); each group is calibrated on its own N(0, 1) scale.

    Each calibration standardises its own sample, so the constants to recover are those of the drawn
    samples: ``A = s₂ / s₁``, ``B = (m₂ − m₁) / s₁`` (population values 1.2 and 0.5).
    """
    rng = np.random.default_rng(7)
    k = 40
    a, b = rng.uniform(0.7, 2.0, k), rng.normal(0, 1, k)
    t1, t2 = rng.normal(0, 1, 6000), rng.normal(0.5, 1.2, 6000)
    p1 = calibrate(simulate(rng, t1, a, b), "2pl", se="block").params
    p2 = calibrate(simulate(rng, t2, a, b), "2pl", se="block").params
    true_a, true_b = t2.std() / t1.std(), (t2.mean() - t1.mean()) / t1.std()
    assert true_a == pytest.approx(1.2, abs=0.03) and true_b == pytest.approx(0.5, abs=0.04)
    for method in ("stocking-lord", "haebara", "mean-sigma"):
        res = link(p2, p1, method=method)
        tol = 0.02 if method != "mean-sigma" else 0.04
        assert res.slope == pytest.approx(true_a, abs=tol), method
        assert res.intercept == pytest.approx(true_b, abs=tol), method


def test_a_drifted_anchor_is_flagged_and_can_be_dropped() -> None:
    target = _bank(4)
    source = transform(target, 1 / 1.1, -0.2 / 1.1)
    b = source.b.copy()
    b[3] += 0.8  # item i3 became easier/harder between the years
    moved = ItemParams.create(source.item_ids, source.a, b, model="2pl", se_b=np.full(20, 0.05))
    res = link(moved, target, method="stocking-lord")
    assert [d.item_id for d in res.drift if d.drifted] == ["i3"]
    again = link(moved, target, method="stocking-lord", drop_drifted=True)
    assert again.dropped == ["i3"] and "i3" not in again.anchors
    assert again.slope == pytest.approx(1.1, abs=1e-5) and again.intercept == pytest.approx(0.2, abs=1e-5)
