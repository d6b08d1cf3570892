"""``giga serve``: the LMS under uvicorn (``lms.main:app``)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from lms.core.cli import require_current_schema, settings_or_exit
from lms.core.settings import Settings


def proxy_options(settings: Settings) -> tuple[bool, str]:
    """Believe X-Forwarded-For/-Proto only from ``GIGA_TRUSTED_PROXIES`` (issue 15): uvicorn's own default
    trusts loopback, and the environment variable FORWARDED_ALLOW_IPS is not read when this says nothing."""
    trusted = settings.trusted_proxy_list
    return bool(trusted), ",".join(trusted)


def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    reload: Annotated[bool, typer.Option(help="reload on code changes (development)")] = False,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the LMS (uvicorn, lms.main:app)."""

    settings = settings_or_exit()
    require_current_schema(settings)
    proxy_headers, forwarded_allow_ips = proxy_options(settings)
    # A loaded 2-core machine can take longer than uvicorn's 5 s to answer a worker health check.
    uvicorn.run(
        "lms.main:app",
        host=host,
        port=port,
        reload=reload,
        workers=workers,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_worker_healthcheck=60,
    )
