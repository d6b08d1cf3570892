"""URLs that users store and other users open (issue 15): https only, http only to configured hosts.

A stored ``javascript:`` or ``data:`` URL shown as a link runs in the reader's session (a teacher's
``feedback_url`` shown to students was one).  `check_stored_url` is the one rule for every such field; use
`StoredUrl` as the field's type in a request body.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

MAX_URL_LENGTH = 1024
REFUSED = (
    "URL は https:// で始まる完全なアドレスにしてください"
    "（http:// は設定で許可されたホストだけ、javascript: などは使えません）。"
)


def _http_hosts() -> frozenset[str]:
    from lms.core.settings import get_settings

    return frozenset(
        host.strip().lower() for host in get_settings().http_url_hosts.split(",") if host.strip()
    )


def check_stored_url(value: str, *, http_hosts: frozenset[str] | None = None) -> str:
    """Return ``value`` when it is an absolute https URL (or http to an allowed host); else ValueError."""
    if value != value.strip() or any(ord(char) < 0x21 or ord(char) == 0x7F for char in value):
        raise ValueError(REFUSED)  # spaces or control characters hide a scheme from naive checks
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(REFUSED)
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ValueError(REFUSED) from None
    if not host or parts.username is not None or parts.password is not None:
        raise ValueError(REFUSED)
    if parts.scheme == "https":
        return value
    allowed = _http_hosts() if http_hosts is None else http_hosts
    if parts.scheme == "http" and host in allowed:
        return value
    raise ValueError(REFUSED)


StoredUrl = Annotated[str, AfterValidator(check_stored_url)]
