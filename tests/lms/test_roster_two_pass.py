"""The two-pass roster import (issue 22): memory that does not grow with the rows of a bundle.

Pass 1 (`check_bundle`) validates each file as it streams past and keeps sourcedIds, not rows; pass 2 (the
applier) reads the rows again and holds one batch at a time. Counted here as live `Row` objects, which does
not depend on timing or on the allocator: the whole-bundle version held every row of every file at once.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

import lms.demo.generate as generate
from lms.roster import apply, oneroster
from lms.roster.models import Enrollment, User
from lms.roster.oneroster import check_bundle
from lms.roster.service import import_bundle

BATCH = 50


class _Census:
    """Live `Row` objects while reading: the most there were at once, and how many were made."""

    def __init__(self) -> None:
        self.alive: weakref.WeakSet[oneroster.Row] = weakref.WeakSet()
        self.most = 0
        self.made = 0

    def row_class(self) -> type[oneroster.Row]:
        census = self

        class CountedRow(oneroster.Row):
            __hash__ = object.__hash__  # by identity, for the weak set (a dataclass with eq has none)

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                census.alive.add(self)
                census.made += 1
                census.most = max(census.most, len(census.alive))

        return CountedRow


@pytest.fixture
def city(tmp_path: Path) -> Path:
    bundle = generate.generate_demo_bundle(tmp_path / "city")  # 3 schools, 757 users
    assert len(bundle.rows["users"]) > 10 * BATCH
    return bundle.path


def _census(monkeypatch: pytest.MonkeyPatch) -> _Census:
    census = _Census()
    monkeypatch.setattr(oneroster, "Row", census.row_class())
    return census


def test_validation_keeps_sourced_ids_not_rows(city: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    census = _census(monkeypatch)
    checked = check_bundle(city)
    assert census.made > 2000  # every row of every file was read
    # The manifest is read whole (a few properties); of the other files, only rows referring to their own
    # file wait for its end: orgs (a district and 3 schools) and the one session.
    manifest_rows = len((city / "manifest.csv").read_text().splitlines()) - 1
    assert census.most <= manifest_rows + 5 + 1
    assert len(census.alive) == 0
    assert len(checked.sourced_ids["users"]) == 757
    assert all(isinstance(sid, str) for ids in checked.sourced_ids.values() for sid in ids)


@pytest.mark.db
def test_import_holds_one_batch_of_rows_at_a_time(
    city: Path, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply, "BATCH_ROWS", BATCH)
    census = _census(monkeypatch)
    report = import_bundle(session=db_session, path=city)
    assert report.counts["users"].created == 757
    assert db_session.exec(select(func.count()).select_from(User)).one() == 757
    assert db_session.exec(select(func.count()).select_from(Enrollment)).one() == 753
    assert census.made > 2 * 2000  # both passes read every row
    # The batch being applied and the one before it (still named while the next is read), and the row read.
    assert census.most <= 2 * BATCH + 1

    census.most = 0
    again = import_bundle(session=db_session, path=city)  # re-import: the stored rows are looked up per batch
    assert again.counts["users"].unchanged == 757 and again.counts["enrollments"].unchanged == 753
    assert census.most <= 2 * BATCH + 1


@pytest.mark.db
def test_stored_rows_of_large_tables_are_held_as_a_few_columns(
    city: Path, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_bundle(session=db_session, path=city)
    held: list[apply._Store] = []
    real_init = apply._Store.__init__

    def init(self: apply._Store, session: Session, name: str) -> None:
        real_init(self, session, name)
        held.append(self)

    monkeypatch.setattr(apply._Store, "__init__", init)
    import_bundle(session=db_session, path=city)
    stores = {store.name: store for store in held}
    users = stores["users"].by_sid
    assert len(users) == 757
    assert all(set(record) == set(apply.COMPACT["users"]) for record in users.values())
    assert all(
        set(record) == set(apply.COMPACT["enrollments"]) for record in stores["enrollments"].by_sid.values()
    )


@pytest.mark.parametrize("damage", ["undecodable", "stray quote", "well-formed"])
def test_a_folder_edited_between_the_passes_is_refused_with_a_sentence(
    city: Path, db_session: Session, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """Only a folder can change between the check and the apply: the import then stops with a sentence
    (not a traceback) and the caller's rollback leaves the database as it was — also when the edit still
    reads as CSV, which nothing of pass 1 checked."""
    from lms.roster import service

    users = city / "users.csv"

    def check_then_edit(path: Path, existing: Any) -> Any:
        checked = check_bundle(path, existing)
        text = users.read_bytes()
        added = {"undecodable": b"\xff\xfe\xfa\n", "stray quote": b'"x,"y\n'}
        # well-formed: the last row once more, which reads cleanly (caught by the bytes' digest)
        users.write_bytes(text + added.get(damage, text.rstrip(b"\r\n").splitlines()[-1] + b"\n"))
        return checked

    monkeypatch.setattr(service, "check_bundle", check_then_edit)
    before = db_session.exec(select(func.count()).select_from(User)).one()
    with pytest.raises(oneroster.BundleError) as refused:
        import_bundle(session=db_session, path=city)
    db_session.rollback()
    problem = refused.value.problems[0]
    assert problem.endswith(
        "取り込みの途中でファイルが書き換えられました。書き換えが終わってから、もう一度取り込んでください（何も変更していません）"
    )
    assert problem.startswith("users.csv:1: -: ") == (damage != "stray quote")  # named where it is known
    assert db_session.exec(select(func.count()).select_from(User)).one() == before
