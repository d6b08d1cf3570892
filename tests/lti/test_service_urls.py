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
