"""The prefecture tier without a cluster: the LMS manifests (rendered by kubectl's built-in kustomize) and the
KubeSpawner pod validate against the Kubernetes JSON schemas shipped in kubernetes-validate, the objects refer
to each other correctly, and the Zero to JupyterHub values agree with what hub_config renders from them.

Helm is not used (nor installed): the z2jh chart itself is not in any package registry, so its values are
checked by the focused tests below, not by the chart's own values.schema.json."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from hub_config.docker_mode import ContainerSettings, _bytes
from tests.deploy.support import KUBERNETES, tool, yaml_documents

#: the oldest and the newest Kubernetes versions whose schemas kubernetes-validate ships
VERSIONS = ("1.29.0", "1.37.0")
VALUES = KUBERNETES / "jupyterhub-values.yaml"


def kustomize(folder: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="module")
def lms() -> list[dict[str, Any]]:
    return kustomize(KUBERNETES / "lms")


@pytest.fixture(scope="module")
def hub_storage() -> list[dict[str, Any]]:
    return kustomize(KUBERNETES / "hub")


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(VALUES.read_text(encoding="utf-8"))
    return loaded


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in documents if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def test_the_lms_has_its_objects(lms: list[dict[str, Any]]) -> None:
    kinds = sorted(d["kind"] for d in lms)
    assert kinds == [
        "ConfigMap",
        "CronJob",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Job",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "Service",
    ]
    assert {d["metadata"]["namespace"] for d in lms} == {"giga"}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(
    version: str, lms: list[dict[str, Any]], hub_storage: list[dict[str, Any]]
) -> None:
    for document in [*lms, *hub_storage]:
        kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_is_live(lms: list[dict[str, Any]]) -> None:
    deployment = by_kind(lms, "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_the_lms_objects_refer_to_each_other(lms: list[dict[str, Any]]) -> None:
    deployment, service = by_kind(lms, "Deployment"), by_kind(lms, "Service")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.jp/giga/lms:0.1.0"
    assert {p["name"] for p in container["ports"]} >= {service["spec"]["ports"][0]["targetPort"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns the replica count"
    hpa = by_kind(lms, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    ingress = by_kind(lms, "Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    assert ingress["spec"]["tls"][0]["secretName"]
    pdb = by_kind(lms, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_migration_job_backup_and_pods_use_the_external_database_secret(lms: list[dict[str, Any]]) -> None:
    config = by_kind(lms, "ConfigMap")["metadata"]["name"]
    job = by_kind(lms, "Job")["spec"]["template"]["spec"]
    cron = by_kind(lms, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    web = by_kind(lms, "Deployment")["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["giga", "db", "upgrade"]
    assert cron["containers"][0]["command"][:2] == ["giga", "backup"]
    claim = by_kind(lms, "PersistentVolumeClaim")["metadata"]["name"]
    assert {"name": "backups", "persistentVolumeClaim": {"claimName": claim}} in cron["volumes"]
    for pod in (job, cron, web):
        container = pod["containers"][0]
        sources = {next(iter(s)): next(iter(s.values()))["name"] for s in container["envFrom"]}
        assert sources == {"configMapRef": config, "secretRef": "giga-lms-secrets"}
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert "limits" in container["resources"]
    # no secret values in the repository: the Secret is created by the operator
    assert not [d for d in lms if d["kind"] == "Secret"]
    assert "DATABASE_URL" not in yaml.safe_dump(by_kind(lms, "ConfigMap"))


# ---- Zero to JupyterHub values ----

#: the keys these values use, each present in the z2jh 4.x chart reference (values.schema.yaml)
Z2JH_KEYS = {
    "hub": {
        "image", "db", "extraEnv", "extraConfig", "extraVolumes", "extraVolumeMounts", "service",
        "networkPolicy", "resources", "concurrentSpawnLimit", "consecutiveFailureLimit",
    },
    "proxy": {"service", "chp"},
    "ingress": {"enabled", "ingressClassName", "hosts", "tls"},
    "singleuser": {
        "image", "defaultUrl", "cmd", "uid", "fsGid", "memory", "cpu", "startTimeout", "storage",
        "networkPolicy",
    },
    "cull": {"enabled", "users", "timeout", "every", "concurrency", "maxAge"},
    "scheduling": {"userScheduler", "podPriority", "userPlaceholder"},
    "prePuller": {"hook", "continuous"},
}  # fmt: skip


def test_the_values_use_only_keys_of_the_chart(values: dict[str, Any]) -> None:
    assert set(values) <= set(Z2JH_KEYS)
    for section, keys in values.items():
        assert set(keys) <= Z2JH_KEYS[section], f"{section}: {set(keys) - Z2JH_KEYS[section]}"
    assert set(values["singleuser"]["storage"]) <= {
        "type", "capacity", "homeMountPath", "extraVolumes", "extraVolumeMounts", "dynamic", "static",
    }  # fmt: skip
    assert set(values["hub"]["service"]) == {"extraPorts"}


def plain_env(values: dict[str, Any]) -> dict[str, str]:
    """hub.extraEnv as the hub pod sees it, with a stand-in for each value that comes from a Secret."""
    env = {}
    for name, value in values["hub"]["extraEnv"].items():
        if isinstance(value, dict):
            assert value["valueFrom"]["secretKeyRef"]["name"] == "giga-hub-secrets", name
            env[name] = "s" * 48
        else:
            env[name] = str(value)
    return env


def test_secrets_only_come_from_the_kubernetes_secret(values: dict[str, Any]) -> None:
    for name, value in values["hub"]["extraEnv"].items():
        if any(word in name for word in ("SECRET", "TOKEN", "PASSWORD")):
            assert isinstance(value, dict) and "valueFrom" in value, f"{name} is written out"


def test_singleuser_resources_follow_the_sizing_guidance_and_match_hub_config(values: dict[str, Any]) -> None:
    single, containers = values["singleuser"], ContainerSettings.from_env(plain_env(values))
    assert _bytes(single["memory"]["guarantee"]) <= _bytes(single["memory"]["limit"]) <= 2 * 1024**3
    assert 0 < single["cpu"]["guarantee"] <= 0.1 and single["cpu"]["limit"] >= 0.5
    assert containers.mem_limit == single["memory"]["limit"]
    assert containers.mem_guarantee == single["memory"]["guarantee"]
    assert containers.cpu_limit == single["cpu"]["limit"]
    assert containers.cpu_guarantee == single["cpu"]["guarantee"]
    assert containers.image == f"{single['image']['name']}:{single['image']['tag']}"
    assert containers.storage_capacity == single["storage"]["capacity"]
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] <= 3600


def test_the_exchange_is_one_read_write_many_claim_everywhere(
    values: dict[str, Any], hub_storage: list[dict[str, Any]]
) -> None:
    env = plain_env(values)
    claims = {d["metadata"]["name"]: d for d in hub_storage}
    exchange = claims[env["GIGA_HUB_EXCHANGE_CLAIM"]]
    assert exchange["spec"]["accessModes"] == ["ReadWriteMany"]
    for where in (values["hub"], values["singleuser"]["storage"]):
        volumes = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in where["extraVolumes"]}
        mounts = {m["name"]: m["mountPath"] for m in where["extraVolumeMounts"]}
        name = next(n for n, claim in volumes.items() if claim == exchange["metadata"]["name"])
        assert mounts[name] == env["GIGA_NBGRADER_EXCHANGE"]
    # the course folders (formgrader services in the hub pod) sit on their own shared claim
    courses = next(v for v in values["hub"]["extraVolumes"] if v["name"] == "giga-courses")
    assert claims[courses["persistentVolumeClaim"]["claimName"]]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert {"name": "giga-courses", "mountPath": env["GIGA_HUB_STATE_DIR"]} in values["hub"][
        "extraVolumeMounts"
    ]


def test_formgrader_ports_are_open_on_the_hub_service_and_its_network_policy(values: dict[str, Any]) -> None:
    base = int(plain_env(values)["GIGA_HUB_FORMGRADER_BASE_PORT"])
    ports = [p["port"] for p in values["hub"]["service"]["extraPorts"]]
    assert ports == list(range(base, base + len(ports))) and len(ports) >= 10
    rule = values["hub"]["networkPolicy"]["ingress"][0]
    assert rule["from"][0]["podSelector"]["matchLabels"]["component"] == "proxy"
    assert rule["ports"][0]["port"] == ports[0] and rule["ports"][0]["endPort"] == ports[-1]


def test_the_hub_runs_our_configuration_after_the_charts(values: dict[str, Any]) -> None:
    snippet = values["hub"]["extraConfig"]["giga.py"]
    assert "/opt/giga/hub_config/jupyterhub_config.py" in snippet
    dockerfile = (KUBERNETES.parent / "hub-k8s.Dockerfile").read_text(encoding="utf-8")
    assert "COPY hub_config /opt/giga/hub_config" in dockerfile
    assert values["hub"]["image"]["name"].endswith("/hub-k8s")
    assert plain_env(values)["GIGA_HUB_MODE"] == "kubernetes"
    assert yaml_documents(VALUES)  # one document


def test_the_lms_reaches_the_hub_api_and_the_formgraders_through_the_chart_proxy(
    lms: list[dict[str, Any]],
) -> None:
    """The grade pull reads /services/<course>/formgrader/api: only the proxy routes it (the hub's own port
    answers /hub/ only, as the city's stack showed), so the LMS calls Zero to JupyterHub's proxy-public."""
    config = by_kind(lms, "ConfigMap")["data"]
    assert config["GIGA_HUB_API_URL"] == "http://proxy-public/hub/api"
    labels = by_kind(lms, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert labels["hub.jupyter.org/network-access-proxy-http"] == "true"
