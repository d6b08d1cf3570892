"""What a student server's start costs in the container tiers (issue 22, notebook start): the student image
ships compiled bytecode (its uid cannot write the venv) and every tier puts the lazy ``rfc3987_syntax`` first
on ``PYTHONPATH``. Checked against what the production code generates; no Docker engine needed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.configurer import HUB_CONFIG_DIR, LAZY_IMPORTS_DIR, configure_spawner
from hub_config.docker_mode import (
    IMAGE_HUB_CONFIG,
    IMAGE_PYTHONPATH,
    ContainerSettings,
    apply_docker,
)
from hub_config.kubernetes import apply_kubernetes
from hub_config.settings import HubSettings
from tests.deploy.test_dockerfiles import IMAGES, instructions


def runtime_steps(image: str = "student") -> list[tuple[str, str]]:
    steps = instructions(IMAGES[image])
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def image_env() -> dict[str, str]:
    """The runtime stage's ``ENV`` settings (``KEY=value`` pairs)."""
    env: dict[str, str] = {}
    for word, args in runtime_steps():
        if word == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    return env


@pytest.mark.parametrize("image", ["student", "hub"])  # the hub image runs each course's formgrader
def test_the_image_compiles_bytecode_after_removing_the_build_caches(image: str) -> None:
    steps = instructions(IMAGES[image])
    install = next(args for word, args in steps if word == "RUN" and "--require-hashes" in args)
    removal = install.index("-name '__pycache__'")
    compile_venv = install.index("-m compileall")
    assert removal < compile_venv, "the caches are removed, then compiled afresh"
    assert "/opt/venv/lib" in install[compile_venv:]
    # no timestamps to check at each start: the image never changes its sources
    assert "--invalidation-mode unchecked-hash" in install[compile_venv:]
    runtime = runtime_steps(image)
    copy_at = runtime.index(("COPY", f"hub_config {IMAGE_HUB_CONFIG}"))
    assert any(
        word == "RUN" and "-m compileall" in args and str(IMAGE_HUB_CONFIG) in args
        for word, args in runtime[copy_at:]
    ), "hub_config (copied without __pycache__) is compiled in the image too"
    users = [i for i, (word, _) in enumerate(runtime) if word == "USER"]
    compiles = [i for i, (word, args) in enumerate(runtime) if word == "RUN" and "compileall" in args]
    assert max(compiles) < min(users), "compiled as root, before the image drops to uid 1000"


def test_every_tier_puts_the_lazy_import_first(tmp_path: Path) -> None:
    settings = HubSettings(mode="test", state_dir=tmp_path, is_root=False, courses=("a1-prog",))
    local = Config()
    configure_spawner(local, settings)
    assert Path(local.Spawner.environment["PYTHONPATH"].split(":")[0]) == LAZY_IMPORTS_DIR
    docker = apply_docker(Config(), settings, ContainerSettings(), "6.1.1", "s" * 32)
    kube = apply_kubernetes(Config(), settings, ContainerSettings(), "6.1.1")
    for environment in (docker.DockerSpawner.environment, kube.KubeSpawner.environment):
        assert environment["PYTHONPATH"] == IMAGE_PYTHONPATH
    first, rest = IMAGE_PYTHONPATH.split(":")
    # the image's copy of this repository's hub_config: the same shim at the same relative place
    assert Path(first) == IMAGE_HUB_CONFIG / LAZY_IMPORTS_DIR.relative_to(HUB_CONFIG_DIR)
    assert (LAZY_IMPORTS_DIR / "rfc3987_syntax" / "__init__.py").is_file()
    assert rest == str(IMAGE_HUB_CONFIG.parent)  # `import hub_config` (nbgrader's global configuration)
    assert image_env()["PYTHONPATH"] == IMAGE_PYTHONPATH  # the image's default, for a server started by hand


def test_unchecked_hash_bytecode_is_what_python_loads(tmp_path: Path) -> None:
    """The image's compile step, in small: the module runs from the bytecode compileall wrote (the source
    changed afterwards is not looked at), so a start never compiles."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("WHERE = 'compiled'\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(package)],
        check=True,
    )
    (package / "__init__.py").write_text("WHERE = 'source'\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-B", "-c", "import pkg; print(pkg.WHERE)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "compiled"
