"""The honest-scores benchmark runs end to end in its quick mode (its numbers are not asserted here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_honest_scores.py"


def test_quick_benchmark_prints_every_table() -> None:
    env = {**os.environ, "BENCH_QUICK": "1"}
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for heading in ("Per skill", "Growth claims", "Disengagement", "Exposure", "items repeated"):
        assert heading in done.stdout
    assert "items repeated from test 1 in test 2 (exclusion set): 0" in done.stdout
