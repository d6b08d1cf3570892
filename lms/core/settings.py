"""Settings of the LMS: one pydantic-settings class, environment variables with the prefix ``GIGA_``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "giga-development-secret-do-not-use-in-production"
DEFAULT_DEMO_PASSWORD = "giga-demo-2026"


class ConfigError(Exception):
    """The settings are unusable; the message says which variable to fix."""


def project_root() -> Path:
    """The source checkout when running from one (so `giga` works from any cwd), else the cwd."""
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").is_file():
        return here
    return Path.cwd()


def default_database_url() -> str:
    return f"sqlite:///{project_root() / 'var' / 'giga.db'}"


class Settings(BaseSettings):
    """All configuration; every field can be set with ``GIGA_<FIELD>`` (e.g. ``GIGA_DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="GIGA_", env_file=None, extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:pw@host/db",
    )
    environment: Literal["development", "production", "test"] = "development"
    secret_key: str = Field(default=DEFAULT_SECRET_KEY, description="signs cookies and CSRF tokens")
    https: bool = Field(default=False, description="served over https: cookies get the Secure flag")
    require_mfa_for_staff_roles: list[str] = Field(default_factory=lambda: ["board", "admin"])
    session_idle_timeout_minutes: int = 30
    session_absolute_timeout_minutes: int = 12 * 60
    login_max_failures: int = Field(default=5, description="failed sign-ins before a temporary lock-out")
    login_lockout_minutes: int = 15
    login_throttle_window_minutes: int = 15
    login_throttle_max_per_ip: int = Field(default=50, description="failed sign-ins per IP within the window")
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or networks (CIDR) of the reverse proxies whose "
        "X-Forwarded-For/-Proto headers are believed (e.g. 127.0.0.1 or 172.30.0.0/24); empty: none, the "
        "client address is the connection's own (behind an untrusted proxy: the proxy's)",
    )
    max_concurrent_requests: int = Field(
        default=50,
        ge=0,
        description="requests one worker serves at once (at most its database pool, 50); more get a 503 "
        "page at once instead of queueing (0: no limit; /healthz and /metrics are never limited)",
    )
    max_concurrent_sign_ins_per_client: int = Field(
        default=1,
        ge=1,
        description="sign-in requests (POST /login, /login/mfa) one client address runs at once per worker "
        "(each may cost an argon2 hash: more would let one address take the CPU from everyone else)",
    )
    max_queued_sign_ins_per_client: int = Field(
        default=60,
        ge=0,
        description="sign-in requests of one client address that wait for their turn (a class behind one "
        "school NAT signing in together); more are refused with 429 at once",
    )
    no_repeat_terms: int = Field(
        default=2,
        ge=1,
        le=12,
        description="terms (the current one included) whose answered items a student does not meet again in "
        "an adaptive test (lms/reading/no_repeat.py); practised items are always left out",
    )
    http_url_hosts: str = Field(
        default="",
        description="comma-separated hosts to which a stored URL (e.g. a notebook feedback_url) may use "
        "http://; every other stored URL must be https:// (lms/core/urls.py)",
    )
    api_docs: bool | None = Field(
        default=None,
        description="serve /docs, /redoc and /openapi.json (default: everywhere but in production)",
    )
    demo_password: str = DEFAULT_DEMO_PASSWORD
    check_schema_on_startup: bool = Field(
        default=True, description="refuse to serve a database whose schema is behind the newest migration"
    )
    hub_api_url: str = Field(
        default="http://127.0.0.1:8001/hub/api", description="JupyterHub REST API, reached server to server"
    )
    hub_service_token: str = Field(
        default="", description="token of the hub service giga-lms (same as the hub's); empty: no hub actions"
    )
    hub_prestart_concurrency: int = Field(
        default=40,
        ge=1,
        le=200,
        description="servers started at once by 「授業をはじめる」 (benchmarks/bench_hub_start.py)",
    )
    # operations (lms/ops; docs/operations.md)
    backup_dir: Path = Field(
        default_factory=lambda: project_root() / "var" / "backups",
        description="where `giga backup` writes (and `--keep`/`giga backup prune` prunes) backups",
    )
    pg_bin_dir: str = Field(
        default="", description="folder holding pg_dump/pg_restore (empty: search the usual places)"
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="json: one JSON line per request and per log record (uvicorn's access log off)",
    )
    metrics_token: str = Field(
        default="", description="bearer token that may read /metrics from outside the loopback interface"
    )
    bank_sync_seconds: float = Field(
        default=10.0, ge=0, description="how often a worker picks up item promotions made by another (0: off)"
    )

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "GIGA_SECRET_KEY must be set to a random value of at least 32 characters in production "
                    "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
                )
            if self.demo_password == DEFAULT_DEMO_PASSWORD:
                # The demo password is never used in production; keep it from leaking into one anyway.
                self.demo_password = ""
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    @property
    def api_docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else not self.is_production

    @property
    def cookies_secure(self) -> bool:
        """Cookies get the Secure flag in production whatever GIGA_HTTPS says (issue 15), and over https."""
        return self.https or self.is_production

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus ``overrides``; raise `ConfigError` with a readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        messages = "; ".join(str(item["msg"]).removeprefix("Value error, ") for item in error.errors())
        raise ConfigError(f"invalid settings: {messages}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()`` or pass their own)."""
    return load_settings()
