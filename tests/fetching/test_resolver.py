"""Resolution happens once, every answer is checked, and one bad answer refuses the name.

The resolver is injected (a table), so no test here asks real DNS or connects anywhere.
"""
from __future__ import annotations

from ipaddress import ip_address

import pytest

from bgremover.errors import ForbiddenAddress, ImageFetchFailed
from bgremover.fetching.address_policy import AddressPolicy
from bgremover.fetching.resolver import resolve_checked, resolve_host, resolve_target
from bgremover.fetching.url_policy import parse_target_url

from .local_http import make_getaddrinfo

DNS = make_getaddrinfo({
    "evil.example": ["127.0.0.1"],
    "localhost": ["127.0.0.1", "::1"],
    "metadata.example": ["169.254.169.254"],
    "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "mixed.example": ["93.184.216.34", "10.0.0.7"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "mapped-public.example": ["::ffff:93.184.216.34"],
    "teredo.example": ["2001:0:4136:e378:8000:63bf:80ff:fffe"],
    "twice.example": ["93.184.216.34", "93.184.216.34"],
    "nothing.example": [],
})


@pytest.mark.parametrize("host, address", [
    ("evil.example", "127.0.0.1"), ("localhost", "127.0.0.1"), ("metadata.example", "169.254.169.254"),
    ("mixed.example", "10.0.0.7"), ("mapped.example", "127.0.0.1"), ("teredo.example", "2001:0:4136"),
])
def test_a_name_that_resolves_to_a_refused_address_is_refused(host: str, address: str) -> None:
    with pytest.raises(ForbiddenAddress) as err:
        resolve_host(host, 80, AddressPolicy(), getaddrinfo=DNS)
    assert f"'{host}' resolves to {address}" in err.value.message


def test_a_public_name_gives_all_its_checked_addresses_in_order() -> None:
    got = resolve_host("public.example", 443, AddressPolicy(), getaddrinfo=DNS)
    assert got == [ip_address("93.184.216.34"), ip_address("2606:2800:220:1:248:1893:25c8:1946")]
    assert resolve_checked("public.example", 443, AddressPolicy(), getaddrinfo=DNS) == got[0]


def test_duplicates_are_dropped_and_v4_mapped_answers_become_ipv4() -> None:
    assert resolve_host("twice.example", 80, AddressPolicy(), getaddrinfo=DNS) == [ip_address("93.184.216.34")]
    assert resolve_host("mapped-public.example", 80, AddressPolicy(), getaddrinfo=DNS) == [
        ip_address("93.184.216.34")]


def test_the_allowlist_lets_a_name_resolve_to_loopback() -> None:
    policy = AddressPolicy(["127.0.0.1/32"])
    assert resolve_checked("evil.example", 80, policy, getaddrinfo=DNS) == ip_address("127.0.0.1")
    with pytest.raises(ForbiddenAddress, match="::1"):  # localhost also answers ::1, not allowlisted
        resolve_host("localhost", 80, policy, getaddrinfo=DNS)


def test_an_unknown_name_is_a_fetch_failure_not_a_policy_refusal() -> None:
    with pytest.raises(ImageFetchFailed) as err:
        resolve_host("unknown.example", 80, AddressPolicy(), getaddrinfo=DNS)
    assert not isinstance(err.value, ForbiddenAddress)
    assert "could not resolve the image host 'unknown.example'" in err.value.message


def test_a_name_with_no_address_is_a_fetch_failure() -> None:
    with pytest.raises(ImageFetchFailed, match="no IPv4 or IPv6 address"):
        resolve_host("nothing.example", 80, AddressPolicy(), getaddrinfo=DNS)


def test_a_numeric_host_is_checked_without_any_lookup() -> None:
    def no_dns(*args: object, **kwargs: object) -> list[tuple]:
        raise AssertionError("a numeric host must not be looked up")

    assert resolve_target(parse_target_url("http://93.184.216.34/"), AddressPolicy(), getaddrinfo=no_dns) == [
        ip_address("93.184.216.34")]
    with pytest.raises(ForbiddenAddress, match="link-local"):
        resolve_target(parse_target_url("http://0xa9fea9fe/"), AddressPolicy(), getaddrinfo=no_dns)


def test_the_resolver_is_asked_exactly_once_per_name() -> None:
    calls: list[str] = []

    def counting(host: str, *args: object) -> list[tuple]:
        calls.append(host)
        return DNS(host, *args)

    resolve_target(parse_target_url("http://public.example/a.png"), AddressPolicy(), getaddrinfo=counting)
    assert calls == ["public.example"]
