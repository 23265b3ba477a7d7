"""fetch_image end to end against a real HTTP server on 127.0.0.1, and the SSRF refusal table.

Only loopback is ever connected to: the autouse ``network_guard`` fails any test that tries to
connect elsewhere or to ask real DNS. Refusals are asserted by their error *and* by the guard's
record that nothing was connected.
"""
from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from bgremover.config import Settings, load_settings
from bgremover.errors import ForbiddenAddress, ImageFetchFailed, ImageTooLarge, UnsupportedImage
from bgremover.fetching import FetchLimits, fetch_image

from .local_http import (
    LocalServer,
    NetworkGuard,
    make_getaddrinfo,
    png_bytes,
    redirect_to,
    serve_bytes,
    stream_forever,
)

PNG = png_bytes()
QUICK = FetchLimits(connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=3.0, max_bytes=1024 * 1024)


@pytest.fixture
def allow_127_0_0_1() -> Settings:
    return load_settings(fetch_allow_networks="127.0.0.1/32")


# ---- the refusal table: every one refused before anything connects --------------------------------

DNS = make_getaddrinfo({
    "localhost": ["127.0.0.1", "::1"],
    "evil.example": ["127.0.0.1"],
    "metadata.google.internal": ["169.254.169.254"],
    "intranet.example": ["10.0.0.1"],
    "mixed.example": ["93.184.216.34", "192.168.0.10"],
    "v6-private.example": ["fd00::10"],
})

FORBIDDEN = [
    "http://127.0.0.1/", "http://localhost/", "http://evil.example/a.png", "http://2130706433/",
    "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://0x7f000001/", "http://127.1/",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "https://127.0.0.1./", "http://127.0.0.1:22/",
    "http://0/", "http://0.0.0.0:8080/", "http://[::1]/", "http://[::]/", "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::127.0.0.1]/",
    "http://169.254.169.254/latest/meta-data/", "http://2852039166/", "http://0xa9fea9fe/",
    "http://169.254.43518/", "http://[::ffff:169.254.169.254]/", "http://[fd00:ec2::254]/",
    "http://metadata.google.internal/computeMetadata/v1/", "http://10.0.0.1/", "http://intranet.example/",
    "http://172.16.0.1/", "http://192.168.0.1/", "http://0300.0250.0.1/", "http://mixed.example/",
    "http://100.64.0.1/", "http://[fc00::1]/", "http://v6-private.example/", "http://[fe80::1]/",
    "http://[fec0::1]/", "http://224.0.0.1/", "http://[ff02::1]/", "http://255.255.255.255/", "http://240.0.0.1/",
    "http://198.18.0.1/", "http://192.0.2.1/", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::]/", "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
]

MALFORMED = [
    "ftp://example.com/a.png", "file:///etc/passwd", "gopher://127.0.0.1:70/_", "dict://127.0.0.1:11211/",
    "javascript:alert(1)", "http://user:pass@example.com/a.png", "http://user@127.0.0.1/",
    "http://example.com\\@127.0.0.1/", "http://127.0.0.%31/", "http://[fe80::1%25eth0]/", "http:///a.png",
    "http://256.256.256.256/",
]


@pytest.mark.parametrize("url", FORBIDDEN)
def test_urls_reaching_non_public_addresses_are_refused_before_connecting(url: str, network_guard: NetworkGuard
                                                                        ) -> None:
    with pytest.raises(ForbiddenAddress) as err:
        fetch_image(url, load_settings(), getaddrinfo=DNS, limits=QUICK)
    assert err.value.code == "image_fetch_forbidden"
    assert network_guard.connections == [] and network_guard.refused == []


@pytest.mark.parametrize("url", MALFORMED)
def test_urls_with_bad_schemes_credentials_or_forms_are_refused(url: str, network_guard: NetworkGuard) -> None:
    with pytest.raises(ImageFetchFailed) as err:
        fetch_image(url, load_settings(), getaddrinfo=DNS, limits=QUICK)
    assert "pass@" not in err.value.message
    assert network_guard.connections == [] and network_guard.refused == []


def test_the_refusal_table_is_at_least_thirty_urls() -> None:
    assert len(FORBIDDEN) + len(MALFORMED) >= 30


# ---- the allowlisted case, and loopback outside the allowlist --------------------------------------

