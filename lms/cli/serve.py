"""``giga serve``: the LMS under uvicorn (``lms.main:app``)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from lms.core.cli import require_current_schema, settings_or_exit


def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    reload: Annotated[bool, typer.Option(help="reload on code changes (development)")] = False,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the LMS (uvicorn, lms.main:app)."""

    settings = settings_or_exit()
    require_current_schema(settings)
    # A loaded 2-core machine can take longer than uvicorn's 5 s to answer a worker health check.
    uvicorn.run(
        "lms.main:app",
        host=host,
        port=port,
        reload=reload,
        workers=workers,
        proxy_headers=True,
        timeout_worker_healthcheck=60,
    )
