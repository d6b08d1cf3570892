"""Students see their submission times in JST: nbgrader's Assignments list loads the platform's nbgrader
config (as every spawner configuration does) and shows a UTC-recorded submission in Japan time; the
exchange keeps recording UTC, which nbgrader's collect reads back correctly."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.server_extensions.assignment_list.handlers import AssignmentList
from nbgrader.utils import parse_utc
from traitlets.config import Config

from hub_config.configurer import nbgrader_environment
from hub_config.local_time import to_japan_time
from hub_config.settings import HubSettings

COURSE = "c1-prog"


def test_recorded_utc_is_shown_in_japan_time() -> None:
    assert to_japan_time("2026-12-07 09:13:30.379753 UTC") == "2026-12-07 18:13:30（日本時間）"
    assert to_japan_time("2026-12-07 20:00:00.000001 UTC") == "2026-12-08 05:00:00（日本時間）"  # next day
    assert to_japan_time("not a time") == "not a time"


def test_a_jst_recording_would_be_misread_as_utc() -> None:
    """Why the exchange keeps UTC: nbgrader reads back ``... JST`` (Exchange.timezone) nine hours wrong."""
    assert parse_utc("2026-12-07 18:00:00.000000 JST").hour == 18  # taken as UTC: should be 9


def _submit(tmp_path: Path, student_home: Path, cache: Path) -> str:
    """Release one assignment, submit it with nbgrader's stock classes (UTC recording); return the stamp."""
    config = Config()
    config.Exchange.root = str(tmp_path / "exchange")
    config.Exchange.path_includes_course = True
    config.CourseDirectory.root = str(tmp_path / "course")
    config.CourseDirectory.course_id = COURSE
    config.CourseDirectory.assignment_id = "ps1"
    (tmp_path / "exchange").mkdir()
    os.chmod(tmp_path / "exchange", 0o1777)
    release = tmp_path / "course" / "release" / "ps1"
    release.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), release / "ps1.ipynb")
    auth = Authenticator(config=config)
    coursedir = CourseDirectory(config=config)
    ExchangeReleaseAssignment(coursedir=coursedir, authenticator=auth, config=config).start()
    shutil.copytree(release, student_home / COURSE / "ps1")
    config.Exchange.assignment_dir = str(student_home)
    config.Exchange.cache = str(cache)
    config.CourseDirectory.student_id = "s-a1"
    ExchangeSubmit(coursedir=CourseDirectory(config=config), authenticator=auth, config=config).start()
    (stamp_file,) = cache.glob(f"{COURSE}/*/timestamp.txt")
    return stamp_file.read_text(encoding="utf-8").strip()


def test_the_students_assignment_list_shows_jst_with_the_platform_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, cache = tmp_path / "home", tmp_path / "cache"
    recorded = _submit(tmp_path, home, cache)
    assert recorded.endswith(" UTC")  # the exchange records UTC, as before
    settings = HubSettings(mode="test", exchange_root=tmp_path / "exchange", is_root=False)
    for name, value in nbgrader_environment(settings).items():  # what a student's server sees
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GIGA_AUTOGRADE_SANDBOX", "0")  # listing only: no sandbox set-up in this process
    # a higher-priority config folder: no hub to ask for the student's courses here, cache where submit put it
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", f"{overrides}{os.pathsep}{os.environ['JUPYTER_CONFIG_PATH']}")
    (overrides / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        'c.Authenticator.plugin_class = "nbgrader.auth.NoAuthPlugin"\n'
        f"c.Exchange.cache = {str(cache)!r}\n",
        encoding="utf-8",
    )
    lister = AssignmentList()
    lister.root_dir = str(home)
    listed: dict[str, Any] = lister.list_submitted_assignments(course_id=COURSE)
    assert listed["success"], listed
    (assignment,) = listed["value"]
    (submission,) = assignment["submissions"]
    assert submission["timestamp"] == to_japan_time(recorded)
    assert submission["timestamp"].endswith("（日本時間）")
    shown_hour = int(submission["timestamp"][11:13])
    assert shown_hour == (parse_utc(recorded).hour + 9) % 24
