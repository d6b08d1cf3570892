"""Settings of the LMS: one object, `Settings`, with a section per concern.

Every knob is an environment variable. The general ones are ``GIGA_<FIELD>`` on `Settings` itself; the
sections (`Settings.board`, `.xapi`, `.oauth`, `.oidc`, `.lti`) read their own prefix (``GIGA_BOARD_*``,
``GIGA_XAPI_*``, ``GIGA_OAUTH_*``, ``GIGA_OIDC_*``, ``GIGA_LTI_*``) when first used, so an invalid section
(say an OAuth secret too short for production) fails where it is used, as when each lived in its own module.
docs/configuration.md lists them all.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "giga-development-secret-do-not-use-in-production"
DEFAULT_DEMO_PASSWORD = "giga-demo-2026"
DEFAULT_HUB_CLIENT_SECRET = "giga-hub-development-client-secret"


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


# ------------------------------------------------------------------------------------ sections


class BoardSettings(BaseSettings):
    """Every field is ``GIGA_BOARD_<FIELD>``; the city may raise ``min_cell_size`` (never below 5)."""

    model_config = SettingsConfigDict(env_prefix="GIGA_BOARD_", env_file=None, extra="ignore")

    min_cell_size: int = Field(
        default=10, ge=5, le=100, description="no figure describing fewer students is shown or exported"
    )
    count_rounding: int = Field(
        default=5, ge=1, le=10, description="published counts are rounded to a multiple of this"
    )
    plausible_values: int = Field(default=5, ge=2, le=20, description="plausible values drawn per student")
    city_name: str = Field(default="みどり市", description="the city's name in reports and open data")
    city_code: str = Field(
        default="",
        pattern=r"^(\d{6})?$",
        description="全国地方公共団体コード (6 digits with check digit) for open data; empty until set",
    )
    licence: str = Field(default="CC BY 4.0", description="open-data licence")
    release_poll_seconds: float = Field(
        default=30, ge=0, description="how often the server's release worker looks for work (0: never)"
    )
    term_close_grace_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description="a term still holding an open test is released this long "
        "after its end anyway (a forgotten open test must not block the term's release)",
    )


class XapiSettings(BaseSettings):
    """Where and how statements are sent; every field is ``GIGA_XAPI_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="GIGA_XAPI_", env_file=None, extra="ignore")

    lrs_url: str = Field(
        default="",
        description="the LRS endpoint, e.g. https://lrs.example.jp/xAPI/ (statements are POSTed "
        "to <lrs_url>/statements)",
    )
    lrs_username: str = Field(default="", description="HTTP basic auth user (empty: no auth header)")
    lrs_password: str = Field(default="", description="HTTP basic auth password")
    batch_size: int = Field(default=50, ge=1, le=500, description="statements per POST")
    lease_seconds: int = Field(default=120, ge=5, description="how long a claimed row stays with one worker")
    timeout_seconds: float = Field(default=10.0, gt=0, description="HTTP timeout of one POST")
    backoff_base_seconds: float = Field(default=30.0, gt=0, description="first retry delay; doubles per try")
    backoff_max_seconds: float = Field(default=3600.0, gt=0, description="longest retry delay")
    max_tries: int = Field(default=20, ge=1, description="after this many failures a row is parked")
    poll_seconds: float = Field(default=5.0, gt=0, description="idle wait of `giga xapi send` between rounds")

    @property
    def enabled(self) -> bool:
        return bool(self.lrs_url)

    @property
    def statements_url(self) -> str:
        return self.lrs_url.rstrip("/") + "/statements"


