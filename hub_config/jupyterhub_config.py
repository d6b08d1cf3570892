"""JupyterHub entry configuration (thin): read the environment, let the pure configurer set the traits."""

from pathlib import Path

import jupyterhub

from hub_config.configurer import apply
from hub_config.settings import HubSettings

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - injected by JupyterHub
settings = HubSettings.from_env()
Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
if settings.mode in ("test", "local"):  # one machine: the formgrader services start in these folders
    from hub_config.configurer import GRADER_ACCOUNT
    from hub_config.provision import ensure_course, ensure_exchange

    ensure_exchange(Path(settings.exchange_root))
    for course in settings.courses:
        ensure_course(Path(settings.state_dir), course, GRADER_ACCOUNT.format(course=course))
if settings.mode == "docker":  # a city: docker/compose.yaml
    from hub_config.docker_mode import ContainerSettings, apply_docker
    from hub_config.grader_host import grader_secret

    apply_docker(c, settings, ContainerSettings.from_env(), jupyterhub.__version__, grader_secret())
elif settings.mode == "kubernetes":  # a prefecture: Zero to JupyterHub's hub.extraConfig loads this file
    from hub_config.docker_mode import ContainerSettings
    from hub_config.kubernetes import apply_kubernetes

    apply_kubernetes(c, settings, ContainerSettings.from_env(), jupyterhub.__version__)
else:
    apply(c, settings, jupyterhub.__version__)
