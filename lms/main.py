"""The ASGI application: ``lms.main:app`` (stable entry point).

`create_app` wires settings, the database engine (created lazily: importing this module opens no connection),
the error handlers and the routers (lms/web.py). Start-up refuses a database whose schema is behind the newest
migration; an unreachable database does not stop start-up (``/healthz`` reports it with 503).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from lms.board.release_jobs import start_worker
from lms.core.db import engine_for, get_engine
from lms.core.errors import SchemaOutOfDate
from lms.core.settings import Settings, get_settings
from lms.migrations import schema_problem
from lms.ops import logging as ops_logging
from lms.ops import metrics
from lms.ops.bank_sync import BankSync
from lms.ops.gc_tuning import settle_after_startup
from lms.ops.limits import ConcurrencyLimitMiddleware
from lms.ops.middleware import OpsMiddleware
from lms.ops.security_headers import SecurityHeadersMiddleware
from lms.reading.calibration.service import apply_promotions
from lms.reading.delivery import item_bank
from lms.web import install_web

logger = logging.getLogger("lms")


def check_schema(engine: Engine) -> None:
    """Raise `SchemaOutOfDate` when the database is behind; log and carry on when it cannot be reached."""
    try:
        problem = schema_problem(engine)
    except SQLAlchemyError as error:
        logger.warning("database unreachable at start-up (%s); /healthz will report it", type(error).__name__)
        return
    if problem:
        logger.error("refusing to start: %s", problem)
        raise SchemaOutOfDate(problem)


def warm_item_bank(engine: Engine) -> None:
    """Load the item bank and the promoted calibrations now, not on the first student's request."""
    item_bank()
    try:
        with Session(engine) as session:
            apply_promotions(session)
    except SQLAlchemyError as error:
        logger.warning("promoted calibrations not applied at start-up (%s)", type(error).__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    sync = releases = None
    if app.state.settings.check_schema_on_startup:
        check_schema(app.state.engine)
        if app.state.settings.bank_sync_seconds > 0:  # promotions made by other workers (lms/ops/bank_sync)
            sync = BankSync(app.state.engine, app.state.settings.bank_sync_seconds)
            sync.start()
        warm_item_bank(app.state.engine)
        releases = start_worker(app.state.engine, app.state.settings.environment)  # lms/board/release_jobs
    settle_after_startup()  # what start-up loaded lives as long as the process (lms/ops/gc_tuning)
    try:
        yield
    finally:
        if sync is not None:
            sync.stop()
        if releases is not None:
            releases.stop()


def install_operations(app: FastAPI, settings: Settings) -> None:
    """Issue 7: JSON logs (GIGA_LOG_FORMAT), request metrics (pure ASGI middleware) and ``GET /metrics``."""
    ops_logging.configure_logging(settings.log_format)  # looked up at call time: tests wrap it
    # Added first, so inside the metrics middleware: a refused request is counted (issue 15).
    app.add_middleware(
        ConcurrencyLimitMiddleware,
        max_requests=settings.max_concurrent_requests,
        sign_ins_per_client=settings.max_concurrent_sign_ins_per_client,
        queued_sign_ins_per_client=settings.max_queued_sign_ins_per_client,
    )
    app.add_middleware(OpsMiddleware, json_logs=settings.log_format == "json", secret=settings.secret_key)
    # Outermost: every response gets them, the limits' 503/429 and the error pages included (issue 15).
    app.add_middleware(SecurityHeadersMiddleware, production=settings.is_production)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> Response:
        """Prometheus metrics: loopback without a proxy header, or the GIGA_METRICS_TOKEN bearer token."""
        client = request.client.host if request.client else None
        if not metrics.allowed(client, dict(request.scope["headers"]), settings.metrics_token):
            return JSONResponse(
                {"detail": "metrics are served to the loopback interface or with the metrics token"},
                status_code=403,
            )
        return Response(metrics.render(engine, settings.xapi.max_tries), media_type=metrics.CONTENT_TYPE)


def install_openapi(app: FastAPI) -> None:
    """The OpenAPI document says what the server enforces: integer bounds and the error answers."""
    from lms.core.input_bounds import add_bounds_to_openapi, add_error_responses

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_error_responses(add_bounds_to_openapi(build()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application (tests pass their own settings)."""
    settings = settings or get_settings()
    from lms.core.input_bounds import check_request

    docs = settings.api_docs_enabled
    app = FastAPI(
        title="GIGA Learning Platform",
        version="0.1.0",
        lifespan=lifespan,
        # issue 15: no API documentation in production unless GIGA_API_DOCS=true
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        # every route: integers that fit the database, no NUL or lone surrogate (lms/core/input_bounds.py)
        dependencies=[Depends(check_request)],
    )
    install_openapi(app)
    app.state.settings = settings
    app.state.engine = engine_for(settings)
    install_operations(app, settings)

    @app.get("/healthz", tags=["operations"])
    def healthz(engine: Annotated[Engine, Depends(get_engine)]) -> JSONResponse:
        """Liveness and database reachability (for load balancers and monitoring)."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # any driver error means "unreachable" to a health check
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    # Error handlers, static files and every domain's routers (lms/web.py).
    install_web(app)

    return app


app = create_app()
