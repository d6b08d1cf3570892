"""A design's Sympson–Hetter calibration is computed once and shared by every process (issue 22)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from lms.reading import exposure_cache

# A fresh process: builds a 6-item adaptive design's exposure control and reports how often the simulation
# ran and the parameters it ended with.
CHILD = textwrap.dedent(
    """
    import json
    from lms.reading import authoring, delivery

    calls = []
    original = delivery.calibrate_sympson_hetter

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    delivery.calibrate_sympson_hetter = counted
    from lms.reading.models import Assessment

    test = Assessment(title="t", kind="cat", skills=["REP"], min_items=4, max_items=6)
    design = authoring.delivery_of(test, "P5").new_attempt_design()
    print(json.dumps({"calls": len(calls), "k": design.exposure.sh_parameters.tolist()}))
    """
)


def _run_child(cache: Path) -> dict[str, object]:
    env = {**os.environ, "GIGA_EXPOSURE_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_second_process_reads_the_calibration_instead_of_computing_it(tmp_path: Path) -> None:
    first = _run_child(tmp_path)
    second = _run_child(tmp_path)
    assert first["calls"] == 1 and second["calls"] == 0
    assert first["k"] == second["k"]
    assert [p.suffix for p in tmp_path.iterdir() if p.suffix == ".json"] == [".json"]


def test_a_damaged_or_foreign_file_is_recomputed_and_replaced(tmp_path: Path) -> None:
    key = exposure_cache.cache_key("design-1", {"r_max": 0.25})
    calls: list[int] = []

    def compute() -> list[float]:
        calls.append(1)
        return [0.5, 1.0, 0.25]

    (tmp_path / f"{key}.json").write_text("{half a file", encoding="utf-8")
    assert exposure_cache.shared_parameters(tmp_path, key, 3, compute) == [0.5, 1.0, 0.25]
    assert exposure_cache.shared_parameters(tmp_path, key, 3, compute) == [0.5, 1.0, 0.25]
    assert len(calls) == 1
    # the same file under another key (another design or setting) or of another length is not used
    other = exposure_cache.cache_key("design-1", {"r_max": 0.3})
    assert other != key
    (tmp_path / f"{other}.json").write_text((tmp_path / f"{key}.json").read_text(), encoding="utf-8")
    assert exposure_cache.shared_parameters(tmp_path, other, 3, compute) == [0.5, 1.0, 0.25]
    assert exposure_cache.shared_parameters(tmp_path, key, 4, compute) == [0.5, 1.0, 0.25]
    assert len(calls) == 3


def test_the_key_changes_with_the_engines_code(monkeypatch: Any) -> None:
    key = exposure_cache.cache_key("design-3", {"r_max": 0.25})
    monkeypatch.setattr(exposure_cache, "engine_version", lambda: "another-engine")
    assert exposure_cache.cache_key("design-3", {"r_max": 0.25}) != key


def test_an_unwritable_directory_only_costs_the_computation(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    key = exposure_cache.cache_key("design-2", {})
    assert exposure_cache.shared_parameters(blocker / "cache", key, 1, lambda: [0.75]) == [0.75]
