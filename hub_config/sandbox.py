"""Run students' notebooks for autograding in a throw-away sandbox.

Stock nbgrader runs student code as the grader account, which can read and write ``gradebook.db`` and every
submission. Here only the *kernel* (the process that runs student code) is sandboxed; the notebook client and
nbgrader's grading stay in the grader's process:

- one submission is copied into a fresh temporary directory owned by a pooled unprivileged system user
  (``giga-sbx-N``, created once with ``useradd --system --no-create-home``; a lock file per user lets several
  autograders run in parallel without sharing a user);
- the kernel is started as that user with no supplementary groups, no capabilities, ``no_new_privs``,
  ``umask 077``, a scrubbed environment, resource limits (``prlimit``: address space, CPU seconds, processes,
  file size, no core files);
- the kernel runs in a bubblewrap (``bwrap``) container: its own mount, pid, network, ipc and uts namespaces;
  it sees a read-only ``/usr``, a short list of ``/etc`` files, the Python installation, a private empty
  ``/tmp`` and ``/dev/shm`` and its own sandbox directory, nothing else (no course folder, gradebook,
  exchange, homes, LMS database, other processes); no network (the client talks to the kernel over ipc
  sockets in the sandbox directory, so it needs none);
- the sandbox directory is a size-limited tmpfs (disk quota: bytes and files) mounted by the grader;
- nbgrader's per-cell timeout interrupts endless loops; a dead or hung kernel turns every cell that did not
  run into an error, so the student gets no points for tests that never ran;
- afterwards the pid namespace is torn down (every process in it dies with its init), left-overs of the
  sandbox user *inside a sandbox namespace* are killed (never a host process that happens to share the uid),
  the tmpfs is unmounted and the directory removed.

The executed notebook never travels through a file the student could touch: nbclient builds it in the grader's
memory from the kernel's messages, and nbgrader's own ``SaveAutoGrades`` writes the grades. Use it by putting
:class:`SandboxedExecute` in place of nbgrader's ``Execute`` (see ``hub_config/nbgrader_config.py``).

What it cannot stop: student code runs in the same process as the test cells, so a student can still fool
*their own* tests (e.g. an object whose ``__eq__`` is always true). Teachers see the code in the formgrader.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbformat import NotebookNode
from traitlets import Bool, Integer, Unicode

try:  # nbgrader is in the ``hub`` extra; the kernel manager part works without it
    from nbgrader.preprocessors import Execute
except ImportError:  # pragma: no cover
    Execute = object

USER_PREFIX = "giga-sbx-"
LOCK_DIR = Path("/run/lock/giga-sandbox") if Path("/run/lock").is_dir() else Path(tempfile.gettempdir())
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"


class SandboxError(RuntimeError):
    """The sandbox cannot be set up (not root, no sandbox users, missing tools)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one sandboxed kernel."""

    memory_bytes: int = 1 << 30  # RLIMIT_AS: a pandas + matplotlib kernel peaks near 300 MiB of address space
    cpu_seconds: int = 120  # RLIMIT_CPU for the whole notebook; cells also have a wall-clock timeout
    processes: int = 64  # RLIMIT_NPROC, counted per user: the pool gives each run its own user
    file_bytes: int = 16 << 20  # RLIMIT_FSIZE
    open_files: int = 256  # RLIMIT_NOFILE
    disk_bytes: int = 64 << 20  # size of the sandbox directory's tmpfs (everything the kernel can write)
    disk_files: int = 4096  # inodes of that tmpfs


@dataclass(frozen=True)
class SandboxUser:
    name: str
    uid: int
    gid: int


def require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxError("the autograde sandbox must be started as root (it switches to a sandbox user)")
    for tool, package in (("setpriv", "util-linux"), ("prlimit", "util-linux"), ("useradd", "passwd"),
                          ("bwrap", "bubblewrap"), ("mount", "mount")):  # fmt: skip
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            raise SandboxError(f"the autograde sandbox needs the '{tool}' command (Debian package {package})")


def ensure_sandbox_users(count: int, prefix: str = USER_PREFIX) -> list[SandboxUser]:
    """Create (idempotently) ``count`` locked system users without home, shell or groups besides their own."""
    require_root()
    users = []
    for index in range(count):
        name = f"{prefix}{index}"
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--user-group", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", "--comment", "GIGA autograde sandbox", name],
                check=True,
                capture_output=True,
            )  # fmt: skip
            entry = pwd.getpwnam(name)
        users.append(SandboxUser(name, entry.pw_uid, entry.pw_gid))
    return users


@contextlib.contextmanager
def acquire_user(users: list[SandboxUser], wait_seconds: float = 600.0) -> Iterator[SandboxUser]:
    """Hold an exclusive lock on one free sandbox user for the duration of the block."""
    LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        for user in users:
            handle = open(LOCK_DIR / f"{user.name}.lock", "a+")  # noqa: SIM115 - held until the block ends
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                kill_user_processes(user.uid)  # a previous run that crashed may have left something behind
                yield user
            finally:
                kill_user_processes(user.uid)
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if time.monotonic() > deadline:
            raise SandboxError(f"no free sandbox user after {wait_seconds:.0f} s (pool of {len(users)})")
        time.sleep(0.2)


def _pid_namespace(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


HOST_PID_NAMESPACE = _pid_namespace("self")


def user_processes(uid: int, *, sandboxed_only: bool = True) -> list[int]:
    """PIDs of live processes whose real or effective uid is ``uid``.

    With ``sandboxed_only`` (the default) only processes in another pid namespace than the grader's count:
    every sandboxed kernel runs in its own, so a host process that shares the uid (a misconfigured pool
    prefix, a hub user with the same uid) is never touched.
    Zombies are left out: they run nothing and hold no resources but their entry, and they stay listed
    until their parent (or init) reaps them, which on a busy machine can take a while.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith(("Z", "X")):
            continue
        real, effective = (int(v) for v in fields.get("Uid", "-1 -1").split()[:2])
        if uid not in (real, effective):
            continue
        if sandboxed_only and _pid_namespace(entry.name) in (HOST_PID_NAMESPACE, None):
            continue
        pids.append(int(entry.name))
    return pids


