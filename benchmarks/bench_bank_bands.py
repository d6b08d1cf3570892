"""Benchmark: adaptive tests per grade band on the shipped bank with its provisional parameters.

For each band (P1-2 … J1-3) and length L = 15 and 20 (:func:`reading_tests.cat.band_study.study_band`):
RMSE of θ̂ (± bootstrap SE), items never used, maximum exposure with Sympson–Hetter (± binomial SE), the
share of a second test a term later (θ + 0.15) that the student has already seen (± SE), and that second
test's RMSE with repeats allowed and without repeats (the LMS's no-repeat window), with the share of
no-repeat retests the pool could not fill.  The baseline, measured in the same run, is a random L-item
test from the same pool (randomesque over the whole pool): the ratio ``RMSE_CAT / RMSE_random`` shows
what adaptivity buys on this pool.  By default drafts count as if reviewed (the bank once its drafts pass
review); ``--deliverable`` keeps only what a test may deliver today.

Run: ``python benchmarks/bench_bank_bands.py [--simulees N] [--bank DIR] [--params CSV] [--deliverable]
[--pilot] [--bands P1-2,J1-3] [--lengths 15,20]``
The bank's band and pool come from the item files; the parameters from ``bank/params.csv``.  Items newer
than that file have none: run ``giga items pilot --write`` first, or pass ``--pilot`` to run the same
simulated pilot in memory for this benchmark only (nothing is written; ~1–3 min).
Development runs: ``--simulees 200 --bands P3-4 --lengths 15`` takes well under a minute.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from reading_tests.cat.band_study import HEADER, band_pool, study_band
from reading_tests.cat.session import CatDesign
from reading_tests.cat.simulation import simulate
from reading_tests.io import read_params
from reading_tests.items import BANDS, DELIVERABLE_STATUSES, load_bank
from reading_tests.pilot import PARAMS_PATH, band_population, run_pilot


def random_test_rmse(params, ids, band: str, length: int, simulees: int, seed: int) -> float:  # type: ignore[no-untyped-def]
    bank = band_pool(params, ids)
    mean, sd = band_population(band)
    design = CatDesign.build(
        bank,
        max_items=length,
        min_items=length,
        exposure="randomesque",
        randomesque_k=bank.size,
        prior_mean=mean,
        prior_sd=sd,
    )
    theta = mean + sd * np.random.default_rng(seed).standard_normal(simulees)
    result = simulate(design, theta, seed=seed + 1)
    return float(np.sqrt(np.mean((result.theta_hat - result.theta) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulees", type=int, default=1000)
    parser.add_argument("--bank", type=Path, default=None)
    parser.add_argument("--params", type=Path, default=PARAMS_PATH)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--pilot",
        action="store_true",
        help="simulate the pilot in memory when items lack parameters (nothing written)",
    )
    parser.add_argument("--bands", default=",".join(BANDS), help="comma-separated grade bands")
    parser.add_argument("--lengths", default="15,20", help="comma-separated test lengths")
    parser.add_argument(
        "--deliverable",
        action="store_true",
        help="only items a test may deliver (reviewed, pilot, operational); default: all but retired, "
        "i.e. the bank once its drafts pass review",
    )
    args = parser.parse_args()
    bank = load_bank(args.bank)
    params = read_params(args.params)
    missing = [i.id for i in bank if i.id not in params.index]
    if missing and args.pilot:
        print(f"{len(missing)} items without parameters: simulated pilot in memory (seed 20240601)")
        start = time.perf_counter()
        params = run_pilot(bank).params
        print(f"pilot: {time.perf_counter() - start:.0f} s")
    elif missing:
        raise SystemExit(
            f"{len(missing)} items have no parameters (e.g. {missing[0]}): run giga items pilot --write, "
            "or pass --pilot"
        )
    bands = [b.strip() for b in args.bands.split(",") if b.strip()]
    unknown = [b for b in bands if b not in BANDS]
    if unknown:
        raise SystemExit(f"unknown band {unknown[0]}: use {', '.join(BANDS)}")
    lengths = [int(x) for x in args.lengths.split(",") if x.strip()]
    statuses = set(DELIVERABLE_STATUSES) if args.deliverable else {"draft", *DELIVERABLE_STATUSES}
    print(f"statuses: {', '.join(sorted(statuses))}")
    print(f"bank: {len(bank)} items; {args.simulees} simulees per band and length; seed {args.seed}")
    print(HEADER + "\tRMSE random test\tratio\tseconds")
    for band in bands:
        ids = [i.id for i in bank.filter(band=band, pool="test") if i.status in statuses]
        for length in lengths:
            if len(ids) < length:
                print(f"{band}\t{length}\t{len(ids)}\t(too few test items)")
                continue
            start = time.perf_counter()
            row = study_band(params, ids, band=band, length=length, simulees=args.simulees, seed=args.seed)
            baseline = random_test_rmse(params, ids, band, length, args.simulees, args.seed)
            seconds = time.perf_counter() - start
            print(f"{row.row()}\t{baseline:.3f}\t{row.rmse / baseline:.2f}\t{seconds:.1f}")


if __name__ == "__main__":
    main()
