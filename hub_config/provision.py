"""Provision the hub from the LMS, idempotently: hub users, ``nbgrader-``/``formgrade-`` groups (exact
membership: roster changes flow to the hub), the per-course grader account, course folders, the students'
names in each course's gradebook (what the formgrader lists) and the course list that ``jupyterhub_config.py``
reads for the formgrader services.

Talks HTTP only: the LMS API with an API token (scope ``hub``, an admin's) and the hub REST API with the
service token of ``giga-lms``. Run: ``python -m hub_config.provision`` (environment: GIGA_HUB_LMS_URL,
GIGA_LMS_API_TOKEN,
GIGA_HUB_API_URL, GIGA_HUB_SERVICE_TOKEN, GIGA_HUB_COURSES_FILE, GIGA_HUB_STATE_DIR; optional
GIGA_HUB_LESSONS_DIR: a folder with the platform's lessons in ``source/`` (小学生版) and ``source-chuu/``
(中学生版), as classroom/ has them — a course without a ``source/`` folder gets its class's version, once).
Exit 2 with one sentence on a bad setting or an unreachable service.

Everything but the formgrader service is live (no hub restart): the LMS itself syncs a course when it is
flagged, from 「名簿をハブに反映」 and before each 「授業をはじめる」; ``--every SECONDS`` keeps running and
syncs all courses periodically, so roster imports reach the hub within that time. A brand-new course's
formgrader service (and its teachers' access role) is hub configuration: it appears after the next hub
restart, which reads the course list this script writes.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hub_config.configurer import GRADER_ACCOUNT, NOTEBOOK_STUDENTS_GROUP, STUDENT_GROUP, TEACHER_GROUP
from hub_config.gradebook_names import record_student_names

TIMEOUT = httpx.Timeout(30.0)


class ProvisionError(Exception):
    """Provisioning cannot go on; the message says what to fix."""


LESSON_FOLDERS = {"shou": "source", "chuu": "source-chuu"}  # as classroom/build_sources.py writes them


@dataclass
class Report:
    users_created: list[str] = field(default_factory=list)
    groups_created: list[str] = field(default_factory=list)
    members_added: dict[str, list[str]] = field(default_factory=dict)
    members_removed: dict[str, list[str]] = field(default_factory=dict)
    courses: list[str] = field(default_factory=list)
    names_written: dict[str, list[str]] = field(default_factory=dict)
    lessons_seeded: dict[str, str] = field(default_factory=dict)  # course → lesson version

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def fetch_courses(lms: httpx.Client) -> list[dict[str, Any]]:
    """``GET /api/v1/notebooks/courses`` of the LMS."""
    response = lms.get("/api/v1/notebooks/courses")
    if response.status_code != 200:
        raise ProvisionError(
            f"the LMS refused the course list (HTTP {response.status_code}): {_detail(response)}"
        )
    courses: list[dict[str, Any]] = response.json()["courses"]
    return courses


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail") or body.get("message") or body)[:200]


def _ensure_users(hub: httpx.Client, names: set[str], report: Report) -> None:
    existing: set[str] = set()
    offset = 0
    while True:  # paginated listing (JupyterHub ≥ 2)
        page = hub.get("/users", params={"offset": offset, "limit": 200}).raise_for_status().json()
        items = page["items"] if isinstance(page, dict) else page
        existing.update(u["name"] for u in items)
        if not isinstance(page, dict) or not page.get("_pagination", {}).get("next"):
            break
        offset += len(items)
    missing = sorted(names - existing)
    if missing:
        hub.post("/users", json={"usernames": missing}).raise_for_status()
        report.users_created.extend(missing)


def _sync_group(hub: httpx.Client, group: str, wanted: set[str], report: Report) -> None:
    response = hub.get(f"/groups/{group}")
    if response.status_code == 404:
        hub.post(f"/groups/{group}").raise_for_status()
        report.groups_created.append(group)
        current: set[str] = set()
    else:
        current = set(response.raise_for_status().json()["users"])
    add, remove = sorted(wanted - current), sorted(current - wanted)
    if add:
        hub.post(f"/groups/{group}/users", json={"users": add}).raise_for_status()
        report.members_added[group] = add
    if remove:
        hub.request("DELETE", f"/groups/{group}/users", json={"users": remove}).raise_for_status()
        report.members_removed[group] = remove


def _give_to(path: Path, account: str) -> None:
    """Hand ``path`` to the unix account ``account`` when it exists (hub local mode, provisioning as root)."""
    try:
        entry = pwd.getpwnam(account)
    except KeyError:
        return  # demo mode: the formgrader runs as the account that provisions
    if os.geteuid() == 0:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def course_folder(state_dir: Path, course_id: str, grader: str) -> Path:
    """The course folder, private to its grader (0700): it holds the gradebook, the solutions and hidden
    tests (source/), every submission and graded copy. nbgrader writes 0644 files in it, so the folder's
    own mode is what keeps students, other courses' graders and autograded code out."""
    folder = state_dir / "courses" / course_id
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # folders made by older versions were 0755
    _give_to(folder, grader)
    return folder


def ensure_course(state_dir: Path, course_id: str, grader: str) -> Path:
    """The course folder (0700) with its nbgrader_config.py: what the formgrader service starts in."""
    folder = course_folder(state_dir, course_id, grader)
    config = folder / "nbgrader_config.py"
    if not config.exists():
        config.write_text(
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(folder)!r}\n"
            f"c.CourseDirectory.course_id = {course_id!r}\n",
            encoding="utf-8",
        )
        _give_to(config, grader)
    return folder