def kill_user_processes(uid: int, timeout: float = 15.0) -> None:
    """SIGKILL every sandboxed process of the sandbox user (repeat: a fork may land between scan and kill)."""
    if uid == 0:
        raise SandboxError("refusing to kill the processes of root")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = user_processes(uid)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    raise SandboxError(f"processes of sandbox uid {uid} survive SIGKILL")


# What the kernel sees of /etc: enough for the dynamic linker, time zones, fonts, TLS roots and Python's
# Debian hooks; not the user list, hostnames, mail, database or hub settings.
ETC_ALLOWED = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "fonts", "ssl", "ca-certificates",
    "alternatives", "mime.types", "nsswitch.conf", "python3", "python3.11", "python3.12", "python3.13",
    "matplotlibrc", "os-release", "debian_version",
)  # fmt: skip


def _traversable_parents(path: Path | str) -> list[str]:
    """bwrap arguments creating ``path``'s parents 0711: bwrap would make them 0700 (root's), and the sandbox
    user could not reach what is bound below them."""
    args = []
    for parent in reversed(Path(path).parents[:-1]):
        args += ["--perms", "0711", "--dir", str(parent)]
    return args


def _system_binds() -> list[str]:
    """bwrap arguments for the read-only system view: /usr (and merged-/usr links), /etc excerpts, Python."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--perms", "0755", "--dir", "/etc"]  # else bwrap makes it 0700 and nothing below is readable
    for name in ETC_ALLOWED:
        path = Path("/etc", name)
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    pythons = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
    for python in sorted(pythons):
        if python != "/usr" and not python.startswith("/usr/"):
            args += [*_traversable_parents(python), "--ro-bind", python, python]
    return args


_NETNS_OK: bool | None = None


def network_isolation_available() -> bool:
    """Whether new namespaces can be made here (needs CAP_SYS_ADMIN; missing in some containers)."""
    global _NETNS_OK
    if _NETNS_OK is None:
        probe = ["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--unshare-ipc", "true"]
        try:
            _NETNS_OK = subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _NETNS_OK = False
    return _NETNS_OK


def sandbox_command(
    cmd: list[str],
    *,
    user: SandboxUser,
    workdir: Path,
    limits: SandboxLimits,
    isolate_network: bool = True,
    passwd_file: Path | None = None,
) -> list[str]:
    """Wrap ``cmd`` to run as ``user`` in ``workdir`` inside bubblewrap, with the limits, umask 077 and a
    clean environment. ``isolate_network=False`` (tests of the privilege drop only) keeps the host's
    namespaces and file system."""
    wrapper: list[str] = []
    if isolate_network:
        # no user namespace: bwrap runs as root, and setpriv (inside) switches to the real sandbox uid
        wrapper += ["bwrap", *_system_binds()]
        if passwd_file is not None:
            wrapper += ["--ro-bind", str(passwd_file), "/etc/passwd"]
        wrapper += [
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            *_traversable_parents(workdir),
            "--bind", str(workdir), str(workdir), "--chdir", str(workdir),
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox", "--die-with-parent", "--new-session", "--",
        ]  # fmt: skip
    # JPY_PARENT_PID=1: in its pid namespace the kernel's parent is bwrap's init (pid 1), so ipykernel's
    # parent poller would think the grader died; bwrap's --die-with-parent does that job instead
    wrapper += [
        "setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
        "prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
        f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}", f"--nofile={limits.open_files}",
        "--core=0", "--",
        "env", "-i", f"HOME={workdir}", f"PATH={SANDBOX_PATH}", "LANG=C.UTF-8", f"TMPDIR={workdir}",
        f"USER={user.name}", f"LOGNAME={user.name}",
        f"MPLCONFIGDIR={workdir}/.matplotlib", f"IPYTHONDIR={workdir}/.ipython",
        f"JUPYTER_RUNTIME_DIR={workdir}",
        "MPLBACKEND=module://matplotlib_inline.backend_inline", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1",
        "PYTHONDONTWRITEBYTECODE=1", "PYDEVD_DISABLE_FILE_VALIDATION=1",
        f"JPY_PARENT_PID={1 if isolate_network else os.getpid()}",
        "/bin/sh", "-c", 'umask 077 && cd "$HOME" && exec "$@"', "sandboxed-kernel",
    ]  # fmt: skip
    return wrapper + cmd


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside the sandbox (ipc transport in the sandbox directory)."""

    sandbox_uid = Integer(-1).tag(config=False)
    sandbox_gid = Integer(-1).tag(config=False)
    sandbox_dir = Unicode("").tag(config=False)
    isolate_network = Bool(True).tag(config=False)

    def __init__(self, *, user: SandboxUser, workdir: Path, limits: SandboxLimits, **kwargs: Any) -> None:
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", str(workdir / ".kernel"))
        kwargs.setdefault("connection_file", str(workdir / ".kernel.json"))
        super().__init__(**kwargs)
        self._user = user
        self._workdir = workdir
        self._limits = limits
        self.isolate_network = True  # the bwrap container; SandboxedExecute refuses to run without it

    @property
    def kernel_spec(self) -> Any:
        # interrupts as messages: a signal to the bwrap process would not reach the kernel (own session)
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        # the kernel (sandbox user) must read its own connection file; nobody else can enter the directory
        os.chown(self.connection_file, self._user.uid, self._user.gid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        return sandbox_command(
            cmd,
            user=self._user,
            workdir=self._workdir,
            limits=self._limits,
            isolate_network=self.isolate_network,
            passwd_file=self._workdir.parent / "passwd",
        )


def _mount_quota(workdir: Path, user: SandboxUser, limits: SandboxLimits) -> None:
    """Make ``workdir`` a tmpfs of ``limits.disk_bytes`` and ``disk_files``: all the kernel can write."""
    workdir.mkdir(mode=0o700)
    options = (
        f"size={limits.disk_bytes},nr_inodes={limits.disk_files},mode=700,uid={user.uid},gid={user.gid},"
        "nosuid,nodev"
    )
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "giga-sandbox", str(workdir)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SandboxError(f"cannot mount the sandbox's disk quota (tmpfs): {result.stderr.strip()}")


def _unmount_quota(workdir: Path) -> None:
    subprocess.run(["umount", "--lazy", str(workdir)], capture_output=True)


def _write_passwd(holder: Path, user: SandboxUser) -> None:
    """The kernel's /etc/passwd: root and itself only (the host's would list every student's account)."""
    passwd = holder / "passwd"
    passwd.write_text(
        "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
        f"{user.name}:x:{user.uid}:{user.gid}:sandbox:/nonexistent:/usr/sbin/nologin\n",
        encoding="utf-8",
    )
    os.chmod(passwd, 0o644)


def _copy_submission(source: Path, workdir: Path, user: SandboxUser) -> None:
    """Copy one submission folder (symlinks kept as links, never followed) and give it to the sandbox user."""
    shutil.copytree(source, workdir, symlinks=True, dirs_exist_ok=True)
    for root, dirs, files in os.walk(workdir):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            os.lchown(path, user.uid, user.gid)
            if not os.path.islink(path):
                os.chmod(path, 0o700 if os.path.isdir(path) else 0o600)
    os.chown(workdir, user.uid, user.gid)
    os.chmod(workdir, 0o700)


# A fresh sandbox home has no matplotlib font cache, so every kernel that plots first scanned the system's
# fonts (~0.5–0.7 s here, more with many fonts): most of what the sandbox cost a plotting lesson.  The
# grader builds the cache once, as root, in a folder the sandbox users cannot write; each run gets a copy.
FONT_CACHE_DIR = Path("/var/cache/giga-sandbox/matplotlib")
_font_cache: dict[Path, list[Path]] = {}


def matplotlib_font_cache(cache_dir: Path = FONT_CACHE_DIR) -> list[Path]:
    """The files of a pre-built matplotlib font cache (built on first use); empty without matplotlib."""
    if cache_dir not in _font_cache:
        if not list(cache_dir.glob("fontlist-*.json")):
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):  # no cache: kernels build their own
                cache_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
                subprocess.run(
                    [sys.executable, "-c", "import matplotlib.font_manager"],
                    env={**os.environ, "MPLCONFIGDIR": str(cache_dir)},
                    capture_output=True,
                    timeout=300,
                )
        _font_cache[cache_dir] = sorted(cache_dir.glob("fontlist-*.json"))
    return _font_cache[cache_dir]


