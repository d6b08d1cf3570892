"""docker/compose.yaml for a city: parses, follows the Compose specification (the JSON schema that
check-jsonschema ships), references only what it defines, keeps secrets out, and agrees with hub_config."""

from __future__ import annotations

import importlib.resources
import json
import os
import re
from typing import Any

import jsonschema
import pytest

from hub_config.docker_mode import HUB_PORT, PUBLIC_PORT, ContainerSettings
from hub_config.settings import HubSettings
from tests.deploy.support import CITY_ENV, COMPOSE, DOCKER, ROOT, compose_document, interpolate

SECRET_NAMES = re.compile(r"PASSWORD|SECRET|TOKEN|KEY")


def compose_schema() -> dict[str, Any]:
    schema = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    loaded: dict[str, Any] = json.loads(schema.read_text(encoding="utf-8"))
    return loaded


def undefined_references(doc: dict[str, Any]) -> list[str]:
    """Every service, network and volume that a service names must be defined (`docker compose config`)."""
    services = doc.get("services", {})
    networks, volumes = set(doc.get("networks") or {}), set(doc.get("volumes") or {})
    problems = []
    for name, service in services.items():
        depends = service.get("depends_on", {})
        for other in depends if isinstance(depends, (dict, list)) else []:
            if other not in services:
                problems.append(f"{name}: depends_on {other}")
        used = service.get("networks", [])
        for network in used if isinstance(used, (dict, list)) else []:
            if network not in networks:
                problems.append(f"{name}: network {network}")
        for mount in service.get("volumes", []):
            source = mount.split(":")[0] if isinstance(mount, str) else mount.get("source", "")
            if source and not source.startswith(("/", ".", "~")) and source not in volumes:
                problems.append(f"{name}: volume {source}")
    return problems


@pytest.fixture(scope="module")
def city() -> dict[str, Any]:
    return compose_document(CITY_ENV)


def test_the_compose_file_follows_the_compose_specification(city: dict[str, Any]) -> None:
    jsonschema.validate(city, compose_schema())


def test_the_schema_check_is_live(city: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(city))
    broken["services"]["lms"]["restart_policy"] = "always"  # not a service key (it lives under deploy:)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, compose_schema())


def test_services_reference_only_defined_services_networks_and_volumes(city: dict[str, Any]) -> None:
    assert undefined_references(city) == []
    broken = json.loads(json.dumps(city))
    broken["services"]["lms"]["networks"].append("nowhere")
    broken["services"]["hub"]["depends_on"]["ghost"] = {"condition": "service_started"}
    assert undefined_references(broken) == ["lms: network nowhere", "hub: depends_on ghost"]


def test_a_missing_secret_stops_compose_with_a_message() -> None:
    env = dict(CITY_ENV)
    del env["GIGA_SECRET_KEY"]
    with pytest.raises(KeyError, match=r"set GIGA_SECRET_KEY in docker/\.env"):
        compose_document(env)


def test_no_secret_is_written_in_the_repository() -> None:
    raw = compose_document(None)
    for name, service in raw["services"].items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            if SECRET_NAMES.search(key):
                assert isinstance(value, str) and value.startswith("${"), f"{name}: {key} is written out"
    env_example = (DOCKER / "env.example").read_text(encoding="utf-8")
    for line in env_example.splitlines():
        key, _, value = line.partition("=")
        if SECRET_NAMES.search(key) and not line.startswith("#"):
            assert value == "", f"env.example must leave {key} empty"
    assert ".env" in (DOCKER / ".gitignore").read_text(encoding="utf-8").split()


def test_the_city_tier_has_its_parts(city: dict[str, Any]) -> None:
    services = city["services"]
    assert set(services) >= {"postgres", "migrate", "lms", "backup", "hub", "proxy", "caddy", "docker-api"}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert services["migrate"]["command"] == ["giga", "db", "upgrade"]
    assert services["lms"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert int(services["lms"]["environment"]["GIGA_WORKERS"]) >= 2
    assert "giga backup" in " ".join(services["backup"]["command"])
    assert "backups:/backups" in services["backup"]["volumes"]
    # only the reverse proxy is published; everything else is on internal networks
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"caddy"}
    assert city["networks"]["docker-api"]["internal"] is True
    assert "/var/run/docker.sock" not in json.dumps(services["hub"])  # the hub never holds the socket
    for name, service in services.items():
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: unpinned {image}"


def test_the_images_are_built_from_the_dockerfiles_here(city: dict[str, Any]) -> None:
    for name, service in city["services"].items():
        if "build" in service:
            context = (COMPOSE.parent / service["build"]["context"]).resolve()
            assert context == ROOT
            assert (context / service["build"]["dockerfile"]).is_file(), name


