"""The image locks (docker/requirements/*.txt) pin, with hashes, every dependency the images need."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.deploy.support import LOCKS, ROOT

_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\],]+)==([^\s;\\]+)")


def pins(lock: Path) -> dict[str, Version]:
    """``name → version`` of a pip-compile/uv lock; every pin must carry at least one sha256 hash."""
    found: dict[str, Version] = {}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text(encoding="utf-8"))
    for block in blocks:
        match = _PIN.match(block)
        if not match:
            continue
        name = canonicalize_name(match.group(1).split("[")[0])
        assert "--hash=sha256:" in block, f"{lock.name}: {name} is pinned without a hash"
        found[name] = Version(match.group(2))
    return found


def requirements(lines: list[str]) -> list[Requirement]:
    return [Requirement(line) for line in lines]


def in_file(path: Path) -> list[Requirement]:
    lines = [line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return requirements([line for line in lines if line])


NOT_FOR_STUDENTS = ("scipy", "fastapi", "uvicorn", "jupyterhub-kubespawner", "dockerspawner", "pytest")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_lms_lock_covers_every_runtime_dependency_of_pyproject() -> None:
    locked = pins(LOCKS / "lms.txt")
    for requirement in requirements(PYPROJECT["project"]["dependencies"]):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"docker/requirements/lms.txt lacks {name}: run docker/requirements/compile.sh"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"lms.txt pins {name}=={locked[name]}, outside pyproject's {requirement.specifier}"
        )


@pytest.mark.parametrize("image", ["hub", "student"])
def test_the_hub_and_student_locks_cover_their_inputs_within_the_hub_extra(image: str) -> None:
    locked = pins(LOCKS / f"{image}.txt")
    hub_extra = {
        canonicalize_name(r.name): r
        for r in requirements(PYPROJECT["project"]["optional-dependencies"]["hub"])
    }
    for requirement in in_file(LOCKS / f"{image}.in"):
        name = canonicalize_name(requirement.name)
        assert name in locked, (
            f"docker/requirements/{image}.txt lacks {name}: run docker/requirements/compile.sh"
        )
        if name in hub_extra:  # the same versions as the hub extra that the test suite runs
            assert hub_extra[name].specifier.contains(locked[name], prereleases=True), (
                f"{image}.txt pins {name}=={locked[name]}, not in the hub extra's {hub_extra[name].specifier}"
            )


def test_the_student_image_stays_lean() -> None:
    """No server-side or test tooling in the image that 40 students start at once."""
    locked = pins(LOCKS / "student.txt")
    for heavy in NOT_FOR_STUDENTS:
        assert heavy not in locked, f"{heavy} does not belong in the student image"
    for needed in (
        "notebook",
        "nbgrader",
        "pandas",
        "matplotlib",
        "jupyterhub",
        "jupyterlab-language-pack-ja-jp",
    ):
        assert needed in locked


def test_a_pin_without_a_hash_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "bad.txt"
    lock.write_text("numpy==2.0.0\n    # via pandas\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="without a hash"):
        pins(lock)


def third_party_imports(*folders: str) -> dict[str, set[str]]:
    """Top-level modules imported anywhere in ``folders`` that are neither stdlib nor the project's own."""
    own = {"lms", "reading_tests", "hub_config"}
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in own:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_everything_the_lms_code_imports_is_in_the_lms_image() -> None:
    """A module imported by lms/ or reading_tests/ but missing from lms.txt would crash the container."""
    locked = pins(LOCKS / "lms.txt")
    providers = packages_distributions()
    for module, files in third_party_imports("lms", "reading_tests").items():
        distributions = {canonicalize_name(d) for d in providers.get(module, [])}
        assert distributions, f"{module} (imported by {sorted(files)[0]}) is not installed at all"
        assert distributions & set(locked), (
            f"{module} (imported by {sorted(files)[0]}) is not in docker/requirements/lms.txt: "
            "add it to pyproject.toml (or lms.in) and run docker/requirements/compile.sh"
        )
