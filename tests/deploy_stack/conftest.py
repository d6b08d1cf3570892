"""The running city (docker/compose.yaml on a Docker engine): `make test-deploy` only.

`make test` leaves this folder out (it needs an engine, root and the images of docker/base/build.sh);
GIGA_DEPLOY_STACK=1 lets it run.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy_stack.stack import City, hosts_on_loopback, write_env

collect_ignore_glob = [] if os.environ.get("GIGA_DEPLOY_STACK") == "1" else ["test_*.py"]

SEED = Path(__file__).with_name("seed_city.py")


def seed(city: City) -> dict[str, Any]:
    out = city.exec("lms", "python", "-", input=SEED.read_text())
    return dict(json.loads(out.strip().splitlines()[-1]))


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    tmp = tmp_path_factory.mktemp("city")
    env_file = tmp / "city.env"
    env = write_env(env_file)
    stack = City(env_file=env_file, env=env, tmp=tmp)
    stack.down(volumes=True)  # a stack left over from an interrupted run
    with hosts_on_loopback():
        try:
            stack.timings["up → healthy (fresh volumes)"] = stack.up()
            started = time.monotonic()
            stack.seed = seed(stack)
            stack.timings["seed"] = time.monotonic() - started
            yield stack
        finally:
            if os.environ.get("GIGA_DEPLOY_KEEP") != "1":
                stack.down(volumes=True)
            for name, seconds in stack.timings.items():
                print(f"deploy-stack timing: {name}: {seconds:.1f} s")


def images_report() -> str:
    out = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(line for line in out.splitlines() if line.startswith(("giga", "giga-local")))
