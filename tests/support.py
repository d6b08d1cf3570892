"""What a test needs from the machine: skip on a developer's machine that lacks it, fail in CI.

.ci/run installs every such thing (chromium, the font, axe-core, ralph, root for the sandbox), so in CI
(``CI`` set, as the CI runner does, or ``GIGA_TEST_STRICT=1``) a missing one is a failure, never a skip:
a skipped test proves nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"


def strict() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("GIGA_TEST_STRICT") == "1"


def missing(reason: str) -> NoReturn:
    """Skip with ``reason`` on a developer's machine; fail with it in CI."""
    if strict():
        pytest.fail(f"{reason} — .ci/run installs it, so CI must not skip", pytrace=False)
    pytest.skip(reason)


def require_axe() -> Path:
    """The axe-core script for accessibility checks (``make node`` installs it)."""
    if not AXE.is_file():
        missing("axe-core is not installed (make node, or npm ci in the repository root)")
    return AXE
