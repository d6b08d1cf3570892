"""The images docker/base/build.sh makes from Debian packages present the same interface as the published
images they stand in for: ports, volumes, user, entrypoint and the environment the city relies on. The
published images' values are recorded from their Dockerfiles (no registry here to inspect them); the
platform's own images keep their HEALTHCHECK and numeric user. Sizes are printed."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.deploy_stack.stack import LOCAL_IMAGES, read_env

# From the published images' Dockerfiles: postgres:15-bookworm (docker-library/postgres), caddy:2.8-alpine
# (caddyserver/caddy-docker), quay.io/jupyterhub/configurable-http-proxy:5.3.0, tecnativa/docker-socket-proxy.
PUBLISHED: dict[str, dict[str, Any]] = {
    "GIGA_POSTGRES_IMAGE": {
        "ports": {"5432/tcp"},
        "volumes": {"/var/lib/postgresql/data"},
        "stop_signal": "SIGINT",
        "env": {"PGDATA": "/var/lib/postgresql/data"},
        "commands": ["pg_isready", "psql", "pg_dump"],
    },
    "GIGA_CADDY_IMAGE": {
        "ports": {"80/tcp", "443/tcp", "443/udp", "2019/tcp"},
        "volumes": {"/config", "/data"},
        "env": {"XDG_CONFIG_HOME": "/config", "XDG_DATA_HOME": "/data"},
        "cmd": ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"],
        "commands": ["caddy"],
    },
    "GIGA_PROXY_IMAGE": {
        "ports": {"8000/tcp", "8001/tcp"},
        "volumes": set(),
        "user": "65534",
        "commands": ["configurable-http-proxy"],
    },
    "GIGA_DOCKER_API_IMAGE": {
        "ports": {"2375/tcp"},
        "volumes": set(),
        "env": {
            "CONTAINERS": "0",
            "IMAGES": "0",
            "NETWORKS": "0",
            "VOLUMES": "0",
            "POST": "0",
            "VERSION": "1",
        },
        "commands": ["haproxy"],
    },
}


def inspect(image: str) -> dict[str, Any]:
    out = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout)[0])


@pytest.mark.parametrize("variable", sorted(PUBLISHED))
def test_a_local_image_offers_what_the_published_one_does(variable: str) -> None:
    image = read_env(LOCAL_IMAGES)[variable]
    config = inspect(image)["Config"]
    expected = PUBLISHED[variable]
    assert set(config.get("ExposedPorts") or {}) == expected["ports"]
    assert set(config.get("Volumes") or {}) == expected["volumes"]
    if "user" in expected:
        assert config["User"] == expected["user"]
    if "stop_signal" in expected:
        assert config["StopSignal"] == expected["stop_signal"]
    if "cmd" in expected:
        assert config["Cmd"] == expected["cmd"]
    env = dict(line.split("=", 1) for line in config["Env"])
    for key, value in expected.get("env", {}).items():
        assert env.get(key) == value, key
    for command in expected["commands"]:
        found = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "sh", image, "-c", f"command -v {command}"],
            capture_output=True,
            text=True,
        )
        assert found.returncode == 0, f"{image} lacks {command}"


@pytest.mark.parametrize(("name", "user"), [("lms", "10001"), ("hub", "10002"), ("student", "1000")])
def test_the_platform_images_keep_their_healthcheck_and_user(name: str, user: str) -> None:
    config = inspect(f"giga/{name}:0.1.0")["Config"]
    assert config["User"] == user
    assert config["Healthcheck"]["Test"][0] == "CMD"


def test_print_the_image_sizes() -> None:
    out = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}\t{{.Size}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line for line in out.splitlines() if line.startswith(("giga/", "giga-local/"))]
    assert len(lines) >= 8, lines
    print("\n".join(["deploy-stack image sizes:", *lines]))
