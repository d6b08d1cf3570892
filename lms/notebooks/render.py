"""Rendering of the notebook pages: E's layout (``base.html``) plus this package's templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader

from lms.auth import csrf
from lms.pages import render as pages_render

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=[str(TEMPLATES_DIR), str(pages_render.TEMPLATES_DIR)])
templates.env.globals.update(pages_render.templates.env.globals)
templates.env.filters.update(pages_render.templates.env.filters)


def _with_notebook_templates(loader: BaseLoader | None) -> BaseLoader:
    """The shared page environment also finds ``notebooks_home.html`` (included by the student's home)."""
    loaders = list(getattr(loader, "loaders", [loader] if loader else []))
    if any(isinstance(x, FileSystemLoader) and str(TEMPLATES_DIR) in x.searchpath for x in loaders):
        return loader  # type: ignore[return-value]
    return ChoiceLoader([*loaders, FileSystemLoader(str(TEMPLATES_DIR))])


pages_render.templates.env.loader = _with_notebook_templates(pages_render.templates.env.loader)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a notebook page the way `lms.pages.render.render` does (CSRF token, user, no-store)."""
    response = HTMLResponse("", status_code=status_code)
    token = csrf.ensure_token(request, response, request.app.state.settings)
    ctx: dict[str, Any] = {"request": request, "csrf_token": token, "user": pages_render._user_view(request)}
    ctx.update(context or {})
    response.body = response.render(templates.get_template(name).render(ctx))
    response.headers["content-length"] = str(len(response.body))
    response.headers["cache-control"] = "no-store"
    return response
