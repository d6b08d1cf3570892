"""What the board's account may learn about class and school sizes through the roster API (issue 14).

Rounding the published counts to 5 hides nothing when the same account can read exact enrolments: the
board's ``GET /api/v1/classes`` and ``GET /api/v1/schools`` therefore give sizes rounded like every
published count, and no class below the threshold (``min_cell_size``) appears by name.  Other roles keep
exact counts of their own slice (a teacher needs to know their class has 31 pupils).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from lms.api.schemas import ClassPublic, SchoolSummary
from lms.board.disclosure import round_to
from lms.board.settings import get_board_settings
from lms.roster.models import User

T = TypeVar("T", ClassPublic, SchoolSummary)


def _board(user: User) -> bool:
    return user.role == "board"


def classes_for(user: User, classes: Sequence[ClassPublic]) -> list[ClassPublic]:
    """The board sees classes of at least k pupils, with rounded sizes; everyone else unchanged."""
    if not _board(user):
        return list(classes)
    cfg = get_board_settings()
    return [
        c.model_copy(update={"student_count": round_to(c.student_count, cfg.count_rounding)})
        for c in classes
        if c.student_count >= cfg.min_cell_size
    ]


def schools_for(user: User, schools: Sequence[SchoolSummary]) -> list[SchoolSummary]:
    """The board sees school enrolments rounded like every published count; everyone else unchanged."""
    if not _board(user):
        return list(schools)
    r = get_board_settings().count_rounding
    return [s.model_copy(update={"student_count": round_to(s.student_count, r)}) for s in schools]
