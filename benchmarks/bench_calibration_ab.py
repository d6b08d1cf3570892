"""Benchmark: calibration time of this tree against a baseline tree (e.g. main), in the same run.

Each case is timed (best of 3, default options: ``calibrate(data, model)`` with ``se="auto"``) by a child
process started in the tree with ``PYTHONPATH`` = the tree (``-c`` puts the working directory
first); baseline and this tree alternate per case so that machine load hits both alike.  Prints
seconds and the ratio this ÷ baseline.

Cases: A 2PL 50,000 × 200 sparse (20–30 answers each); B 2PL 20,000 × 100 complete; C 3PL 20,000 × 100
complete; D 2PL 5,000 × 80 complete (SweSAT-sized: the SE default changed from per-item blocks to Louis).

Run:  .venv/bin/python benchmarks/bench_calibration_ab.py --baseline /work/main
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np
import reading_tests
from reading_tests._simulate import simulate
from reading_tests.calibration import calibrate
from reading_tests.io import ResponseData

case = sys.argv[1]
rng = np.random.default_rng(2026)
if case == "A":
    n, k = 50_000, 200
    a, b = rng.uniform(0.6, 2.2, k), rng.normal(0, 1, k)
    theta = rng.normal(size=n)
    rows, cols = [], []
    for i in range(n):
        items = rng.choice(k, rng.integers(20, 31), replace=False)
        rows.extend([i] * items.size)
        cols.extend(items.tolist())
    rows, cols = np.array(rows), np.array(cols)
    p = 1 / (1 + np.exp(-a[cols] * (theta[rows] - b[cols])))
    x = np.full((n, k), np.nan)
    x[rows, cols] = (rng.random(rows.size) < p).astype(float)
    data, model = ResponseData.from_dense(x), "2pl"
else:
    n, k, model = {"B": (20_000, 100, "2pl"), "C": (20_000, 100, "3pl"), "D": (5_000, 80, "2pl")}[case]
    a, b = rng.uniform(0.6, 2.2, k), rng.normal(0, 1, k)
    data = simulate(rng, rng.normal(size=n), a, b)
best = float("inf")
for _ in range(3):
    start = time.perf_counter()
    result = calibrate(data, model)
    best = min(best, time.perf_counter() - start)
print(json.dumps({"seconds": best, "module": reading_tests.__file__, "iters": result.n_iter}))
"""


def run(tree: Path, case: str) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, case], env=env, cwd=tree, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--baseline", type=Path, required=True, help="Tree holding the baseline reading_tests"
    )
    parser.add_argument("--cases", default="ABCD")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    print(f"load average (1 min) {os.getloadavg()[0]:.2f}; baseline {args.baseline}")
    print("case  baseline s  this s  ratio this/baseline")
    for case in args.cases:
        base = run(args.baseline, case)
        this = run(here, case)
        assert str(args.baseline) in str(base["module"]) and str(here) in str(this["module"])
        ratio = float(this["seconds"]) / float(base["seconds"])  # type: ignore[arg-type]
        print(f"{case:4s}  {base['seconds']:10.2f}  {this['seconds']:6.2f}  {ratio:6.2f}")


if __name__ == "__main__":
    main()
