"""The one Jinja2 environment and the one ``render``: the CSRF token and the signed-in user in every page.

Templates stay in their domain's folder (``lms/<domain>/templates``); the environment searches all of them,
so template names are unique across the tree (tests/lms/test_templating.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from lms.auth import csrf
from lms.auth.deps import UserView
from lms.core.jst import jst_text
from lms.core.settings import Settings
from lms.pages.roster_problems import problem_text
from lms.reading.provisional import PROVISIONAL_NOTE, bank_is_provisional
from lms.reading.skill_words import child_skill_html

TEMPLATES_DIR = Path(__file__).parent / "templates"
#: every domain's template folder, this package's (the layout, base.html) first
TEMPLATE_DIRS: tuple[Path, ...] = (
    TEMPLATES_DIR,
    *sorted(p for p in Path(__file__).parent.parent.rglob("templates") if p != TEMPLATES_DIR),
)
templates = Jinja2Templates(directory=[str(p) for p in TEMPLATE_DIRS])

ROLE_LABELS = {
    "student": "児童生徒",
    "teacher": "教員",
    "school_admin": "学校管理者",
    "board": "教育委員会",
    "admin": "システム管理者",
}
templates.env.globals["ROLE_LABELS"] = ROLE_LABELS


templates.env.filters["jst"] = jst_text
# a child's words for a skill, ruby by grade (lms/reading/skill_words.py); teachers keep the technical name
templates.env.globals["child_skill_html"] = child_skill_html
# while item parameters are provisional, staff screens say so (provisional_note.html)
templates.env.globals["bank_provisional"] = bank_is_provisional
templates.env.globals["PROVISIONAL_NOTE"] = PROVISIONAL_NOTE
templates.env.globals["problem_text"] = (
    problem_text  # roster problems in words (lms/pages/roster_problems.py)
)


def _user_view(request: Request) -> UserView | None:
    view: UserView | None = getattr(request.state, "page_user_view", None)
    return view


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render ``name`` with the CSRF token, the current user (if any) and ``context``."""
    settings: Settings = request.app.state.settings
    response = HTMLResponse("", status_code=status_code)
    token = csrf.ensure_token(request, response, settings)
    ctx: dict[str, Any] = {
        "request": request,
        "csrf_token": token,
        "user": _user_view(request),
    }
    ctx.update(context or {})
    body = templates.get_template(name).render(ctx)
    response.body = response.render(body)
    response.headers["content-length"] = str(len(response.body))
    response.headers["cache-control"] = "no-store"
    return response
