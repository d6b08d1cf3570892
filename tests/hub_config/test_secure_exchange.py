"""Submissions in the exchange are private: "other" users cannot read them (stock nbgrader: they can)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.submit import ExchangeSubmit
from traitlets.config import Config

from hub_config import sandbox
from hub_config.nbgrader_config import configure_nbgrader, settings_from_env
from hub_config.secure_exchange import LinkSafeExchangeCollect, PrivateExchangeSubmit, is_private
from tests.support import missing

COURSE = "c1-prog"


def _exchange(tmp_path: Path, submit_class: type) -> Path:
    """Release one assignment into a fresh exchange, submit it, return the submission folder."""
    config = Config()
    config.Exchange.root = str(tmp_path / "exchange")
    config.Exchange.path_includes_course = True
    config.CourseDirectory.root = str(tmp_path / "course")
    config.CourseDirectory.course_id = COURSE
    config.CourseDirectory.assignment_id = "ps1"
    (tmp_path / "exchange").mkdir(parents=True)
    os.chmod(tmp_path, 0o755)
    os.chmod(tmp_path / "exchange", 0o1777)
    release = tmp_path / "course" / "release" / "ps1"
    release.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), release / "ps1.ipynb")
    coursedir = CourseDirectory(config=config)
    ExchangeReleaseAssignment(
        coursedir=coursedir, authenticator=Authenticator(config=config), config=config
    ).start()
    student_home = tmp_path / "student"
    shutil.copytree(release, student_home / COURSE / "ps1")
    config.Exchange.assignment_dir = str(student_home)
    config.Exchange.cache = str(tmp_path / "cache")
    config.CourseDirectory.student_id = "s-a1"
    coursedir = CourseDirectory(config=config)
    submit_class(coursedir=coursedir, authenticator=Authenticator(config=config), config=config).start()
    (submission,) = (tmp_path / "exchange" / COURSE / "inbound").iterdir()
    return submission


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A world-traversable temporary folder, like /srv/nbgrader (pytest's own tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="giga-exchange-test-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder)


def _readable_by_stranger(path: Path) -> bool:
    """Can an unrelated unprivileged user (a sandbox pool user) read the file?"""
    user = sandbox.ensure_sandbox_users(1)[0]
    probe = subprocess.run(
        ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--clear-groups", "cat", str(path)],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


def test_private_submit_locks_the_submission_down(tmp_path: Path) -> None:
    submission = _exchange(tmp_path, PrivateExchangeSubmit)
    assert (submission / "ps1.ipynb").exists() and (submission / "timestamp.txt").exists()
    assert is_private(submission)
    assert oct(submission.stat().st_mode & 0o777) == "0o770"
    assert oct((submission / "ps1.ipynb").stat().st_mode & 0o777) == "0o640"


def test_another_user_cannot_read_a_private_submission_but_could_with_stock_nbgrader(open_tmp: Path) -> None:
    if os.geteuid() != 0:
        missing("needs root to act as another unprivileged user (CI runs as root)")
    private = _exchange(open_tmp / "private", PrivateExchangeSubmit)
    stock = _exchange(open_tmp / "stock", ExchangeSubmit)
    assert not _readable_by_stranger(private / "ps1.ipynb")
    assert _readable_by_stranger(stock / "ps1.ipynb")  # the gap this module closes
    assert not is_private(stock)


def test_configure_nbgrader_only_sets_traits() -> None:
    c = Config()
    configure_nbgrader(
        c, **settings_from_env({"GIGA_NBGRADER_EXCHANGE": "/x/exchange", "GIGA_AUTOGRADE_POOL": "6"})
    )
    assert c.Exchange.root == "/x/exchange" and c.Exchange.path_includes_course is True
    assert c.ExchangeFactory.submit == "hub_config.secure_exchange.PrivateExchangeSubmit"
    assert c.ExportApp.plugin_class == "hub_config.lms_export.LmsExportPlugin"
    assert c.Authenticator.plugin_class == "nbgrader.auth.JupyterHubAuthPlugin"
    assert sandbox.SandboxedExecute in c.Autograde.autograde_preprocessors
    assert all(pp.__name__ != "Execute" for pp in c.Autograde.autograde_preprocessors)
    assert c.SandboxedExecute.pool_size == 6
    from nbgrader.apps.exportapp import ExportApp
    from nbgrader.exchange import ExchangeFactory

    assert ExchangeFactory(config=c).submit is PrivateExchangeSubmit  # the strings resolve to the classes
    assert ExchangeFactory(config=c).collect is LinkSafeExchangeCollect
    from nbgrader.apps import NbGraderAPI
    from nbgrader.utils import as_timezone

    api = NbGraderAPI(config=c)
    shown = as_timezone(datetime(2026, 12, 7, 0, 30), api.timezone).strftime(api.timestamp_format)
    assert shown == "2026-12-07 09:30"  # 00:30 UTC is 09:30 in Japan
    assert ExportApp(config=c).plugin_class.__name__ == "LmsExportPlugin"
    off = Config()
    configure_nbgrader(off, **settings_from_env({"GIGA_AUTOGRADE_SANDBOX": "0"}))
    assert "autograde_preprocessors" not in off.Autograde


def test_the_config_file_loads_as_nbgrader_loads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("GIGA_NBGRADER_EXCHANGE", "/srv/test-exchange")
    hub_config_dir = Path(__file__).resolve().parents[2] / "hub_config"
    config = PyFileConfigLoader("nbgrader_config.py", path=str(hub_config_dir)).load_config()
    assert config.Exchange.root == "/srv/test-exchange"
    assert sandbox.SandboxedExecute in config.Autograde.autograde_preprocessors


def _collect(tmp_path: Path, collect_class: type, plant: Callable[[Path], None] | None = None) -> Path:
    """Submit, then plant links in the inbound submission as a student can (inbound is writable by all),
    and whatever ``plant`` puts into inbound, then collect as the grader; return the collected folder."""
    submission = _exchange(tmp_path, PrivateExchangeSubmit)
    if plant is not None:
        plant(submission.parent)
    secret = tmp_path / "gradebook-secret.txt"
    secret.write_text("GRADEBOOK-SECRET-271")
    (tmp_path / "other-course").mkdir()
    (tmp_path / "other-course" / "answers.txt").write_text("OTHER-COURSE-SECRET-828")
    os.symlink(secret, submission / "notes.txt")
    os.symlink(tmp_path / "other-course", submission / "more")
    config = Config()
    config.Exchange.root = str(tmp_path / "exchange")
    config.Exchange.path_includes_course = True
    config.CourseDirectory.root = str(tmp_path / "course")
    config.CourseDirectory.course_id = COURSE
    config.CourseDirectory.assignment_id = "ps1"
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{path}"  # a new gradebook runs alembic
    try:
        coursedir = CourseDirectory(config=config)
        collect_class(coursedir=coursedir, authenticator=Authenticator(config=config), config=config).start()
    finally:
        os.environ["PATH"] = path
    return tmp_path / "course" / "submitted" / "s-a1" / "ps1"


def test_collect_never_follows_a_link_planted_in_inbound(open_tmp: Path) -> None:
    from nbgrader.exchange.default.collect import ExchangeCollect

    collected = _collect(open_tmp / "ours", LinkSafeExchangeCollect)
    assert (collected / "ps1.ipynb").is_file()
    assert not (collected / "notes.txt").exists() and not (collected / "more").exists()
    assert not any(path.is_symlink() for path in collected.rglob("*"))
    stock = _collect(open_tmp / "stock", ExchangeCollect)  # the gap this class closes
    assert (stock / "notes.txt").read_text() == "GRADEBOOK-SECRET-271"
    assert (stock / "more" / "answers.txt").read_text() == "OTHER-COURSE-SECRET-828"


def test_collect_sets_aside_a_linked_or_misnamed_inbound_entry_and_keeps_the_real_submission(
    open_tmp: Path,
) -> None:
    """inbound is every student's to write: a link named like a newer submission of theirs, pointing at the
    course's solutions, is never copied (the real, older submission is collected), and a name nbgrader
    cannot parse does not stop the collect."""
    tmp = open_tmp / "planted"
    solutions = tmp / "course" / "source" / "ps1"
    solutions.mkdir(parents=True)
    (solutions / "ps1.ipynb").write_text("TEACHER-SOLUTIONS-314")

    def plant(inbound: Path) -> None:
        os.symlink(solutions, inbound / "s-a1+ps1+2099-01-01 00:00:00.000000 UTC")
        (inbound / "s-a1+ps1+not-a-time").mkdir()

    collected = _collect(tmp, LinkSafeExchangeCollect, plant)
    assert (collected / "ps1.ipynb").is_file()
    assert "TEACHER-SOLUTIONS-314" not in (collected / "ps1.ipynb").read_text()
    stock = _collect(
        open_tmp / "planted-stock",
        ExchangeCollect,
        lambda inbound: os.symlink(solutions, inbound / "s-a1+ps1+2099-01-01 00:00:00.000000 UTC"),
    )
    assert (stock / "ps1.ipynb").read_text() == "TEACHER-SOLUTIONS-314"  # the gap this closes
