"""The first assignment of a design in a fresh worker process: exposure-control calibration computed vs read
from the shared cache (issue 22: ~0.9 s per worker and design).

Usage: ``.venv/bin/python benchmarks/bench_exposure_cache.py [--rounds R] [--max-items N]``

Each round starts two fresh processes, alternating which goes first: ``cold`` with an empty cache
directory (calibrates by simulation and stores the result, as the first worker does) and ``warm`` with
the directory a cold process filled (as every other worker then does).  Each process loads the item bank
(timed apart) and then builds the Sympson–Hetter design of an adaptive test for a class of 小5 — the part
of the teacher's first 「配る」 that the cache removes.  Prints median and range; no assertions, no database.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_test_start import load_average

CHILD = """
import json, sys, time
from lms.reading import authoring, delivery
from lms.reading.models import Assessment

started = time.perf_counter()
delivery.item_bank()
bank_s = time.perf_counter() - started
test = Assessment(title="t", kind="cat", min_items={min_items}, max_items={max_items})
started = time.perf_counter()
authoring.delivery_of(test, "P5").new_attempt_design()
print(json.dumps({{"bank": bank_s, "design": time.perf_counter() - started}}))
"""


def run(cache: Path, min_items: int, max_items: int) -> dict[str, float]:
    env = {**os.environ, "GIGA_EXPOSURE_CACHE_DIR": str(cache)}
    code = CHILD.format(min_items=min_items, max_items=max_items)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-items", type=int, default=5)
    parser.add_argument("--max-items", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"cold": [], "warm": [], "bank": []}
    loads = [load_average()]
    for round_no in range(args.rounds):
        with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as filled:
            run(Path(filled), args.min_items, args.max_items)  # the first worker, not timed
            order = ("cold", "warm") if round_no % 2 == 0 else ("warm", "cold")
            for variant in order:
                result = run(Path(empty if variant == "cold" else filled), args.min_items, args.max_items)
                times[variant].append(result["design"])
                times["bank"].append(result["bank"])
    loads.append(load_average())
    print(
        f"first adaptive design ({args.min_items}–{args.max_items} items, 小5) in a fresh process, "
        f"{args.rounds} rounds alternating"
    )
    for variant, values in times.items():
        print(
            f"  {variant:>5}: median {statistics.median(values) * 1000:7.1f} ms "
            f"(range {min(values) * 1000:6.1f}–{max(values) * 1000:6.1f})"
        )
    cold, warm = statistics.median(times["cold"]), statistics.median(times["warm"])
    print(f"  cold/warm {cold / warm:5.1f}×; load average at start {loads[0]}, end {loads[1]}")


if __name__ == "__main__":
    main()