def test_an_allowlisted_loopback_url_is_fetched(local_server: LocalServer, allow_127_0_0_1: Settings) -> None:
    local_server.routes["/cat.png"] = serve_bytes(PNG)
    got = fetch_image(local_server.url("/cat.png?size=small"), allow_127_0_0_1)
    assert got.data == PNG
    assert got.content_type == "image/png"
    assert got.final_url == local_server.url("/cat.png?size=small")


def test_the_same_server_is_refused_without_the_allowlist(local_server: LocalServer,
                                                          network_guard: NetworkGuard) -> None:
    local_server.routes["/cat.png"] = serve_bytes(PNG)
    with pytest.raises(ForbiddenAddress, match="loopback"):
        fetch_image(local_server.url("/cat.png"), load_settings())
    assert network_guard.connections == [] and local_server.seen == []


@pytest.mark.parametrize("host", ["127.0.0.2", "[::1]", "2130706434", "evil.example"])
def test_loopback_outside_the_allowlist_is_refused(host: str, local_server: LocalServer,
                                                   allow_127_0_0_1: Settings, network_guard: NetworkGuard) -> None:
    dns = make_getaddrinfo({"evil.example": ["127.0.0.2"]})
    with pytest.raises(ForbiddenAddress):
        fetch_image(local_server.url("/cat.png", host=host), allow_127_0_0_1, getaddrinfo=dns)
    assert network_guard.connections == []