def seed_lessons(folder: Path, lessons_dir: Path, version: str, grader: str) -> bool:
    """Copy the platform's lessons of ``version`` into the course's ``source/`` unless it exists (the
    teacher's own edits stay); the copy belongs to the grader. True if copied."""
    target = folder / "source"
    origin = lessons_dir / LESSON_FOLDERS.get(version, LESSON_FOLDERS["shou"])
    if target.exists() or not origin.is_dir():
        return False
    temporary = folder / "source.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    shutil.copytree(origin, temporary, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for path in [temporary, *temporary.rglob("*")]:
        _give_to(path, grader)
    os.replace(temporary, target)
    return True


def ensure_exchange(root: Path) -> None:
    """nbgrader's exchange: 1777 like /tmp (students create their submissions in it, nobody lists others')."""
    root.mkdir(parents=True, exist_ok=True)
    if os.stat(root).st_uid == os.geteuid():
        os.chmod(root, 0o1777)


def provision(
    *,
    lms: httpx.Client,
    hub: httpx.Client,
    state_dir: Path,
    courses_file: Path | None,
    lessons_dir: Path | None = None,
) -> Report:
    """Bring the hub in line with the LMS; safe to run again at any time."""
    report = Report()
    courses = fetch_courses(lms)
    all_students: set[str] = set()
    for course in courses:
        course_id = str(course["course_id"])
        grader = GRADER_ACCOUNT.format(course=course_id)
        students = set(course["students"])
        all_students |= students
        teachers = set(course["teachers"]) | {grader}
        _ensure_users(hub, students | teachers, report)
        _sync_group(hub, STUDENT_GROUP.format(course=course_id), students, report)
        _sync_group(hub, TEACHER_GROUP.format(course=course_id), teachers, report)
        folder = ensure_course(state_dir, course_id, grader)
        version = str(course.get("lesson_version") or "shou")
        if lessons_dir is not None and seed_lessons(folder, lessons_dir, version, grader):
            report.lessons_seeded[course_id] = version
        names = course.get("student_names") or []
        if names:  # the formgrader lists students by these names (nbgrader's own gradebook)
            written = record_student_names(folder, course_id, names)
            _give_to(folder / "gradebook.db", grader)
            if written:
                report.names_written[course_id] = written
        report.courses.append(course_id)
    # every notebook student, exactly: the group whose servers the LMS may start (「授業をはじめる」)
    _sync_group(hub, NOTEBOOK_STUDENTS_GROUP, all_students, report)
    if courses_file is not None:
        courses_file.parent.mkdir(parents=True, exist_ok=True)
        courses_file.write_text(json.dumps(sorted(report.courses)), encoding="utf-8")
    return report


def _every(argv: list[str]) -> float | None:
    """``--every SECONDS`` (a positive number) or None; raises ValueError with a sentence otherwise."""
    if not argv:
        return None
    if len(argv) != 2 or argv[0] != "--every":
        raise ValueError("usage: python -m hub_config.provision [--every SECONDS]")
    try:
        seconds = float(argv[1])
    except ValueError:
        seconds = 0
    if seconds < 5:
        raise ValueError("--every needs a number of seconds, at least 5")
    return seconds


def main(
    environ: dict[str, str] | None = None,
    argv: list[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> int:
    """One provisioning run, or one every ``--every`` seconds (``rounds`` bounds it in tests)."""
    try:
        every = _every(sys.argv[1:] if argv is None else argv)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    done = 0
    while True:
        status = _run_once(environ, keep_going=every is not None)
        done += 1
        if every is None or status == 2 or (rounds is not None and done >= rounds):  # 2: a setting is wrong
            return status
        sleep(every)


def _run_once(environ: dict[str, str] | None, *, keep_going: bool) -> int:
    env = dict(os.environ if environ is None else environ)
    needed = ["GIGA_LMS_API_TOKEN", "GIGA_HUB_SERVICE_TOKEN"]
    missing = [name for name in needed if not env.get(name)]
    if missing:
        print(
            f"error: set {', '.join(missing)} "
            "(an LMS admin API token with scope 'hub', the hub service token)",
            file=sys.stderr,
        )
        return 2
    lms_url = env.get("GIGA_HUB_LMS_URL", "http://127.0.0.1:8000")
    hub_api = env.get("GIGA_HUB_API_URL", "http://127.0.0.1:8001/hub/api")
    state_dir = Path(env.get("GIGA_HUB_STATE_DIR", Path(__file__).resolve().parent.parent / "var" / "hub"))
    courses_file = Path(env.get("GIGA_HUB_COURSES_FILE", state_dir / "courses.json"))
    lessons_dir = Path(env["GIGA_HUB_LESSONS_DIR"]) if env.get("GIGA_HUB_LESSONS_DIR") else None
    if lessons_dir is not None and not (lessons_dir / LESSON_FOLDERS["shou"]).is_dir():
        print(f"error: GIGA_HUB_LESSONS_DIR {lessons_dir} has no source/ folder of lessons", file=sys.stderr)
        return 2
    try:
        with (
            httpx.Client(
                base_url=lms_url,
                headers={"Authorization": f"Bearer {env['GIGA_LMS_API_TOKEN']}"},
                timeout=TIMEOUT,
            ) as lms,
            httpx.Client(
                base_url=hub_api,
                headers={"Authorization": f"token {env['GIGA_HUB_SERVICE_TOKEN']}"},
                timeout=TIMEOUT,
            ) as hub,
        ):
            report = provision(
                lms=lms, hub=hub, state_dir=state_dir, courses_file=courses_file, lessons_dir=lessons_dir
            )
    except (ProvisionError, httpx.HTTPError) as error:
        print(f"error: provisioning failed: {error}", file=sys.stderr)
        return 1 if keep_going else 2
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
