"""The class's assignment list with each practice round on one line: handing out practice creates one
assignment per child (each gets their own set), which the teacher reads as one round with the children's
names, not as 25 identical 「れんしゅう（12月7日）」 rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from lms.reading.models import Assessment, Assignment, AssignmentTarget
from lms.roster.models import User


@dataclass
class ListEntry:
    assignment: Assignment  # a test, or the first assignment of a practice round
    assessment: Assessment
    members: list[tuple[Assignment, User]] = field(default_factory=list)  # practice round: child by child

    @property
    def is_round(self) -> bool:
        return self.assessment.kind == "practice"


def _targets(session: Session, assignment_ids: Sequence[int]) -> dict[int, User]:
    if not assignment_ids:
        return {}
    rows = session.exec(
        select(AssignmentTarget.assignment_id, User)
        .join(User, col(User.id) == col(AssignmentTarget.user_id))
        .where(col(AssignmentTarget.assignment_id).in_(list(assignment_ids)))
    ).all()
    return {assignment_id: user for assignment_id, user in rows}


def group_rounds(session: Session, rows: Sequence[tuple[Assignment, Assessment]]) -> list[ListEntry]:
    """``rows`` (newest first) with practice assignments of one hand-out (same title, window and teacher)
    gathered into one entry, in the order of their first appearance."""
    practice_ids = [a.id for a, s in rows if s.kind == "practice" and a.id is not None]
    child_of = _targets(session, practice_ids)
    entries: list[ListEntry] = []
    rounds: dict[tuple[object, ...], ListEntry] = {}
    for assignment, assessment in rows:
        if assessment.kind != "practice":
            entries.append(ListEntry(assignment, assessment))
            continue
        key = (assignment.title, assignment.opens_at, assignment.closes_at, assignment.created_by_id)
        entry = rounds.get(key)
        if entry is None:
            entry = rounds[key] = ListEntry(assignment, assessment)
            entries.append(entry)
        child = child_of.get(assignment.id or 0)
        if child is not None:
            entry.members.append((assignment, child))
    for entry in rounds.values():
        entry.members.sort(key=lambda member: member[1].id or 0)
    return entries
