"""The closed-network build (docker/base/) changes images, never the city: with the local-build variables of
docker/base/local-images.env compose describes the same services, ports, volumes, networks, healthchecks and
dependencies as with the published-image defaults; only image names (and the Python base) differ. Also: the
legacy builder's context file (.dockerignore) equals every per-Dockerfile one."""

from __future__ import annotations

import re
from typing import Any

from tests.deploy.support import CITY_ENV, DOCKER, ROOT, compose_document

LOCAL_IMAGES = DOCKER / "base" / "local-images.env"
PUBLISHED = {
    "postgres": "postgres:15-bookworm",
    "proxy": "quay.io/jupyterhub/configurable-http-proxy:5.3.0",
    "docker-api": "tecnativa/docker-socket-proxy:0.3.0",
    "caddy": "caddy:2.8-alpine",
}


def local_variables() -> dict[str, str]:
    pairs = (
        line.split("=", 1) for line in LOCAL_IMAGES.read_text().splitlines() if re.match(r"^[A-Z_]+=", line)
    )
    return dict(pairs)


def without_images(document: dict[str, Any]) -> dict[str, Any]:
    services = {}
    for name, service in document["services"].items():
        rest = {key: value for key, value in service.items() if key != "image"}
        if "build" in rest:
            rest["build"] = {key: value for key, value in rest["build"].items() if key != "args"}
        services[name] = rest
    extensions = {key for key in document if key.startswith("x-")}  # the anchors, merged into services
    return {**{k: v for k, v in document.items() if k not in extensions}, "services": services}


def test_local_variables_select_only_images() -> None:
    variables = local_variables()
    assert set(variables) == {
        "GIGA_PYTHON_IMAGE",
        "GIGA_POSTGRES_IMAGE",
        "GIGA_CADDY_IMAGE",
        "GIGA_PROXY_IMAGE",
        "GIGA_DOCKER_API_IMAGE",
    }
    published = compose_document(CITY_ENV)
    local = compose_document({**CITY_ENV, **variables})
    assert without_images(published) == without_images(local)
    assert set(published["services"]) == set(local["services"])
    for name, image in PUBLISHED.items():
        assert published["services"][name]["image"] == image
        assert local["services"][name]["image"].startswith("giga-local/"), name
    for name in ("lms", "migrate", "backup", "hub"):
        assert (
            published["services"][name]["image"] == local["services"][name]["image"]
        )  # built here either way
        assert published["services"][name]["build"]["args"] == {"PYTHON_IMAGE": "python:3.11-slim-bookworm"}
        assert local["services"][name]["build"]["args"] == {"PYTHON_IMAGE": variables["GIGA_PYTHON_IMAGE"]}


def test_every_local_image_has_a_dockerfile_in_docker_base() -> None:
    build = (DOCKER / "base" / "build.sh").read_text()
    for variable, image in local_variables().items():
        if variable == "GIGA_PYTHON_IMAGE":
            assert "debian-python:3.11-" in image
            continue
        name = image.split("/", 1)[1].split(":")[0]
        assert (DOCKER / "base" / f"{name}.Dockerfile").is_file(), name
        assert f"$REGISTRY/{image.split('/', 1)[1]}" in build, image


def test_the_legacy_builders_context_is_the_per_dockerfile_one() -> None:
    def rules(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]

    root = rules((ROOT / ".dockerignore").read_text())
    for ignore in DOCKER.glob("*.Dockerfile.dockerignore"):
        assert rules(ignore.read_text()) == root, ignore.name
