"""The hub configuration renders for the city (GIGA_HUB_MODE=docker) and the prefecture (kubernetes):
``hub_config/jupyterhub_config.py`` loaded by JupyterHub's own config loader, then the spawners built from it
(no Docker engine, no cluster: KubeSpawner's test mode, a kube-config that points nowhere)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest
import yaml
from jupyterhub.app import JupyterHub
from traitlets.config import Config

from hub_config.configurer import (
    LEAN_SERVER_ARGS,
    START_TIMEOUT_S,
    STUDENT_DEFAULT_URL,
    configure_spawner,
    student_server_args,
)
from hub_config.docker_mode import IMAGE_HUB_CONFIG, ContainerSettings
from hub_config.grader_host import service_token
from hub_config.kubernetes import apply_kubernetes
from hub_config.settings import HubSettings, HubSettingsError
from tests.deploy.support import CITY_ENV, KUBERNETES, ROOT, compose_document

CONFIG_FILE = ROOT / "hub_config" / "jupyterhub_config.py"
STUDENT = SimpleNamespace(name="s-e1-2", id=7, url="/user/s-e1-2/")
GIGA_VARIABLES = ("GIGA_HUB_", "GIGA_OAUTH_", "GIGA_NBGRADER_", "GIGA_ENVIRONMENT", "CONFIGPROXY_AUTH_TOKEN")


def load(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Config:
    """What ``jupyterhub -f hub_config/jupyterhub_config.py`` would load with exactly ``env``."""
    for name in list(os.environ):
        if name.startswith(GIGA_VARIABLES):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = JupyterHub()
    app.load_config_file(str(CONFIG_FILE))
    config: Config = app.config
    return config


def compose_hub_env(tmp_path: Path) -> dict[str, str]:
    env = {k: str(v) for k, v in compose_document(CITY_ENV)["services"]["hub"]["environment"].items()}
    env["GIGA_HUB_STATE_DIR"] = str(tmp_path / "hub")  # the container's /srv/jupyterhub
    env["GIGA_HUB_COURSES"] = "a1-prog"  # as hub_config.provision leaves in courses.json
    return env


def values_hub_env(tmp_path: Path) -> dict[str, str]:
    values = yaml.safe_load((KUBERNETES / "jupyterhub-values.yaml").read_text(encoding="utf-8"))
    env = {k: ("s" * 48 if isinstance(v, dict) else str(v)) for k, v in values["hub"]["extraEnv"].items()}
    env["GIGA_HUB_STATE_DIR"] = str(tmp_path / "giga")
    env["GIGA_HUB_COURSES"] = "a1-prog,j2-data"
    return env


# ---- city: DockerSpawner ----


def test_docker_mode_renders_with_the_compose_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    c = load(monkeypatch, compose_hub_env(tmp_path))
    assert c.JupyterHub.spawner_class == "dockerspawner.DockerSpawner"
    assert c.JupyterHub.hub_bind_url == "http://0.0.0.0:8081"
    assert c.JupyterHub.hub_connect_url == "http://hub:8081"
    assert c.ConfigurableHTTPProxy.should_start is False
    assert c.ConfigurableHTTPProxy.api_url == "http://proxy:8001"
    assert c.GenericOAuthenticator.oauth_callback_url == "https://hub.city.example.jp/hub/oauth_callback"
    assert c.GenericOAuthenticator.authorize_url == "https://lms.city.example.jp/oauth/authorize"
    assert c.GenericOAuthenticator.token_url == "http://lms:8000/api/v1/oauth/token"
    assert c.JupyterHub.authenticator_class == "oauthenticator.generic.GenericOAuthenticator"
    assert c.Spawner.cmd == ["jupyterhub-singleuser", *student_server_args(IMAGE_HUB_CONFIG)]
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert "idle-culler" in services
    # the course's formgrader runs in the grader container (root, for the autograde sandbox): an external
    # service there, with the token the grader container derives from the same secret
    assert services["a1-prog"] == {
        "name": "a1-prog",
        "url": "http://grader:9100",
        "api_token": service_token(CITY_ENV["GIGA_GRADER_SECRET"], "a1-prog"),
        "oauth_no_confirm": True,
    }


def test_docker_mode_refuses_a_missing_grader_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = compose_hub_env(tmp_path)
    env["GIGA_GRADER_SECRET"] = "short"
    with pytest.raises(HubSettingsError, match="GIGA_GRADER_SECRET must be a random value"):
        load(monkeypatch, env)


def test_the_docker_spawner_accepts_the_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dockerspawner import DockerSpawner

    spawner = DockerSpawner(config=load(monkeypatch, compose_hub_env(tmp_path)), user=STUDENT)
    assert spawner.image == "giga/student:0.1.0"
    assert spawner.network_name == "giga_students" and spawner.use_internal_ip is True
    assert spawner.mem_limit == 1024**3 and spawner.cpu_limit == 1.0  # "1G" as Docker reads it
    assert spawner.extra_host_config["mem_reservation"] == "512M"
    assert spawner.extra_host_config["cap_drop"] == ["ALL"]
    binds = spawner.volume_binds
    assert binds["giga_exchange"]["bind"] == "/srv/nbgrader/exchange"
    home = next(name for name, bind in binds.items() if bind["bind"] == "/home/jovyan")
    assert home.startswith("giga-home-s-") and home != "giga-home-{username}"  # one volume per student
    assert spawner.environment["GIGA_NBGRADER_EXCHANGE"] == "/srv/nbgrader/exchange"
    # the container's command: lean, Japanese Notebook 7 opened at the file browser, as on one machine
    assert spawner.cmd == ["jupyterhub-singleuser", *student_server_args(IMAGE_HUB_CONFIG)]
    assert spawner.default_url == STUDENT_DEFAULT_URL
    # every container runs as jovyan: nbgrader must file each submission under the hub's user name
    assert spawner.environment["GIGA_NBGRADER_STUDENT_IS_HUB_USER"] == "1"
    # what DockerSpawner hands to the Docker API: the SDK's HostConfig refuses unknown or ill-typed options
    from docker.types import HostConfig

    host = HostConfig(version="1.44", mem_limit=spawner.mem_limit, binds=binds, **spawner.extra_host_config)
    assert host["MemoryReservation"] == 512 * 1024**2 and host["Memory"] == 1024**3
    assert host["PidsLimit"] == 512 and "giga_exchange:/srv/nbgrader/exchange:rw" in host["Binds"]


# ---- prefecture: KubeSpawner ----


def test_kubernetes_mode_renders_with_the_helm_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    c = load(monkeypatch, values_hub_env(tmp_path))
    assert c.JupyterHub.spawner_class == "kubespawner.KubeSpawner"
    k = c.KubeSpawner
    assert (k.mem_guarantee, k.mem_limit, k.cpu_guarantee, k.cpu_limit) == ("512M", "1G", 0.05, 1.0)
    assert k.image == "registry.example.jp/giga/student:0.1.0"
    assert k.start_timeout == START_TIMEOUT_S
    assert c.GenericOAuthenticator.oauth_callback_url == "https://hub.pref.example.jp/hub/oauth_callback"
    assert c.GenericOAuthenticator.token_url == "http://giga-lms/api/v1/oauth/token"
    # Zero to JupyterHub owns the hub's addresses, database, proxy and culler: none of them is touched
    for trait in ("hub_bind_url", "db_url", "bind_url"):
        assert trait not in c.JupyterHub
    assert "ConfigurableHTTPProxy" not in c
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert "idle-culler" not in services
    assert (
        services["a1-prog"]["url"] == "http://hub:9100" and "--ip=0.0.0.0" in services["a1-prog"]["command"]
    )
    assert services["j2-data"]["cwd"] == str(tmp_path / "giga" / "courses" / "j2-data")


def test_our_services_and_roles_join_those_of_zero_to_jupyterhub() -> None:
    c = Config()
    c.JupyterHub.services = [{"name": "jupyterhub-idle-culler", "command": ["python3", "-m", "culler"]}]
    c.JupyterHub.load_roles = [{"name": "jupyterhub-idle-culler", "services": ["jupyterhub-idle-culler"]}]
    settings = HubSettings(mode="kubernetes", courses=("a1-prog",), service_token="t" * 48, is_root=False)
    apply_kubernetes(c, settings, ContainerSettings(), "5.3.0")
    services = {s["name"] for s in c.JupyterHub.services}
    roles = {r["name"] for r in c.JupyterHub.load_roles}
    assert services == {"jupyterhub-idle-culler", "giga-lms", "a1-prog"}
    assert {"jupyterhub-idle-culler", "giga-lms", "formgrade-a1-prog", "nbgrader-a1-prog", "server"} <= roles
    assert "user" in roles  # JupyterHub 5.x: list:services for everyone through the user role


def test_the_student_pod_that_kubespawner_builds_is_a_valid_kubernetes_pod(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kubernetes_asyncio.client import ApiClient
    from kubespawner import KubeSpawner

    kubeconfig = tmp_path / "kubeconfig"  # KubeSpawner builds a client at start-up; it is never used here
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
                "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
                "current-context": "none",
                "users": [{"name": "none", "user": {"token": "none"}}],
            }
        ),
        encoding="utf-8",
    )
    from kubernetes_asyncio.config import kube_config

    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    config = load(monkeypatch, values_hub_env(tmp_path))

    async def manifest() -> dict[str, Any]:
        spawner = KubeSpawner(config=config, user=STUDENT, _mock=True)
        pod = await spawner.get_pod_manifest()
        await spawner.api.api_client.close()  # the client KubeSpawner opened at start-up, never used here
        async with ApiClient() as client:
            body: dict[str, Any] = client.sanitize_for_serialization(pod)
        return body

    pod = asyncio.run(manifest())
    kubernetes_validate.validate(pod, "1.37.0", strict=True)
    container = pod["spec"]["containers"][0]
    # KubeSpawner reads M and G as binary units: 512M → 512 MiB
    assert container["resources"]["requests"] == {"cpu": 0.05, "memory": 512 * 1024**2}
    assert container["resources"]["limits"] == {"cpu": 1.0, "memory": 1024**3}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/home/jovyan"] == "home" and mounts["/srv/nbgrader/exchange"] == "nbgrader-exchange"
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]}
    assert claims == {"home": "claim-s-e1-2", "nbgrader-exchange": "giga-nbgrader-exchange"}
    assert pod["spec"]["securityContext"]["fsGroup"] == 100
    assert container["securityContext"]["runAsUser"] == 1000
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # lean, Japanese Notebook 7 as on one machine; KubeSpawner appends only hub-specific options
    command = container["args"]
    assert command[: 1 + len(student_server_args())] == [
        "jupyterhub-singleuser",
        *student_server_args(IMAGE_HUB_CONFIG),
    ]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["JUPYTERHUB_DEFAULT_URL"] == STUDENT_DEFAULT_URL


# ---- one source of truth for the student server: every tier ----


def test_every_tier_starts_the_same_lean_japanese_notebook(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    local = Config()
    configure_spawner(local, HubSettings(mode="local", state_dir=tmp_path, is_root=False))
    docker = load(monkeypatch, compose_hub_env(tmp_path))
    kube = load(monkeypatch, values_hub_env(tmp_path)).KubeSpawner
    commands = [local.Spawner.cmd, docker.Spawner.cmd, kube.cmd]
    for command in commands:
        assert command[0].endswith("jupyterhub-singleuser")
        assert command[1 : 1 + len(LEAN_SERVER_ARGS)] == list(LEAN_SERVER_ARGS)
    (local_dir, docker_dir, kube_dir) = (Path(cmd[-1].split("=", 1)[1]) for cmd in commands)
    assert commands[0][-1].startswith("--JupyterNotebookApp.app_settings_dir=")
    assert docker_dir == kube_dir == IMAGE_HUB_CONFIG / "jupyter_data" / "lab" / "settings"
    # the image's folder is this repository's folder, copied: the same override file
    assert local_dir == ROOT / "hub_config" / "jupyter_data" / "lab" / "settings"
    overrides = json.loads((local_dir / "overrides.json").read_text(encoding="utf-8"))
    assert overrides["@jupyterlab/translation-extension:plugin"]["locale"] == "ja_JP"
    assert [local.Spawner.default_url, docker.Spawner.default_url, kube.default_url] == [
        STUDENT_DEFAULT_URL
    ] * 3
    values = yaml.safe_load((KUBERNETES / "jupyterhub-values.yaml").read_text(encoding="utf-8"))
    assert values["singleuser"]["defaultUrl"] == STUDENT_DEFAULT_URL  # the Helm values say the same


def test_the_student_image_holds_the_settings_extensions_and_the_language_pack() -> None:
    dockerfile = (ROOT / "docker" / "student.Dockerfile").read_text(encoding="utf-8")
    assert f"COPY hub_config {IMAGE_HUB_CONFIG}\n" in dockerfile
    ignore = (ROOT / "docker" / "student.Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert "!hub_config" in ignore and not any(rule.endswith(".json") for rule in ignore)
    # the kernel spec and the Assignments-tab extension come from the image's copy of hub_config/jupyter_data
    assert f"JUPYTER_PATH={IMAGE_HUB_CONFIG / 'jupyter_data'}" in dockerfile
    lock = (ROOT / "docker" / "requirements" / "student.txt").read_text(encoding="utf-8")
    assert "\njupyterlab-language-pack-ja-jp==" in lock


# ---- bad settings: one sentence naming the variable ----


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GIGA_HUB_MEM_LIMIT": "lots"}, "GIGA_HUB_MEM_LIMIT must be a size"),
        ({"GIGA_HUB_MEM_GUARANTEE": "2G", "GIGA_HUB_MEM_LIMIT": "1G"}, "must not be larger than"),
        ({"GIGA_HUB_CPU_LIMIT": "one"}, "GIGA_HUB_CPU_LIMIT must be a number"),
        ({"GIGA_HUB_CPU_GUARANTEE": "-1"}, "must be more than 0"),
        ({"GIGA_HUB_PUBLIC_URL": "hub.city.example.jp"}, "GIGA_HUB_PUBLIC_URL must start with https://"),
    ],
)
def test_a_bad_container_setting_names_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(HubSettingsError, match=message):
        ContainerSettings.from_env(env)


def test_the_mode_switch_names_the_tiers() -> None:
    assert HubSettings.from_env({"GIGA_HUB_MODE": "kubernetes"}).mode == "kubernetes"
    with pytest.raises(HubSettingsError, match=r"'docker' \(a city"):
        HubSettings.from_env({"GIGA_HUB_MODE": "swarm"})
