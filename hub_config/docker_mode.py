"""The city tier (DESIGN §10): the hub in a container, each student's server in a container (DockerSpawner).

``GIGA_HUB_MODE=docker`` makes ``jupyterhub_config.py`` call :func:`apply_docker`. It starts from the ordinary
configuration (sign-in through the LMS, idle culler, per-course formgrader services, roles) and changes only
what a container needs: addresses that other containers can reach, the public callback URL, the spawner, and
the formgraders, which run in the grader container (``hub_config/grader_host.py``). Like the rest of
``hub_config`` it only sets traits.

:class:`ContainerSettings` is shared with the prefecture tier (``hub_config/kubernetes.py``). Environment:

- ``GIGA_HUB_PUBLIC_URL``: what browsers reach, e.g. ``https://hub.city.example.jp`` (OAuth callback);
- ``GIGA_HUB_SINGLEUSER_IMAGE``: the student image, e.g. ``giga/student:0.1.0``;
- ``GIGA_HUB_MEM_LIMIT`` / ``GIGA_HUB_MEM_GUARANTEE`` (``1G`` / ``512M``), ``GIGA_HUB_CPU_LIMIT`` /
  ``GIGA_HUB_CPU_GUARANTEE`` (``1`` / ``0.05``): per student; the 0.05 CPU guarantee follows Zero to
  JupyterHub's operators (a notebook always gets enough CPU to start and answer), the memory guarantee is what
  a lesson with pandas and a plot uses, the limit leaves room for a careless loop;
- ``GIGA_HUB_CONNECT_HOST``: the hub's name on the container network (``hub``);
- ``GIGA_HUB_PROXY_API_URL``: configurable-http-proxy's API in its own container (``http://proxy:8001``; the
  shared ``CONFIGPROXY_AUTH_TOKEN`` authenticates the hub to it);
- ``GIGA_HUB_DOCKER_NETWORK`` (``giga_students``), ``GIGA_HUB_EXCHANGE_VOLUME`` (``giga_exchange``): the
  Docker names;
- ``GIGA_NBGRADER_EXCHANGE`` (:class:`HubSettings`): where the exchange is mounted in every container;
- ``GIGA_GRADER_SECRET`` (docker only): the course formgraders run in the ``grader`` container
  (``hub_config/grader_host.py``: root for the autograde sandbox), known to the hub as external services whose
  tokens both sides derive from this secret; ``GIGA_GRADER_HOST`` is that container's name (``grader``);
- ``GIGA_HUB_STORAGE_CAPACITY`` / ``GIGA_HUB_STORAGE_CLASS`` / ``GIGA_HUB_EXCHANGE_CLAIM``: Kubernetes only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitlets.config import Config

from hub_config.configurer import (
    HUB_CONFIG_DIR,
    LAZY_IMPORTS_DIR,
    STUDENT_DEFAULT_URL,
    apply,
    student_server_args,
)
from hub_config.grader_host import external_course_services
from hub_config.settings import HubSettings, HubSettingsError

HUB_PORT = 8081  # the hub's API inside the container network (student servers call it)
PUBLIC_PORT = 8000  # the proxy container's public port; the reverse proxy forwards to it
HOME = "/home/jovyan"  # the student image's home (uid 1000, as in the Jupyter Docker Stacks)
IMAGE_HUB_CONFIG = Path("/opt/giga/hub_config")  # where docker/student.Dockerfile copies hub_config
# the lazy rfc3987_syntax first, as on this machine (configurer.configure_spawner), then hub_config's parent
IMAGE_PYTHONPATH = (
    f"{IMAGE_HUB_CONFIG / LAZY_IMPORTS_DIR.relative_to(HUB_CONFIG_DIR)}:{IMAGE_HUB_CONFIG.parent}"
)
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?([KMGT]i?)?$")


@dataclass(frozen=True)
class ContainerSettings:
    """What the container tiers add to :class:`HubSettings`: the student image and per-student resources."""

    public_url: str = "http://127.0.0.1:8001"
    image: str = "giga/student:0.1.0"
    mem_limit: str = "1G"
    mem_guarantee: str = "512M"
    cpu_limit: float = 1.0
    cpu_guarantee: float = 0.05
    connect_host: str = "hub"
    proxy_api_url: str = "http://proxy:8001"
    docker_network: str = "giga_students"
    exchange_volume: str = "giga_exchange"
    storage_capacity: str = "2Gi"
    storage_class: str = ""
    exchange_claim: str = "giga-nbgrader-exchange"
    grader_host: str = "grader"

    @property
    def callback_url(self) -> str:
        return self.public_url.rstrip("/") + "/hub/oauth_callback"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ContainerSettings:
        """Read the ``GIGA_HUB_*`` variables above; a bad value raises :class:`HubSettingsError`."""
        env = os.environ if environ is None else environ
        base = cls()
        values = cls(
            public_url=env.get("GIGA_HUB_PUBLIC_URL", base.public_url),
            image=env.get("GIGA_HUB_SINGLEUSER_IMAGE", base.image),
            mem_limit=_quantity(env, "GIGA_HUB_MEM_LIMIT", base.mem_limit),
            mem_guarantee=_quantity(env, "GIGA_HUB_MEM_GUARANTEE", base.mem_guarantee),
            cpu_limit=_cpus(env, "GIGA_HUB_CPU_LIMIT", base.cpu_limit),
            cpu_guarantee=_cpus(env, "GIGA_HUB_CPU_GUARANTEE", base.cpu_guarantee),
            connect_host=env.get("GIGA_HUB_CONNECT_HOST", base.connect_host),
            proxy_api_url=env.get("GIGA_HUB_PROXY_API_URL", base.proxy_api_url),
            docker_network=env.get("GIGA_HUB_DOCKER_NETWORK", base.docker_network),
            exchange_volume=env.get("GIGA_HUB_EXCHANGE_VOLUME", base.exchange_volume),
            storage_capacity=_quantity(env, "GIGA_HUB_STORAGE_CAPACITY", base.storage_capacity),
            storage_class=env.get("GIGA_HUB_STORAGE_CLASS", base.storage_class),
            exchange_claim=env.get("GIGA_HUB_EXCHANGE_CLAIM", base.exchange_claim),
            grader_host=env.get("GIGA_GRADER_HOST", base.grader_host),
        )
        if _bytes(values.mem_guarantee) > _bytes(values.mem_limit):
            raise HubSettingsError("GIGA_HUB_MEM_GUARANTEE must not be larger than GIGA_HUB_MEM_LIMIT")
        if values.cpu_guarantee > values.cpu_limit:
            raise HubSettingsError("GIGA_HUB_CPU_GUARANTEE must not be larger than GIGA_HUB_CPU_LIMIT")
        if not values.public_url.startswith(("http://", "https://")):
            raise HubSettingsError("GIGA_HUB_PUBLIC_URL must start with https:// (or http:// for a test)")
        return values


def _quantity(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "") or default
    if not _QUANTITY.match(raw):
        raise HubSettingsError(f"{name} must be a size such as 512M, 1G or 2Gi, got {raw!r}")
    return raw


def _cpus(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise HubSettingsError(f"{name} must be a number of CPUs such as 0.5 or 1, got {raw!r}") from None
    if value <= 0:
        raise HubSettingsError(f"{name} must be more than 0, got {raw!r}")
    return value


def _bytes(quantity: str) -> float:
    """``512M`` → 512·10⁶, ``1Gi`` → 2³⁰ (the suffixes both Docker and Kubernetes accept)."""
    match = _QUANTITY.match(quantity)
    assert match is not None
    suffix = match.group(2) or ""
    number = float(quantity[: len(quantity) - len(suffix)])
    power = "KMGT".index(suffix[0]) + 1 if suffix else 0
    base = 1024.0 if suffix.endswith("i") else 1000.0
    return number * base**power


def student_environment(s: HubSettings) -> dict[str, str]:
    """What every student server sees: where the exchange is, where the LMS is, and that nbgrader must file
    work under the hub's user name (every container runs as the same unix user, ``jovyan``); the image's
    ``PYTHONPATH`` with the lazy ``rfc3987_syntax`` first (benchmarks/bench_single_user_import.py)."""
    return {
        "PYTHONPATH": IMAGE_PYTHONPATH,
        "GIGA_NBGRADER_EXCHANGE": str(s.exchange_root),
        "GIGA_LMS_URL": s.lms_url,
        "GIGA_NBGRADER_STUDENT_IS_HUB_USER": "1",
    }


def reachable_services(services: list[dict[str, Any]], host: str) -> list[dict[str, Any]]:
    """Hub-managed services with a URL (the per-course formgraders) listen on every interface of the hub's
    container or pod and are announced under ``host``, because the proxy runs in another container."""
    exposed = []
    for service in services:
        if "url" in service:
            port = service["url"].rsplit(":", 1)[1]
            service = {
                **service,
                "url": f"http://{host}:{port}",
                "command": [*service["command"], "--ip=0.0.0.0"],
            }
        exposed.append(service)
    return exposed


def configure_docker_spawner(c: Config, s: HubSettings, cs: ContainerSettings) -> None:
    """One container per student from the student image, a named home volume, the shared exchange."""
    c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
    spawner = c.DockerSpawner
    spawner.image = cs.image
    spawner.pull_policy = "ifnotpresent"
    spawner.network_name = cs.docker_network
    spawner.use_internal_ip = True
    spawner.remove = True  # the container goes when the server stops; the home volume stays
    spawner.volumes = {"giga-home-{username}": HOME, cs.exchange_volume: str(s.exchange_root)}
    spawner.notebook_dir = HOME
    spawner.mem_limit = cs.mem_limit
    spawner.cpu_limit = cs.cpu_limit
    spawner.extra_host_config = {
        "mem_reservation": cs.mem_guarantee,
        "pids_limit": 512,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
    }
    spawner.environment = student_environment(s)
    # the image's own jupyterhub-singleuser (not the hub's interpreter path), lean and Japanese as locally
    c.Spawner.cmd = ["jupyterhub-singleuser", *student_server_args(IMAGE_HUB_CONFIG)]
    c.Spawner.default_url = STUDENT_DEFAULT_URL
    c.Spawner.args = []


def apply_docker(
    c: Config, s: HubSettings, cs: ContainerSettings, hub_version: str, grader_secret: str
) -> Config:
    """The city configuration: the ordinary one, reachable from the container network, DockerSpawner, the
    course formgraders in the grader container."""
    apply(c, s, hub_version)
    c.JupyterHub.bind_url = f"http://0.0.0.0:{PUBLIC_PORT}"
    c.JupyterHub.hub_bind_url = f"http://0.0.0.0:{HUB_PORT}"
    c.JupyterHub.hub_connect_url = f"http://{cs.connect_host}:{HUB_PORT}"
    # the proxy is its own container (as on Kubernetes): the hub configures it, never starts it
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = cs.proxy_api_url
    c.GenericOAuthenticator.oauth_callback_url = cs.callback_url
    c.JupyterHub.services = external_course_services(
        c.JupyterHub.services, s.courses, host=cs.grader_host, secret=grader_secret
    )
    configure_docker_spawner(c, s, cs)
    return c
