"""A student's Notebook 7 file browser, started with exactly the spawner's command-line options and
environment (hub_config.configurer): Japanese menus, and nbgrader's Assignments tab present from the start
(hub_config/jupyter_data/labextensions/giga-assignments-tab), labelled 「課題」, while Files stays the current
tab."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from traitlets.config import Config

from hub_config.configurer import configure_spawner
from hub_config.settings import HubSettings

PORTS = range(18400, 18500)  # this suite's range (tests/e2e pick their own)
TOKEN = "assignments-tab-test-token"


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18400-18499")


@pytest.fixture
def notebook_server(tmp_path: Path) -> Iterator[str]:
    c = Config()
    configure_spawner(c, HubSettings(mode="test", state_dir=tmp_path / "hub", is_root=False))
    args = list(c.Spawner.cmd[1:])  # everything but jupyterhub-singleuser: no hub in this test
    env = {
        **os.environ,
        **c.Spawner.environment,
        "GIGA_AUTOGRADE_SANDBOX": "0",
        "HOME": str(tmp_path),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "jupyter-notebook"),
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--ServerApp.token={TOKEN}",
        f"--ServerApp.root_dir={tmp_path}",
        *args,
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]
    log_path = tmp_path / "notebook.log"  # a file, not a pipe: a full pipe would stall the server
    log_file = log_path.open("wb")
    server = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/status?token={TOKEN}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                log = log_path.read_text(encoding="utf-8", errors="replace")
                raise RuntimeError("Notebook 7 did not start: " + log[-2000:])
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        log_file.close()


def test_the_file_browser_shows_the_assignments_tab_in_japanese(browser: Any, notebook_server: str) -> None:
    page = browser.new_page(locale="ja-JP", viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{notebook_server}/tree?token={TOKEN}")
    tabs = page.locator(".jp-TreePanel .lm-TabBar-tab")
    tabs.filter(has_text="課題").wait_for(timeout=60_000)
    page.wait_for_timeout(500)  # the extension switches back to Files right after nbgrader opens its tab
    assert tabs.all_inner_texts() == ["Files", "Running", "課題"]
    assert page.locator(".jp-TreePanel .lm-TabBar-tab.lm-mod-current").inner_text() == "Files"
    assert "ファイル" in page.locator(".lm-MenuBar-itemLabel").all_inner_texts()  # the language pack
    page.locator(".jp-TreePanel .lm-TabBar-tab", has_text="課題").click()
    page.locator(".nbgrader-mainarea-widget, #nbgrader-assignment-list").first.wait_for(timeout=10_000)
    assert not [e for e in errors if "giga-assignments-tab" in e]
    page.close()
