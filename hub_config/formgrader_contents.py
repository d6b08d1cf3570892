"""A formgrader's file browser that cannot write configuration.

The formgrader serves the course folder through Jupyter's contents API (the teacher edits lessons there), and
nbgrader reads ``nbgrader_config.py`` from that folder on every request: a teacher who saved Python code under
that name would have it run by the formgrader's process — root in the city's grader container
(``hub_config/grader_host.py``) and in ``make run`` as root, the grader account elsewhere. So no file whose
name Jupyter or nbgrader load as configuration can be written, renamed to or deleted through the contents API
(``nbgrader_config.*``, ``jupyter_*config.*``, ``ipython_*config.*``, anywhere in the folder); hidden files
stay refused as Jupyter refuses them by default. Provisioning writes the course's ``nbgrader_config.py``.
"""

from __future__ import annotations

import re
from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web

CONFIG_NAME = re.compile(r"^(nbgrader_config|jupyter_\w*config|ipython_\w*config)\.(py|json)$", re.IGNORECASE)
REFUSAL = "設定ファイル（{name}）は採点サービスからは変更できません。"


def _refuse_config(path: str) -> None:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if CONFIG_NAME.match(name):
        raise web.HTTPError(403, REFUSAL.format(name=name), reason="Forbidden")


class ConfigLockedContentsManager(AsyncLargeFileManager):  # type: ignore[misc]
    async def save(self, model: dict[str, Any], path: str = "") -> dict[str, Any]:
        _refuse_config(path)
        saved: dict[str, Any] = await super().save(model, path)
        return saved

    async def rename_file(self, old_path: str, new_path: str) -> None:
        _refuse_config(old_path)
        _refuse_config(new_path)
        await super().rename_file(old_path, new_path)

    async def delete_file(self, path: str) -> None:
        _refuse_config(path)
        await super().delete_file(path)
