"""The SSRF address policy, as a plain function: nothing here touches the network."""
from __future__ import annotations

import pytest

from bgremover.config import load_settings
from bgremover.errors import ForbiddenAddress
from bgremover.fetching.address_policy import AddressPolicy, normalize_address, parse_allowlist

REFUSED_V4 = {
    "127.0.0.1": "loopback", "127.255.255.254": "loopback",
    "10.0.0.1": "private", "10.255.255.255": "private", "172.16.0.1": "private", "172.31.255.255": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local", "169.254.0.1": "link-local",
    "100.64.0.1": "carrier-grade NAT", "100.127.255.255": "carrier-grade NAT",
    "0.0.0.0": "this network", "0.1.2.3": "this network",
    "224.0.0.1": "multicast", "239.255.255.250": "multicast",
    "240.0.0.1": "reserved", "255.255.255.255": "broadcast",
    "198.18.0.1": "benchmarking", "198.19.255.255": "benchmarking",
    "192.0.2.1": "documentation", "198.51.100.7": "documentation", "203.0.113.9": "documentation",
    "192.0.0.8": "IETF", "192.88.99.1": "6to4 relay",
}

REFUSED_V6 = {
    "::1": "loopback", "::": "unspecified",
    "fc00::1": "unique local", "fd12:3456:789a::1": "unique local", "fd00:ec2::254": "unique local",
    "fe80::1": "link-local", "fe80::1%eth0": "link-local", "fec0::1": "site-local",
    "ff02::1": "multicast", "ff0e::1": "multicast",
    "::127.0.0.1": "IPv4-compatible", "::8.8.8.8": "IPv4-compatible",
    "::ffff:0:7f00:1": "reserved",  # IPv4-translated ::ffff:0:127.0.0.1
    "64:ff9b::7f00:1": "NAT64 embedding 127.0.0.1", "64:ff9b::a9fe:a9fe": "NAT64 embedding 169.254.169.254",
    "64:ff9b:1::a00:1": "local-use NAT64",
    "2002:7f00:1::": "6to4 embedding 127.0.0.1", "2002:a9fe:a9fe::1": "6to4 embedding 169.254.169.254",
    "2002:a00:1::": "6to4 embedding 10.0.0.1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe": "Teredo embedding 127.0.0.1",  # client address is stored inverted
    "2001:db8::1": "documentation", "3fff::1": "documentation", "100::1": "discard",
    "2001:2::1": "IETF", "5f00::1": "segment routing", "4000::1": "outside global unicast",
}

# v4-mapped addresses are judged as the IPv4 address they carry
REFUSED_MAPPED = {"::ffff:127.0.0.1": "loopback", "::ffff:169.254.169.254": "link-local",
                  "::ffff:10.0.0.1": "private", "::ffff:100.64.0.1": "carrier-grade NAT", "::ffff:0.0.0.0": "this"}

ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "11.0.0.1", "100.63.255.255", "100.128.0.0", "172.32.0.1",
           "169.253.255.255", "198.20.0.1", "223.255.255.254",
           "2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001:80b::200e",
           "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("ip, why", [*REFUSED_V4.items(), *REFUSED_V6.items(), *REFUSED_MAPPED.items()])
def test_non_public_addresses_are_refused_with_the_reason(ip: str, why: str) -> None:
    reason = AddressPolicy().refusal_reason(ip)
    assert reason is not None and why in reason


@pytest.mark.parametrize("ip", ALLOWED)
def test_public_addresses_are_allowed(ip: str) -> None:
    assert AddressPolicy().refusal_reason(ip) is None


def test_check_raises_forbidden_address_naming_host_address_and_reason() -> None:
    with pytest.raises(ForbiddenAddress) as err:
        AddressPolicy().check("169.254.169.254", host="metadata.example")
    assert err.value.code == "image_fetch_forbidden"
    assert "'metadata.example' resolves to 169.254.169.254" in err.value.message
    assert "cloud metadata" in err.value.message


def test_check_returns_the_normalised_address() -> None:
    assert str(AddressPolicy().check("::ffff:8.8.8.8")) == "8.8.8.8"


def test_normalise_unwraps_v4_mapped_and_drops_zone() -> None:
    assert str(normalize_address("::ffff:127.0.0.1")) == "127.0.0.1"
    assert str(normalize_address("fe80::1%eth0")) == "fe80::1"


def test_allowlist_overrides_the_policy_for_exactly_its_networks() -> None:
    policy = AddressPolicy(parse_allowlist(["127.0.0.1/32"]))
    assert policy.is_allowed("127.0.0.1")
    assert policy.is_allowed("::ffff:127.0.0.1")  # same destination, other spelling
    assert not policy.is_allowed("127.0.0.2")
    assert not policy.is_allowed("::1")
    assert not policy.is_allowed("10.0.0.1")


def test_allowlist_of_a_private_range_and_ipv6() -> None:
    policy = AddressPolicy(parse_allowlist(["10.1.0.0/16", "fd00::/8"]))
    assert policy.is_allowed("10.1.2.3") and policy.is_allowed("fd00::5")
    assert not policy.is_allowed("10.2.0.1")


def test_allowlist_comes_from_settings() -> None:
    settings = load_settings(fetch_allow_networks=" 127.0.0.1/32 , 192.168.7.0/24 ")
    policy = AddressPolicy.from_settings(settings)
    assert policy.is_allowed("127.0.0.1") and policy.is_allowed("192.168.7.9")
    assert not AddressPolicy.from_settings(load_settings(fetch_allow_networks="")).is_allowed("127.0.0.1")


def test_a_bad_allowlist_entry_is_a_clear_configuration_error() -> None:
    with pytest.raises(ValueError, match="BGREMOVER_FETCH_ALLOW_NETWORKS: 'localhost'"):
        parse_allowlist(["localhost"])
