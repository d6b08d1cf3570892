"""nbgrader export plugin: send each assignment's grades (and feedback) to the LMS over HTTP.

``nbgrader export --exporter=hub_config.lms_export.LmsExportPlugin`` (or ``ExportApp.plugin_class`` in
nbgrader_config.py) posts, per assignment, ``POST {lms_url}/api/v1/notebooks/{course_id}/grades`` with a
bearer token of scope ``grades:write`` and the body
``{"assignment": name, "grades": [{"student", "score", "max_score", "feedback_html"}]}``.
The LMS upserts, so running the export again sends the same rows and changes nothing: it is idempotent.

Settings (traits, or environment variables as defaults): ``lms_url`` (``GIGA_LMS_URL``, default
``http://127.0.0.1:8000``), ``token`` (``GIGA_LMS_GRADES_TOKEN``), ``course_id`` (``GIGA_NBGRADER_COURSE_ID``,
else ``CourseDirectory.course_id``). Students without a submission are left out (the LMS shows 未提出).
hub_config talks to the LMS over HTTP only; it never imports ``lms``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import ExportPlugin
from traitlets import Any as AnyTrait
from traitlets import Bool, Float, Integer, Unicode, default

MAX_FEEDBACK_CHARS = 450_000  # the LMS accepts up to 500,000 characters per student
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)


class LmsExportError(RuntimeError):
    """The grades could not be delivered; the message says what to fix (never contains the token)."""


class LmsExportPlugin(ExportPlugin):
    """Post grades from nbgrader's gradebook to the LMS grades API, one request per assignment."""

    lms_url = Unicode(help="Base URL of the LMS, e.g. http://127.0.0.1:8000 (env GIGA_LMS_URL).").tag(
        config=True
    )
    token = Unicode(help="LMS API token with scope grades:write (env GIGA_LMS_GRADES_TOKEN).").tag(
        config=True
    )
    course_id = Unicode(help="LMS notebook course slug (env GIGA_NBGRADER_COURSE_ID).").tag(config=True)
    include_feedback = Bool(True, help="Send the generated feedback HTML when it exists.").tag(config=True)
    timeout = Float(30.0, help="Seconds to wait for the LMS per request.").tag(config=True)
    retries = Integer(2, help="Extra attempts after a network error or a 5xx answer.").tag(config=True)
    transport = AnyTrait(None, allow_none=True, help="An httpx transport (tests use httpx.MockTransport).")

    @default("lms_url")
    def _default_lms_url(self) -> str:
        return os.environ.get("GIGA_LMS_URL", "http://127.0.0.1:8000")

    @default("token")
    def _default_token(self) -> str:
        return os.environ.get("GIGA_LMS_GRADES_TOKEN", "")

    @default("course_id")
    def _default_course_id(self) -> str:
        return os.environ.get("GIGA_NBGRADER_COURSE_ID", "") or self._coursedir().course_id

    def _coursedir(self) -> CourseDirectory:
        parent_dir = getattr(self.parent, "coursedir", None)
        return parent_dir if parent_dir is not None else CourseDirectory(config=self.config)

    # ---- what to send -------------------------------------------------------------------------------------

    def build_payloads(self, gradebook: Gradebook) -> list[dict[str, Any]]:
        """One request body per assignment (filtered by ``--assignment``/``--student`` when given)."""
        wanted_assignments = {str(a) for a in self.assignment}
        wanted_students = {str(s) for s in self.student}
        payloads = []
        for assignment in gradebook.assignments:
            if wanted_assignments and assignment.name not in wanted_assignments:
                continue
            lines = []
            for student in gradebook.students:
                if wanted_students and student.id not in wanted_students:
                    continue
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    continue
                penalty = submission.late_submission_penalty or 0.0
                line: dict[str, Any] = {
                    "student": student.id,
                    "score": round(max(submission.score - penalty, 0.0), 4),
                    "max_score": round(float(assignment.max_score), 4),
                }
                if self.include_feedback:
                    line["feedback_html"] = self._feedback_html(assignment.name, student.id)
                lines.append(line)
            payloads.append({"assignment": assignment.name, "grades": lines})
        return payloads

    def _feedback_html(self, assignment: str, student: str) -> str | None:
        folder = Path(
            self._coursedir().format_path(self._coursedir().feedback_directory, student, assignment)
        )
        pages = sorted(folder.glob("*.html")) if folder.is_dir() else []
        if not pages:
            return None
        parts = []
        for page in pages:
            html = page.read_text(encoding="utf-8", errors="replace")
            match = _BODY.search(html)  # nbconvert pages embed ~300 kB of CSS; the LMS sanitises the rest
            parts.append(match.group(1) if match else html)
        joined = "\n<hr>\n".join(parts)
        if len(joined) > MAX_FEEDBACK_CHARS:
            self.log.warning(
                "Feedback for %s/%s is too large for the LMS; sent without it", student, assignment
            )
            return None
        return joined

    # ---- sending ------------------------------------------------------------------------------------------

    def export(self, gradebook: Gradebook) -> None:
        if not self.token:
            raise LmsExportError(
                "No LMS token: set GIGA_LMS_GRADES_TOKEN (an API token with scope grades:write) "
                "or LmsExportPlugin.token."
            )
        if not re.fullmatch(r"[a-z0-9-]{3,40}", self.course_id or ""):
            raise LmsExportError(
                f"Course id {self.course_id!r} is not an LMS notebook course slug ([a-z0-9-]{{3,40}}): "
                "set CourseDirectory.course_id or GIGA_NBGRADER_COURSE_ID."
            )
        payloads = self.build_payloads(gradebook)
        url = f"/api/v1/notebooks/{self.course_id}/grades"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        with httpx.Client(
            base_url=self.lms_url.rstrip("/"), headers=headers, timeout=self.timeout, transport=self.transport
        ) as client:
            for payload in payloads:
                answer = self._post(client, url, payload)
                self.log.info(
                    "LMS: %s — %d grade(s) sent (%s)", payload["assignment"], len(payload["grades"]), answer
                )

    def _post(self, client: httpx.Client, url: str, payload: dict[str, Any]) -> dict[str, Any]:
        assignment = payload["assignment"]
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = client.post(url, json=payload)
            except httpx.TransportError as error:
                if last:
                    raise LmsExportError(
                        f"Cannot reach the LMS at {self.lms_url} to send {assignment!r} "
                        f"({type(error).__name__}); is it running?"
                    ) from None
                time.sleep(0.5 * (attempt + 1))
                continue
            if response.status_code >= 500 and not last:
                time.sleep(0.5 * (attempt + 1))
                continue
            if response.is_success:
                body = response.json()
                return body if isinstance(body, dict) else {}
            raise LmsExportError(
                f"The LMS refused the grades of {assignment!r} for course {self.course_id!r} "
                f"(HTTP {response.status_code}): {_detail(response)}"
            )
        raise AssertionError("unreachable")  # pragma: no cover


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return str(detail)[:500]
