"""`make run`'s default hub mode started as root: every person's server is confined, never root.

JupyterHub's ``SimpleLocalProcessSpawner`` (the demo/test mode) runs every single-user server as the account
that started the hub; ``make run`` as root then gave each student a root kernel (``0 root``, every home
folder, the LMS database). :class:`ConfinedLocalProcessSpawner` keeps that mode's convenience — no unix
accounts are created, nothing on the host changes — and starts each server:

- as its own unprivileged uid (``UID_BASE`` + n, remembered in ``<state>/uids.json``; no ``useradd``: the uid
  needs no account, the server gets a two-line ``/etc/passwd`` naming root and itself), no supplementary
  groups, no capabilities, ``no_new_privs``, ``umask 077``, process and file-size limits;
- in bubblewrap: a read-only ``/usr``, a short ``/etc`` list and the Python installation (as the autograde
  sandbox), ``hub_config`` read-only (nbgrader's global configuration), the person's home (``0700``, owned by
  that uid) and nbgrader's exchange read-write; a private ``/tmp`` and ``/dev/shm``; its own pid and ipc
  namespaces. Not visible: the checkout (``var/giga.db``, the hub's database and cookie secret, course
  folders), other homes, other processes. The network is shared: the hub and the browser must reach it.

Production tiers do not use this: ``local`` mode runs one unix account per person, ``docker`` and
``kubernetes`` one container each.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
from pathlib import Path
from typing import Any

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Integer, List, Unicode

from hub_config.provision import ensure_exchange
from hub_config.sandbox import _system_binds, _traversable_parents

UID_BASE = 1_900_000  # far above useradd's ranges (1000–59999, system 100–999) and systemd's 61184–65519
UID_SLOTS = 100_000


def allocate_uid(state_dir: Path, username: str) -> int:
    """The person's uid, stable across restarts (``<state>/uids.json``, written under a lock)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    table = state_dir / "uids.json"
    with open(state_dir / "uids.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        uids: dict[str, int] = json.loads(table.read_text()) if table.exists() else {}
        if username not in uids:
            taken = set(uids.values())
            uid = UID_BASE + len(uids)
            while uid in taken or _exists(uid):
                uid += 1
            if uid >= UID_BASE + UID_SLOTS:
                raise RuntimeError(f"no free uid left in {UID_BASE}–{UID_BASE + UID_SLOTS}")
            uids[username] = uid
            temporary = table.with_suffix(".tmp")
            temporary.write_text(json.dumps(uids, indent=1, sort_keys=True))
            os.replace(temporary, table)
    return uids[username]


def _exists(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def confine_command(
    *,
    uid: int,
    username: str,
    home: Path,
    writable: list[Path],
    readable: list[Path],
    passwd_file: Path,
    processes: int = 256,
    file_bytes: int = 512 << 20,
) -> list[str]:
    """The bwrap + setpriv + prlimit prefix that confines one server (``cmd`` follows, run by ``sh -c``)."""
    args = ["bwrap", *_system_binds(), "--ro-bind", str(passwd_file), "/etc/passwd"]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]  # before the binds: they may be in /tmp
    for path in readable:
        args += [*_traversable_parents(path), "--ro-bind", str(path), str(path)]
    for path in [home, *writable]:
        args += [*_traversable_parents(path), "--bind", str(path), str(path)]
    args += [
        "--chdir", str(home),
        "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "jupyter",
        "--die-with-parent", "--new-session", "--",
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
        "prlimit", f"--nproc={processes}", f"--fsize={file_bytes}", "--core=0", "--",
        "env", f"USER={username}", f"LOGNAME={username}", f"HOME={home}", "SHELL=/bin/sh",
    ]  # fmt: skip
    return args


def write_passwd(path: Path, uid: int, username: str, home: Path) -> None:
    """A passwd file naming root and this person only (the host's lists every account)."""
    login = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in username)[:32] or "user"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n{login}:x:{uid}:{uid}:{login}:{home}:/bin/sh\n",
        encoding="utf-8",
    )
    os.chmod(path, 0o644)


class ConfinedLocalProcessSpawner(SimpleLocalProcessSpawner):  # type: ignore[misc]
    """``SimpleLocalProcessSpawner`` whose servers run as their own uid inside bubblewrap (needs root)."""

    state_dir = Unicode(
        help="The hub's state folder (uids.json, passwd files); never shown to a server."
    ).tag(config=True)
    writable_paths = List(Unicode(), help="Folders every server may write (nbgrader's exchange).").tag(
        config=True
    )
    readable_paths = List(Unicode(), help="Folders every server may read (hub_config).").tag(config=True)
    max_processes = Integer(256, help="RLIMIT_NPROC of the server's uid.").tag(config=True)

    def _prepare(self) -> tuple[int, Path, Path]:
        state = Path(self.state_dir)
        uid = allocate_uid(state, self.user.name)
        home = Path(self.home_dir)
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, uid, uid)
        os.chmod(home, 0o700)
        os.chmod(home.parent, 0o711)  # homes: nobody lists them
        passwd = state / "passwd" / f"{uid}"
        write_passwd(passwd, uid, self.user.name, home)
        return uid, home, passwd

    async def start(self) -> Any:
        uid, home, passwd = self._prepare()
        for path in self.writable_paths:
            ensure_exchange(Path(path))
        prefix = confine_command(
            uid=uid,
            username=self.user.name,
            home=home,
            writable=[Path(p) for p in self.writable_paths],
            readable=[Path(p) for p in self.readable_paths if Path(p).exists()],
            passwd_file=passwd,
            processes=self.max_processes,
        )
        # LocalProcessSpawner appends the server command, quoted, as one argument of shell_cmd
        self.shell_cmd = [*prefix, "/bin/sh", "-c", 'umask 077 && exec "$@"', "jupyter-server", "sh", "-c"]
        return await super().start()
