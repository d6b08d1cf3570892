"""The service-URL check resolves host names: a name leading to the tool's own network is refused like the
literal address (issue 23, leftover of review finding F9)."""

from __future__ import annotations

import pytest

from lms.lti import service_urls
from lms.lti.models import LtiPlatform

LOOPBACK_PLATFORM = LtiPlatform(
    name="loopback test portal",
    issuer="http://127.0.0.1:18100",
    client_id="giga-tool",
    auth_login_url="http://127.0.0.1:18100/authorize",
    auth_token_url="http://127.0.0.1:18100/token",
    jwks_url="http://127.0.0.1:18100/jwks",
)


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.5"],
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["100.64.0.1"],  # shared address space (carrier-grade NAT)
        ["::1"],
        ["fd00::5"],
        ["203.0.113.7"],  # TEST-NET-3: reserved for documentation, not global
        ["93.184.215.14", "10.0.0.5"],  # one public address is not enough: every one must be
    ],
    ids=["private", "loopback", "link-local", "shared", "ipv6-loopback", "ipv6-ula", "reserved", "mixed"],
)
def test_a_name_resolving_to_an_internal_address_is_refused(
    fake_dns: dict[str, list[str]], addresses: list[str]
) -> None:
    fake_dns["gradebook.portal.example"] = addresses
    url = "https://gradebook.portal.example/lineitems"
    assert service_urls.accepted(url, platform=LOOPBACK_PLATFORM) is None


def test_a_name_resolving_only_to_public_addresses_is_accepted(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["gradebook.portal.example"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    url = "https://gradebook.portal.example/lineitems"
    assert service_urls.accepted(url, platform=LOOPBACK_PLATFORM) == url


def test_a_name_that_does_not_resolve_is_refused(fake_dns: dict[str, list[str]]) -> None:
    assert service_urls.accepted("https://nowhere.portal.example/x", platform=LOOPBACK_PLATFORM) is None


def test_the_registered_loopback_platform_is_accepted_without_resolving() -> None:
    def no_dns(host: str) -> list[str]:
        raise AssertionError(f"resolved {host}: the registered origin needs no lookup")

    url = "http://127.0.0.1:18100/lineitems/1"
    assert service_urls.accepted(url, platform=LOOPBACK_PLATFORM, resolve=no_dns) == url
    # the same loopback address on another port is not the registered origin
    assert service_urls.accepted("http://127.0.0.1:8000/admin", platform=LOOPBACK_PLATFORM) is None


def test_literal_addresses_are_judged_without_resolving() -> None:
    def no_dns(host: str) -> list[str]:
        raise AssertionError(f"resolved {host}")

    check = service_urls.accepted
    assert check("https://169.254.169.254/latest", platform=LOOPBACK_PLATFORM, resolve=no_dns) is None
    assert check("https://[::1]/x", platform=LOOPBACK_PLATFORM, resolve=no_dns) is None
    assert check("https://93.184.215.14/x", platform=LOOPBACK_PLATFORM, resolve=no_dns) is not None


def test_the_default_resolver_asks_getaddrinfo() -> None:
    """``localhost`` resolves from /etc/hosts, without a network: to loopback addresses only."""
    found = service_urls.resolve_host("localhost")
    assert found and all(a in ("127.0.0.1", "::1") for a in found)


@pytest.mark.parametrize(
    "host",
    [
        "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
        "[::ffff:a9fe:a9fe]",  # IPv4-mapped metadata address, written in hex
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254: Python 3.11 calls it global
        "[64:ff9b:1::a00:5]",  # local-use NAT64 prefix (RFC 8215) of 10.0.0.5
        "[2002:a00:5::]",  # 6to4 of 10.0.0.5: Python 3.11 calls it global
        "[::127.0.0.1]",  # deprecated IPv4-compatible loopback: Python 3.11 calls it global
        "[fec0::1]",  # deprecated site-local: Python 3.11 calls it global
    ],
)
def test_ipv6_forms_of_internal_addresses_are_refused(host: str, fake_dns: dict[str, list[str]]) -> None:
    """Review finding (2026-12-07): an IPv6 literal that carries an internal IPv4 address, or a site-local
    one, passed ``is_global``; so did a name resolving to one."""
    assert service_urls.accepted(f"https://{host}/lineitems", platform=LOOPBACK_PLATFORM) is None
    fake_dns["gradebook.portal.example"] = [host.strip("[]")]
    assert service_urls.accepted("https://gradebook.portal.example/x", platform=LOOPBACK_PLATFORM) is None


def test_ipv6_forms_of_public_addresses_stay_accepted() -> None:
    """Public IPv4 behind NAT64 and plain public IPv6 addresses are still callable (6to4 is left out:
    whether 2002::/16 counts as global differs between Python 3.11 patch releases)."""
    check = service_urls.accepted
    assert check("https://[64:ff9b::5db8:d70e]/x", platform=LOOPBACK_PLATFORM) is not None  # NAT64 of public
    assert check("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/x", platform=LOOPBACK_PLATFORM) is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/x",  # 127.0.0.1 as one decimal number
        "https://0177.0.0.1/x",  # octal
        "https://0x7f.1/x",  # hex, short form
        "https://localhost./x",  # trailing dot
        "https://93.184.215.14@127.0.0.1/x",  # a public address as user info before the real host
        "https://[::1]:443/x",
    ],
)
def test_odd_spellings_of_loopback_are_refused_by_the_real_resolver(url: str) -> None:
    """``getaddrinfo`` reads numeric host spellings itself, without the network: all lead to loopback."""
    assert service_urls.accepted(url, platform=LOOPBACK_PLATFORM, resolve=service_urls.resolve_host) is None