def test_the_caddyfile_proxies_to_services_that_exist(city: dict[str, Any]) -> None:
    caddyfile = (DOCKER / "Caddyfile").read_text(encoding="utf-8")
    upstreams = re.findall(r"reverse_proxy\s+([a-z0-9-]+):(\d+)", caddyfile)
    assert upstreams == [("lms", "8000"), ("proxy", "8000")]
    for host, port in upstreams:
        assert port in city["services"][host]["expose"]
        assert set(city["services"][host]["networks"]) & set(city["services"]["caddy"]["networks"])
    assert "tls {$GIGA_TLS}" in caddyfile and "respond /metrics 404" in caddyfile


def test_the_hub_environment_renders_with_docker_names_that_compose_creates(city: dict[str, Any]) -> None:
    env = {k: str(v) for k, v in city["services"]["hub"]["environment"].items()}
    settings, containers = HubSettings.from_env(env), ContainerSettings.from_env(env)
    assert settings.mode == "docker"
    assert containers.docker_network == city["networks"]["students"]["name"]
    assert containers.exchange_volume == city["volumes"]["exchange"]["name"]
    assert f"exchange:{settings.exchange_root}" in city["services"]["hub"]["volumes"]
    assert containers.image == interpolate("${GIGA_REGISTRY:-giga}/student:${GIGA_VERSION:-0.1.0}", {})
    assert containers.public_url == "https://hub.city.example.jp"
    # the LMS accepts exactly the callback the hub sends
    lms_env = city["services"]["lms"]["environment"]
    assert lms_env["GIGA_OAUTH_HUB_REDIRECT_URI"] == containers.callback_url
    assert settings.lms_url == "http://lms:8000"
    # the LMS calls the hub API and the formgraders' API (the grade pull, /services/<course>/…) through the
    # proxy, which routes both; the hub's own port serves /hub/ only
    proxy = city["services"]["proxy"]
    assert lms_env["GIGA_HUB_API_URL"] == f"http://proxy:{PUBLIC_PORT}/hub/api"
    assert f"--port={PUBLIC_PORT}" in proxy["command"]
    assert f"--default-target=http://{containers.connect_host}:{HUB_PORT}" in proxy["command"]
    assert set(city["services"]["lms"]["networks"]) & set(proxy["networks"])
    # the proxy reaches the hub and the students' servers on one network
    hub_networks, proxy_networks = (set(city["services"][n]["networks"]) for n in ("hub", "proxy"))
    assert "students" in hub_networks & proxy_networks


def test_the_formgraders_run_in_the_grader_container_that_only_the_hub_and_proxy_reach(
    city: dict[str, Any],
) -> None:
    services = city["services"]
    grader = services["grader"]
    hub_env = {k: str(v) for k, v in services["hub"]["environment"].items()}
    grader_env = {k: str(v) for k, v in grader["environment"].items()}
    # both sides derive the formgraders' tokens from one secret, and read the same course list and folders
    assert hub_env["GIGA_GRADER_SECRET"] == grader_env["GIGA_GRADER_SECRET"] == CITY_ENV["GIGA_GRADER_SECRET"]
    assert hub_env["GIGA_HUB_COURSES_FILE"] == grader_env["GIGA_HUB_COURSES_FILE"]
    # the course folders and the exchange, as the hub mounts them; never the hub's own state (its cookie
    # secret and database), which root in the grader could otherwise rewrite
    assert set(grader["volumes"]) == {"courses:/srv/jupyterhub/courses", "exchange:/srv/nbgrader/exchange"}
    assert set(grader["volumes"]) < set(services["hub"]["volumes"])
    assert not any(v.startswith("hub_state:") for v in grader["volumes"])
    assert os.path.dirname(grader_env["GIGA_HUB_COURSES_FILE"]) == "/srv/jupyterhub/courses"
    settings, containers = HubSettings.from_env(hub_env), ContainerSettings.from_env(hub_env)
    assert containers.grader_host == "grader"
    assert grader_env["GIGA_GRADER_HUB_API_URL"] == f"http://{containers.connect_host}:{HUB_PORT}/hub/api"
    assert HubSettings.from_env(grader_env).exchange_root == settings.exchange_root
    # reachable by the hub, the proxy and the LMS only: not the students' servers, not the database
    assert grader["networks"] == ["graders"] and city["networks"]["graders"]["internal"] is True
    reach = {name for name, s in services.items() if "graders" in s.get("networks", [])}
    assert reach == {"grader", "hub", "proxy", "lms"}
    # the one privileged container: what bubblewrap needs, no Docker socket, no database password
    assert set(grader["cap_add"]) == {"SYS_ADMIN", "NET_ADMIN"} and "privileged" not in grader
    assert "docker.sock" not in json.dumps(grader) and "GIGA_DATABASE_URL" not in grader_env
