"""Paths and small helpers shared by the deployment checks (no Docker engine, no cluster, no network)."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.support import missing

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
KUBERNETES = DOCKER / "kubernetes"
COMPOSE = DOCKER / "compose.yaml"
LOCKS = DOCKER / "requirements"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
#: placeholder values a city would put into docker/.env
CITY_ENV = {
    "GIGA_LMS_HOST": "lms.city.example.jp",
    "GIGA_HUB_HOST": "hub.city.example.jp",
    "POSTGRES_PASSWORD": "pw-for-the-check",
    "GIGA_SECRET_KEY": "k" * 48,
    "GIGA_OAUTH_HUB_CLIENT_SECRET": "c" * 48,
    "GIGA_HUB_SERVICE_TOKEN": "t" * 48,
    "GIGA_GRADER_SECRET": "g" * 48,
    "CONFIGPROXY_AUTH_TOKEN": "p" * 48,
}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}|\$\$")


def tool(name: str) -> str:
    """An executable installed with the dev extra (the venv's bin first, then PATH)."""
    venv_bin = Path(sys.executable).parent / name
    if venv_bin.is_file():
        return str(venv_bin)
    found = shutil.which(name)
    if found is None:
        missing(f"{name} is not installed (pip install -e '.[dev]' brings it)")
    return found


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable syntax: ``${A}``, ``${A:-default}``, ``${A-default}``, ``${A:?error}``, ``$$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = env.get(name)
        if op in (":-", "-"):
            empty = value is None or (op == ":-" and value == "")
            return interpolate(arg, env) if empty else str(value)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise KeyError(f"{name}: {arg}")
        return "" if value is None else value

    return _VARIABLE.sub(replace, text)


def _interpolated(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: _interpolated(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolated(value, env) for value in node]
    return node


def compose_document(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """docker/compose.yaml as compose sees it: anchors merged, then every string value interpolated with
    ``env`` (as compose does; ``None``: left as written)."""
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return document if env is None else _interpolated(document, env)


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
