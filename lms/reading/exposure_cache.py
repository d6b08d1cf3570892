"""Sympson–Hetter parameters computed once per design and shared by every process, on disk (issue 22).

Calibrating a design's exposure control by simulation costs ~0.9 s on this machine, and every worker
process paid it for every design at its first assignment — the wait a teacher still met.  The calibration
is deterministic (fixed seed), so its result is a pure function of the design (its fingerprint covers the
items' parameters, the stopping rule, content balancing) and of the calibration's settings: it is stored as
``<directory>/<key>.json`` and read by every other process.  An exclusive lock on ``<key>.lock`` makes a
second process that asks at the same moment wait for the first one's result instead of computing it too;
the file is written to a temporary name and renamed, so a reader never sees half of it.

A missing, unreadable or inconsistent file (another version, a wrong length) is recomputed and replaced;
a directory that cannot be written only costs the computation, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import reading_tests.cat
import reading_tests.irt

logger = logging.getLogger("lms.reading.exposure_cache")

FORMAT = 1  # bump when what is stored changes shape


@lru_cache(maxsize=1)
def engine_version() -> str:
    """A digest of the CAT engine's source (``reading_tests.cat`` and ``reading_tests.irt``): a change to
    any of it makes every stored result a stranger (recomputed), so an improved simulation is never shadowed
    by parameters an older one left on disk."""
    files = [*sorted(Path(reading_tests.cat.__file__).parent.rglob("*.py")), Path(reading_tests.irt.__file__)]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(design_fingerprint: str, settings: Mapping[str, Any]) -> str:
    """The file name's key: the design, every setting of the calibration, the engine's code, `FORMAT`."""
    text = json.dumps(
        {"design": design_fingerprint, "format": FORMAT, "engine": engine_version(), **settings},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def shared_parameters(
    directory: Path | None,
    key: str,
    size: int,
    compute: Callable[[], list[float]],
) -> list[float]:
    """The ``size`` parameters stored under ``key`` in ``directory``, else ``compute()``d once and stored."""
    if directory is None:
        return compute()
    path = directory / f"{key}.json"
    stored = _read(path, key, size)
    if stored is not None:
        return stored
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with _exclusive(directory / f"{key}.lock"):
            stored = _read(path, key, size)  # computed by another process while we waited
            if stored is not None:
                return stored
            values = compute()
            _write(path, key, values)
            return values
    except OSError as error:
        logger.warning(
            "exposure-control cache %s not usable (%s): computing in this process", directory, error
        )
        return compute()


def _read(path: Path, key: str, size: int) -> list[float] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        values = [float(v) for v in data["parameters"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if data.get("key") != key or len(values) != size or not all(math.isfinite(v) for v in values):
        return None
    return values


def _write(path: Path, key: str, values: list[float]) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps({"key": key, "parameters": values}), encoding="utf-8")
    os.replace(partial, path)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a", encoding="utf-8") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, at worst two processes compute the same values
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
