"""What the student's home page shows of notebooks: the 「ノートブックを開く」 link and their grades."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from lms.notebooks import service
from lms.notebooks.deadlines import lateness_label
from lms.oauth_provider.routes import get_oauth_settings
from lms.roster.models import User


def home_context(session: Session, user: User) -> dict[str, Any]:
    """Context for ``notebooks_home.html``: the hub link (only with a notebook course) and own grades."""
    has_course = bool(service.hub_groups(session, user))
    hub_url = get_oauth_settings().hub_url.rstrip("/") + "/hub/user-redirect/tree"
    return {
        "notebook_url": hub_url if has_course else None,
        "grades": service.student_grades(session=session, student=user),
        "lateness_label": lateness_label,
    }
