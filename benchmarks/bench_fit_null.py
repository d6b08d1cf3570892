"""Benchmark: null calibration of the fit statistics, and the cost of M2 on long forms.

Part 1: R replications of a 2PL form (1,000 students × 10 items, fixed true parameters), each calibrated
once; the share of M2 p-values and of S-X² item p-values below α = 0.05, with binomial standard errors.
The issue asks for 3–8 %.

Part 2: seconds for M2 on complete forms of 40 and 80 items (5,000 students), best of 2.

Run:  .venv/bin/python benchmarks/bench_fit_null.py [--reps 300]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from reading_tests._simulate import simulate
from reading_tests.calibration import calibrate
from reading_tests.m2 import m2
from reading_tests.sx2 import s_x2


def null_rates(reps: int) -> None:
    rng = np.random.default_rng(2026)
    k = 10
    a, b = rng.uniform(0.7, 2.0, k), rng.normal(0, 1, k)
    m2_p, sx2_p = [], []
    for _ in range(reps):
        data = simulate(rng, rng.normal(size=1000), a, b)
        fitted = calibrate(data, "2pl", se="none").params
        m2_p.append(m2(data, fitted).p_value)
        sx2_p.extend(s_x2(data, fitted).p_value.tolist())
    for name, values in (("M2", m2_p), ("S-X2", sx2_p)):
        rate = float((np.array(values) < 0.05).mean())
        se = math.sqrt(rate * (1 - rate) / len(values))
        print(f"{name:5s} rejection rate at 0.05: {rate:.3f} ± {se:.3f} (n = {len(values)} tests)")


def m2_cost() -> None:
    rng = np.random.default_rng(7)
    for k in (40, 80):
        a, b = rng.uniform(0.6, 2.4, k), rng.normal(0, 1, k)
        data = simulate(rng, rng.normal(size=5000), a, b)
        fitted = calibrate(data, "2pl", se="none").params
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            res = m2(data, fitted)
            best = min(best, time.perf_counter() - start)
        print(f"M2 5,000 × {k}: {best:.2f} s (M2 = {res.m2:.1f}, df = {res.df}, p = {res.p_value:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=300)
    args = parser.parse_args()
    null_rates(args.reps)
    m2_cost()


if __name__ == "__main__":
    main()
