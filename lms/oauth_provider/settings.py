"""Registered OAuth clients, from settings (``GIGA_OAUTH_HUB_*``); no client registration API."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HUB_CLIENT_SECRET = "giga-hub-development-client-secret"


@dataclass(frozen=True)
class OAuthClient:
    """A registered client: its id, its secret and the one redirect URI it may use (exact match)."""

    client_id: str
    client_secret: str
    redirect_uri: str

    def check_secret(self, supplied: str) -> bool:
        return hmac.compare_digest(self.client_secret.encode("utf-8"), supplied.encode("utf-8"))


class OAuthProviderSettings(BaseSettings):
    """The JupyterHub client; every field can be set with ``GIGA_OAUTH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="GIGA_OAUTH_", env_file=None, extra="ignore")

    hub_client_id: str = "jupyterhub"
    hub_client_secret: str = DEFAULT_HUB_CLIENT_SECRET
    hub_redirect_uri: str = "http://127.0.0.1:8001/hub/oauth_callback"
    hub_url: str = Field(default="http://127.0.0.1:8001", description="the hub as browsers reach it")
    code_lifetime_seconds: int = Field(default=60, ge=5, le=600)
    token_lifetime_seconds: int = Field(default=3600, ge=60, le=86400)
    environment: str = Field(default="development", validation_alias="GIGA_ENVIRONMENT")

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> OAuthProviderSettings:
        if self.environment == "production" and (
            self.hub_client_secret == DEFAULT_HUB_CLIENT_SECRET or len(self.hub_client_secret) < 32
        ):
            raise ValueError("GIGA_OAUTH_HUB_CLIENT_SECRET must be a random value of at least 32 characters")
        return self

    def clients(self) -> dict[str, OAuthClient]:
        return {
            self.hub_client_id: OAuthClient(self.hub_client_id, self.hub_client_secret, self.hub_redirect_uri)
        }
