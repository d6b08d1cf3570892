"""A student's kernel, started from the kernel spec the hub gives every single-user server, explains a 全角
mistake in Japanese right under the SyntaxError."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel
from traitlets.config import Config

from hub_config.configurer import configure_spawner
from hub_config.settings import HubSettings

ROOT = Path(__file__).resolve().parents[2]


def test_the_students_kernel_prints_the_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    c = Config()
    configure_spawner(c, HubSettings(mode="test", is_root=False))
    environment = c.Spawner.environment
    # the server finds kernel specs through its own environment (the spawner's), the kernel gets it too
    monkeypatch.setenv("JUPYTER_PATH", environment["JUPYTER_PATH"])
    monkeypatch.setenv("PYTHONPATH", environment["PYTHONPATH"])
    env = dict(os.environ)
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    printed: list[str] = []

    def keep(message: dict[str, object]) -> None:
        content = message["content"]
        assert isinstance(content, dict)
        if message["msg_type"] == "stream":
            printed.append(str(content["text"]))
        elif message["msg_type"] == "error":
            printed.append(str(content["evalue"]))

    try:
        client.execute_interactive('print（"こんにちは"）', output_hook=keep, timeout=60)
        client.execute_interactive("total = 1 + 2\nprint(total)", output_hook=keep, timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    text = "".join(printed)
    assert "U+FF08" in text and "全角の「（」" in text and "半角の「(」に直しましょう" in text
    assert text.count("ヒント") == 1  # correct code gets no hint
    assert text.rstrip().endswith("3")
