"""Students' names in nbgrader's gradebook, from the LMS roster (the formgrader said "None, None").

nbgrader keeps ``last_name``/``first_name`` per student and shows them as ``last, first``; the roster's
姓 goes to ``last_name`` and 名 to ``first_name`` (the formgrader shows 「山田, 花子」 and sorts by 姓).
A roster row with kana only (no kanji recorded) gives its kana instead of an empty name.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def _alembic_on_path() -> Iterator[None]:
    """nbgrader stamps a new gradebook by running ``alembic``: find it next to this interpreter (a venv's
    ``bin/`` is not on PATH when ``python -m hub_config.provision`` is run by its full path)."""
    if shutil.which("alembic"):
        yield
        return
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{old}"
    try:
        yield
    finally:
        os.environ["PATH"] = old


def gradebook_name(person: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(last_name, first_name) for nbgrader from one ``student_names`` entry of the LMS course list."""
    last = person.get("family_name") or person.get("kana_family_name") or None
    first = person.get("given_name") or person.get("kana_given_name") or None
    return last, first


def record_student_names(folder: Path, course_id: str, people: Iterable[Mapping[str, Any]]) -> list[str]:
    """Create or rename the course's students in ``folder/gradebook.db``; return the ids renamed."""
    from nbgrader.api import Gradebook, MissingEntry  # nbgrader is heavy: only when a course has students

    changed: list[str] = []
    with (
        _alembic_on_path(),
        Gradebook(f"sqlite:///{folder / 'gradebook.db'}", course_id=course_id) as gradebook,
    ):
        for person in people:
            student_id = str(person["username"])
            last, first = gradebook_name(person)
            try:
                row = gradebook.find_student(student_id)
                if (row.last_name, row.first_name) == (last, first):
                    continue
            except MissingEntry:
                pass
            gradebook.update_or_create_student(student_id, last_name=last, first_name=first)
            changed.append(student_id)
    return changed
