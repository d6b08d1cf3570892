"""Benchmark: one CAT step on a 1,000-item pool, ours against catsim measured in the same run.

A step is what a live server does when an answer arrives: update θ̂ and choose the next item.

* ours: ``CatSession.record`` (EAP on an 81-point grid, one vector add) + ``CatSession.next_item``
  (maximum information at θ̂ with maximum-priority-index content balancing over 7 skills × 5 genres and
  randomesque exposure control, k = 5; a second run uses Sympson–Hetter calibrated for r_max = 0.25);
* catsim 0.21: ``NumericalSearchEstimator.estimate`` (its default bounded MLE, with Dodd's rule for
  all-correct/all-wrong patterns; catsim has no EAP) + ``RandomesqueSelector.select`` (bin size 5;
  catsim has no content balancing, so it does less work than we do).

Each simulee is run one at a time, as a live request would run; timings per step with
``perf_counter_ns`` (wall clock).  The CPU time of the thread (``thread_time_ns``) is printed too: on a
shared machine the wall-clock p99 includes preemptions by other processes (a 4 ms scheduler tick),
which the CPU time excludes; the load average is printed to show when that happens.
Targets (DESIGN §11 and the issue): median ≤ 50 µs and ≥ 15× faster than catsim.

Run: ``python benchmarks/bench_cat_step.py [--simulees N] [--catsim-simulees M]``
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from reading_tests.cat import CatDesign, CatPool, CatSession, ExposureControl, calibrate_sympson_hetter
from reading_tests.cat.simulation import GENRES, SKILLS, random_pool

POOL_SIZE = 1000
TEST_LENGTH = 20


def _answer(bank: CatPool, i: int, theta: float, u: float) -> int:
    p = bank.c[i] + (1.0 - bank.c[i]) / (1.0 + math.exp(-bank.a[i] * (theta - bank.b[i])))
    return int(u < p)


def time_ours(design: CatDesign, thetas: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-step wall and CPU nanoseconds of record + next_item over whole sessions."""
    rng = np.random.default_rng(seed)
    steps: list[int] = []
    cpu: list[int] = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for j, theta in enumerate(thetas.tolist()):
        session = CatSession.start(design, seed=seed + j)
        item = session.next_item()
        while item is not None:
            x = _answer(design.bank, design.bank.index[item], theta, float(rng.random()))
            cpu_start = cpu_clock()
            start = clock()
            session.record(item, x)
            item = session.next_item()
            steps.append(clock() - start)
            cpu.append(cpu_clock() - cpu_start)
    return np.asarray(steps), np.asarray(cpu)


def time_catsim(bank: CatPool, thetas: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-step wall and CPU nanoseconds of catsim's estimator + selector, one simulee at a time."""
    from catsim.estimation import NumericalSearchEstimator
    from catsim.item_bank import CatPool as CatsimBank
    from catsim.selection import RandomesqueSelector

    peer = CatsimBank(np.column_stack([bank.a, bank.b, bank.c, np.ones(bank.size)]))
    estimator = NumericalSearchEstimator()
    selector = RandomesqueSelector(bin_size=5)
    rng = np.random.default_rng(seed)
    steps: list[int] = []
    cpu: list[int] = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for theta in thetas.tolist():
        administered: list[int] = []
        responses: list[bool] = []
        est = 0.0
        item = _index(
            selector.select(item_bank=peer, administered_items=administered, est_theta=est, rng=rng)
        )
        while True:
            x = bool(_answer(bank, item, theta, float(rng.random())))
            cpu_start = cpu_clock()
            start = clock()
            administered.append(item)
            responses.append(x)
            est = estimator.estimate(
                item_bank=peer, administered_items=administered, response_vector=responses, est_theta=est
            )
            nxt = None
            if len(administered) < TEST_LENGTH:
                nxt = _index(
                    selector.select(item_bank=peer, administered_items=administered, est_theta=est, rng=rng)
                )
            steps.append(clock() - start)
            cpu.append(cpu_clock() - cpu_start)
            if nxt is None:
                break
            item = nxt
    return np.asarray(steps), np.asarray(cpu)


def _index(item: int | None) -> int:
    if item is None:
        raise RuntimeError("catsim ran out of items")
    return int(item)


def _report(name: str, timings: tuple[np.ndarray, np.ndarray]) -> float:
    wall, cpu = (x / 1e3 for x in timings)
    median = float(np.median(wall))
    print(
        f"{name:55s} median {median:8.1f} µs  p99 {np.percentile(wall, 99):8.1f} µs  "
        f"| CPU median {np.median(cpu):8.1f} µs  p99 {np.percentile(cpu, 99):8.1f} µs  | steps {wall.size}"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulees", type=int, default=500)
    parser.add_argument("--catsim-simulees", type=int, default=50)
    args = parser.parse_args()

    bank = random_pool(POOL_SIZE, seed=2024, guessing=0.25)
    content = {
        "skill": {s: 1 / len(SKILLS) for s in SKILLS},
        "genre": {g: 1 / len(GENRES) for g in GENRES},
    }
    thetas = np.random.default_rng(1).standard_normal(args.simulees)
    rq = CatDesign.build(
        bank, max_items=TEST_LENGTH, exposure="randomesque", randomesque_k=5, content=content
    )
    calibration = calibrate_sympson_hetter(rq, 0.25, n_simulees=500, max_iterations=10, seed=2)
    sh = rq.with_exposure(
        ExposureControl.build("sympson-hetter", bank=bank, sh_parameters=calibration.parameters)
    )
    plain = CatDesign.build(bank, max_items=TEST_LENGTH)

    time_ours(rq, thetas[:50], seed=0)  # warm-up
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"CAT step on a {POOL_SIZE}-item 3PL pool, {TEST_LENGTH}-item tests, one simulee at a time")
    print(f"load average {load} on {os.cpu_count()} CPUs (wall-clock p99 suffers when the load exceeds them)")
    ours = _report("ours: EAP + MFI + content balancing + randomesque(5)", time_ours(rq, thetas, seed=10))
    _report("ours: EAP + MFI + content balancing + Sympson–Hetter", time_ours(sh, thetas, seed=20))
    _report("ours: EAP + MFI (no constraints)", time_ours(plain, thetas, seed=30))
    peer = _report(
        "catsim 0.21: bounded MLE + RandomesqueSelector(5)",
        time_catsim(bank, thetas[: args.catsim_simulees], seed=40),
    )
    print(f"ratio catsim / ours (median): {peer / ours:.1f}×   (target ≥ 15×; ours target ≤ 50 µs)")


if __name__ == "__main__":
    main()
