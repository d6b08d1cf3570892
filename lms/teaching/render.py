"""Rendering of the teacher pages: E's layout (``base.html``) plus this package's templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from lms.auth import csrf
from lms.pages import render as pages_render

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=[str(TEMPLATES_DIR), str(pages_render.TEMPLATES_DIR)])
templates.env.globals.update(pages_render.templates.env.globals)
templates.env.filters.update(pages_render.templates.env.filters)


def render(request: Request, name: str, context: dict[str, Any] | None = None) -> HTMLResponse:
    """Render a teacher page the way `lms.pages.render.render` does (CSRF token, user, no-store)."""
    response = HTMLResponse("")
    token = csrf.ensure_token(request, response, request.app.state.settings)
    ctx: dict[str, Any] = {"request": request, "csrf_token": token, "user": pages_render._user_view(request)}
    ctx.update(context or {})
    response.body = response.render(templates.get_template(name).render(ctx))
    response.headers["content-length"] = str(len(response.body))
    response.headers["cache-control"] = "no-store"
    return response
