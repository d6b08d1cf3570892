"""Settings: defaults, the GIGA_ prefix, and the refusal to run production with a default secret."""

from __future__ import annotations

import pytest

from lms.core.settings import DEFAULT_SECRET_KEY, ConfigError, get_settings, load_settings


def test_defaults_use_a_sqlite_file_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIGA_DATABASE_URL", raising=False)
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("/var/giga.db")
    assert settings.require_mfa_for_staff_roles == ["board", "admin"]


def test_environment_variables_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGA_DATABASE_URL", "postgresql+psycopg://u:p@db/giga")
    monkeypatch.setenv("GIGA_LOGIN_MAX_FAILURES", "7")
    monkeypatch.setenv("GIGA_REQUIRE_MFA_FOR_STAFF_ROLES", '["admin"]')
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u:p@db/giga"
    assert settings.login_max_failures == 7
    assert settings.require_mfa_for_staff_roles == ["admin"]


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGA_ENVIRONMENT", "production")
    monkeypatch.delenv("GIGA_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="GIGA_SECRET_KEY"):
        load_settings()
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load_settings(secret_key="short")


def test_production_accepts_a_real_secret_and_drops_the_demo_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIGA_ENVIRONMENT", "production")
    monkeypatch.setenv("GIGA_SECRET_KEY", "x" * 48)
    settings = load_settings()
    assert settings.is_production
    assert settings.secret_key != DEFAULT_SECRET_KEY
    assert settings.demo_password == ""


def test_create_app_refuses_production_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from lms.main import create_app

    monkeypatch.setenv("GIGA_ENVIRONMENT", "production")
    monkeypatch.delenv("GIGA_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError):
            create_app()
    finally:
        get_settings.cache_clear()


def test_bad_environment_value_is_a_readable_error() -> None:
    with pytest.raises(ConfigError, match=r"environment|development"):
        load_settings(environment="staging")
