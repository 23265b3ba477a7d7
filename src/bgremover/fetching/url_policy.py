"""Parse and validate an image URL before anything is resolved or connected.

http and https only, no ``user:password@`` (refused as ForbiddenAddress, a policy decision like an
address), a host and a sane port. Numeric hosts are read the way
browsers (WHATWG URL standard) and ``inet_aton``/``getaddrinfo`` read them, so ``2130706433``,
``0177.0.0.1``, ``0x7f.1`` and ``127.1`` all become ``127.0.0.1`` and are judged as that address.
Anything ambiguous (backslashes, control characters, percent-encoded hosts, IPv6 zones) is refused
rather than guessed, so the host we check is the host we connect to.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from urllib.parse import urlsplit, urlunsplit

import idna

from bgremover.errors import ForbiddenAddress, ImageFetchFailed

IPAddress = IPv4Address | IPv6Address

MAX_URL_LENGTH = 8192
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DIGITS = {8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}
_SCHEME = re.compile(r"^[a-z][a-z0-9+-]*$")  # RFC 3986 allows '.', but 'example.com:80' is a host
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


@dataclass(frozen=True)
class TargetUrl:
    """A validated http(s) URL: where to connect (``host``/``ip``, ``port``) and what to ask for."""

    scheme: str
    host: str  # lower-case ASCII host name, dotted-quad IPv4, or bare IPv6 (no brackets)
    ip: IPAddress | None  # set when the host is a numeric address: nothing to resolve
    port: int
    target: str  # path + query, sent as the request target

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.ip, IPv6Address) else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The normalised URL (numeric host spelled canonically); base for relative redirects."""
        return f"{self.scheme}://{self.host_header}{self.target}"

    def redacted(self) -> str:
        """For messages and logs: scheme, host, port and path; never the query."""
        path = self.target.split("?", 1)[0]
        if len(path) > 120:
            path = path[:117] + "..."
        return f"{self.scheme}://{self.host_header}{path}"


def redact_url(url: str) -> str:
    """Best-effort safe form of any URL for messages: no userinfo, query or fragment, bounded length."""
    if url[:5].lower() == "data:":
        return url.split(",", 1)[0][:60] + ",..."
    try:
        parts = urlsplit(url.strip())
        netloc = parts.netloc.rsplit("@", 1)[-1]
        safe = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        safe = "<unparseable URL>"
    return safe if len(safe) <= 160 else safe[:157] + "..."


def parse_target_url(url: str) -> TargetUrl:
    """Validate ``url``; raise :class:`ImageFetchFailed` with a clear message when it is unusable."""
    if not isinstance(url, str) or not url:
        raise ImageFetchFailed("image URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise ImageFetchFailed(f"image URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        raise ImageFetchFailed("image URL contains spaces or control characters")
    scheme, _, rest = url.partition(":") if ":" in url else ("", "", url)
    scheme = scheme.lower()
    if not _SCHEME.match(scheme) or rest[:1].isdigit():  # 'example.com/x', '//x', 'localhost:8000/x'
        raise ImageFetchFailed(f"image URL has no scheme: {_as_given(url)} (only http and https image URLs "
                               "can be fetched: write http:// or https:// before the host)")
    if scheme not in _DEFAULT_PORTS:
        shown = f"'{scheme}'" if len(scheme) < 20 else "none"
        raise ImageFetchFailed(f"only http and https image URLs can be fetched (scheme: {shown})")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. unbalanced brackets
        raise ImageFetchFailed(f"image URL is malformed: {exc}") from None
    netloc = parts.netloc
    if not url[len(scheme) + 1:].startswith("//") or not netloc:
        raise ImageFetchFailed(f"image URL has no host: {_as_given(url)}")
    if "@" in netloc:
        raise ForbiddenAddress("image URLs with credentials (user:password@host) are not accepted")
    if "\\" in netloc:
        raise ImageFetchFailed("image URL has a backslash in its host part")
    raw_host, port = _split_host_port(netloc, scheme)
    host, ip = _normalize_host(raw_host)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return TargetUrl(scheme=scheme, host=host, ip=ip, port=port, target=target)


def _as_given(url: str) -> str:
    """The URL as the client wrote it, quoted, for messages: no query, fragment or user:password."""
    shown = url.split("?", 1)[0].split("#", 1)[0]
    if "@" in shown:
        shown = shown.split(":", 1)[0] + ":…@" + shown.rsplit("@", 1)[1]
    return repr(shown if len(shown) <= 120 else shown[:117] + "...")


def _split_host_port(netloc: str, scheme: str) -> tuple[str, int]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise ImageFetchFailed("image URL has an unclosed '[' in its host")
        host, rest = netloc[: end + 1], netloc[end + 1:]
        if rest and not rest.startswith(":"):
            raise ImageFetchFailed("image URL has text after its IPv6 host")
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = netloc.partition(":")
        if ":" in port_text:
            raise ImageFetchFailed("image URL has more than one ':' in its host part")
    if not port_text:
        return host, _DEFAULT_PORTS[scheme]
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise ImageFetchFailed(f"image URL has an invalid port {port_text[:10]!r}")
    return host, int(port_text)


def _normalize_host(raw: str) -> tuple[str, IPAddress | None]:
    if not raw:
        raise ImageFetchFailed("image URL has no host")
    if "%" in raw:
        raise ImageFetchFailed("percent-encoded host names and IPv6 zones are not accepted in image URLs")
    if raw.startswith("["):
        try:
            ip6 = IPv6Address(raw[1:-1])
        except ValueError:
            raise ImageFetchFailed(f"image URL has an invalid IPv6 host {raw[:50]!r}") from None
        return str(ip6), ip6
    host = _to_ascii(raw)
    if _ends_in_number(host):
        ip4 = parse_ipv4_host(host)
        return str(ip4), ip4
    bare = host[:-1] if host.endswith(".") else host  # one trailing dot (the DNS root) only: '70....' is no name
    if not all(_LABEL.match(label) for label in bare.split(".")) or len(host) > 253:
        raise ImageFetchFailed(f"image URL has an invalid host name {host[:60]!r}")
    return bare, None


def _to_ascii(host: str) -> str:
    """IDNA (UTS #46 mapping, like browsers): also maps full-width digits, so '１２７.０.０.１' is caught."""
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii").lower()
    except idna.IDNAError:
        raise ImageFetchFailed("image URL has an invalid international host name") from None


def _ends_in_number(host: str) -> bool:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if last.isascii() and last.isdigit():
        return True
    return last[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in last[2:])


def parse_ipv4_host(host: str) -> IPv4Address:
    """The WHATWG IPv4 parser: 1-4 parts, each decimal, 0x-hex or 0-octal; the last fills the rest."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        raise ImageFetchFailed(f"image URL host {host[:60]!r} looks like an IPv4 address but is not one")
    numbers = [_ipv4_number(p, host) for p in parts]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ImageFetchFailed(f"image URL host {host[:60]!r} is an out-of-range IPv4 address")
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n * 256 ** (3 - i)
    return IPv4Address(value)


def _ipv4_number(part: str, host: str) -> int:
    text, base = part, 10
    if text[:2] in ("0x", "0X"):
        text, base = text[2:], 16
    elif len(text) > 1 and text.startswith("0"):
        text, base = text[1:], 8
    if text == "":
        if base == 16:
            return 0
        raise ImageFetchFailed(f"image URL host {host[:60]!r} has an empty IPv4 part")
    if not all(c in _DIGITS[base] for c in text):
        raise ImageFetchFailed(f"image URL host {host[:60]!r} is not a valid IPv4 address")
    return int(text, base)
