"""Benchmark: standard errors of the item parameters — accuracy, coverage and cost, old default vs new.

Part 1 (cost and accuracy): a SweSAT-sized form (5,000 students × 80 items, complete; 2PL and 3PL),
calibrated with ``se`` = none / block (the old default at this size) / louis (the new default) / full
(numerical derivative of the exact gradient, the reference).  Prints seconds (best of 2), the ratio to
the old default measured in the same run, and the SE ratio to the reference (median, min, max).

Part 2 (coverage): R replications of a 2PL form (default 1,000 × 20, complete, fixed true parameters),
each calibrated once; the share of nominal 95 % Wald intervals ``est ± 1.96 SE`` that cover the true
``a`` and ``b`` for the block and the louis SEs, with its binomial standard error, and the ratio of the
mean SE to the empirical SD of the estimates across replications.

Run:  .venv/bin/python benchmarks/bench_se.py [--reps 100] [--small]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from reading_tests._simulate import simulate
from reading_tests.calibration import calibrate


def best_of(n: int, func):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(n):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
        out = result
    return best, out


def cost_and_accuracy(n: int, k: int) -> None:
    rng = np.random.default_rng(2022)
    a, b = rng.uniform(0.6, 2.4, k), rng.normal(0, 1, k)
    theta = rng.normal(size=n)
    for model in ("2pl", "3pl"):
        c = np.full(k, 0.2) if model == "3pl" else None
        data = simulate(rng, theta, a, b, c)
        res = {}
        for se in ("none", "block", "louis", "full"):
            seconds, r = best_of(
                2 if se != "full" else 1, lambda se=se, data=data, model=model: calibrate(data, model, se=se)
            )
            res[se] = (seconds, r)
        base = res["block"][0]
        print(f"\n{model.upper()} {n} × {k}: seconds (ratio to the old default 'block')")
        for se, (seconds, r) in res.items():
            line = f"  se={se:6s} {seconds:7.2f} s  ×{seconds / base:5.2f}"
            if se in ("block", "louis"):
                ref = res["full"][1].params
                for par in ("se_a", "se_b", "se_c"):
                    x, y = getattr(r.params, par), getattr(ref, par)
                    if np.all(np.isnan(y)):
                        continue
                    q = x / y
                    line += f"  {par}/exact med {np.median(q):.4f} [{q.min():.4f}, {q.max():.4f}]"
            print(line)


def coverage(reps: int, n: int, k: int) -> None:
    rng = np.random.default_rng(7)
    a, b = rng.uniform(0.6, 2.4, k), rng.normal(0, 1, k)
    est = {m: {"a": [], "b": [], "se_a": [], "se_b": []} for m in ("block", "louis")}
    start = time.perf_counter()
    for _ in range(reps):
        data = simulate(rng, rng.normal(size=n), a, b)
        for m in ("block", "louis"):
            p = calibrate(data, "2pl", se=m).params  # type: ignore[arg-type]
            for key in ("a", "b", "se_a", "se_b"):
                est[m][key].append(getattr(p, key))
    elapsed = time.perf_counter() - start
    print(f"\nCoverage of 95 % Wald intervals, 2PL {n} × {k}, {reps} replications ({elapsed:.0f} s)")
    for m, e in est.items():
        for par, truth in (("a", a), ("b", b)):
            x, s = np.array(e[par]), np.array(e["se_" + par])
            cover = np.abs(x - truth) <= 1.96 * s
            share = float(cover.mean())
            se_share = float(np.sqrt(share * (1 - share) / cover.size))
            sd_ratio = np.median(s.mean(axis=0) / x.std(axis=0, ddof=1))
            print(
                f"  se={m:5s} {par}: coverage {share:.3f} ± {se_share:.3f}  "
                f"median mean-SE / empirical SD {sd_ratio:.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--small", action="store_true", help="1,000 × 40 and 20 replications (development)")
    args = parser.parse_args()
    if args.small:
        cost_and_accuracy(1000, 40)
        coverage(20, 1000, 20)
    else:
        cost_and_accuracy(5000, 80)
        coverage(args.reps, 1000, 20)


if __name__ == "__main__":
    main()
