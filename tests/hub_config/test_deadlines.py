"""Due dates and per-student extensions reach nbgrader's own gradebook, and nbgrader's autograde measures
lateness against them: a real course (generate, three timed submissions, autograde), no mock.

Late work is flagged, not penalised (``LateSubmissionPlugin.penalty_method = "none"``): the late child's score
is the full score and nbgrader records how late it was."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from tornado import web

from hub_config.deadlines import apply_deadline, lateness
from hub_config.formgrader_deadlines import _parse
from tests.hub_config.test_feedback import ASSIGNMENT, _api, _course

JST = timezone(timedelta(hours=9))


def _submit(root: Path, student: str, at_utc: str) -> None:
    nb = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.id == "answer":
            cell.source = "def double(x):\n    return 2 * x"
        elif cell.id == "answer2":
            cell.source = "y = 1"
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text(f"{at_utc} UTC")


def test_nbgrader_measures_lateness_against_the_due_date_and_each_extension(tmp_path: Path) -> None:
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # nbgrader: alembic
    _course(tmp_path)
    api = _api(tmp_path, ours=True)
    assert api.generate_assignment(ASSIGNMENT, force=True)["success"]
    due_jst = datetime(2026, 12, 7, 18, 30, tzinfo=JST)  # 09:30 UTC
    with api.gradebook as gb:
        for student in ("hana", "taro", "jiro", "mika"):
            gb.update_or_create_student(student)
        set_ = apply_deadline(gb, ASSIGNMENT, due_jst, {"taro": 60, "jiro": 30, "mika": 10})
        # nobody has submitted: every extension waits, and no submission row is made for it
        assert set_["extensions"] == {} and set_["waiting"] == {"taro": 60, "jiro": 30, "mika": 10}
        assert list(gb.assignment_submissions(ASSIGNMENT)) == []
        assert gb.find_assignment(ASSIGNMENT).duedate == datetime(2026, 12, 7, 9, 30)  # naive UTC
    _submit(tmp_path, "hana", "2026-12-07 09:45:00.000000")  # 15 min late, no extension
    _submit(tmp_path, "taro", "2026-12-07 10:00:00.000000")  # 30 min after, inside his 60-min extension
    _submit(tmp_path, "mika", "2026-12-07 09:35:00.000000")  # 5 min late: her extension was withdrawn
    for student in ("hana", "taro", "mika"):
        result = api.autograde(ASSIGNMENT, student)
        assert result["success"], result["log"]
    hana_log = api.autograde(ASSIGNMENT, "hana", force=True)["log"]
    assert "900.0 seconds late" in hana_log  # nbgrader's own autograde says so

    with api.gradebook as gb:
        # 「成績をLMSへ送る」 sends the LMS's settings again before it reads the lateness
        apply_deadline(gb, ASSIGNMENT, due_jst, {"taro": 60, "jiro": 30, "mika": 10})
        assert gb.find_submission(ASSIGNMENT, "mika").extension == timedelta(minutes=10)
        set_ = apply_deadline(gb, ASSIGNMENT, due_jst, {"taro": 60, "jiro": 30})  # mika's withdrawn
        assert set_["extensions"] == {"taro": 60} and set_["waiting"] == {"jiro": 30}
        seen = lateness(gb, ASSIGNMENT)
        submitted = sorted(s.student.id for s in gb.assignment_submissions(ASSIGNMENT))
        scores = {s.student.id: (s.score, s.max_score) for s in gb.assignment_submissions(ASSIGNMENT)}
    assert seen["hana"]["seconds_late"] == 900.0 and seen["hana"]["extension_minutes"] == 0
    assert seen["taro"] == {
        "timestamp": "2026-12-07T10:00:00",
        "duedate": "2026-12-07T10:30:00",
        "extension_minutes": 60,
        "seconds_late": 0.0,
    }
    assert seen["mika"]["seconds_late"] == 300.0 and seen["mika"]["extension_minutes"] == 0
    assert "jiro" not in seen  # an extension but no submission: nothing to report
    assert submitted == ["hana", "mika", "taro"]  # and no empty submission for jiro (it would score 0)
    assert scores["hana"] == (3.0, 3.0) == scores["mika"]  # flagged, not penalised
    assert datetime.fromisoformat(seen["hana"]["duedate"]).replace(tzinfo=UTC) == due_jst


def test_the_extension_refuses_a_due_date_past_the_calendar_with_a_400() -> None:
    """A due date that cannot be shifted to UTC (year 1 at +09:00) is the caller's mistake, not a 500."""
    for due in ("0001-01-01T00:00+09:00", "9999-12-31T23:59-12:00"):
        with pytest.raises(web.HTTPError) as refused:
            _parse({"duedate": due, "extensions": {}})
        assert refused.value.status_code == 400
    assert _parse({"duedate": "2026-12-10T08:00+00:00"})[0] == datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
