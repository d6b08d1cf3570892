"""Settings of the hub side, read from the environment once (``GIGA_HUB_*``, ``GIGA_OAUTH_HUB_*``).

A plain frozen dataclass so that the configurer stays a pure function of (Config, HubSettings) and tests
build settings directly. hub_config never imports lms: it reaches the LMS over HTTP only.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIENT_SECRET = (
    "giga-hub-development-client-secret"  # same default as the LMS side (development only)
)
COURSE_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")
# the hub's own services (configurer.LMS_SERVICE, the idle culler here and in Zero to JupyterHub): a course
# is a service of its name and would take one's place and role; the LMS refuses these ids too
RESERVED_SERVICE_NAMES = frozenset({"giga-lms", "idle-culler", "jupyterhub-idle-culler"})


class HubSettingsError(ValueError):
    """A setting is unusable; the message names the variable to fix."""


@dataclass(frozen=True)
class HubSettings:
    mode: Literal["local", "test", "docker", "kubernetes"] = "local"
    bind_url: str = "http://127.0.0.1:8001"
    hub_port: int = 8081
    proxy_api_port: int = 8002
    lms_url: str = "http://127.0.0.1:8000"  # server-to-server (token, userinfo)
    lms_public_url: str = "http://127.0.0.1:8000"  # what browsers reach (authorize)
    client_id: str = "jupyterhub"
    client_secret: str = DEFAULT_CLIENT_SECRET
    service_token: str = ""  # the LMS's token for the hub API (service "giga-lms"); empty = no service
    state_dir: Path = PROJECT_ROOT / "var" / "hub"
    proxy_command: Path = PROJECT_ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
    python: Path = Path(sys.executable)
    courses: tuple[str, ...] = ()
    formgrader_base_port: int = 9100
    idle_timeout_s: int = 3600
    exchange_root: Path = Path("/srv/nbgrader/exchange")  # nbgrader's exchange (mode 1777), all courses
    is_root: bool = field(default_factory=lambda: os.geteuid() == 0)
    production: bool = False

    @property
    def bin_dir(self) -> Path:
        return self.python.parent

    @property
    def callback_url(self) -> str:
        return self.bind_url.rstrip("/") + "/hub/oauth_callback"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HubSettings:
        """Read ``GIGA_HUB_*`` (mode, ports, URLs, courses) and the hub's OAuth client from ``environ``."""
        env = os.environ if environ is None else environ
        mode = env.get("GIGA_HUB_MODE", "local")
        if mode not in ("local", "test", "docker", "kubernetes"):
            raise HubSettingsError(
                "GIGA_HUB_MODE must be 'local' (one unix user per person), 'test', "
                "'docker' (a city: docker/compose.yaml) or 'kubernetes' (a prefecture: Zero to JupyterHub)"
            )
        production = env.get("GIGA_ENVIRONMENT", "development") == "production"
        secret = env.get("GIGA_OAUTH_HUB_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        if production and (secret == DEFAULT_CLIENT_SECRET or len(secret) < 32):
            raise HubSettingsError(
                "GIGA_OAUTH_HUB_CLIENT_SECRET must be a random value of at least 32 characters"
            )
        lms_url = env.get("GIGA_HUB_LMS_URL", "http://127.0.0.1:8000")
        kwargs: dict[str, object] = {
            "mode": mode,
            "bind_url": env.get("GIGA_HUB_BIND_URL", "http://127.0.0.1:8001"),
            "hub_port": _int(env, "GIGA_HUB_HUB_PORT", 8081),
            "proxy_api_port": _int(env, "GIGA_HUB_PROXY_API_PORT", 8002),
            "lms_url": lms_url,
            "lms_public_url": env.get("GIGA_HUB_LMS_PUBLIC_URL", lms_url),
            "client_id": env.get("GIGA_OAUTH_HUB_CLIENT_ID", "jupyterhub"),
            "client_secret": secret,
            "service_token": env.get("GIGA_HUB_SERVICE_TOKEN", ""),
            "courses": tuple(parse_courses(env)),
            "formgrader_base_port": _int(env, "GIGA_HUB_FORMGRADER_BASE_PORT", 9100),
            "idle_timeout_s": _int(env, "GIGA_HUB_IDLE_TIMEOUT", 3600),
            "production": production,
        }
        if env.get("GIGA_HUB_STATE_DIR"):
            kwargs["state_dir"] = Path(env["GIGA_HUB_STATE_DIR"])
        if env.get("GIGA_NBGRADER_EXCHANGE"):
            kwargs["exchange_root"] = Path(env["GIGA_NBGRADER_EXCHANGE"])
        elif mode == "test":  # the demo/test tier keeps everything under its state folder
            kwargs["exchange_root"] = Path(str(kwargs.get("state_dir", cls.state_dir))) / "exchange"
        if env.get("GIGA_HUB_PROXY_COMMAND"):
            kwargs["proxy_command"] = Path(env["GIGA_HUB_PROXY_COMMAND"])
        return cls(**kwargs)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise HubSettingsError(f"{name} must be a whole number, got {raw!r}")
    return int(raw)


def parse_courses(env: Mapping[str, str]) -> list[str]:
    """Course ids from ``GIGA_HUB_COURSES`` (comma-separated) and/or the JSON list in
    ``GIGA_HUB_COURSES_FILE``
    (written by ``hub_config.provision``)."""
    found: list[str] = [c.strip() for c in env.get("GIGA_HUB_COURSES", "").split(",") if c.strip()]
    path = env.get("GIGA_HUB_COURSES_FILE")
    if path and Path(path).is_file():
        found.extend(str(c) for c in json.loads(Path(path).read_text(encoding="utf-8")))
    for course in found:
        if not (3 <= len(course) <= 40 and set(course) <= COURSE_ID_CHARS):
            raise HubSettingsError(f"course id {course!r} must match [a-z0-9-]{{3,40}}")
        if course in RESERVED_SERVICE_NAMES:
            raise HubSettingsError(f"course id {course!r} is the name of one of the hub's own services")
    return sorted(set(found))
