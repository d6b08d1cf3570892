"""Third-party browser code served from lms/static/vendor is the npm package's file, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import missing

ROOT = Path(__file__).resolve().parents[2]


def test_jsqr_copy_is_the_pinned_npm_release() -> None:
    package = ROOT / "node_modules" / "jsqr"
    if not (package / "dist" / "jsQR.js").is_file():
        missing("jsqr is not installed (make node, or npm ci in the repository root)")
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["jsqr"]
    assert json.loads((package / "package.json").read_text())["version"] == pinned
    served = ROOT / "lms" / "static" / "vendor"
    assert (served / "jsQR.js").read_bytes() == (package / "dist" / "jsQR.js").read_bytes(), "run make vendor"
    assert (served / "LICENSE-jsQR.txt").read_bytes() == (package / "LICENSE").read_bytes()
