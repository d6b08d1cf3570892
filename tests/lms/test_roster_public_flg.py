"""metadata.jp.PublicFlg is stored and exported as given, and hides nobody from the staff who may see a class
(docs/roster.md says why it has no effect today: no page shows a class's members to anyone but its staff)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from lms.api.queries import class_roster
from lms.roster.export import export_roster
from lms.roster.models import Enrollment, SchoolClass
from lms.roster.service import import_bundle
from tests.lms.roster_helpers import copy_bundle, read_rows, set_value

pytestmark = pytest.mark.db


def test_public_flg_false_is_kept_and_hides_nobody_from_the_class_staff(
    db_session: Session, tmp_path: Path
) -> None:
    bundle = copy_bundle(tmp_path / "b")
    set_value(bundle, "enrollments.csv", "enr-es-1", "metadata.jp.PublicFlg", "true")
    import_bundle(session=db_session, path=bundle)
    db_session.commit()
    flags = {e.sourced_id: e.public_flg for e in db_session.exec(select(Enrollment))}
    assert (flags["enr-es-1"], flags["enr-es-2"]) == (True, False)
    klass = db_session.exec(select(SchoolClass).where(SchoolClass.sourced_id == "cls-es-3-1")).one()
    listed = {line.user.sourced_id for line in class_roster(session=db_session, class_=klass)}
    assert {"stu-es-1", "stu-es-2"} <= listed  # the teacher's and school admin's roster shows both
    export_roster(db_session, tmp_path / "out")
    exported = {
        r["sourcedId"]: r["metadata.jp.PublicFlg"] for r in read_rows(tmp_path / "out" / "enrollments.csv")[1]
    }
    assert (exported["enr-es-1"], exported["enr-es-2"]) == ("true", "false")
