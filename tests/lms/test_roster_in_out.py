"""Issue 20: roles, 学習eポータル v3.00 fields, export and its round trip, CLI options, the upload page."""

from __future__ import annotations

import filecmp
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from lms.board.opendata import metadata
from lms.board.settings import BoardSettings
from lms.board.suppression import round_count
from lms.cli import app
from lms.core.db import make_engine
from lms.roster.export import export_roster
from lms.roster.models import Enrollment, User
from lms.roster.oneroster import parse_bundle
from lms.roster.service import import_bundle
from tests.conftest import _empty_all_tables
from tests.lms.conftest import csrf_of
from tests.lms.roster_helpers import FIXTURE, copy_bundle, edit, read_rows, set_value

pytestmark = pytest.mark.db
runner = CliRunner()


def _with_guardians(bundle: Path, count: int) -> None:
    """``count`` guardians etc. (users.csv, roles.csv and one enrollment), as some 校務 systems send."""

    def users(_h: list[str], rows: list[dict[str, str]]) -> None:
        template = next(r for r in rows if r["sourcedId"] == "stu-es-1")
        for n in range(count):
            rows.append(
                template
                | {
                    "sourcedId": f"grd-{n}",
                    "username": f"guardian-{n}",
                    "givenName": "保護者",
                    "grades": "",
                    "userMasterIdentifier": "",
                    "metadata.jp.homeClass": "",
                }
            )

    def roles(_h: list[str], rows: list[dict[str, str]]) -> None:
        template = rows[0]
        for n in range(count):
            role = ("guardian", "parent", "counselor", "proctor", "systemAdministrator")[n % 5]
            rows.append(template | {"sourcedId": f"rol-grd-{n}", "userSourcedId": f"grd-{n}", "role": role})

    def enrollments(_h: list[str], rows: list[dict[str, str]]) -> None:
        template = rows[0]
        rows.append(
            template
            | {
                "sourcedId": "enr-grd-0",
                "userSourcedId": "grd-0",
                "role": "guardian",
                "metadata.jp.ShussekiNo": "",
            }
        )

    edit(bundle, "users.csv", users)
    edit(bundle, "roles.csv", roles)
    edit(bundle, "enrollments.csv", enrollments)


def test_guardians_never_become_students_nor_board_counts(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "guardians")
    _with_guardians(bundle, 12)
    report = import_bundle(session=db_session, path=bundle)
    db_session.commit()
    assert report.skipped_contacts == 12
    assert "保護者など" in report.summary()
    assert db_session.exec(select(User).where(User.username.startswith("guardian-"))).all() == []
    students = db_session.exec(select(func.count()).select_from(User).where(User.role == "student")).one()
    assert students == 5
    settings = BoardSettings()
    population = metadata(session=db_session, figures=[], settings=settings)["population"]
    assert population["students_enrolled"] == round_count(5, settings.count_rounding)
    assert population["students_enrolled"] != round_count(17, settings.count_rounding)


def test_v3_fields_are_stored_and_the_preferred_name_is_shown(
    db_session: Session, tmp_path: Path, client: Any, sign_in: Any, world: Any
) -> None:
    bundle = copy_bundle(tmp_path / "v3")
    for column, value in {
        "preferredGivenName": "ハナ",
        "preferredFamilyName": "スミス",
        "middleName": "メアリー",
        "metadata.jp.kanaMiddleName": "メアリー",
        "identifier": "2026-0042",
    }.items():
        set_value(bundle, "users.csv", "stu-es-1", column, value)
    set_value(bundle, "enrollments.csv", "enr-es-1", "metadata.jp.PublicFlg", "true")
    import_bundle(session=db_session, path=bundle)
    db_session.commit()
    pupil = db_session.exec(select(User).where(User.sourced_id == "stu-es-1")).one()
    assert (pupil.preferred_given_name, pupil.preferred_family_name, pupil.middle_name) == (
        "ハナ",
        "スミス",
        "メアリー",
    )
    assert (pupil.kana_middle_name, pupil.identifier) == ("メアリー", "2026-0042")
    assert pupil.display_name == "スミス ハナ"
    flags = {e.sourced_id: e.public_flg for e in db_session.exec(select(Enrollment))}
    assert flags["enr-es-1"] is True and flags["enr-es-2"] is False and flags["enr-tes-1"] is None
    sign_in("admin")
    page = client.get(f"/classes/{pupil.home_class_id}")
    assert page.status_code == 200 and "スミス ハナ" in page.text


