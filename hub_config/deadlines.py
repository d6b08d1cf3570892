"""Due dates and per-student extensions in nbgrader's gradebook, and the lateness nbgrader computes from them.

The LMS is where a teacher sets them (due date in JST, extensions per child); they reach nbgrader's own
gradebook, so nbgrader's autograde records ``total_seconds_late`` against the due date plus the child's
extension. Late submissions are *flagged*, not penalised: ``LateSubmissionPlugin.penalty_method = "none"``
(set in ``hub_config.nbgrader_config``), and the LMS shows 「期限後の提出」 next to the unchanged score.

nbgrader keeps due dates as naive UTC; an extension lives on the student's submission row. A child who has
not handed anything in has no row, and none is made for the extension: an empty row would count as an
autograded submission scoring 0 (the formgrader lists it, 「成績をLMSへ送る」 would store 0, not 未提出).
The extension is *waiting* instead: the LMS sends every due date and extension again before it reads the
lateness back (``lms/notebooks/routes.py`` grades_pull_form), by which time autograde has made the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any


def naive_utc(moment: datetime) -> datetime:
    """nbgrader's form: naive UTC (an aware time is converted, a naive one is taken as UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def apply_deadline(
    gradebook: Any, assignment: str, due: datetime | None, extension_minutes: Mapping[str, int]
) -> dict[str, Any]:
    """Set ``assignment``'s due date and exactly these extensions (others removed) in an open
    ``nbgrader.api.Gradebook``. Returns what it set: ``extensions`` on submissions, ``waiting`` for the
    children who have not submitted (set when they have, by the next call)."""
    from nbgrader.api import MissingEntry

    gradebook.update_or_create_assignment(assignment, duedate=naive_utc(due) if due else None)
    for submission in gradebook.assignment_submissions(assignment):
        if submission.student.id not in extension_minutes and submission.extension is not None:
            gradebook.grant_extension(assignment, submission.student.id)  # no time given: removed
    granted: dict[str, int] = {}
    waiting: dict[str, int] = {}
    for student, minutes in sorted(extension_minutes.items()):
        try:
            gradebook.find_submission(assignment, student)
        except MissingEntry:
            waiting[student] = minutes  # never an empty submission row (see the module docstring)
            continue
        gradebook.grant_extension(assignment, student, minutes=minutes)
        granted[student] = minutes
    return {
        "assignment": assignment,
        "duedate": due.isoformat() if due else None,
        "extensions": granted,
        "waiting": waiting,
    }


def lateness(gradebook: Any, assignment: str) -> dict[str, dict[str, Any]]:
    """Per student who submitted: nbgrader's own view — submission time, effective due date (with the
    extension), the extension in minutes and ``total_seconds_late`` (nbgrader's property: from the current
    due date and extension)."""
    out: dict[str, dict[str, Any]] = {}
    for submission in gradebook.assignment_submissions(assignment):
        if submission.timestamp is None:
            continue
        extension: timedelta | None = submission.extension
        out[submission.student.id] = {
            "timestamp": submission.timestamp.isoformat(),
            "duedate": submission.duedate.isoformat() if submission.duedate else None,
            "extension_minutes": int(extension.total_seconds() // 60) if extension else 0,
            "seconds_late": float(submission.total_seconds_late),
        }
    return out
