"""Disclosure control of a release: protect + audit time against building the unprotected tables.

Usage: ``.venv/bin/python benchmarks/bench_disclosure.py [--pupils N] [--skills K] [--runs R]``

Cases (generated microdata, lms/board/disclosure_cases.py): the demo city (723 pupils), the hard case of
issue 14 (779 pupils, a school with grades of 4, 9, 11 = 8 + 3, 12, 14 and 6), and a city of ``N`` pupils
(default 14,000: 28 schools and three small branch schools).  For each, in the same run:

- baseline: ``build_release`` with every protection off (the exact tables everyone used to see);
- protect: ``build_release`` with the protection on (suppression, rounding, shares, histograms);
- audit: ``audit_release`` — every attack (LP bounds, integer programs for narrow cells, linear algebra);
- the audit of the unprotected release, which must find leaks (else the attack proves nothing).

Prints seconds (best of R) and the ratios (protect / baseline, protect + audit / baseline).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from lms.board.disclosure import Microdata, Protection, build_release
from lms.board.disclosure_audit import audit_release
from lms.board.disclosure_cases import ALL_SKILLS, demo_city, hard_case, large_city


def best(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(name: str, frame: Microdata, runs: int) -> None:
    base, _ = best(lambda: build_release(frame, Protection.off()), runs)
    protect, release = best(lambda: build_release(frame), runs)
    audit, report = best(lambda: audit_release(release, frame), 1)
    open_report = audit_release(build_release(frame, Protection.off()), frame)
    hidden = sum(g.hidden for g in release.groups.values())
    print(
        f"{name:<10} pupils {frame.size:>6}  cells {len(release.cells):>4}  hidden {hidden:>3}  "
        f"baseline {base:7.3f}s  protect {protect:7.3f}s ({protect / base:4.1f}×)  "
        f"audit {audit:7.2f}s ({report.lp_solved} LP, {report.ip_solved} IP)  "
        f"protect+audit {(protect + audit) / base:6.1f}×  leaks {len(report.leaks)}  "
        f"leaks if unprotected {len(open_report.leaks)} {open_report.kinds()}"
    )
    if report.leaks or not open_report.leaks:
        raise SystemExit(f"{name}: the audit did not behave (protected {report.kinds()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=14_000)
    parser.add_argument("--skills", type=int, default=len(ALL_SKILLS), help="skills per release (1–8)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    skills = ALL_SKILLS[: max(1, min(args.skills, len(ALL_SKILLS)))]
    print(f"skills: {', '.join(skills)}")
    measure("demo", demo_city(skills=skills), args.runs)
    measure("hard", hard_case(skills=skills), args.runs)
    measure("city", large_city(args.pupils, skills=skills), args.runs)


if __name__ == "__main__":
    main()
