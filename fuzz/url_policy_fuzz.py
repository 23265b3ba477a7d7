"""atheris harness for the SSRF front door: ``parse_target_url``, ``AddressPolicy`` and ``decode_data_uri``.

Run (libFuzzer flags pass through; the corpus directory is seeded with tricky URLs when empty):

    .venv/bin/python fuzz/url_policy_fuzz.py -max_total_time=300 /tmp/fuzz-url

Properties checked on every input, beyond "only typed errors escape":

* a URL that parses is stable: parsing its normalised form gives the same target (what we check is what we
  connect to), and its redacted form carries no query and no credentials;
* a numeric host is judged like the same address written canonically;
* an IPv4 address gets the same verdict on its own, v4-mapped (``::ffff:a.b.c.d``) and NAT64 (``64:ff9b::/96``);
* a data: URI decodes within its byte cap or fails with a typed error.
"""
from __future__ import annotations

import sys
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["bgremover"]):
    from bgremover.errors import ImageFetchFailed, ImageTooLarge
    from bgremover.fetching.address_policy import AddressPolicy
    from bgremover.fetching.data_uri import decode_data_uri
    from bgremover.fetching.url_policy import parse_target_url, redact_url

POLICY = AddressPolicy()
SEEDS = ["http://example.com/a.jpg", "https://127.0.0.1:8443/x?y=1", "http://2130706433/", "http://0177.0.0.1/",
         "http://0x7f.1/", "http://127.1/", "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/",
         "http://user:pw@host/", "http://xn--e1afmkfd.xn--p1ai/", "http://１２７.０.０.１/", "http://[fe80::1%25eth0]/",
         "https://a.b.c.d.e:65535/p/../q?x#f", "data:image/png;base64,iVBORw0KGgo=", "data:,%89PNG",
         "http://[2002:7f00:1::]/", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "http://0.0.0.0:80"]


def check_url(url: str) -> None:
    safe = redact_url(url)
    assert "?" not in safe.split(",", 1)[0] or safe.startswith("data:"), safe
    try:
        target = parse_target_url(url)
    except ImageFetchFailed as exc:  # includes ForbiddenAddress (credentials)
        assert exc.message
        return
    assert target.scheme in ("http", "https") and 0 < target.port <= 65535
    assert target.host and target.host == target.host.lower()
    again = parse_target_url(target.url)
    assert again == target, (url, target, again)
    assert "@" not in target.host_header and "?" not in target.redacted()  # '@' may stand in a path
    if target.ip is not None:
        POLICY.refusal_reason(target.ip)


def check_address(raw: bytes) -> None:
    v4 = IPv4Address(raw[:4])
    verdict = POLICY.refusal_reason(v4) is None
    mapped = IPv6Address(b"\0" * 10 + b"\xff\xff" + raw[:4])
    assert (POLICY.refusal_reason(mapped) is None) == verdict, (v4, mapped)
    nat64 = IPv6Address(bytes.fromhex("0064ff9b0000000000000000") + raw[:4])
    if not verdict:
        assert POLICY.refusal_reason(nat64) is not None, (v4, nat64)
    if len(raw) >= 16:
        POLICY.refusal_reason(IPv6Address(raw[:16]))


def check_data_uri(text: str) -> None:
    try:
        data, _ = decode_data_uri("data:" + text, max_bytes=256)
    except (ImageFetchFailed, ImageTooLarge) as exc:
        assert exc.message
        return
    assert 0 < len(data) <= 256


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    kind = fdp.ConsumeIntInRange(0, 2)
    if kind == 0:
        check_url(fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes()))
    elif kind == 1:
        raw = fdp.ConsumeBytes(16)
        if len(raw) >= 4:
            check_address(raw)
    else:
        check_data_uri(fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes()))


def main(argv: list[str]) -> None:
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    if corpus and not Path(corpus[0]).is_file():  # a file argument replays one input (a crash)
        root = Path(corpus[0])
        root.mkdir(parents=True, exist_ok=True)
        if not any(root.iterdir()):
            for i, url in enumerate(SEEDS):  # byte 0 picks the URL branch; then ASCII-only unicode
                (root / f"seed-{i:02d}").write_bytes(b"\0\0" + url.encode())
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
