"""What a test needs from the machine: a missing prerequisite fails the test, with what to install.

`make` and .ci/run install every such thing (chromium, the font, axe-core, ralph, root for the sandbox), so
a missing one is a failure, never a silent skip: a skipped test proves nothing.  A developer who knowingly
runs a part of the suite on a machine without them can set ``GIGA_TEST_ALLOW_MISSING=1`` to skip those
tests instead; CI (``CI`` set, or ``GIGA_TEST_STRICT=1``) ignores that and fails.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"


def may_skip_missing() -> bool:
    """Only an explicit opt-out outside CI turns a missing prerequisite into a skip."""
    in_ci = bool(os.environ.get("CI")) or os.environ.get("GIGA_TEST_STRICT") == "1"
    return not in_ci and os.environ.get("GIGA_TEST_ALLOW_MISSING") == "1"


def missing(reason: str) -> NoReturn:
    """Fail with ``reason`` (what is missing and how to install it); skip only when opted out."""
    if may_skip_missing():
        pytest.skip(f"{reason} (GIGA_TEST_ALLOW_MISSING=1)")
    pytest.fail(f"{reason} — `make test` and .ci/run install it", pytrace=False)


def require_axe() -> Path:
    """The axe-core script for accessibility checks (``make node`` installs it)."""
    if not AXE.is_file():
        missing("axe-core is not installed (make node, or npm ci in the repository root)")
    return AXE