def _seed_font_cache(workdir: Path, user: SandboxUser, files: list[Path]) -> None:
    """Copy the font cache into the sandbox's MPLCONFIGDIR (see `sandbox_command`), owned by its user."""
    if not files:
        return
    target = workdir / ".matplotlib"
    target.mkdir(mode=0o700, exist_ok=True)
    for source in files:
        copy = target / source.name
        shutil.copyfile(source, copy)
        os.chown(copy, user.uid, user.gid)
        os.chmod(copy, 0o600)
    os.chown(target, user.uid, user.gid)


def _fail_unexecuted(nb: NotebookNode, reason: str) -> None:
    """Give every code cell that produced no reply an error, so tests that never ran score nothing."""
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.get("execution_count"):
            has_error = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            if not has_error:
                cell.setdefault("outputs", []).append(
                    NotebookNode(
                        output_type="error",
                        ename="SandboxError",
                        evalue=reason,
                        traceback=[f"SandboxError: {reason}"],
                    )
                )


class SandboxedExecute(Execute):  # type: ignore[misc]
    """nbgrader's Execute preprocessor, with the kernel in the sandbox (see the module docstring)."""

    pool_size = Integer(4, help="Number of sandbox users (parallel autograding runs).").tag(config=True)
    user_prefix = Unicode(USER_PREFIX, help="Name prefix of the sandbox users.").tag(config=True)
    memory_bytes = Integer(SandboxLimits.memory_bytes, help="Address-space limit of the kernel.").tag(
        config=True
    )
    cpu_seconds = Integer(SandboxLimits.cpu_seconds, help="CPU-time limit of the kernel.").tag(config=True)
    processes = Integer(SandboxLimits.processes, help="Process limit of the sandbox user.").tag(config=True)
    file_bytes = Integer(SandboxLimits.file_bytes, help="Largest file the kernel may write.").tag(config=True)
    disk_bytes = Integer(SandboxLimits.disk_bytes, help="Disk quota of the sandbox directory.").tag(
        config=True
    )
    wall_seconds = Integer(
        600, help="Wall-clock limit of one notebook: then every sandboxed process is killed."
    ).tag(config=True)
    sandbox_root = Unicode(
        tempfile.gettempdir(), help="Where the temporary sandbox directories are made."
    ).tag(config=True)

    font_cache_dir = Unicode(
        str(FONT_CACHE_DIR), help="Where the grader keeps the matplotlib font cache copied into each sandbox."
    ).tag(config=True)

    _sandbox: tuple[SandboxUser, Path] | None = None

    @property
    def limits(self) -> SandboxLimits:
        return SandboxLimits(
            memory_bytes=self.memory_bytes,
            cpu_seconds=self.cpu_seconds,
            processes=self.processes,
            file_bytes=self.file_bytes,
            disk_bytes=self.disk_bytes,
        )

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        users = ensure_sandbox_users(self.pool_size, self.user_prefix)
        if not network_isolation_available():
            raise SandboxError(
                "bubblewrap cannot create namespaces here (needs root with CAP_SYS_ADMIN); student code will "
                "not run unconfined — fix the host or set GIGA_AUTOGRADE_SANDBOX=0 on a development machine"
            )
        source = Path(resources.get("metadata", {}).get("path") or ".")
        with acquire_user(users) as user:
            holder = Path(tempfile.mkdtemp(prefix="giga-sandbox-", dir=self.sandbox_root))
            try:
                os.chmod(holder, 0o711)  # root's; the sandbox user may only traverse it
                workdir = holder / "work"
                _write_passwd(holder, user)
                _mount_quota(workdir, user, self.limits)
                _copy_submission(source, workdir, user)
                _seed_font_cache(workdir, user, matplotlib_font_cache(Path(self.font_cache_dir)))
                self._sandbox = (user, workdir)
                inner = dict(resources)
                inner["metadata"] = {**resources.get("metadata", {}), "path": str(workdir)}
                # a kernel that ignores interrupts (or sleeps in C code) is killed at the wall-clock limit
                watchdog = threading.Timer(self.wall_seconds, kill_user_processes, args=(user.uid,))
                watchdog.daemon = True
                watchdog.start()
                try:
                    nb, _ = super().preprocess(nb, inner)
                except Exception as error:  # dead kernel, CPU limit, hung interrupt: grade what ran
                    self.log.warning("Sandboxed kernel failed: %s", error)
                    _fail_unexecuted(nb, f"the notebook stopped early ({type(error).__name__})")
                else:
                    _fail_unexecuted(nb, "this cell did not run")
                finally:
                    watchdog.cancel()
            finally:
                self._sandbox = None
                kill_user_processes(user.uid)
                _unmount_quota(holder / "work")
                shutil.rmtree(holder, ignore_errors=True)
        return nb, resources

    def create_kernel_manager(self) -> AsyncKernelManager:
        if self._sandbox is None:
            raise SandboxError("SandboxedExecute.create_kernel_manager called outside preprocess()")
        user, workdir = self._sandbox
        self.km = SandboxKernelManager(
            user=user, workdir=workdir, limits=self.limits, kernel_name=self.kernel_name or "python3"
        )
        return self.km