class OAuthProviderSettings(BaseSettings):
    """The JupyterHub client; every field can be set with ``GIGA_OAUTH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="GIGA_OAUTH_", env_file=None, extra="ignore")

    hub_client_id: str = Field(default="jupyterhub", description="the hub's OAuth client id")
    hub_client_secret: str = Field(
        default=DEFAULT_HUB_CLIENT_SECRET,
        description="the hub's client secret (the same value in the hub's settings)",
    )
    hub_redirect_uri: str = Field(
        default="http://127.0.0.1:8001/hub/oauth_callback", description="the one redirect URI the hub may use"
    )
    hub_url: str = Field(default="http://127.0.0.1:8001", description="the hub as browsers reach it")
    code_lifetime_seconds: int = Field(
        default=60, ge=5, le=600, description="authorization codes expire after"
    )
    token_lifetime_seconds: int = Field(
        default=3600, ge=60, le=86400, description="access tokens expire after"
    )
    environment: str = Field(default="development", validation_alias="GIGA_ENVIRONMENT")

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> OAuthProviderSettings:
        if self.environment == "production" and (
            self.hub_client_secret == DEFAULT_HUB_CLIENT_SECRET or len(self.hub_client_secret) < 32
        ):
            raise ValueError("GIGA_OAUTH_HUB_CLIENT_SECRET must be a random value of at least 32 characters")
        return self


class OidcSettings(BaseSettings):
    """``GIGA_OIDC_*`` variables; off while issuer or client id is empty."""

    model_config = SettingsConfigDict(env_prefix="GIGA_OIDC_", env_file=None, extra="ignore")

    issuer: str = Field(
        default="", description="the provider's issuer URL (with client_id: turns the sign-in on)"
    )
    client_id: str = Field(default="", description="the LMS's client id at the provider")
    client_secret: str = Field(default="", description="the LMS's client secret at the provider")
    scope: str = Field(default="openid email profile", description="scopes asked for")
    user_claim: Literal["email", "userMasterIdentifier"] = Field(
        default="email", description="the id_token claim matched to a roster account"
    )
    label: str = Field(
        default="学校のアカウント（Google / Microsoft）", description="the button's text on the sign-in page"
    )
    redirect_uri: str = Field(
        default="", description="the callback URL registered at the provider (empty: derived)"
    )

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)


class LtiSettings(BaseSettings):
    """``GIGA_LTI_*``: the LTI 1.3 tool (launched from a 学習eポータル; platforms: /admin/lti)."""

    model_config = SettingsConfigDict(env_prefix="GIGA_LTI_", env_file=None, extra="ignore")

    frame_ancestors: str = Field(
        default="",
        description="space-separated origins (https://portal.example.jp) that may frame the tool besides the "
        "registered platforms' own",
    )


# ---------------------------------------------------------------------------------------- root


class Settings(BaseSettings):
    """All configuration; every field can be set with ``GIGA_<FIELD>`` (e.g. ``GIGA_DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="GIGA_", env_file=None, extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:pw@host/db",
    )
    environment: Literal["development", "production", "test"] = Field(
        default="development", description="production: refuses default secrets, Secure cookies, no API docs"
    )
    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
        description="signs cookies and CSRF tokens, keys stored QR card codes (a new key ends every card)",
    )
    https: bool = Field(default=False, description="served over https: cookies get the Secure flag")
    require_mfa_for_staff_roles: list[str] = Field(
        default_factory=lambda: ["board", "admin"], description="roles that must sign in with a second factor"
    )
    session_idle_timeout_minutes: int = Field(default=30, description="a session unused this long ends")
    session_absolute_timeout_minutes: int = Field(
        default=12 * 60, description="a session ends this long after sign-in"
    )
    login_max_failures: int = Field(default=5, description="failed sign-ins before a temporary lock-out")
    login_lockout_minutes: int = Field(default=15, description="how long an account stays locked out")
    login_throttle_window_minutes: int = Field(default=15, description="window of the per-IP failure count")
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
        default=2,
        ge=1,
        description="sign-in requests (POST /login, /login/mfa) one client address runs at once per worker "
        "(each may cost an argon2 hash; 2 lets a class behind one NAT in, more would let one address take "
        "the CPU from everyone else: docs/performance.md)",
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
    demo_password: str = Field(
        default=DEFAULT_DEMO_PASSWORD,
        description="password of the demo city's accounts (`giga demo`); never in production",
    )
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

    @cached_property
    def board(self) -> BoardSettings:
        """``GIGA_BOARD_*``: the board's published figures (suppression, rounding, plausible values)."""
        return BoardSettings()

    @cached_property
    def xapi(self) -> XapiSettings:
        """``GIGA_XAPI_*``: the learning record store the outbox sends to."""
        return XapiSettings()

    @cached_property
    def oauth(self) -> OAuthProviderSettings:
        """``GIGA_OAUTH_*``: the JupyterHub client of the LMS's OAuth provider."""
        return OAuthProviderSettings()

    @cached_property
    def lti(self) -> LtiSettings:
        """``GIGA_LTI_*``: the LTI 1.3 tool's framing by the portals."""
        return LtiSettings()

    @cached_property
    def oidc(self) -> OidcSettings:
        """``GIGA_OIDC_*``: the optional school-account sign-in (Google Workspace / Microsoft 365)."""
        return OidcSettings()

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
