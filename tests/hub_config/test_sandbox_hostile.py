"""A hostile submission against the folder layout that `make run` and ``hub_config.provision`` really create.

The city is built the way the real code builds it, not with hand-picked modes: a checkout-like root
(0755, umask 022) with ``var/giga.db`` (the LMS's SQLite file), ``var/hub`` (``run_hub.sh``'s ``mkdir -p``)
with the hub's own SQLite file, the course folder made by :func:`hub_config.provision.provision` (through an
in-process LMS and hub), the gradebook, solutions and hidden tests that nbgrader writes into it, a
neighbour's submission, and students' home folders as the demo-mode spawner makes them (0755).

One submission runs more than a dozen attacks; each prints ``BLOCKED:<label>:<error>`` or
``LEAK:<label>:<what worked>``. Stock nbgrader and the setpriv-only sandbox of the previous version leak
(gradebook, solutions, neighbour, LMS database, /tmp, the host process of the same uid); with the
bubblewrap sandbox every attack is contained and the honest part of the submission is still graded.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from hub_config import provision, sandbox
from hub_config.nbgrader_config import configure_nbgrader
from tests.hub_config.test_provision import course as course_entry
from tests.hub_config.test_provision import hub_client, lms_client
from tests.lms.test_notebooks_prestart import FakeHub
from tests.support import missing

COURSE = "hostile-ci"
ASSIGNMENT = "ps1"
HONEST, MALICIOUS = "alice", "mallory"
SECRET = "ALICE-SECRET-41c9"
SOLUTION_MARK = "SOLUTION-MARK-9d2e"
HIDDEN_MARK = "HIDDEN-TEST-MARK-77ab"
LMS_DB_MARK = "LMS-DB-MARK-5e01"
HOME_MARK = "HOME-MARK-0c3f"
DISK_QUOTA = 16 << 20
FORK_TARGET = 400
CELL_TIMEOUT = 5
CONTROL_CELL_TIMEOUT = 120
WALL_SECONDS = 90


@pytest.fixture(autouse=True)
def _root_and_tools() -> None:
    if os.geteuid() != 0:
        missing("the sandbox switches to unprivileged users: needs root (CI runs as root)")
    for tool in ("setpriv", "bwrap"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            missing(f"the sandbox needs '{tool}' (Debian: util-linux, bubblewrap)")


@pytest.fixture(autouse=True)
def _stock_autograde(monkeypatch: pytest.MonkeyPatch) -> None:
    """configure_nbgrader(sandbox=True) swaps nbgrader's Autograde class process-wide; undo it per test."""
    from nbgrader.apps import api, autogradeapp

    monkeypatch.setattr(api, "Autograde", api.Autograde)
    monkeypatch.setattr(autogradeapp, "Autograde", autogradeapp.Autograde)


@dataclass
class City:
    root: Path
    course: Path
    lms_db: Path
    hub_db: Path
    alice_home: Path


def _source_notebook() -> nbformat.NotebookNode:
    def cell(source: str, grade_id: str, *, solution: bool, points: int = 0) -> nbformat.NotebookNode:
        node = nbformat.v4.new_code_cell(source)
        node.id = grade_id
        meta: dict[str, object] = {"grade_id": grade_id, "schema_version": 3}
        if solution:
            meta.update(grade=False, solution=True, locked=False)
        else:
            meta.update(grade=True, solution=False, locked=True, points=points)
        node.metadata["nbgrader"] = meta
        return node

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        cell(f"### BEGIN SOLUTION\nanswer = 42  # {SOLUTION_MARK}\n### END SOLUTION", "ans", solution=True),
        cell(
            f"assert answer == 42\n### BEGIN HIDDEN TESTS\nassert answer != 41  # {HIDDEN_MARK}\n"
            "### END HIDDEN TESTS",
            "check",
            solution=False,
            points=2,
        ),
        cell(
            "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
            "ans2",
            solution=True,
        ),
        cell("assert double(4) == 8", "check2", solution=False, points=3),
    ]
    return nb


def _nbgrader_api(course: Path, *, sandboxed: bool):  # type: ignore[no-untyped-def]
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    config = Config()
    configure_nbgrader(config, exchange_root=str(course.parent.parent / "exchange"), sandbox=sandboxed)
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = COURSE
    # the control run (stock nbgrader) has no sleeping cell: a long timeout keeps a loaded machine from
    # cutting its attack cell short before every leak is printed
    config.Execute.timeout = CELL_TIMEOUT if sandboxed else CONTROL_CELL_TIMEOUT
    if sandboxed:
        config.SandboxedExecute.pool_size = 2
        config.SandboxedExecute.memory_bytes = 768 << 20
        config.SandboxedExecute.disk_bytes = DISK_QUOTA
        config.SandboxedExecute.wall_seconds = WALL_SECONDS
    return NbGraderAPI(config=config)


