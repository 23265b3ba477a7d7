"""Image URLs are parsed strictly, and numeric hosts read the way browsers and inet_aton read them."""
from __future__ import annotations

from ipaddress import ip_address

import pytest

from bgremover.errors import ForbiddenAddress, ImageFetchFailed
from bgremover.fetching.url_policy import parse_ipv4_host, parse_target_url, redact_url

# Every spelling a browser or getaddrinfo accepts for the same address must become that address.
NUMERIC_HOSTS = [
    ("http://2130706433/", "127.0.0.1"),  # one decimal number
    ("http://0x7f000001/", "127.0.0.1"),  # one hex number
    ("http://017700000001/", "127.0.0.1"),  # one octal number
    ("http://0177.0.0.1/", "127.0.0.1"),  # octal part
    ("http://0x7f.0.0.1/", "127.0.0.1"),  # hex part
    ("http://0x7f.1/", "127.0.0.1"),  # two parts: the last fills 24 bits
    ("http://127.1/", "127.0.0.1"),
    ("http://127.0.1/", "127.0.0.1"),  # three parts: the last fills 16 bits
    ("http://127.0.0.1./", "127.0.0.1"),  # trailing dot
    ("http://0/", "0.0.0.0"),
    ("http://0x/", "0.0.0.0"),
    ("http://0300.0250.0.1/", "192.168.0.1"),
    ("http://3232235777/", "192.168.1.1"),
    ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
    ("http://169.254.43518/", "169.254.169.254"),
    ("http://2852039166/", "169.254.169.254"),
    ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "127.0.0.1"),  # full-width digits, mapped by IDNA
    ("http://[::1]/", "::1"),
    ("http://[0:0:0:0:0:0:0:1]/", "::1"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
]


@pytest.mark.parametrize("url, address", NUMERIC_HOSTS)
def test_numeric_hosts_are_normalised_to_the_address_they_reach(url: str, address: str) -> None:
    target = parse_target_url(url)
    assert target.ip == ip_address(address)
    assert target.host == address


INVALID = [
    ("ftp://example.com/a.png", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("gopher://127.0.0.1:70/_", "only http and https"),
    ("dict://127.0.0.1:11211/stat", "only http and https"),
    ("javascript:alert(1)", "only http and https"),
    ("//example.com/a.png", "only http and https"),
    ("example.com/a.png", "only http and https"),
    ("http:/example.com/a.png", "no host"),
    ("http:///a.png", "no host"),
    ("http://example.com\\.127.0.0.1/", "backslash"),
    ("http://exa mple.com/", "control characters"),
    ("http://example.com/\n", "control characters"),
    ("http://example.com:0/", "invalid port"),
    ("http://example.com:65536/", "invalid port"),
    ("http://example.com:80a/", "invalid port"),
    ("http://example.com:1:2/", "more than one ':'"),
    ("http://[::1/", "malformed"),
    ("http://[::1]x/", "after its IPv6 host"),
    ("http://[fe80::1%25eth0]/", "percent-encoded"),
    ("http://[not:an:ip]/", "malformed"),
    ("http://[::1:zz]/", "malformed"),
    ("http://127.0.0.%31/", "percent-encoded"),
    ("http://1.2.3.4.5/", "not one"),
    ("http://256.0.0.1/", "out-of-range"),
    ("http://0x100000000/", "out-of-range"),
    ("http://08.0.0.1/", "not a valid IPv4"),
    ("http://1..2/", "empty IPv4 part"),
    ("http://example..com/", "invalid host name"),
    ("http://-bad.example/", "invalid host name"),
    ("http://a" + "b" * 70 + ".example/", "invalid host name"),
    ("", "empty"),
    ("http://example.com/" + "a" * 9000, "longer than"),
]


@pytest.mark.parametrize("url, says", INVALID)
def test_unusable_urls_are_refused_with_a_clear_message(url: str, says: str) -> None:
    with pytest.raises(ImageFetchFailed) as err:
        parse_target_url(url)
    assert not isinstance(err.value, ForbiddenAddress)  # a malformed URL, not an address decision
    assert err.value.code == "image_fetch_failed"
    assert says in err.value.message


@pytest.mark.parametrize("url, says", [
    ("http:/x", "image URL has no host: 'http:/x'"),
    ("https:example.com/a.png?token=s3cret", "image URL has no host: 'https:example.com/a.png'"),
    ("example.com:8080/a.png", "image URL has no scheme"),
    ("localhost:8000/a.png", "image URL has no scheme"),
    ("example.com/a.png", "image URL has no scheme"),
    ("//example.com/a.png", "image URL has no scheme"),
])
def test_messages_quote_the_url_as_given_and_never_call_a_host_a_scheme(url: str, says: str) -> None:
    with pytest.raises(ImageFetchFailed) as err:
        parse_target_url(url)
    message = err.value.message
    assert says in message, message
    assert ":///" not in message and "s3cret" not in message
    assert "scheme: 'example.com'" not in message and "scheme: 'localhost'" not in message


@pytest.mark.parametrize("url", ["https://alice:hunter2@example.com/a.png", "http://alice@example.com/a.png",
                                 "http://@example.com/a.png", "http://example.com\\@127.0.0.1/"])
def test_credentials_are_a_policy_refusal_and_never_repeated(url: str) -> None:
    with pytest.raises(ForbiddenAddress) as err:
        parse_target_url(url)
    assert err.value.code == "image_fetch_forbidden"
    assert "credentials" in err.value.message
    assert "hunter2" not in err.value.message and "alice" not in err.value.message


def test_a_host_name_is_lower_cased_and_keeps_its_port_path_and_query() -> None:
    target = parse_target_url("HTTPS://Images.Example.COM:8443/a/b.png?sig=abc#frag")
    assert (target.scheme, target.host, target.ip, target.port) == ("https", "images.example.com", None, 8443)
    assert target.target == "/a/b.png?sig=abc"  # the fragment is never sent
    assert target.host_header == "images.example.com:8443"
    assert target.url == "https://images.example.com:8443/a/b.png?sig=abc"


def test_default_ports_are_left_out_of_the_host_header_and_an_empty_path_is_slash() -> None:
    assert parse_target_url("http://example.com").host_header == "example.com"
    assert parse_target_url("https://example.com:443").host_header == "example.com"
    assert parse_target_url("http://example.com").target == "/"
    assert parse_target_url("http://[2606:4700::1]:8080/x").host_header == "[2606:4700::1]:8080"


def test_international_names_become_punycode() -> None:
    assert parse_target_url("http://b\u00fccher.example/").host == "xn--bcher-kva.example"


def test_underscores_in_names_are_accepted() -> None:
    assert parse_target_url("http://img_cdn.example.com/a.png").host == "img_cdn.example.com"


def test_redacted_form_has_no_query() -> None:
    target = parse_target_url("https://cdn.example.com/p/a.png?X-Amz-Signature=deadbeef")
    assert target.redacted() == "https://cdn.example.com/p/a.png"


@pytest.mark.parametrize("url, safe", [
    ("https://bob:pw@example.com/a.png?token=t0p#x", "https://example.com/a.png"),
    ("data:image/png;base64,iVBORw0KGgo" + "A" * 500, "data:image/png;base64,..."),
])
def test_redact_url_drops_userinfo_query_and_data(url: str, safe: str) -> None:
    assert redact_url(url) == safe


def test_the_ipv4_parser_rejects_trailing_garbage() -> None:
    with pytest.raises(ImageFetchFailed):
        parse_ipv4_host("127.0.0.1x")
