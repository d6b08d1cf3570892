"""The import-linter contracts of `make lint` hold on the tree, and break on a deliberately wrong import.

Each wrong import is added to a copy of the packages in a temporary folder (the checkout is never touched).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", root)
    ignore = shutil.ignore_patterns("__pycache__", "static", "templates", "*.yaml", "*.csv", "*.json")
    for package in ("lms", "reading_tests", "hub_config"):
        shutil.copytree(ROOT / package, root / package, ignore=ignore)
    return root


def _with_line(path: Path, line: str) -> str:
    original = path.read_text(encoding="utf-8")
    path.write_text(original + f"\n{line}\n", encoding="utf-8")
    return original


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("lms/core/jst.py", "import lms.reading.models", "layers: app | cli -> domains -> core"),
        ("lms/reading/results.py", "import lms.cli", "layers: app | cli -> domains -> core"),
        ("lms/reading/answers.py", "import hub_config.settings", "lms talks to the hub over HTTP only"),
        ("reading_tests/scoring.py", "import hub_config.settings", "reading_tests is a pure library"),
        ("hub_config/settings.py", "import lms.core.jst", "hub_config talks to the LMS over HTTP only"),
    ],
)
def test_a_wrong_import_breaks_its_contract(tree: Path, module: str, line: str, contract: str) -> None:
    path = tree / module
    original = _with_line(path, line)
    try:
        result = _lint(tree)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(row.startswith(contract) for row in broken), broken


def test_the_tree_keeps_every_contract(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
