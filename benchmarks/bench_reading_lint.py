"""Benchmark: `giga items validate` with the reading lint on an 800-item bank, against validation alone.

The shipped items are copied under new ids up to ``--items`` (default 840, a city bank) into a temporary
folder; we time, in the same run, schema validation alone (the baseline) and validation plus the reading
lint (counters, analyser re-suggestion, SudachiDict second opinion), with the per-text caches cleared
before each item so that repeated texts do not flatter the lint.  Target (issue 17): seconds, not minutes.

Run: ``python benchmarks/bench_reading_lint.py [--items N]``
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import tempfile
import time
from pathlib import Path
from statistics import median

from reading_tests import readings
from reading_tests.items import default_bank_path, item_files, validate_path
from reading_tests.text import load_overrides


def make_bank(root: Path, size: int) -> int:
    """About ``size`` items: the shipped ones, copied under new ids as often as needed."""
    files = item_files(default_bank_path())
    copies = max(1, math.ceil(size / len(files)))
    stride = 100 * math.ceil((1 + max(int(f.stem.rsplit("-", 1)[1]) for f in files)) / 100)
    if copies * stride > 1000:
        raise SystemExit(f"{copies} copies do not fit three-digit ids; ask for fewer items")
    n = 0
    for file in files:
        text = file.read_text(encoding="utf-8")
        skill, number = file.stem.rsplit("-", 1)
        for k in range(copies):
            new_id = f"{skill}-{int(number) + stride * k:03d}"
            target = root / skill / f"{new_id}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(
                re.sub(r"^id: .*$", f"id: {new_id}", text, count=1, flags=re.M), encoding="utf-8"
            )
            n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=840, help="bank size to lint (the shipped items copied)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of baseline and lint")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bank800-"))
    try:
        n = make_bank(root, args.items)
        overrides, exceptions = load_overrides(), readings.load_exceptions()
        bases: list[float] = []
        totals: list[float] = []
        findings: list[readings.Finding] = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            validate_path(root)
            bases.append(time.perf_counter() - start)
            # every copy repeats a shipped text, so the per-text caches are cleared before each item:
            # the time of 840 distinct items, not of 140 items and 700 cache hits
            start = time.perf_counter()
            report = validate_path(root)
            findings = []
            for item in report.items:
                readings.dictionary_readings.cache_clear()
                readings._suggested.cache_clear()
                findings += readings.lint_item(item, overrides=overrides, exceptions=exceptions)
            totals.append(time.perf_counter() - start)
        errors = sum(1 for f in findings if f.severity == "error")
        warnings = len(findings) - errors
        print(f"{n} items ({len(report.items)} valid); findings: {errors} errors, {warnings} warnings")
        print(f"validate alone: {_spread(bases)}; validate + reading lint: {_spread(totals)}")
        ratios = [t / b for t, b in zip(totals, bases, strict=True)]
        lint_ms = 1000 * (median(totals) - median(bases)) / n
        print(f"ratio per run: {_spread(ratios, unit='x')}; the lint per item: {lint_ms:.1f} ms")
    finally:
        shutil.rmtree(root)


def _spread(values: list[float], unit: str = " s") -> str:
    """Median and range over the runs (the machine is shared: the range is the honest uncertainty)."""
    return f"{median(values):.2f}{unit} (range {min(values):.2f}–{max(values):.2f}, {len(values)} runs)"


if __name__ == "__main__":
    main()
