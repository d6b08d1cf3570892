"""Which service URLs a launch may announce (AGS line items, NRPS membership): the tool calls them from the
server with the platform's bearer token, so a claim must not aim those calls at the tool's own network.

Accepted: a URL on the origin of one of the platform's registered URLs (what the administrator typed, so
also a loopback test platform), or any other ``https`` URL whose host is a name or a public address —
never a loopback, private or link-local address (``http://127.0.0.1:…``, ``https://169.254.169.254/…``).
A host name that resolves to such an address is not caught here (the fetch would need to pin the address).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from lms.lti.framing import origin
from lms.lti.models import LtiPlatform

MAX_URL_LENGTH = 1000  # the columns' width


def _internal_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def accepted(value: Any, *, platform: LtiPlatform) -> str | None:
    """``value`` when the tool may call it for ``platform``, else None (the claim is ignored)."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        return None
    registered = {origin(url) for url in (platform.issuer, platform.auth_login_url, platform.auth_token_url)}
    if origin(value) in registered - {None}:
        return value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or _internal_host(parts.hostname):
        return None
    return value