# --- export ---------------------------------------------------------------------------------------


def _empty_database(template_url: str, tmp_path: Path) -> Engine:
    if template_url.startswith("sqlite"):
        target = tmp_path / "empty.db"
        shutil.copyfile(make_url(template_url).database or "", target)
        return make_engine(f"sqlite:///{target}")
    _empty_all_tables(template_url)
    return make_engine(template_url)


def test_export_round_trip_gives_identical_files(
    db_session: Session, tmp_path: Path, _migrated_database: str
) -> None:
    bundle = copy_bundle(tmp_path / "src")
    set_value(bundle, "users.csv", "stu-es-1", "preferredGivenName", "ハナ")
    import_bundle(session=db_session, path=bundle)
    db_session.commit()
    first = tmp_path / "first"
    counts = export_roster(db_session, first)
    assert counts["users"] == 10 and counts["enrollments"] == 9
    assert (first / "users.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    _header, users = read_rows(first / "users.csv")
    assert {row["password"] for row in users} == {""}
    assert next(r for r in users if r["sourcedId"] == "stu-es-1")["preferredGivenName"] == "ハナ"
    parse_bundle(first)  # the export passes the import's own checks

    # Into an empty database: a fresh copy of the migrated template (SQLite) or the emptied database.
    db_session.close()
    empty = _empty_database(_migrated_database, tmp_path)
    with Session(empty, expire_on_commit=False) as fresh:
        assert fresh.exec(select(func.count()).select_from(User)).one() == 0
        import_bundle(session=fresh, path=first)
        fresh.commit()
        second = tmp_path / "second"
        export_roster(fresh, second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    _same, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_the_export_is_readable_by_its_owner_only(db_session: Session, tmp_path: Path) -> None:
    """Children's names, kana and special needs: not for every account of the server (umask 022 gave 0644)."""
    import_bundle(session=db_session, path=copy_bundle(tmp_path / "src"))
    db_session.commit()
    out = tmp_path / "export"
    export_roster(db_session, out)
    assert out.stat().st_mode & 0o077 == 0
    files = sorted(out.iterdir())
    assert files and all(path.stat().st_mode & 0o077 == 0 for path in files), [
        (path.name, oct(path.stat().st_mode)) for path in files
    ]


# --- the command line -----------------------------------------------------------------------------


def test_cli_mass_change_exit_2_then_allowed(settings: Any, db_session: Session, tmp_path: Path) -> None:
    assert runner.invoke(app, ["roster", "import", str(FIXTURE)]).exit_code == 0
    bundle = copy_bundle(tmp_path / "empty")
    for name in ("users", "enrollments", "roles"):
        edit(bundle, f"{name}.csv", lambda _h, rows: rows.clear())
    stopped = runner.invoke(app, ["roster", "import", str(bundle)])
    assert stopped.exit_code == 2
    assert "10 人が無効" in stopped.stderr and "Traceback" not in stopped.output
    english = runner.invoke(app, ["roster", "import", "--english", str(bundle)])
    assert english.exit_code == 2 and "would disable 10 of 10 active users" in english.stderr
    dry = runner.invoke(app, ["roster", "import", "--dry-run", str(bundle)])
    assert dry.exit_code == 0 and "試行のみ" in dry.output and "3年1組" in dry.output
    assert db_session.exec(select(func.count()).select_from(User).where(User.enabled == True)).one() == 10  # noqa: E712
    allowed = runner.invoke(app, ["roster", "import", "--allow-mass-change", str(bundle)])
    assert allowed.exit_code == 0, allowed.output
    assert db_session.exec(select(func.count()).select_from(User).where(User.enabled == True)).one() == 0  # noqa: E712


def test_cli_refusal_in_english_and_no_traceback(settings: Any, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "quote")
    set_value(bundle, "users.csv", "stu-es-2", "familyName", "佐" * 300)
    result = runner.invoke(app, ["roster", "import", "--english", str(bundle)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "users.csv:3: familyName: value too long (300 characters, at most 255)" in result.stderr
    assert "佐佐" not in result.output


def test_cli_import_leaves_no_sqlite_wal_behind(tmp_path: Path) -> None:
    """Always on a SQLite file of its own (the WAL is SQLite's), whichever database the suite runs on."""
    from lms.core.settings import get_settings

    db_file = tmp_path / "wal.db"
    env = {"GIGA_DATABASE_URL": f"sqlite:///{db_file}"}
    get_settings.cache_clear()
    try:
        assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
        get_settings.cache_clear()
        result = runner.invoke(app, ["roster", "import", str(FIXTURE)], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    wal = db_file.with_name(db_file.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_cli_export_then_import_elsewhere(settings: Any, tmp_path: Path) -> None:
    assert runner.invoke(app, ["roster", "import", str(FIXTURE)]).exit_code == 0
    result = runner.invoke(app, ["roster", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "users.csv: 10 行" in result.output
    assert (tmp_path / "out" / "manifest.csv").exists()
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    assert runner.invoke(app, ["roster", "export", str(not_a_folder)]).exit_code == 2


# --- the upload page ------------------------------------------------------------------------------


def _zip(folder: Path, target: Path) -> bytes:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return target.read_bytes()


def test_upload_page_dry_run_and_mass_change_confirmation(
    client: Any, sign_in: Any, db_session: Session, tmp_path: Path
) -> None:
    sign_in("admin")
    page = client.get("/admin/roster")
    assert 'name="dry_run"' in page.text
    token = csrf_of(page.text)
    good = _zip(copy_bundle(tmp_path / "good"), tmp_path / "good.zip")
    dry = client.post(
        "/admin/roster",
        data={"csrf_token": token, "dry_run": "true"},
        files={"bundle": ("good.zip", good, "application/zip")},
    )
    assert dry.status_code == 200 and "何も変更していません" in dry.text and 'id="dry-run-detail"' in dry.text
    assert db_session.exec(select(User).where(User.sourced_id == "stu-es-1")).first() is None
    done = client.post(
        "/admin/roster", data={"csrf_token": token}, files={"bundle": ("good.zip", good, "application/zip")}
    )
    assert done.status_code == 200 and "取り込みました" in done.text
    folder = copy_bundle(tmp_path / "empty")
    for name in ("users", "enrollments", "roles"):
        edit(folder, f"{name}.csv", lambda _h, rows: rows.clear())
    empty = _zip(folder, tmp_path / "empty.zip")
    stopped = client.post(
        "/admin/roster", data={"csrf_token": token}, files={"bundle": ("empty.zip", empty, "application/zip")}
    )
    assert stopped.status_code == 409 and 'id="mass-change"' in stopped.text
    assert 'name="allow_mass_change"' in stopped.text
    db_session.expire_all()
    assert db_session.exec(select(User).where(User.sourced_id == "stu-es-1")).one().enabled
    allowed = client.post(
        "/admin/roster",
        data={"csrf_token": csrf_of(stopped.text), "allow_mass_change": "true"},
        files={"bundle": ("empty.zip", empty, "application/zip")},
    )
    assert allowed.status_code == 200
    db_session.expire_all()
    assert not db_session.exec(select(User).where(User.sourced_id == "stu-es-1")).one().enabled


def test_api_dry_run_and_mass_change(
    client: Any, api_token: Any, db_session: Session, tmp_path: Path
) -> None:
    secret = api_token("admin", ["roster:write"])
    headers = {"Authorization": f"Bearer {secret}"}
    good = _zip(copy_bundle(tmp_path / "good"), tmp_path / "good.zip")
    dry = client.post(
        "/api/v1/roster/import?dry_run=true",
        headers=headers,
        files={"bundle": ("g.zip", good, "application/zip")},
    )
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert dry.json()["counts"]["users"]["created"] == 10
    assert db_session.exec(select(User).where(User.sourced_id == "stu-es-1")).first() is None
    done = client.post(
        "/api/v1/roster/import", headers=headers, files={"bundle": ("g.zip", good, "application/zip")}
    )
    assert done.status_code == 200
    folder = copy_bundle(tmp_path / "empty")
    for name in ("users", "enrollments", "roles"):
        edit(folder, f"{name}.csv", lambda _h, rows: rows.clear())
    empty = _zip(folder, tmp_path / "empty.zip")
    stopped = client.post(
        "/api/v1/roster/import", headers=headers, files={"bundle": ("e.zip", empty, "application/zip")}
    )
    assert stopped.status_code == 400 and "--allow-mass-change" in stopped.text
    allowed = client.post(
        "/api/v1/roster/import?allow_mass_change=true",
        headers=headers,
        files={"bundle": ("e.zip", empty, "application/zip")},
    )
    assert allowed.status_code == 200 and allowed.json()["counts"]["users"]["deactivated"] == 10
