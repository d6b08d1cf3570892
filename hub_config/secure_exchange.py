"""A private nbgrader submit: a student's submission is readable by the student and the course's grader only.

Stock nbgrader 0.9 (``nbgrader.exchange.default.submit``) leaves each submission in the course's ``inbound``
folder as a **0777** directory of **0644** files: the only protection is the random suffix in the folder name,
and anyone who learns the path can read — or change — another student's work.

Here, right after the stock copy, the submission is locked down:

- files ``0640``, folders ``0770``, nothing for "other";
- the group is the one the ``inbound`` folder hands down (nbgrader creates ``inbound`` set-gid, owned by the
  grader account's group, e.g. ``grader-<course>``; students are not in it), so the grader can still collect,
  read and delete the submission, as before.

Everything else of the stock exchange is unchanged (``inbound`` itself stays ``2733``: students may create
entries but cannot list them).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

from nbgrader.exchange.abc.exchange import ExchangeError
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import ignore_patterns, parse_utc

FILE_MODE = 0o640
DIR_MODE = 0o770
UNREADABLE = "\x00unreadable"  # the username of an inbound entry whose name nbgrader cannot parse
_EPOCH = parse_utc("1970-01-01 00:00:00.000000 UTC")  # oldest, of the type nbgrader's own times have


def restrict_submission(folder: Path) -> None:
    """Remove every permission for "other" under ``folder``; symlinks are left alone (never followed)."""
    for root, dirs, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                os.chmod(path, FILE_MODE)
        for name in dirs:
            path = Path(root, name)
            if not path.is_symlink():
                os.chmod(path, DIR_MODE)
    os.chmod(folder, DIR_MODE)


def is_private(folder: Path) -> bool:
    """True when nothing under ``folder`` grants any permission to "other"."""
    paths = [folder, *folder.rglob("*")]
    return all(not (p.lstat().st_mode & stat.S_IRWXO) for p in paths if not p.is_symlink())


class PrivateExchangeSubmit(ExchangeSubmit):
    """nbgrader's submit, then :func:`restrict_submission` on the new inbound folder."""

    def copy_files(self) -> None:
        super().copy_files()
        restrict_submission(Path(self.inbound_path) / self.assignment_filename)


class LinkSafeExchangeCollect(ExchangeCollect):
    """nbgrader's collect, copying symbolic links as links and then dropping them.

    Stock collect copies each inbound submission with ``shutil.copytree`` as the grader (root in make run),
    following links. ``inbound`` is writable by every student, so a submission made by hand with a link to
    the gradebook, another course or ``/etc/shadow`` arrived in ``submitted/`` as a regular file — which the
    autograde copies into the sandbox, where the student's code reads it and prints it into the feedback.
    """

    def _path_to_record(self, path: str) -> dict[str, Any]:
        """Set aside, with a warning, what ``inbound`` (every student's to write) holds but is no submission:
        a link named like one would make the grader copy whatever it points at (the course's solutions,
        another student's work) as that submission; a name nbgrader cannot read would fail the whole class's
        collect. Set aside before nbgrader picks each student's newest, so a real submission still counts."""
        reason = ""
        if os.path.islink(path) or not stat.S_ISDIR(os.lstat(path).st_mode):
            reason = "a submission must be a folder, not a link"
        else:
            try:
                record: dict[str, Any] = super()._path_to_record(path)
                return record
            except (ExchangeError, ValueError, OverflowError):
                reason = "not a submission folder name nbgrader can read"
        self.log.warning("Ignoring %s: %s", path, reason)
        return {"username": UNREADABLE, "filename": os.path.basename(path), "timestamp": _EPOCH}

    def init_src(self) -> None:
        super().init_src()
        records: list[dict[str, Any]] = self.src_records  # type: ignore[has-type]  # set by nbgrader
        self.src_records = [r for r in records if r["username"] != UNREADABLE]

    def do_copy(self, src: str, dest: str, log: object = None) -> None:
        if os.path.islink(src):  # never reached through init_src; kept where nbgrader calls it directly
            raise RuntimeError(f"refusing to collect {src}: a link, not a submission folder")
        if self.get_size(src) > 1000 * self.coursedir.max_dir_size:
            self.log.error("Directory size is too big")
            raise RuntimeError(f"Directory size is too big (maximum {1000 * self.coursedir.max_dir_size})")
        ignore = ignore_patterns(
            exclude=self.coursedir.ignore,
            include=self.coursedir.include,
            max_file_size=self.coursedir.max_file_size,
            log=self.log,
        )
        shutil.copytree(src, dest, symlinks=True, ignore=ignore)
        for root, dirs, files in os.walk(dest):
            for name in [*dirs, *files]:
                path = os.path.join(root, name)
                if os.path.islink(path):
                    self.log.warning("Dropping %s: links in a submission are never followed", path)
                    os.unlink(path)
