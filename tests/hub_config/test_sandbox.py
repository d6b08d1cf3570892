"""The autograde sandbox: a malicious submission cannot read a neighbour's work, the gradebook or the course,
cannot change grades, and an endless loop or a memory bomb fails safely — while its grade is still computed.

Runs real ``nbgrader autograde`` (through its Python API) on a small course laid out like the deployment: the
course directory belongs to the grader (here root) with mode 700. The same attack run *without* the sandbox
(nbgrader's stock Execute) does leak, which shows that the checks can see a leak.
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import nbformat
import pytest

from hub_config import sandbox
from tests.support import missing


@pytest.fixture(autouse=True)
def _root_and_setpriv() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        missing("the sandbox switches to unprivileged users: needs root and setpriv (CI runs as root)")


ASSIGNMENT = "ps1"
HONEST = "alice"
MALICIOUS = "mallory"
SECRET = "ALICE-SECRET-7f3a"


def _cell(kind: str, source: str, grade_id: str, points: int = 0) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.id = grade_id
    meta = {"grade_id": grade_id, "schema_version": 3}
    if kind == "solution":
        meta.update(grade=False, solution=True, locked=False)
    else:
        meta.update(grade=True, solution=False, locked=True, points=points)
    cell.metadata["nbgrader"] = meta
    return cell


def _source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("solution", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", "ans_answer"),
        _cell("tests", "assert answer == 42", "check_answer", 2),
        _cell(
            "solution",
            "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
            "ans_double",
        ),
        _cell("tests", "assert double(4) == 8\nassert double(-1) == -2", "check_double", 3),
    ]
    return nb


def _attack_source(root: Path, leak_port: int) -> str:
    """Code a student might submit: each attack prints BLOCKED:<error> or LEAK:/TAMPERED:<what worked>."""
    neighbour = root / "submitted" / HONEST / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    neighbour_graded = root / "autograded" / HONEST / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    gradebook = root / "gradebook.db"
    source = root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    return f"""
import os, socket, sqlite3
def attempt(label, action):
    try:
        result = action()
    except BaseException as error:
        print(f"BLOCKED:{{label}}:{{type(error).__name__}}")
    else:
        print(f"{{'TAMPERED' if label.startswith('write') else 'LEAK'}}:{{label}}:{{str(result)[:5000]}}")
attempt("neighbour", lambda: open({str(neighbour)!r}).read())
attempt("neighbour-graded", lambda: open({str(neighbour_graded)!r}).read())
attempt("list-submissions", lambda: os.listdir({str(root / "submitted")!r}))
attempt("gradebook", lambda: open({str(gradebook)!r}, "rb").read(64))
def rewrite_grades():
    db = sqlite3.connect({str(gradebook)!r})
    db.execute("UPDATE grade SET manual_score = 100")
    db.commit()
    return "updated"
