"""The Assignments-tab extension is a valid federated extension that Jupyter finds on the students'
JUPYTER_PATH (the browser behaviour: tests/browser/test_notebook_assignments_tab.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from jupyterlab_server.config import get_federated_extensions

from hub_config.configurer import STUDENT_JUPYTER_PATH
from tests.support import missing

NAME = "giga-assignments-tab"


def test_jupyter_finds_the_extension_on_the_students_path() -> None:
    found = get_federated_extensions([str(STUDENT_JUPYTER_PATH / "labextensions")])
    build = found[NAME]["jupyterlab"]["_build"]
    assert build["extension"] == "./extension"
    assert (Path(found[NAME]["ext_path"]) / build["load"]).is_file()


def test_the_container_protocol_hands_out_one_autostart_plugin(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        missing("node is not installed")
    entry = STUDENT_JUPYTER_PATH / "labextensions" / NAME / "static" / "remoteEntry.js"
    script = tmp_path / "probe.js"
    script.write_text(
        "globalThis.window = globalThis;\n"
        f"require({str(entry)!r});\n"
        f"const container = window._JUPYTERLAB[{NAME!r}];\n"
        "(async () => {\n"
        "  await container.init({});\n"
        "  const module = (await container.get('./extension'))();\n"
        "  const [plugin] = module.default;\n"
        "  console.log(JSON.stringify([module.__esModule, plugin.id, plugin.autoStart, plugin.requires]));\n"
        "  await container.get('./nothing').catch(() => console.log('refused'));\n"
        "})();\n",
        encoding="utf-8",
    )
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [f'[true,"{NAME}:plugin",true,null]', "refused"]
