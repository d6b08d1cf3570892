"""Estimate the images' sizes without building them: the installed size of every locked package (measured
in the project's venv, which holds the same versions) plus the base image and the Debian packages added.

    .venv/bin/python docker/estimate_sizes.py

Estimates, not measurements: ``docker image ls`` after a build is the real number. Assumed: the base
python:3.11-slim-bookworm unpacks to about 125 MB; Debian packages count with their Installed-Size (from
``apt-cache show`` when available, else the figure written below); __pycache__ folders are not counted (the
Dockerfiles delete them); a compressed registry layer is typically 30–40 % of these sizes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE_MB = 125.0
#: Debian packages added to the runtime stage, with Installed-Size in KiB measured on bookworm
APT = {
    "lms": {"postgresql-client-15": 8615, "libpq5": 950, "postgresql-client-common": 200},
    "hub": {},
    "student": {"fonts-morisawa-bizud-gothic": 18197, "tini": 731},
}
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==", re.MULTILINE)


def installed_kib(package: str) -> int:
    """Apt's Installed-Size of ``package`` on this machine, or the recorded figure."""
    try:
        shown = subprocess.run(["apt-cache", "show", package], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    match = re.search(r"^Installed-Size: (\d+)", shown.stdout, re.MULTILINE)
    return int(match.group(1)) if match else 0


def distribution_bytes(name: str) -> int | None:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    total = 0
    for file in dist.files or []:
        if "__pycache__" in file.parts:
            continue
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def estimate(image: str) -> tuple[float, float, float, list[str]]:
    lock = (HERE / "requirements" / f"{image}.txt").read_text(encoding="utf-8")
    names = _PIN.findall(lock)
    python_bytes, unknown = 0, []
    for name in names:
        size = distribution_bytes(name)
        if size is None:
            unknown.append(name)
        else:
            python_bytes += size
    apt_kib = sum(installed_kib(p) or kib for p, kib in APT[image].items())
    project = 0.0
    if image == "lms":  # the project itself: sources, item bank, the WOFF2 font subset
        root = HERE.parent
        project = sum(
            f.stat().st_size
            for folder in ("lms", "reading_tests", "hub_config")
            for f in (root / folder).rglob("*")
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".ttf"
        )
    return python_bytes / 1e6, apt_kib * 1024 / 1e6, project / 1e6, unknown


def main() -> int:
    print(f"{'image':<10}{'python pkgs':>13}{'apt':>8}{'project':>9}{'base':>7}{'total (est.)':>14}")
    for image in ("lms", "hub", "student"):
        python_mb, apt_mb, project_mb, unknown = estimate(image)
        total = python_mb + apt_mb + project_mb + BASE_MB
        print(
            f"{image:<10}{python_mb:>11.0f}MB{apt_mb:>6.0f}MB{project_mb:>7.0f}MB{BASE_MB:>5.0f}MB{total:>12.0f}MB"
        )
        if unknown:
            print(f"  not installed here, not counted: {', '.join(unknown)}", file=sys.stderr)
    print("hub-k8s   = quay.io/jupyterhub/k8s-hub (chart's image) + nbgrader and Notebook, not estimated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
