"""``GIGA_XAPI_*`` settings of the outbox sender (off while no LRS URL is set)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
