"""The prefecture tier (DESIGN §10): Zero to JupyterHub on Kubernetes, one pod per student (KubeSpawner).

Zero to JupyterHub's own configuration runs first (it owns the hub's addresses, its database, the proxy pod
and the idle culler, all from the Helm values); ``GIGA_HUB_MODE=kubernetes`` then makes
``jupyterhub_config.py`` (run from ``hub.extraConfig`` in ``docker/kubernetes/jupyterhub-values.yaml``) call
:func:`apply_kubernetes`, which adds what is ours: sign-in through the LMS, the student image with its
per-student guarantees and limits, the home claim and the shared nbgrader exchange (a ReadWriteMany claim),
the per-course formgrader services and the roles. Services and roles are *merged* into what Zero to JupyterHub
already set, never replacing its culler. Like the rest of ``hub_config`` it only sets traits.

Settings: :class:`hub_config.docker_mode.ContainerSettings` (``GIGA_HUB_*``), the same as the city tier.
"""

from __future__ import annotations

from typing import Any

from traitlets.config import Config

from hub_config.configurer import (
    START_TIMEOUT_S,
    STUDENT_DEFAULT_URL,
    configure_authenticator,
    course_services,
    is_generated_token,
    lms_service,
    server_role,
    student_server_args,
    user_scopes,
)
from hub_config.docker_mode import (
    HOME,
    IMAGE_HUB_CONFIG,
    ContainerSettings,
    reachable_services,
    student_environment,
)
from hub_config.settings import HubSettings

HOME_VOLUME = "home"
EXCHANGE_VOLUME = "nbgrader-exchange"
STUDENT_UID = 1000  # jovyan in the student image
STUDENT_GID = 100  # users: group of the exchange files, as in the Jupyter Docker Stacks
HUB_SERVICE_HOST = "hub"  # Zero to JupyterHub's Service in front of the hub pod


def configure_kubespawner(c: Config, s: HubSettings, cs: ContainerSettings) -> None:
    """One pod per student: image, guarantees and limits, a home claim, the exchange claim."""
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    k = c.KubeSpawner
    k.image = cs.image
    k.image_pull_policy = "IfNotPresent"
    # the image's jupyterhub-singleuser, lean and in Japanese as in the other tiers (singleuser.cmd in the
    # Helm values names the program only: this replaces it)
    k.cmd = ["jupyterhub-singleuser", *student_server_args(IMAGE_HUB_CONFIG)]
    k.args = []
    k.default_url = STUDENT_DEFAULT_URL
    k.start_timeout = START_TIMEOUT_S
    k.http_timeout = START_TIMEOUT_S
    k.mem_limit = cs.mem_limit
    k.mem_guarantee = cs.mem_guarantee
    k.cpu_limit = cs.cpu_limit
    k.cpu_guarantee = cs.cpu_guarantee
    k.uid = STUDENT_UID
    k.fs_gid = STUDENT_GID
    k.allow_privilege_escalation = False
    k.automount_service_account_token = False
    k.environment = student_environment(s)
    k.storage_pvc_ensure = True
    k.pvc_name_template = "claim-{username}"
    k.storage_capacity = cs.storage_capacity
    k.storage_access_modes = ["ReadWriteOnce"]
    if cs.storage_class:
        k.storage_class = cs.storage_class
    k.volumes = [
        {"name": HOME_VOLUME, "persistentVolumeClaim": {"claimName": "{pvc_name}"}},
        {"name": EXCHANGE_VOLUME, "persistentVolumeClaim": {"claimName": cs.exchange_claim}},
    ]
    k.volume_mounts = [
        {"name": HOME_VOLUME, "mountPath": HOME},
        {"name": EXCHANGE_VOLUME, "mountPath": str(s.exchange_root)},
    ]


def _merged(existing: Any, ours: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Zero to JupyterHub's list entries kept (by name) unless ours replace them."""
    merged = {entry["name"]: entry for entry in (existing if isinstance(existing, list) else [])}
    merged.update(ours)
    return list(merged.values())


def apply_kubernetes(c: Config, s: HubSettings, cs: ContainerSettings, hub_version: str) -> Config:
    """Our part of the prefecture configuration, on top of what Zero to JupyterHub set from its values."""
    configure_authenticator(c, s)
    c.GenericOAuthenticator.oauth_callback_url = cs.callback_url
    configure_kubespawner(c, s, cs)
    c.JupyterHub.concurrent_spawn_limit = 100  # a whole class (40) plus teachers starting at once
    services: dict[str, dict[str, Any]] = {}
    roles: dict[str, dict[str, Any]] = {}
    for part in (lms_service(s), course_services(s)):
        services.update(part[0])
        roles.update(part[1])
    # the proxy is another pod: the formgraders listen on the hub's Service
    services = {svc["name"]: svc for svc in reachable_services(list(services.values()), HUB_SERVICE_HOST)}
    roles.update(server_role())
    user_scopes(c, roles, hub_version)
    jh = c.JupyterHub
    jh.services = _merged(jh.services if "services" in jh else None, services)
    jh.load_roles = _merged(jh.load_roles if "load_roles" in jh else None, roles)
    # one hash round for the LMS's token when it is random enough (hub_config.configurer.apply)
    jh.trust_user_provided_tokens = is_generated_token(s.service_token)
    return c
