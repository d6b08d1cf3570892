"""What the class page links to besides the roster: the notebook course (formgrader, the teacher's own
notebooks) and the class's practice page, so every classroom flow starts from the class page."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from lms.notebooks import hub_sync
from lms.notebooks import service as notebooks
from lms.notebooks.hub_client import formgrader_url
from lms.oauth_provider.routes import get_oauth_settings
from lms.pages.class_list import grade_label
from lms.roster.models import SchoolClass, User


def class_links(session: Session, user: User, class_: SchoolClass) -> dict[str, Any]:
    """Context for class.html: the notebook course and the hub URLs a teacher of the class may open."""
    assert class_.id is not None
    course = notebooks.course_for_class(session, class_.id)
    hub_url = get_oauth_settings().hub_url.rstrip("/")
    is_teacher = hub_sync.can_prestart(session=session, user=user, class_=class_)
    return {
        "grade_label": grade_label(class_.grades),
        "notebook_course": course,
        "formgrader_url": formgrader_url(hub_url, course.course_id) if course and is_teacher else None,
        "notebooks_url": f"{hub_url}/hub/user-redirect/tree" if course and is_teacher else None,
    }
