"""Names in the formgrader: the LMS's course list carries the roster's 姓/名 (kana too), and the hub's
real provisioning code (``hub_config.provision``) writes them into nbgrader's gradebook, which is what
the formgrader lists — no more "None, None"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session

from hub_config import provision as prov
from tests.hub_config.test_provision import hub_client
from tests.lms.test_notebooks_prestart import FakeHub


def formgrader_students(folder: Path, course_id: str) -> dict[str, tuple[str | None, str | None]]:
    """What the formgrader's student list reads: nbgrader's own API over the course's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", course_id=course_id) as gradebook:
        return {s.id: (s.last_name, s.first_name) for s in gradebook.students}


def test_provisioning_writes_roster_names_into_the_gradebook(
    client: Any, world: Any, course: Any, api_token: Any, db_session: Session, tmp_path: Path
) -> None:
    client.headers["Authorization"] = f"Bearer {api_token('admin', ['hub'])}"
    with hub_client(FakeHub()) as hub:
        report = prov.provision(lms=client, hub=hub, state_dir=tmp_path, courses_file=None)
    folder = tmp_path / "courses" / "a1-prog"
    assert formgrader_students(folder, "a1-prog") == {"s-a1": ("山田", "一郎"), "s-a1b": ("山田", "花子")}
    assert report.names_written == {"a1-prog": ["s-a1", "s-a1b"]}

    # a renamed child (and one recorded in kana only) reach the gradebook at the next run; others untouched
    hanako, ichiro = world.users["s-a1b"], world.users["s-a1"]
    hanako.family_name = "佐藤"
    ichiro.family_name, ichiro.given_name = "", ""
    db_session.add_all([hanako, ichiro])
    db_session.commit()
    with hub_client(FakeHub()) as hub:
        again = prov.provision(lms=client, hub=hub, state_dir=tmp_path, courses_file=None)
    assert formgrader_students(folder, "a1-prog") == {"s-a1": ("ヤマダ", "テスト"), "s-a1b": ("佐藤", "花子")}
    assert again.names_written == {"a1-prog": ["s-a1", "s-a1b"]}
    with hub_client(FakeHub()) as hub:
        third = prov.provision(lms=client, hub=hub, state_dir=tmp_path, courses_file=None)
    assert third.names_written == {}