@pytest.fixture
def city() -> Iterator[City]:
    root = Path(tempfile.mkdtemp(prefix="giga-city-", dir="/var/tmp"))
    os.chmod(root, 0o755)  # a checkout: /work/<repo> is 0755
    old_umask = os.umask(0o022)
    try:
        (root / "var" / "hub").mkdir(parents=True)  # Makefile's `mkdir -p var`, run_hub.sh's `mkdir -p`
        lms_db = root / "var" / "giga.db"
        with sqlite3.connect(lms_db) as db:
            db.execute("CREATE TABLE secret (value TEXT)")
            db.execute("INSERT INTO secret VALUES (?)", (LMS_DB_MARK,))
        hub_db = root / "var" / "hub" / "jupyterhub.sqlite"
        sqlite3.connect(hub_db).close()
        state = root / "var" / "hub"
        with hub_client(FakeHub()) as hub:
            provision.provision(
                lms=lms_client([course_entry(COURSE, [HONEST, MALICIOUS])]),
                hub=hub,
                state_dir=state,
                courses_file=state / "courses.json",
            )
        course = state / "courses" / COURSE
        alice_home = state / "homes" / HONEST
        os.makedirs(alice_home, 0o755)  # SimpleLocalProcessSpawner (the demo mode of `make run`)
        (alice_home / "notes.txt").write_text(HOME_MARK)
        (course / "source" / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(_source_notebook(), course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        path = os.environ["PATH"]
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{path}"  # nbgrader runs `alembic`
        try:
            result = _nbgrader_api(course, sandboxed=False).generate_assignment(ASSIGNMENT, force=True)
        finally:
            os.environ["PATH"] = path
        assert result["success"], result["log"]
        yield City(root, course, lms_db, hub_db, alice_home)
    finally:
        os.umask(old_umask)
        subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)


def _submit(city: City, student: str, answers: dict[str, str], extra_cells: Sequence[str] = ()) -> Path:
    release = city.course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
    for index, source in enumerate(extra_cells):
        added = nbformat.v4.new_code_cell(source)
        added.id = f"added-{index}"
        nb.cells.append(added)
    folder = city.course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text("2026-12-07 09:00:00.000000 UTC")
    return folder


ATTACKS = r"""
import json, os, signal, socket, sqlite3, subprocess, sys, time
P = json.loads({paths!r})
class Blocked(Exception):
    pass
def attempt(label, action):
    try:
        result = action()
    except BaseException as error:
        print(f"BLOCKED:{{label}}:{{type(error).__name__}}:{{str(error)[:80]}}")
    else:
        print(f"LEAK:{{label}}:{{str(result)[:3000]}}")
def read(path):
    with open(path, "rb") as handle:
        return handle.read(200000).decode("utf-8", "replace")
def write(path):
    with open(path, "w") as handle:
        handle.write("pwned")
    return path
attempt("neighbour-submission", lambda: read(P["neighbour"]))
attempt("list-submissions", lambda: os.listdir(P["submitted"]))
attempt("gradebook-read", lambda: read(P["gradebook"]))
def rewrite_grades():
    db = sqlite3.connect(P["gradebook"])
    db.execute("UPDATE grade SET manual_score = 100")
    db.commit()
    return "updated"
attempt("gradebook-write", rewrite_grades)
attempt("solutions-and-hidden-tests", lambda: read(P["source"]))
attempt("course-config", lambda: read(P["course_config"]))
attempt("lms-database", lambda: read(P["lms_db"]))
attempt("hub-database", lambda: read(P["hub_db"]))
attempt("other-home", lambda: read(P["home_file"]))
attempt("list-homes", lambda: os.listdir(P["homes"]))
attempt("symlinked-gradebook", lambda: read("link.txt"))
attempt("network", lambda: socket.create_connection(("127.0.0.1", P["port"]), 2).close() or "connected")
def grader_environment():
    return read(f"/proc/{{P['grader_pid']}}/environ")
attempt("grader-environment", grader_environment)
def see_host_processes():
    pids = os.listdir("/proc")
    if str(P["grader_pid"]) in pids or str(P["victim_pid"]) in pids:
        return f"{{len(pids)}} entries in /proc, host processes visible"
    raise Blocked(f"{{len(pids)}} entries")
attempt("host-processes", see_host_processes)
if not P["dangerous"]:  # the control run executes as the grader (root): reading is all it may try
    raise SystemExit
attempt("write-tmp", lambda: write(P["tmp_file"]))
attempt("write-dev-shm", lambda: write(P["shm_file"]))
attempt("write-course", lambda: write(P["course_file"]))
attempt("write-python", lambda: write(os.path.join(sys.prefix, "pwned.txt")))
attempt("signal-host-process", lambda: os.kill(P["victim_pid"], signal.SIGKILL) or "killed")
attempt("become-root", lambda: os.setuid(0) or "uid 0")
def fill_disk():
    written = 0
    for index in range(P["disk_chunks"]):
        with open(f"fill-{{index}}.bin", "wb") as handle:
            handle.write(b"x" * (1 << 20))
        written += 1
    return f"{{written}} MiB written"
attempt("fill-disk", fill_disk)
for index in range(P["disk_chunks"]):
    try:
        os.remove(f"fill-{{index}}.bin")
    except OSError:
        pass
BOMB = '''
import os, sys, time
count = 0
for _ in range(int(sys.argv[1])):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(300)
        os._exit(0)
    count += 1
print(count)
'''
def fork_bomb():
    out = subprocess.run([sys.executable, "-c", BOMB, str(P["fork_target"])], capture_output=True,
                         text=True, timeout=60).stdout.strip()
    if int(out) >= P["fork_target"]:
        return f"{{out}} processes"
    raise Blocked(f"stopped after {{out}} processes")
attempt("fork-bomb", fork_bomb)
def memory():
    hoard = bytearray(4 << 30)
    return f"{{len(hoard)}} bytes"
attempt("memory", memory)
answer = 42
"""

IGNORE_INTERRUPTS_AND_SLEEP = (
    "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(3600)"
)


def _attack_paths(city: City, port: int, victim_pid: int, *, dangerous: bool) -> dict[str, object]:
    marker = f"giga-escape-{os.getpid()}"
    return {
        "neighbour": str(city.course / "submitted" / HONEST / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        "submitted": str(city.course / "submitted"),
        "gradebook": str(city.course / "gradebook.db"),
        "source": str(city.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        "course_config": str(city.course / "nbgrader_config.py"),
        "lms_db": str(city.lms_db),
        "hub_db": str(city.hub_db),
        "home_file": str(city.alice_home / "notes.txt"),
        "homes": str(city.alice_home.parent),
        "tmp_file": f"/tmp/{marker}",
        "shm_file": f"/dev/shm/{marker}",
        "course_file": str(city.course / "pwned.txt"),
        "port": port,
        "grader_pid": os.getpid(),
        "victim_pid": victim_pid,
        "disk_chunks": 2 * (DISK_QUOTA >> 20) + 8,
        "fork_target": FORK_TARGET,
        "dangerous": dangerous,
    }


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server
    server.close()


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A host process that shares the uid of the first sandbox user (a uid clash, a left-over login)."""
    user = sandbox.ensure_sandbox_users(2)[0]
    process = subprocess.Popen(
        ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--clear-groups", "sleep", "600"]
    )
    yield process
    process.kill()
    process.wait()


def _outputs(nb: nbformat.NotebookNode) -> str:
    lines = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            lines.append(output.get("text", "") + output.get("ename", "") + output.get("evalue", ""))
    return "\n".join(lines)


def _run_attacks(city: City, port: int, victim_pid: int, *, sandboxed: bool) -> tuple[str, float]:
    _submit(city, HONEST, {"ans": f"answer = 42  # {SECRET}", "ans2": "def double(x):\n    return x + x"})
    paths = _attack_paths(city, port, victim_pid, dangerous=sandboxed)
    attacks = ATTACKS.format(paths=json.dumps(paths)) + "answer = 42\n"
    folder = _submit(
        city,
        MALICIOUS,
        {"ans": attacks, "ans2": "def double(x):\n    return x * 2"},
        extra_cells=[IGNORE_INTERRUPTS_AND_SLEEP] if sandboxed else [],
    )
    os.symlink(city.course / "gradebook.db", folder / "link.txt")  # collected as a link into the course
    api = _nbgrader_api(city.course, sandboxed=sandboxed)
    started = time.monotonic()
    for student in (HONEST, MALICIOUS):
        result = api.autograde(ASSIGNMENT, student)
        assert result["success"], result["log"]
    elapsed = time.monotonic() - started
    graded = city.course / "autograded" / MALICIOUS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    return _outputs(nbformat.read(graded, as_version=4)), elapsed


LABELS = (
    "neighbour-submission",
    "list-submissions",
    "gradebook-read",
    "gradebook-write",
    "solutions-and-hidden-tests",
    "course-config",
    "lms-database",
    "hub-database",
    "other-home",
    "list-homes",
    "symlinked-gradebook",
    "write-tmp",
    "write-dev-shm",
    "write-course",
    "write-python",
    "network",
    "grader-environment",
    "host-processes",
    "signal-host-process",
    "become-root",
    "fill-disk",
    "fork-bomb",
    "memory",
)


def _scores(course: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            student: {
                g.name: g.score
                for nb in gradebook.find_submission(ASSIGNMENT, student).notebooks
                for g in nb.grades
            }
            for student in (HONEST, MALICIOUS)
        }


def test_every_attack_is_contained_and_the_honest_work_is_graded(
    city: City, listener: socket.socket, victim: subprocess.Popen[bytes]
) -> None:
    text, elapsed = _run_attacks(city, listener.getsockname()[1], victim.pid, sandboxed=True)
    for label in LABELS:
        assert f"BLOCKED:{label}:" in text, f"attack {label!r} was not contained:\n{text}"
    assert "LEAK:" not in text
    for mark in (SECRET, SOLUTION_MARK, HIDDEN_MARK, LMS_DB_MARK, HOME_MARK):
        assert mark not in text
    assert victim.poll() is None, "the cleanup killed a host process that shares the sandbox uid"
    marker = f"giga-escape-{os.getpid()}"
    assert not Path("/tmp", marker).exists() and not Path("/dev/shm", marker).exists()
    assert not (city.course / "pwned.txt").exists() and not Path(sys.prefix, "pwned.txt").exists()
    # the cell that ignores interrupts and sleeps for an hour did not stop the grading: the scores below exist
    # (the wall-clock watchdog killed its kernel). Speed is printed below, not asserted (shared machines).
    scores = _scores(city.course)
    assert scores[HONEST] == {"check": 2, "check2": 3}
    assert scores[MALICIOUS] == {"check": 2, "check2": 3}  # every attack failed, the answers still count
    assert not list(Path(tempfile.gettempdir()).glob("giga-sandbox-*/work/fill-*"))
    for user in sandbox.ensure_sandbox_users(2):
        assert sandbox.user_processes(user.uid) == [], f"{user.name} left sandboxed processes behind"
    print(f"hostile autograde (2 submissions, {len(LABELS)} attacks): {elapsed:.1f} s")


def test_the_course_folder_is_private_to_its_grader(city: City) -> None:
    """What provision.py creates: nbgrader's 0644 files sit in a 0700 folder (it was 0755)."""
    assert city.course.stat().st_mode & 0o777 == 0o700
    _submit(city, HONEST, {"ans": f"answer = 42  # {SECRET}"})
    secrets = {
        "gradebook": city.course / "gradebook.db",
        "solutions": city.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "other student": city.course / "submitted" / HONEST / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "course config": city.course / "nbgrader_config.py",
    }
    for what, path in secrets.items():
        nobody = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", str(path)],
            capture_output=True,
        )
        assert nobody.returncode != 0 and b"Permission denied" in nobody.stderr, f"{what} is readable"


def test_without_the_sandbox_the_attacks_leak(
    city: City, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control: stock nbgrader (student code as the grader) — the checks above can see each leak."""
    from nbgrader.apps import api, autogradeapp
    from nbgrader.converters.autograde import Autograde

    # a sandboxed run in the same worker process replaced nbgrader's Autograde (refuse_symlinked_files)
    monkeypatch.setattr(api, "Autograde", Autograde)
    monkeypatch.setattr(autogradeapp, "Autograde", Autograde)
    text, _ = _run_attacks(city, listener.getsockname()[1], victim_pid=1, sandboxed=False)
    for label in ("neighbour-submission", "gradebook-read", "solutions-and-hidden-tests", "lms-database"):
        assert f"LEAK:{label}:" in text, text
    assert "LEAK:symlinked-gradebook:" in text and "LEAK:other-home:" in text
