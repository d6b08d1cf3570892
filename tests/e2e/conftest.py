"""End-to-end tests against real processes (LMS under uvicorn, JupyterHub with configurable-http-proxy)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: starts real servers (LMS, JupyterHub) on 127.0.0.1")