def run_notebook(
    notebook: Path,
    *,
    users: list[SandboxUser],
    limits: SandboxLimits = SandboxLimits(),
    cell_timeout: int = 30,
) -> NotebookNode:
    """Execute one notebook (with the files of its folder) in the sandbox and return the executed notebook."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    executor = SandboxedExecute(
        timeout=cell_timeout,
        pool_size=len(users),
        user_prefix=users[0].name.rstrip("0123456789"),
        memory_bytes=limits.memory_bytes,
        cpu_seconds=limits.cpu_seconds,
        processes=limits.processes,
        file_bytes=limits.file_bytes,
        disk_bytes=limits.disk_bytes,
    )
    executed, _ = executor.preprocess(nb, {"metadata": {"path": str(notebook.parent)}})
    return executed


__all__ = [
    "SandboxError",
    "SandboxKernelManager",
    "SandboxLimits",
    "SandboxUser",
    "SandboxedExecute",
    "acquire_user",
    "ensure_sandbox_users",
    "kill_user_processes",
    "run_notebook",
    "sandbox_command",
]


def sandboxed_autograde_preprocessors() -> list[type]:
    """nbgrader's autograde pipeline with ``Execute`` replaced by :class:`SandboxedExecute`."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute as StockExecute

    stock = Autograde.autograde_preprocessors.default()
    if StockExecute not in stock:
        raise SandboxError("nbgrader's autograde pipeline has no Execute step to replace; check the version")
    return [SandboxedExecute if step is StockExecute else step for step in stock]


def refuse_symlinked_files() -> None:
    """Make nbgrader's autograde copy a submission's files without following symbolic links.

    Stock ``init_assignment`` copies every file of ``submitted/<student>/<assignment>`` with ``shutil.copy``,
    as the grader: a link ``notes.txt -> ../../../gradebook.db`` (made by the student in the exchange's
    inbound folder, which collect copies as is) became a readable copy of the gradebook in the sandbox.
    Links are skipped (with a warning in the log); nbgrader looks the class up at call time, so replacing
    the name in its two modules is enough.
    """
    from nbgrader.apps import api, autogradeapp
    from nbgrader.converters.autograde import Autograde

    class LinkSafeAutograde(Autograde):  # type: ignore[misc]
        def init_assignment(self, assignment_id: str, student_id: str) -> None:
            source = self._format_source(assignment_id, student_id)
            for root, _dirs, files in os.walk(source):
                for name in files:
                    path = os.path.join(root, name)
                    if os.path.islink(path):
                        self.log.warning("Skipping %s: links in a submission are never followed", path)
                        os.unlink(path)
            super().init_assignment(assignment_id, student_id)

    api.Autograde = LinkSafeAutograde
    autogradeapp.Autograde = LinkSafeAutograde
