"""The `giga` command: exit codes and output of db, roster, demo (stable contract, DESIGN §2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from lms.cli import app
from lms.core.settings import get_settings
from lms.roster.models import User
from tests.lms.roster_helpers import FIXTURE, copy_bundle, set_value

runner = CliRunner()


def test_help_lists_every_group() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("db", "demo", "roster", "serve", "irt", "items"):
        assert group in result.output


def test_db_upgrade_and_current_on_a_new_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGA_DATABASE_URL", f"sqlite:///{tmp_path / 'new' / 'giga.db'}")
    monkeypatch.chdir(tmp_path)  # works from any directory
    get_settings.cache_clear()
    try:
        behind = runner.invoke(app, ["db", "current"])
        assert behind.exit_code == 0 and "behind" in behind.output
        refused = runner.invoke(app, ["roster", "import", str(FIXTURE)])
        assert refused.exit_code == 2 and "giga db upgrade" in refused.output
        upgraded = runner.invoke(app, ["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        current = runner.invoke(app, ["db", "current"])
        assert "up to date" in current.output
    finally:
        get_settings.cache_clear()


def test_production_default_secret_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGA_ENVIRONMENT", "production")
    monkeypatch.delenv("GIGA_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["db", "current"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "GIGA_SECRET_KEY" in result.output and "Traceback" not in result.output


@pytest.mark.db
def test_roster_import_exit_0_with_summary(settings: Any, db_session: Session) -> None:
    result = runner.invoke(app, ["roster", "import", str(FIXTURE)])
    assert result.exit_code == 0, result.output
    assert "users（bulk）: 追加 10" in result.output
    assert "demographics.csv" in result.output and "所要時間:" in result.output
    assert db_session.exec(select(func.count()).select_from(User)).one() == 10


@pytest.mark.db
def test_roster_import_exit_2_with_every_error(settings: Any, db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "bad")
    set_value(bundle, "users.csv", "stu-es-1", "grades", "P0")
    set_value(bundle, "users.csv", "stu-es-2", "givenName", "ﾕｲﾅ")
    result = runner.invoke(app, ["roster", "import", str(bundle)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[:2] == [
        "users.csv:2: grades: 学年コード「P0」は使えません（P1–P6, J1–J3, H1–H3, E1–E3）",
        "users.csv:3: givenName: 「ﾕｲﾅ」に半角カタカナがあります（全角で入力してください）",
    ]
    assert "何も変更していません" in lines[2]
    assert db_session.exec(select(func.count()).select_from(User)).one() == 0


@pytest.mark.db
def test_roster_import_of_a_missing_path_exits_2(settings: Any, tmp_path: Path) -> None:
    result = runner.invoke(app, ["roster", "import", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "見つかりません" in result.output


@pytest.mark.db
def test_rollover_cli(settings: Any, db_session: Session) -> None:
    assert runner.invoke(app, ["roster", "import", str(FIXTURE)]).exit_code == 0
    dry = runner.invoke(app, ["roster", "rollover", "--to-year", "2027", "--dry-run"])
    assert dry.exit_code == 0 and "dry run" in dry.output and "4 promoted" in dry.output
    wrong = runner.invoke(app, ["roster", "rollover", "--to-year", "2030"])
    assert wrong.exit_code == 2 and "1 年ずつ" in wrong.output
    done = runner.invoke(app, ["roster", "rollover", "--to-year", "2027"])
    assert done.exit_code == 0 and "1 graduated" in done.output
    again = runner.invoke(app, ["roster", "rollover", "--to-year", "2027"])
    assert again.exit_code == 2


@pytest.mark.db
def test_demo_seed_cli(settings: Any, db_session: Session) -> None:
    result = runner.invoke(app, ["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "password: giga-demo-2026" in result.output
    for username in ("admin", "board", "school-admin", "teacher", "student"):
        assert f"  {username} " in result.output
    skipped = runner.invoke(app, ["demo", "seed", "--if-empty"])
    assert skipped.exit_code == 0 and "not loaded" in skipped.output
