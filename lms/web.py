"""Wire the web parts into the app: the one set of error handlers, static files, OIDC, page and API routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from lms.api.routes import router as api_router
from lms.auth.cards import pages as card_pages
from lms.auth.oidc import OidcClient
from lms.board import pages as board_pages
from lms.board import release_routes, support_routes
from lms.board import routes as board_routes
from lms.core.errors import DomainError
from lms.lti import dynamic_registration_routes as lti_dynamic_registration
from lms.lti import notebook_lessons as lti_notebook_lessons
from lms.lti import pages as lti_pages
from lms.lti import routes as lti_routes
from lms.lti import service_routes as lti_service_routes
from lms.lti.framing import AncestorCache, LtiFramingMiddleware, engine_loader
from lms.notebooks import routes as notebook_routes
from lms.oauth_provider import routes as oauth_routes
from lms.pages import admin_routes, auth_routes, home_routes
from lms.pages.errors import (
    database_refused_handler,
    domain_error_handler,
    http_error_handler,
    server_error_handler,
    validation_error_handler,
)
from lms.reading.bank_review import appointment_pages as reviewer_appointment_pages
from lms.reading.bank_review import pages as bank_review_pages
from lms.reading.calibration.routes import router as calibration_router
from lms.reading.practice import routes as practice_routes
from lms.reading.routes import router as assessments_router
from lms.reading.runner import api as runner_api
from lms.reading.runner import pages as runner_pages
from lms.teaching import pages as teaching_pages
from lms.teaching import routes as teaching_routes

STATIC_DIR = Path(__file__).parent / "static"


def install_web(app: FastAPI) -> None:
    """Add the JSON API, the pages, /static and the Japanese error pages to ``app``."""
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(Exception, server_error_handler)
    app.add_exception_handler(DataError, database_refused_handler)
    oidc_settings = app.state.settings.oidc
    app.state.oidc = OidcClient(oidc_settings) if oidc_settings.enabled else None
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # issue 23: registered portals may frame the tool (outermost, after the security headers)
    app.state.lti_frame_ancestors = AncestorCache(
        engine_loader(app.state.engine), extra=app.state.settings.lti.frame_ancestors
    )
    app.add_middleware(LtiFramingMiddleware, cache=app.state.lti_frame_ancestors)

    # First: the answer route is the hot path and routes are matched in order (docs/performance.md).
    app.include_router(assessments_router)
    app.include_router(api_router)
    for module in (auth_routes, home_routes, admin_routes):
        app.include_router(module.router)
    app.include_router(card_pages.router)  # QR sign-in cards (issue 19)
    app.include_router(runner_pages.router)
    app.include_router(runner_api.router)
    app.include_router(teaching_routes.router)
    app.include_router(teaching_pages.router)
    app.include_router(practice_routes.router)
    app.include_router(practice_routes.pages)
    app.include_router(calibration_router)
    app.include_router(bank_review_pages.router)  # issue 17: the reviewer's checklist
    app.include_router(reviewer_appointment_pages.router)  # issue 17: appointing 問題の確認者
    app.include_router(board_routes.router)
    app.include_router(release_routes.router)  # issue 14: the board reads immutable releases
    app.include_router(board_pages.router)
    app.include_router(support_routes.api)
    app.include_router(support_routes.pages)
    app.include_router(oauth_routes.router)
    app.include_router(lti_routes.router)  # issue 23: LTI 1.3 tool
    app.include_router(lti_service_routes.router)  # issue 23: deep linking, AGS, NRPS
    app.include_router(lti_pages.router)
    app.include_router(lti_notebook_lessons.router)  # issue 23: notebook lessons by launch
    app.include_router(lti_dynamic_registration.router)  # issue 23: LTI Dynamic Registration
    app.include_router(notebook_routes.api)
    app.include_router(notebook_routes.pages)