def test_a_name_is_resolved_once_and_the_checked_address_is_pinned(
        local_server: LocalServer, allow_127_0_0_1: Settings, network_guard: NetworkGuard) -> None:
    """DNS rebinding: a second lookup would answer 10.0.0.1; there must be no second lookup."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    calls: list[str] = []

    def rebinding(host: str, port: int, *args: object) -> list[tuple]:
        calls.append(host)
        return make_getaddrinfo({host: next(answers)})(host, port)

    local_server.routes["/cat.png"] = serve_bytes(PNG)
    got = fetch_image(local_server.url("/cat.png", host="images.example"), allow_127_0_0_1, getaddrinfo=rebinding)
    assert got.data == PNG and got.final_url == local_server.url("/cat.png", host="images.example")
    assert calls == ["images.example"]
    assert network_guard.connections == [("127.0.0.1", local_server.port)]
    assert local_server.seen == [("/cat.png", f"images.example:{local_server.port}")]  # original Host header


# ---- redirects ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("location", [
    "http://169.254.169.254/latest/meta-data/iam/", "http://10.0.0.1/", "http://[::ffff:a9fe:a9fe]/",
    "http://metadata.google.internal/", "http://0xa9fea9fe/", "http://127.0.0.2:{port}/cat.png",
])
def test_a_redirect_into_private_space_is_refused_before_connecting(
        location: str, local_server: LocalServer, allow_127_0_0_1: Settings, network_guard: NetworkGuard) -> None:
    local_server.routes["/go"] = redirect_to(location.format(port=local_server.port))
    with pytest.raises(ForbiddenAddress) as err:
        fetch_image(local_server.url("/go"), allow_127_0_0_1, getaddrinfo=DNS)
    assert "redirected to" in err.value.message
    assert network_guard.connections == [("127.0.0.1", local_server.port)]  # only the first hop
    assert network_guard.refused == []  # the guard never had to step in: the policy refused first


def test_a_redirect_to_another_scheme_or_with_credentials_is_refused(local_server: LocalServer,
                                                                     allow_127_0_0_1: Settings) -> None:
    local_server.routes["/file"] = redirect_to("file:///etc/passwd")
    local_server.routes["/creds"] = redirect_to(f"http://me:pw@127.0.0.1:{local_server.port}/cat.png")
    for path in ("/file", "/creds"):
        with pytest.raises(ImageFetchFailed, match="redirected to an unusable URL"):
            fetch_image(local_server.url(path), allow_127_0_0_1)


@pytest.mark.parametrize("location", ["data:,x", "javascript:alert(1)", "mailto:me@example.com",
                                      "data:image/png;base64,iVBORw0KGgo=", "ftp://127.0.0.1/cat.png"])
def test_a_redirect_to_a_non_http_url_is_a_clear_fetch_failure(location: str, local_server: LocalServer,
                                                               allow_127_0_0_1: Settings) -> None:
    local_server.routes["/go"] = redirect_to(location)
    with pytest.raises(ImageFetchFailed) as err:
        fetch_image(local_server.url("/go"), allow_127_0_0_1)
    assert err.value.code == "image_fetch_failed"
    assert "redirected to an unusable URL" in err.value.message
    assert "only http and https" in err.value.message


def test_relative_redirects_are_followed_up_to_the_limit(local_server: LocalServer,
                                                         allow_127_0_0_1: Settings) -> None:
    local_server.routes.update({"/1": redirect_to("/2", 301), "/2": redirect_to("3", 307),
                                "/3": redirect_to(local_server.url("/cat.png"), 308), "/cat.png": serve_bytes(PNG)})
    got = fetch_image(local_server.url("/1"), allow_127_0_0_1)
    assert got.data == PNG and got.final_url == local_server.url("/cat.png")


def test_more_than_three_redirects_fail(local_server: LocalServer, allow_127_0_0_1: Settings) -> None:
    local_server.routes.update({"/0": redirect_to("/1"), "/1": redirect_to("/2"), "/2": redirect_to("/3"),
                                "/3": redirect_to("/cat.png"), "/cat.png": serve_bytes(PNG)})
    with pytest.raises(ImageFetchFailed, match="too many redirects"):
        fetch_image(local_server.url("/0"), allow_127_0_0_1)
    assert "/cat.png" not in [path for path, _ in local_server.seen]


# ---- HTTP failures, content and size --------------------------------------------------------------

def test_a_404_fails_with_the_status_and_without_the_query(local_server: LocalServer,
                                                          allow_127_0_0_1: Settings) -> None:
    with pytest.raises(ImageFetchFailed) as err:
        fetch_image(local_server.url("/missing.png?token=s3cr3t"), allow_127_0_0_1)
    assert err.value.code == "image_fetch_failed"
    assert "HTTP 404" in err.value.message and "/missing.png" in err.value.message
    assert "s3cr3t" not in err.value.message


def test_a_server_error_fails_with_its_status(local_server: LocalServer, allow_127_0_0_1: Settings) -> None:
    local_server.routes["/boom"] = serve_bytes(b"oops", "text/plain", status=503)
    with pytest.raises(ImageFetchFailed, match="HTTP 503"):
        fetch_image(local_server.url("/boom"), allow_127_0_0_1)


def test_content_is_judged_by_its_bytes_not_its_content_type(local_server: LocalServer,
                                                             allow_127_0_0_1: Settings) -> None:
    local_server.routes["/lies.png"] = serve_bytes(b"<html><body>not an image</body></html>", "image/png")
    local_server.routes["/octets"] = serve_bytes(PNG, "application/octet-stream")
    with pytest.raises(UnsupportedImage) as err:
        fetch_image(local_server.url("/lies.png"), allow_127_0_0_1)
    assert err.value.code == "unsupported_image"
    assert fetch_image(local_server.url("/octets"), allow_127_0_0_1).data == PNG


def test_a_declared_length_over_the_cap_is_refused_before_reading(local_server: LocalServer,
                                                                  allow_127_0_0_1: Settings) -> None:
    local_server.routes["/huge"] = stream_forever(local_server, "huge", PNG[:16], b"\0" * 65536,
                                                  declare_length=50 * 1024 * 1024, give_up_s=3)
    with pytest.raises(ImageTooLarge, match="declares 52,428,800 bytes") as err:
        fetch_image(local_server.url("/huge"), allow_127_0_0_1, limits=QUICK)
    assert err.value.code == "image_too_large"


def test_an_endless_body_is_cut_at_the_cap(local_server: LocalServer, allow_127_0_0_1: Settings) -> None:
    local_server.routes["/endless"] = stream_forever(local_server, "endless", PNG[:16], b"\0" * 65536, give_up_s=5)
    with pytest.raises(ImageTooLarge, match="more than 1,048,576 bytes"):
        fetch_image(local_server.url("/endless"), allow_127_0_0_1, limits=QUICK)
    sent = _wait_for(local_server.bytes_sent, "endless")
    assert sent < 32 * 1024 * 1024  # the server gave up when we hung up, long before its 5 s of sending


def test_a_trickling_server_times_out_within_the_deadline(local_server: LocalServer,
                                                          allow_127_0_0_1: Settings) -> None:
    """A byte every 0.05 s never trips the read timeout (here longer than the server keeps sending): only the
    total deadline can end the fetch, and it does, with the client hanging up while the server still sends."""
    local_server.routes["/slow"] = stream_forever(local_server, "slow", PNG[:16], b"\0", pause_s=0.05, give_up_s=8)
    limits = FetchLimits(connect_timeout_s=1.0, read_timeout_s=10.0, total_timeout_s=1.0, max_bytes=1024 * 1024)
    with pytest.raises(ImageFetchFailed, match="timed out") as err:
        fetch_image(local_server.url("/slow"), allow_127_0_0_1, limits=limits)
    assert err.value.code == "image_fetch_failed"
    assert local_server.finished("slow").wait(30), "the server never saw the stream end"
    assert local_server.hung_up["slow"], "the server gave up first: the total deadline did not end the fetch"


def test_a_stalled_server_times_out_on_the_read_timeout(local_server: LocalServer,
                                                        allow_127_0_0_1: Settings) -> None:
    """The server sends a header, then nothing, and closes after 3 s; the total deadline is 10 s. Only the read
    timeout can answer "timed out" here: without it the client would read the close as a truncated image."""
    local_server.routes["/stall"] = stream_forever(local_server, "stall", PNG[:16], b"", pause_s=0.2, give_up_s=3)
    limits = FetchLimits(connect_timeout_s=1.0, read_timeout_s=0.5, total_timeout_s=10.0, max_bytes=1024 * 1024)
    with pytest.raises(ImageFetchFailed, match="timed out"):
        fetch_image(local_server.url("/stall"), allow_127_0_0_1, limits=limits)


def test_nothing_listening_is_a_clear_connection_failure(allow_127_0_0_1: Settings) -> None:
    server = LocalServer()
    url = server.url("/cat.png")
    server.close()  # the port is now closed
    with pytest.raises(ImageFetchFailed, match="could not connect to"):
        fetch_image(url, allow_127_0_0_1)


def test_a_compressed_body_is_refused(local_server: LocalServer, allow_127_0_0_1: Settings) -> None:
    def gzipped(h):  # type: ignore[no-untyped-def]
        h.send_response(200)
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", "4")
        h.end_headers()
        h.wfile.write(b"\x1f\x8b\x08\x00")
    local_server.routes["/gz"] = gzipped
    with pytest.raises(ImageFetchFailed, match="'gzip'-encoded"):
        fetch_image(local_server.url("/gz"), allow_127_0_0_1)


def test_data_uris_go_through_the_same_entry_point(allow_127_0_0_1: Settings, network_guard: NetworkGuard) -> None:
    import base64
    got = fetch_image("data:image/png;base64," + base64.b64encode(PNG).decode(), allow_127_0_0_1)
    assert got.data == PNG and got.content_type == "image/png" and got.final_url == "data:image/png"
    with pytest.raises(UnsupportedImage):
        fetch_image("data:image/png;base64," + base64.b64encode(b"GIF89a" + b"\0" * 20).decode(), allow_127_0_0_1)
    assert network_guard.connections == []


# ---- https: the pinned address keeps the original name for SNI and certificate checks --------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true and openssl is missing")
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=images.example",
                    "-addext", "subjectAltName=DNS:images.example"], check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*certificate)
    server = LocalServer(tls)
    server.routes["/cat.png"] = serve_bytes(PNG)
    yield server
    server.close()


def test_https_sends_the_original_name_as_sni_and_verifies_the_certificate_for_it(
        tls_server: LocalServer, certificate: tuple[Path, Path], allow_127_0_0_1: Settings,
        network_guard: NetworkGuard) -> None:
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    dns = make_getaddrinfo({"images.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    got = fetch_image(tls_server.url("/cat.png", host="images.example"), allow_127_0_0_1, getaddrinfo=dns,
                      ssl_context=trust)
    assert got.data == PNG
    assert tls_server.sni == ["images.example"]
    assert network_guard.connections == [("127.0.0.1", tls_server.port)]
    with pytest.raises(ImageFetchFailed, match="CERTIFICATE_VERIFY_FAILED"):  # cert is for images.example only
        fetch_image(tls_server.url("/cat.png", host="other.example"), allow_127_0_0_1, getaddrinfo=dns,
                    ssl_context=trust)


def _wait_for(record: dict[str, int], name: str, timeout_s: float = 8.0) -> int:
    deadline = time.monotonic() + timeout_s
    while name not in record and time.monotonic() < deadline:
        time.sleep(0.05)
    return record[name]
