"""One settings object with sections, the operator's reference, and `giga config` (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from lms.cli import app
from lms.core.settings import BoardSettings, Settings, get_settings
from lms.core.settings_reference import reference_markdown, unknown_variables

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_reference_in_docs_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == reference_markdown(), (
        "run: giga config reference > docs/configuration.md"
    )


def test_sections_hang_off_one_object_and_read_their_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGA_BOARD_MIN_CELL_SIZE", "12")
    monkeypatch.setenv("GIGA_XAPI_BATCH_SIZE", "7")
    settings = Settings()
    assert isinstance(settings.board, BoardSettings)
    assert settings.board.min_cell_size == 12 and settings.xapi.batch_size == 7
    assert settings.board is settings.board  # read once per settings object


def test_a_bad_section_fails_where_it_is_used_not_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGA_ENVIRONMENT", "production")
    monkeypatch.setenv("GIGA_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("GIGA_OAUTH_HUB_CLIENT_SECRET", "short")
    settings = Settings()  # the LMS's general settings are fine
    with pytest.raises(ValidationError, match="GIGA_OAUTH_HUB_CLIENT_SECRET"):
        _ = settings.oauth


def test_unknown_variables_are_only_those_under_a_section_prefix() -> None:
    environ = {
        "GIGA_BOARD_MIN_CEL_SIZE": "3",  # a typo: the knob would do nothing
        "GIGA_BOARD_MIN_CELL_SIZE": "10",
        "GIGA_XAPI_LRS": "https://lrs",
        "GIGA_HUB_MEM_LIMIT": "1G",  # the hub's own
        "GIGA_DATABASE_URL": "sqlite://",
    }
    assert unknown_variables(environ) == ["GIGA_BOARD_MIN_CEL_SIZE", "GIGA_XAPI_LRS"]


def _giga(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    get_settings.cache_clear()  # each command is a new process
    try:
        result = CliRunner().invoke(app, args, env=env)
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_config_check_names_the_bad_or_unknown_variable(settings: object) -> None:
    assert _giga(["config", "check"], {}) == (0, "settings ok\n")
    code, out = _giga(["config", "check"], {"GIGA_BOARD_MIN_CELL_SIZE": "3"})
    assert code == 2 and "GIGA_BOARD_MIN_CELL_SIZE" in out and "5" in out
    code, out = _giga(["config", "check"], {"GIGA_BOARD_MIN_CEL_SIZE": "3"})
    assert code == 2 and "GIGA_BOARD_MIN_CEL_SIZE" in out
    assert "Traceback" not in out


def test_config_show_hides_secrets(settings: object) -> None:
    code, out = _giga(["config", "show"], {"GIGA_OIDC_CLIENT_SECRET": "very-secret-value"})
    assert code == 0
    assert "GIGA_OIDC_CLIENT_SECRET=(set)" in out and "very-secret-value" not in out
    assert "GIGA_BOARD_MIN_CELL_SIZE=10" in out


def test_config_show_hides_passwords_inside_urls(settings: object) -> None:
    """GIGA_DATABASE_URL usually carries the database password: shown with it masked, host and name kept."""
    env = {
        "GIGA_DATABASE_URL": "postgresql+psycopg://lms:Db-pass-123@db.example:5432/giga",
        "GIGA_XAPI_LRS_URL": "https://lrs-user:Lrs-pass-456@lrs.example/xapi",
    }
    code, out = _giga(["config", "show"], env)
    assert code == 0
    assert "Db-pass-123" not in out and "Lrs-pass-456" not in out
    assert "GIGA_DATABASE_URL=postgresql+psycopg://lms:***@db.example:5432/giga" in out
    assert "GIGA_XAPI_LRS_URL=https://lrs-user:***@lrs.example/xapi" in out
