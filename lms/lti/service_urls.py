"""Which service URLs the tool may call for a platform (AGS line items, NRPS membership): the tool calls
them from the server with the platform's bearer token, so neither a launch's claim nor a platform's answer
may aim those calls at the tool's own network.

Accepted: a URL on the origin of one of the platform's registered URLs (what the administrator typed, so
also a loopback test platform), or any other ``https`` URL whose host is a public address or a name that
resolves (``getaddrinfo``) **only** to public addresses. Refused: loopback, private, link-local, reserved
or shared addresses, written literally (``http://127.0.0.1:…``, ``https://169.254.169.254/…``) or behind a
name (``https://metadata.internal/…`` resolving to 10.0.0.5), and names that do not resolve at all (the
tool cannot tell where they lead; the previous URL of the context stays). An IPv6 address that carries an
IPv4 one (mapped, NAT64, 6to4, Teredo, IPv4-compatible) is judged by that IPv4 address too, and site-local
``fec0::/10`` is refused: Python 3.11's ``is_global`` accepts several of these whatever they lead to.

Not covered (DNS rebinding): the check resolves the name, then the HTTP client connects by name and
resolves again. A name whose owner answers a public address to the check and a private one a moment later
still gets through; the sender checks each URL again right before calling it, which narrows the window but
does not close it. Closing it needs the connection pinned to the checked address (or an egress proxy /
firewall rule refusing internal destinations, the operator's defence in depth — see docs/lti-services.md).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from lms.lti.framing import origin
from lms.lti.models import LtiPlatform

MAX_URL_LENGTH = 1000  # the columns' width

Resolver = Callable[[str], Iterable[str]]
"""Host name → the addresses it resolves to (raise `OSError` or give none when it does not resolve)."""


def resolve_host(host: str) -> list[str]:
    """Every address ``getaddrinfo`` gives for ``host`` (IPv4 and IPv6), without IPv6 zone ids."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


resolver: Resolver = resolve_host
"""The resolver `accepted` uses when none is passed (tests replace it: the sandbox has no public DNS)."""


#: IPv6 ranges that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052 and RFC 8215; the
#: deprecated IPv4-compatible ``::a.b.c.d``): the IPv4 address must be global too.
_IPV4_IN_LAST_32_BITS = tuple(ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96"))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to by a translation or tunnel (mapped, 6to4, Teredo, NAT64,
    IPv4-compatible); Python 3.11 calls several of these global whatever IPv4 address they carry."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _IPV4_IN_LAST_32_BITS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _global(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.is_site_local:  # fec0::/10: deprecated, but still routed inside some networks
            return False
        embedded = _embedded_ipv4(parsed)
        if embedded is not None and not embedded.is_global:
            return False
    return parsed.is_global


def _public_host(host: str, resolve: Resolver) -> bool:
    lowered = host.lower().rstrip(".")
    if lowered == "localhost" or lowered.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return _global(host)
    try:
        addresses = list(resolve(host))
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(_global(address) for address in addresses)


def registered_origins(platform: LtiPlatform) -> frozenset[str]:
    """The origins the administrator registered for ``platform`` (issuer, authorization and token URLs)."""
    urls = (platform.issuer, platform.auth_login_url, platform.auth_token_url)
    return frozenset(o for o in (origin(url) for url in urls) if o is not None)


def accepted_for(value: Any, *, origins: frozenset[str], resolve: Resolver | None = None) -> str | None:
    """``value`` when the tool may call it for a platform registered with ``origins``, else None."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        return None
    if origin(value) in origins:
        return value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        return None
    return value if _public_host(parts.hostname, resolve or resolver) else None


def accepted(value: Any, *, platform: LtiPlatform, resolve: Resolver | None = None) -> str | None:
    """``value`` when the tool may call it for ``platform``, else None (the claim is ignored)."""
    return accepted_for(value, origins=registered_origins(platform), resolve=resolve)
