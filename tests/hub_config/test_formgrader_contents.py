"""The formgrader's file browser cannot write what nbgrader or Jupyter load as configuration (code that the
formgrader's process, root in the city's grader container, would run)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from jupyter_server.serverapp import ServerApp
from tornado import web

from hub_config.configurer import FORMGRADER_ARGS
from hub_config.formgrader_contents import ConfigLockedContentsManager
from hub_config.grader_host import formgrader_command, formgrader_services
from hub_config.settings import HubSettings

TEXT = {"type": "file", "format": "text", "content": "c = get_config()\nimport os; os.system('id')\n"}


@pytest.mark.parametrize(
    "path",
    [
        "nbgrader_config.py",
        "source/01_variables/nbgrader_config.py",
        "NBGRADER_CONFIG.PY",
        "nbgrader_config.json",
        "jupyter_server_config.py",
        "ipython_kernel_config.json",
    ],
)
def test_configuration_cannot_be_written(tmp_path: Path, path: str) -> None:
    (tmp_path / "source" / "01_variables").mkdir(parents=True)
    manager = ConfigLockedContentsManager(root_dir=str(tmp_path))
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(manager.save(dict(TEXT), path))
    assert refused.value.status_code == 403 and "採点サービスからは変更できません" in str(
        refused.value.log_message
    )
    assert not (tmp_path / path).exists()


def test_lessons_can_still_be_edited_but_the_config_not_renamed_or_deleted(tmp_path: Path) -> None:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    manager = ConfigLockedContentsManager(root_dir=str(tmp_path))
    asyncio.run(manager.save({"type": "directory"}, "source"))
    asyncio.run(manager.save(dict(TEXT, content="ok"), "source/notes.txt"))  # a teacher's file
    assert (tmp_path / "source" / "notes.txt").read_text() == "ok"
    for attempt in (
        manager.rename_file("source/notes.txt", "nbgrader_config.py"),
        manager.rename_file("nbgrader_config.py", "old.py"),
        manager.delete_file("nbgrader_config.py"),
    ):
        with pytest.raises(web.HTTPError):
            asyncio.run(attempt)
    assert (tmp_path / "nbgrader_config.py").read_text() == "c = get_config()\n"
    asyncio.run(manager.rename_file("source/notes.txt", "source/memo.txt"))  # ordinary files move
    assert (tmp_path / "source" / "memo.txt").exists()


def test_every_formgrader_uses_it(tmp_path: Path) -> None:
    from hub_config.configurer import course_services

    app = ServerApp()
    app.parse_command_line(list(FORMGRADER_ARGS))
    assert app.contents_manager_class is ConfigLockedContentsManager
    for mode in ("local", "test", "docker"):
        settings = HubSettings(mode=mode, courses=("a1-prog",), state_dir=tmp_path)
        command = course_services(settings)[0]["a1-prog"]["command"]
        assert all(arg in command for arg in FORMGRADER_ARGS), (mode, command)
    grader = formgrader_services(HubSettings(mode="docker", courses=("a1-prog",), state_dir=tmp_path))
    assert all(arg in formgrader_command(grader["a1-prog"]) for arg in FORMGRADER_ARGS)  # the grader's
