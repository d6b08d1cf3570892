"""GET /healthz: 200 with a reachable database, 503 when it is unreachable; /openapi.json is served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from lms.core.settings import load_settings
from lms.main import create_app


def test_healthz_ok(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_openapi_lists_healthz(client: Any) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert "/healthz" in response.json()["paths"]


def test_healthz_503_when_postgres_is_unreachable() -> None:
    # Port 9 (discard) on localhost: nothing listens, the connection is refused at once.
    settings = load_settings(database_url="postgresql+psycopg://u:p@127.0.0.1:9/giga", environment="test")
    with TestClient(create_app(settings)) as client:  # start-up tolerates an unreachable database
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}


def test_healthz_503_when_sqlite_path_is_broken(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'x' / 'giga.db'}"
    settings = load_settings(database_url=url, environment="test", check_schema_on_startup=False)
    app = create_app(settings)
    # Make the folder unusable after the engine exists: the database file cannot be opened.
    (tmp_path / "missing-dir" / "x").rmdir()
    (tmp_path / "missing-dir").rmdir()
    (tmp_path / "missing-dir").write_text("now a file")
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_importing_the_module_opens_no_connection(monkeypatch: Any) -> None:
    import importlib

    import lms.main

    monkeypatch.setenv("GIGA_DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1:9/giga")
    from lms.core.settings import get_settings

    get_settings.cache_clear()
    try:
        module = importlib.reload(lms.main)  # would raise if it connected to the unreachable server
        assert module.app.title == "GIGA Learning Platform"
    finally:
        get_settings.cache_clear()
        monkeypatch.delenv("GIGA_DATABASE_URL")
        importlib.reload(lms.main)
