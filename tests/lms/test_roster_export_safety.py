"""Roster export for spreadsheets (CSV injection) and the upload's last guard against database errors."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from lms.audit.models import AuditEvent
from lms.cli import app
from lms.roster import apply
from lms.roster.export import SPREADSHEET_MARK, export_roster, spreadsheet_cell
from lms.roster.messages import translate_problem
from lms.roster.models import Org, User
from lms.roster.oneroster import BundleError, parse_bundle
from lms.roster.service import import_bundle
from tests.lms.conftest import csrf_of
from tests.lms.roster_helpers import FIXTURE, copy_bundle, read_rows, set_value

pytestmark = pytest.mark.db
runner = CliRunner()


def test_spreadsheet_cell_quotes_what_a_spreadsheet_would_run() -> None:
    for value in ("=1+1", "+81-3-0000", "-", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheet_cell(value) == "'" + value
    for value in ("", "山田", "a=b", "2026-04-01", "'=x"):
        assert spreadsheet_cell(value) == value


def _import_with_odd_names(session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "src")
    set_value(bundle, "users.csv", "stu-es-1", "familyName", "@山田")
    set_value(bundle, "users.csv", "stu-es-1", "middleName", "-")
    set_value(bundle, "users.csv", "stu-es-2", "preferredGivenName", "+ハナ")
    import_bundle(session=session, path=bundle)
    session.commit()


def test_spreadsheet_export_quotes_cells_and_the_default_stays_exact(
    db_session: Session, tmp_path: Path
) -> None:
    _import_with_odd_names(db_session, tmp_path)
    exact, sheet = tmp_path / "exact", tmp_path / "sheet"
    export_roster(db_session, exact)
    export_roster(db_session, sheet, for_spreadsheet=True)

    def user(folder: Path, sourced_id: str) -> dict[str, str]:
        return next(r for r in read_rows(folder / "users.csv")[1] if r["sourcedId"] == sourced_id)

    assert (user(exact, "stu-es-1")["familyName"], user(exact, "stu-es-1")["middleName"]) == ("@山田", "-")
    assert user(exact, "stu-es-2")["preferredGivenName"] == "+ハナ"
    assert (user(sheet, "stu-es-1")["familyName"], user(sheet, "stu-es-1")["middleName"]) == ("'@山田", "'-")
    assert user(sheet, "stu-es-2")["preferredGivenName"] == "'+ハナ"
    assert user(sheet, "stu-es-1")["givenName"] == user(exact, "stu-es-1")["givenName"]  # others as they are
    assert SPREADSHEET_MARK.encode() not in (exact / "manifest.csv").read_bytes()
    parse_bundle(exact)  # the OneRoster export is re-importable as it is


def test_the_spreadsheet_copy_is_refused_by_the_import(db_session: Session, tmp_path: Path) -> None:
    _import_with_odd_names(db_session, tmp_path)
    sheet = tmp_path / "sheet"
    export_roster(db_session, sheet, for_spreadsheet=True)
    with pytest.raises(BundleError) as refused:
        parse_bundle(sheet)
    (line,) = refused.value.problems
    assert line.startswith(f"manifest.csv:14: {SPREADSHEET_MARK}: 表計算ソフト向けに書き出した名簿です")
    assert "import the OneRoster export instead" in translate_problem(line)


def test_a_name_that_is_a_formula_is_refused(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "formula")
    set_value(bundle, "users.csv", "stu-es-2", "givenName", '=HYPERLINK("http://x.example/","花子")')
    set_value(bundle, "users.csv", "stu-es-1", "familyName", "-")  # a placeholder some systems send: kept
    with pytest.raises(BundleError) as refused:
        parse_bundle(bundle)
    (line,) = refused.value.problems
    assert line.startswith('users.csv:3: givenName: 「=HYPERLINK("http://x.example/","花子")」は = で始まる')
    assert "starts with = (a spreadsheet formula)" in translate_problem(line)


def test_cli_export_for_spreadsheet(settings: Any, tmp_path: Path) -> None:
    assert runner.invoke(app, ["roster", "import", str(FIXTURE)]).exit_code == 0
    result = runner.invoke(app, ["roster", "export", "--for-spreadsheet", str(tmp_path / "sheet")])
    assert result.exit_code == 0, result.output
    assert "取り込みには使えません" in result.output
    assert b"giga.forSpreadsheet,true" in (tmp_path / "sheet" / "manifest.csv").read_bytes()
    again = runner.invoke(app, ["roster", "import", str(tmp_path / "sheet")])
    assert again.exit_code == 2 and "表計算ソフト向け" in again.stderr


def _zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_web_download_offers_both_exports(
    client: Any, sign_in: Any, db_session: Session, tmp_path: Path
) -> None:
    _import_with_odd_names(db_session, tmp_path)
    sign_in("admin")
    page = client.get("/admin/roster")
    assert 'href="/admin/roster/export"' in page.text
    assert 'href="/admin/roster/export?for_spreadsheet=true"' in page.text
    exact = client.get("/admin/roster/export")
    assert exact.status_code == 200 and exact.headers["content-type"] == "application/zip"
    assert "attachment" in exact.headers["content-disposition"]
    assert exact.headers["cache-control"] == "no-store"
    files = _zip_members(exact.content)
    expected = ["manifest", "academicSessions", "orgs", "courses", "classes", "users", "enrollments", "roles"]
    assert sorted(files) == sorted(f"{name}.csv" for name in expected)
    assert ",@山田," in files["users.csv"].decode("utf-8-sig")
    sheet = _zip_members(client.get("/admin/roster/export?for_spreadsheet=true").content)
    assert ",'@山田," in sheet["users.csv"].decode("utf-8-sig")
    assert (
        "spreadsheet"
        in client.get("/admin/roster/export?for_spreadsheet=true").headers["content-disposition"]
    )
    events = db_session.exec(
        select(AuditEvent).where(AuditEvent.action == "roster.export").order_by(col(AuditEvent.id))
    ).all()
    assert [e.target_id for e in events] == ["oneroster", "spreadsheet", "spreadsheet"]


def test_web_download_is_for_admins_only(client: Any, sign_in: Any) -> None:
    sign_in("t-a1")
    assert client.get("/admin/roster/export").status_code == 403


# --- the database's refusal, after validation -----------------------------------------------------------


def _fail_at_users(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """The real writer for every table until users: then the database refuses (orgs etc. already sent)."""
    real = apply.BulkApplier._insert

    def insert(self: apply.BulkApplier, store: Any) -> None:
        if store.name == "users":
            raise error
        real(self, store)

    monkeypatch.setattr(apply.BulkApplier, "_insert", insert)


def _zip_of(folder: Path, target: Path) -> bytes:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return target.read_bytes()


def _imported_orgs(session: Session) -> int:
    session.expire_all()
    session.rollback()  # a fresh snapshot: what the request committed
    return session.exec(select(func.count()).select_from(Org).where(col(Org.sourced_id).is_not(None))).one()


@pytest.mark.parametrize(
    ("error", "status", "sentence"),
    [
        (IntegrityError("INSERT", {}, Exception("duplicate key: 山田花子")), 422, "値を受け付けませんでした"),
        (OperationalError("INSERT", {}, Exception("database is locked")), 503, "いまデータベースが"),
    ],
)
def test_upload_database_error_is_a_japanese_page_and_nothing_is_written(
    client: Any,
    sign_in: Any,
    db_session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    status: int,
    sentence: str,
) -> None:
    sign_in("admin")
    page = client.get("/admin/roster")
    data = _zip_of(copy_bundle(tmp_path / "good"), tmp_path / "good.zip")
    orgs_before = _imported_orgs(db_session)
    _fail_at_users(monkeypatch, error)
    response = client.post(
        "/admin/roster",
        data={"csrf_token": csrf_of(page.text)},
        files={"bundle": ("good.zip", data, "application/zip")},
    )
    assert response.status_code == status
    assert sentence in response.text and "何も変更していません" in response.text
    assert type(error).__name__ in response.text
    assert "山田花子" not in response.text and "database is locked" not in response.text
    assert _imported_orgs(db_session) == orgs_before  # the orgs sent before the failure: rolled back
    assert db_session.exec(select(User).where(User.sourced_id == "stu-es-1")).first() is None
    refusals = db_session.exec(select(AuditEvent).where(AuditEvent.action == "roster.import_refused")).all()
    assert len(refusals) == (1 if status == 422 else 0)
    monkeypatch.undo()  # the page works again afterwards: the session was not left broken
    again = client.post(
        "/admin/roster",
        data={"csrf_token": csrf_of(response.text)},
        files={"bundle": ("good.zip", data, "application/zip")},
    )
    assert again.status_code == 200 and "取り込みました" in again.text


def test_api_database_error_is_json_and_nothing_is_written(
    client: Any, api_token: Any, db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = api_token("admin", ["roster:write"])
    data = _zip_of(copy_bundle(tmp_path / "good"), tmp_path / "good.zip")
    orgs_before = _imported_orgs(db_session)
    _fail_at_users(monkeypatch, IntegrityError("INSERT", {}, Exception("duplicate key: 山田花子")))
    response = client.post(
        "/api/v1/roster/import",
        headers={"Authorization": f"Bearer {secret}"},
        files={"bundle": ("g.zip", data, "application/zip")},
    )
    assert response.status_code == 422
    assert "IntegrityError" in response.json()["detail"] and "山田花子" not in response.text
    assert _imported_orgs(db_session) == orgs_before


def test_cli_database_error_is_a_sentence_and_nothing_is_written(
    settings: Any, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    orgs_before = _imported_orgs(db_session)
    _fail_at_users(monkeypatch, OperationalError("INSERT", {}, Exception("database is locked")))
    result = runner.invoke(app, ["roster", "import", str(FIXTURE)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "いまデータベースが名簿を書き込めません（OperationalError）" in result.stderr
    assert "database is locked" not in result.output
    assert _imported_orgs(db_session) == orgs_before
