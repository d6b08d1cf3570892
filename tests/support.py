"""What a test needs from the machine: a missing prerequisite fails the test, with what to install.

`make` and .ci/run install every such thing (chromium, the font, axe-core, ralph, root for the sandbox), so
a missing one is a failure, never a skip: a skipped test proves nothing.  To run a part of the suite on a
machine without them, select that part (``pytest tests/reading_tests``, ``-k``, ``-m``).
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import pytest

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"


def missing(reason: str) -> NoReturn:
    """Fail with ``reason`` (what is missing and how to install it)."""
    pytest.fail(f"{reason} — `make test` and .ci/run install it", pytrace=False)


def require_axe() -> Path:
    """The axe-core script for accessibility checks (``make node`` installs it)."""
    if not AXE.is_file():
        missing("axe-core is not installed (make node, or npm ci in the repository root)")
    return AXE