attempt("write-gradebook", rewrite_grades)
attempt("write-source", lambda: open({str(source)!r}, "a").write("x"))
attempt("network", lambda: socket.create_connection(("127.0.0.1", {leak_port}), 2).close() or "connected")
answer = 42
"""


INFINITE_LOOP = "def double(x):\n    while True:\n        pass"
MEMORY_BOMB = "hoard = []\nwhile True:\n    hoard.append(bytearray(64 * 2**20))"


def _submit(root: Path, student: str, nb: nbformat.NotebookNode) -> Path:
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    path = folder / f"{ASSIGNMENT}.ipynb"
    nbformat.write(nb, path)
    (folder / "timestamp.txt").write_text("2026-04-10 09:00:00.000000 UTC")
    return path


def _student_copy(release: Path, answers: dict[str, str], extra: Sequence[str] = ()) -> nbformat.NotebookNode:
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
    for index, source in enumerate(extra):  # students may add their own cells
        added = nbformat.v4.new_code_cell(source)
        added.id = f"added-{index}"
        nb.cells.insert(1 + index, added)
    return nb


def _api(root: Path, *, sandboxed: bool) -> Any:
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "sandbox-ci"
    config.Execute.timeout = 5  # the endless loop is interrupted after 5 s
    if sandboxed:
        config.Autograde.autograde_preprocessors = sandbox.sandboxed_autograde_preprocessors()
        config.SandboxedExecute.pool_size = 2
        config.SandboxedExecute.memory_bytes = 768 << 20
    return NbGraderAPI(config=config)


def _outputs(nb: nbformat.NotebookNode) -> str:
    text = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text.append(output.get("text", "") + output.get("ename", ""))
    return "\n".join(text)


def _scores(root: Path) -> dict[str, dict[str, float]]:
    """Each student's score per autograded cell, read back through nbgrader's own gradebook API."""
    from nbgrader.api import Gradebook

    scores: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in (HONEST, MALICIOUS):
            submission = gradebook.find_submission(ASSIGNMENT, student)
            scores[student] = {g.name: g.score for nb in submission.notebooks for g in nb.grades}
    return scores


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The assignment generated once (creating a gradebook is slow); each test gets a copy."""
    root = tmp_path_factory.mktemp("template") / "course"
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(_source_notebook(), root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    old_path = os.environ["PATH"]
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{old_path}"  # nbgrader runs `alembic`
    try:
        result = _api(root, sandboxed=False).generate_assignment(ASSIGNMENT, force=True)
    finally:
        os.environ["PATH"] = old_path
    assert result["success"], result["log"]
    return root


@pytest.fixture
def course(generated: Path) -> Iterator[Path]:
    """A course laid out like the deployment (/home/grader-<course>): a world-traversable path down to the
    course, the course itself private to the grader (700) — pytest's own tmp_path would hide it anyway."""
    home = Path(tempfile.mkdtemp(prefix="giga-grader-test-"))
    os.chmod(home, 0o755)
    root = home / "course"
    shutil.copytree(generated, root)
    os.chmod(root, 0o700)
    yield root
    shutil.rmtree(home)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server
    server.close()


def test_sandbox_users_are_unprivileged_system_users() -> None:
    users = sandbox.ensure_sandbox_users(2)
    assert users == sandbox.ensure_sandbox_users(2)  # idempotent
    import grp
    import pwd

    for user in users:
        entry = pwd.getpwnam(user.name)
        assert 0 < entry.pw_uid < 1000 and entry.pw_shell.endswith("nologin")
        assert not os.path.exists(entry.pw_dir)
        assert [g.gr_name for g in grp.getgrall() if user.name in g.gr_mem] == []


def test_malicious_submission_fails_safely_and_others_are_unaffected(
    course: Path, listener: socket.socket
) -> None:
    release = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    honest = _submit(course, HONEST, _student_copy(release, {
        "ans_answer": f"answer = 42  # {SECRET}",
        "ans_double": "def double(x):\n    return x + x",
    }))  # fmt: skip
    honest_digest = hashlib.sha256(honest.read_bytes()).hexdigest()
    port = listener.getsockname()[1]
    _submit(course, MALICIOUS, _student_copy(
        release,
        {"ans_answer": _attack_source(course, port), "ans_double": INFINITE_LOOP},
        extra=[MEMORY_BOMB, "print('still running after the bomb')"],
    ))  # fmt: skip

    api = _api(course, sandboxed=True)
    for student in (HONEST, MALICIOUS):
        result = api.autograde(ASSIGNMENT, student)
        assert result["success"], result["log"]

    graded = nbformat.read(
        course / "autograded" / MALICIOUS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
    )
    text = _outputs(graded)
    assert "LEAK:" not in text and "TAMPERED:" not in text and SECRET not in text
    for label in (
        "neighbour",
        "neighbour-graded",
        "list-submissions",
        "gradebook",
        "write-gradebook",
        "write-source",
    ):
        assert f"BLOCKED:{label}:" in text, f"attack {label!r} did not report a failure:\n{text}"
    if sandbox.network_isolation_available():
        assert "BLOCKED:network:" in text
    assert "MemoryError" in text  # the bomb hit the address-space limit ...
    assert "still running after the bomb" in text  # ... and the kernel survived it
    loop_cell = next(c for c in graded.cells if c.id == "check_double")
    assert any(o.get("output_type") == "error" for o in loop_cell.outputs)  # interrupted, counted as failed

    scores = _scores(course)
    assert scores[MALICIOUS] == {
        "check_answer": 2,
        "check_double": 0,
    }  # grade computed: the honest part counts
    assert scores[HONEST] == {"check_answer": 2, "check_double": 3}  # the neighbour is unaffected
    assert hashlib.sha256(honest.read_bytes()).hexdigest() == honest_digest
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert source.cells[0].source.startswith("### BEGIN SOLUTION")
    _assert_idle_users_run_nothing()


def _assert_idle_users_run_nothing() -> None:
    """Every pool user not in use right now (e.g. by a parallel test worker) has no process left."""
    import fcntl

    for user in sandbox.ensure_sandbox_users(2):
        with open(sandbox.LOCK_DIR / f"{user.name}.lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            assert sandbox.user_processes(user.uid) == [], f"{user.name} left processes behind"
            fcntl.flock(handle, fcntl.LOCK_UN)


def test_without_the_sandbox_the_same_attack_leaks(course: Path, listener: socket.socket) -> None:
    """Control experiment: stock nbgrader runs student code as the grader; the checks above see that."""
    release = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    _submit(course, HONEST, _student_copy(release, {"ans_answer": f"answer = 42  # {SECRET}"}))
    _submit(course, MALICIOUS, _student_copy(release, {"ans_answer": _attack_source(course, 1)}))
    result = _api(course, sandboxed=False).autograde(ASSIGNMENT, MALICIOUS)
    assert result["success"], result["log"]
    text = _outputs(nbformat.read(course / "autograded" / MALICIOUS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4))
    assert "LEAK:neighbour:" in text and SECRET in text
    assert "TAMPERED:write-gradebook:" in text


def test_a_kernel_that_dies_scores_nothing_for_the_tests_it_never_ran(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    nb = _source_notebook()
    nb.cells[0].source = "answer = 42\nimport os\nos._exit(0)"
    nbformat.write(nb, folder / "nb.ipynb")
    users = sandbox.ensure_sandbox_users(2)
    executed = sandbox.run_notebook(folder / "nb.ipynb", users=users, cell_timeout=10)
    for cell in executed.cells[1:]:
        assert any(o.get("output_type") == "error" for o in cell.outputs), cell.id
    _assert_idle_users_run_nothing()


def test_a_forked_background_process_does_not_outlive_the_run(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="giga-sandbox-fork-"))
    try:
        nb = _source_notebook()
        nb.cells[
            0
        ].source = (
            "import os, subprocess\nsubprocess.Popen(['sleep', '600'], start_new_session=True)\nanswer = 42"
        )
        nbformat.write(nb, folder / "nb.ipynb")
        executed = sandbox.run_notebook(folder / "nb.ipynb", users=sandbox.ensure_sandbox_users(2))
        assert not any(o.get("output_type") == "error" for o in executed.cells[1].outputs)
    finally:
        shutil.rmtree(folder)
    _assert_idle_users_run_nothing()


def test_plotting_kernels_start_with_the_prebuilt_font_cache_they_cannot_change() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        missing("matplotlib (the data lessons' plotting library) is not installed")
    shared = sandbox.matplotlib_font_cache()
    assert shared, "the grader could not build the matplotlib font cache"
    assert all(path.stat().st_uid == 0 and not path.stat().st_mode & 0o022 for path in shared)
    folder = Path(tempfile.mkdtemp(prefix="giga-sandbox-fonts-"))
    try:
        nb = _source_notebook()
        nb.cells[0].source = (
            "import os\n"
            "print('SEEDED:', sorted(os.listdir(os.environ['MPLCONFIGDIR'])))\n"
            f"try:\n    open({str(shared[0])!r}, 'a')\n"
            "except OSError:\n    print('SHARED:read-only')\n"  # not writable (not even visible in bwrap)
            "answer = 42"
        )
        nbformat.write(nb, folder / "nb.ipynb")
        executed = sandbox.run_notebook(folder / "nb.ipynb", users=sandbox.ensure_sandbox_users(2))
    finally:
        shutil.rmtree(folder)
    text = "".join(o.get("text", "") for o in executed.cells[0].outputs)
    assert f"'{shared[0].name}'" in text  # the copy is there before matplotlib is imported
    assert "SHARED:read-only" in text
    assert not any(o.get("output_type") == "error" for o in executed.cells[1].outputs)


def test_sandbox_command_drops_privileges_and_limits_resources() -> None:
    user = sandbox.ensure_sandbox_users(1)[0]
    limits = sandbox.SandboxLimits(memory_bytes=256 << 20, cpu_seconds=5, processes=16, file_bytes=1 << 20)
    workdir = Path(tempfile.mkdtemp(prefix="giga-sandbox-probe-"))  # /tmp is traversable, pytest's tmp is not
    os.chown(workdir, user.uid, user.gid)
    probe = (
        "import os, resource; "
        "print(repr((os.getuid(), os.getgid(), os.getgroups(), oct(os.umask(0)), "
        "resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_CPU)[0], "
        "resource.getrlimit(resource.RLIMIT_NPROC)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0], "
        "sorted(os.environ))))"
    )
    import subprocess

    cmd = sandbox.sandbox_command(
        [sys.executable, "-c", probe], user=user, workdir=workdir, limits=limits, isolate_network=False
    )
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    finally:
        shutil.rmtree(workdir)
    uid, gid, groups, umask, mem, cpu, nproc, fsize, env = ast.literal_eval(out)
    assert (uid, gid, groups, umask) == (user.uid, user.gid, [], "0o77")
    assert (mem, cpu, nproc, fsize) == (256 << 20, 5, 16, 1 << 20)
    assert "GIGA_LMS_GRADES_TOKEN" not in env and all(not k.startswith("JUPYTERHUB") for k in env)
