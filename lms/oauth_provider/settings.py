"""Registered OAuth clients, from the ``oauth`` settings section (``GIGA_OAUTH_HUB_*``); no client API."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from lms.core.settings import DEFAULT_HUB_CLIENT_SECRET, OAuthProviderSettings

__all__ = ["DEFAULT_HUB_CLIENT_SECRET", "OAuthClient", "OAuthProviderSettings", "registered_clients"]


@dataclass(frozen=True)
class OAuthClient:
    """A registered client: its id, its secret and the one redirect URI it may use (exact match)."""

    client_id: str
    client_secret: str
    redirect_uri: str

    def check_secret(self, supplied: str) -> bool:
        return hmac.compare_digest(self.client_secret.encode("utf-8"), supplied.encode("utf-8"))


def registered_clients(settings: OAuthProviderSettings) -> dict[str, OAuthClient]:
    """The one client today: the hub."""
    return {
        settings.hub_client_id: OAuthClient(
            settings.hub_client_id, settings.hub_client_secret, settings.hub_redirect_uri
        )
    }
