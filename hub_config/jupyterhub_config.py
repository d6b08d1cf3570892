"""JupyterHub entry configuration (thin): read the environment, let the pure configurer set the traits."""

from pathlib import Path

import jupyterhub

from hub_config.configurer import apply
from hub_config.settings import HubSettings

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - injected by JupyterHub
settings = HubSettings.from_env()
Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
apply(c, settings, jupyterhub.__version__)
