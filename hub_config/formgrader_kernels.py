"""A kernel manager that starts no kernel, for a formgrader that runs as root (`make run`'s demo mode).

The formgrader needs root there only for the autograde sandbox, which starts its kernels itself (nbclient,
``hub_config.sandbox``), not through the server's kernel manager. A kernel started from the formgrader's file
browser would be a root shell for any teacher, so the server refuses to start one, with a message in Japanese.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web

REFUSAL = (
    "採点サービス（formgrader）ではコードを実行できません。"
    "ノートブックを試すときは、自分のノートブック（ハブのホーム）で開いてください。"
)


class NoKernelsManager(AsyncMappingKernelManager):
    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        raise web.HTTPError(403, REFUSAL, reason="Forbidden")
