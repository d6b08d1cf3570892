"""A small server extension beside each course's formgrader: the LMS sets due dates and per-student
extensions in nbgrader's gradebook, and reads nbgrader's own lateness back (「成績をLMSへ送る」).

nbgrader's formgrader API can set a due date but not an extension, and its submission listing carries no
lateness. ``PUT {base}giga/deadlines/<assignment>`` with ``{"duedate": ISO 8601 or null, "extensions":
{student: minutes}}`` sets both (exactly: extensions not listed are removed; a child who has not submitted
yet is answered under ``waiting``, with no submission row made); ``GET`` answers
``{student: {timestamp, duedate, extension_minutes, seconds_late}}`` from nbgrader's gradebook
(``hub_config.deadlines``). Same authentication as the formgrader (the hub's token of a teacher of the
course or the LMS service). Loaded with
``--ServerApp.jpserver_extensions=hub_config.formgrader_deadlines=True``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jupyter_server.utils import url_path_join
from nbgrader.api import MissingEntry
from nbgrader.server_extensions.formgrader.base import BaseApiHandler
from tornado import web

from hub_config.deadlines import apply_deadline, lateness, naive_utc


def _parse(body: Any) -> tuple[datetime | None, dict[str, int]]:
    if not isinstance(body, dict):
        raise web.HTTPError(400, "expected a JSON object with duedate and extensions")
    raw_due, raw_ext = body.get("duedate"), body.get("extensions") or {}
    try:
        due = datetime.fromisoformat(raw_due) if raw_due else None
        if due is not None:
            naive_utc(due)  # nbgrader's form; year 1 at +09:00 has none (OverflowError)
        extensions = {str(k): int(v) for k, v in dict(raw_ext).items()}
    except (TypeError, ValueError, OverflowError) as error:
        raise web.HTTPError(400, f"bad duedate or extensions: {error}") from None
    if any(minutes < 0 or minutes > 60 * 24 * 365 for minutes in extensions.values()):
        raise web.HTTPError(400, "extensions are minutes between 0 and one year")
    return due, extensions


class DeadlineHandler(BaseApiHandler):  # type: ignore[misc]  # nbgrader is untyped
    @web.authenticated  # type: ignore[misc]
    def get(self, assignment: str) -> None:
        try:
            self.gradebook.find_assignment(assignment)
        except MissingEntry:
            raise web.HTTPError(404, "no such assignment") from None
        self.write(json.dumps(lateness(self.gradebook, assignment)))

    @web.authenticated  # type: ignore[misc]
    def put(self, assignment: str) -> None:
        due, extensions = _parse(self.get_json_body())
        for student in extensions:
            try:
                self.gradebook.find_student(student)
            except MissingEntry:
                self.gradebook.update_or_create_student(student)
        self.write(json.dumps(apply_deadline(self.gradebook, assignment.strip(), due, extensions)))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "hub_config.formgrader_deadlines"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    route = url_path_join(serverapp.web_app.settings["base_url"], "giga", "deadlines", r"([^/]+)")
    serverapp.web_app.add_handlers(".*$", [(route, DeadlineHandler)])
