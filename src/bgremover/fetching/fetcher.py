"""Fetch an image URL without letting the URL reach into our own network (SSRF).

Every hop: validate the URL, resolve the name once, check every address, then connect to the
checked address itself. The request goes to ``http(s)://<checked ip>:<port>/...`` with the
original ``Host`` header, and for https the original name as SNI (httpcore's ``sni_hostname``
extension), against which the certificate is verified too. Redirects are followed by hand so each
hop goes through the same checks before anything connects. Proxies from the environment are
ignored (``trust_env=False``): a proxy would make the checked address meaningless.
"""
from __future__ import annotations

import functools
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from bgremover import __version__
from bgremover.errors import ImageFetchFailed, ImageTooLarge, UnsupportedImage
from bgremover.fetching.address_policy import AddressPolicy, IPAddress
from bgremover.fetching.data_uri import decode_data_uri, is_data_uri
from bgremover.fetching.resolver import GetAddrInfo, resolve_target
from bgremover.fetching.transfer_guard import RateFloor
from bgremover.fetching.url_policy import TargetUrl, parse_target_url
from bgremover.imaging.decode import sniff_format

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SNIFF_BYTES = 12  # enough for every signature sniff_format knows


@dataclass(frozen=True)
class FetchedImage:
    data: bytes
    final_url: str  # after redirects; 'data:<type>' for data URIs. May hold a query: don't log it.
    content_type: str | None  # as the server said; the bytes were judged, not this


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 5.0  # longest wait for any one read
    total_timeout_s: float = 15.0  # the whole fetch, redirects included
    max_bytes: int = 25 * 1024 * 1024
    max_redirects: int = 3
    min_bytes_per_s: int = 0  # average body rate under which a fetch is a drip-feed (0: no floor)
    min_rate_grace_s: float = 3.0

    @classmethod
    def from_settings(cls, settings: object) -> FetchLimits:
        total = float(getattr(settings, "fetch_timeout_s", cls.total_timeout_s))
        read = float(getattr(settings, "fetch_read_timeout_s", cls.read_timeout_s))
        return cls(connect_timeout_s=float(getattr(settings, "fetch_connect_timeout_s", cls.connect_timeout_s)),
                   read_timeout_s=min(read, total), total_timeout_s=total,
                   max_bytes=int(getattr(settings, "max_image_bytes", cls.max_bytes)),
                   max_redirects=int(getattr(settings, "fetch_max_redirects", cls.max_redirects)),
                   min_bytes_per_s=int(getattr(settings, "fetch_min_bytes_per_s", cls.min_bytes_per_s)),
                   min_rate_grace_s=float(getattr(settings, "fetch_min_rate_grace_s", cls.min_rate_grace_s)))


def fetch_image(url: str, settings: object, *, getaddrinfo: GetAddrInfo | None = None,
                limits: FetchLimits | None = None, ssl_context: ssl.SSLContext | None = None) -> FetchedImage:
    """The image bytes behind an http(s) URL or a ``data:`` URI, within the SSRF policy and the caps.

    Raises ImageFetchFailed (bad URL, network, HTTP status, timeout), ForbiddenAddress (policy),
    ImageTooLarge (over ``max_image_bytes``) or UnsupportedImage (the bytes are not an image we take).
    """
    limits = limits or FetchLimits.from_settings(settings)
    if is_data_uri(url):
        data, media_type = decode_data_uri(url, max_bytes=limits.max_bytes)
        _require_image(data, media_type)
        return FetchedImage(data, f"data:{media_type or ''}", media_type)
    fetcher = ImageFetcher(AddressPolicy.from_settings(settings), limits,
                           getaddrinfo=getaddrinfo, ssl_context=ssl_context)
    return fetcher.fetch(url)


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


class _ConnectFailed(Exception):
    pass


class ImageFetcher:
    """One policy + limits; ``fetch(url)`` may be called from many threads (no shared connections)."""

    def __init__(self, policy: AddressPolicy, limits: FetchLimits, *, getaddrinfo: GetAddrInfo | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.policy = policy
        self.limits = limits
        self.getaddrinfo = getaddrinfo
        self.ssl_context = ssl_context

    def fetch(self, url: str) -> FetchedImage:
        deadline = time.monotonic() + self.limits.total_timeout_s
        target = parse_target_url(url)
        came_from: TargetUrl | None = None
        for hop in range(self.limits.max_redirects + 1):
            try:
                addresses = resolve_target(target, self.policy, getaddrinfo=self.getaddrinfo)
            except ImageFetchFailed as exc:  # checked before anything connects to the new hop
                if came_from is None:
                    raise
                raise type(exc)(f"{came_from.redacted()} redirected to {target.redacted()}: {exc.message}") from None
            try:
                return self._get_any(target, addresses, deadline)
            except _Redirect as redirect:
                if hop == self.limits.max_redirects:
                    raise ImageFetchFailed(f"too many redirects (more than {self.limits.max_redirects}) "
                                           f"fetching {parse_target_url(url).redacted()}") from None
                came_from, target = target, self._next_hop(target, redirect.location)
        raise AssertionError("unreachable")

    def _next_hop(self, current: TargetUrl, location: str) -> TargetUrl:
        try:
            return parse_target_url(urljoin(current.url, location.strip()))
        except ImageFetchFailed as exc:
            raise type(exc)(f"{current.redacted()} redirected to an unusable URL: {exc.message}") from None

    def _get_any(self, target: TargetUrl, addresses: list[IPAddress], deadline: float) -> FetchedImage:
        """Try the checked addresses in order; only a refused or failed connection moves on."""
        reasons: list[str] = []
        for ip in addresses:
            try:
                return self._get(target, ip, deadline)
            except _ConnectFailed as exc:
                reasons.append(f"{ip}: {exc}")
        raise ImageFetchFailed(f"could not connect to {target.redacted()} ({'; '.join(reasons)})")

    def _get(self, target: TargetUrl, ip: IPAddress, deadline: float) -> FetchedImage:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ImageFetchFailed(f"timed out after {self.limits.total_timeout_s:g} s fetching {target.redacted()}")
        connect, read = min(self.limits.connect_timeout_s, remaining), min(self.limits.read_timeout_s, remaining)
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        pinned = f"{target.scheme}://{host}:{target.port}{target.target}"
        headers = {"Host": target.host_header, "Accept": "image/*", "Accept-Encoding": "identity",
                   "User-Agent": f"bgremover/{__version__} (image fetcher)"}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" and target.ip is None else {}
        # The redirect check runs as a response hook: httpx itself parses Location before send() returns
        # (for ``next_request``) and raises InvalidURL on ``data:,x``; the hook answers first.
        client = httpx.Client(trust_env=False, follow_redirects=False, verify=self.ssl_context or _default_ssl(),
                              timeout=httpx.Timeout(read, connect=connect, pool=connect),
                              event_hooks={"response": [functools.partial(_raise_on_redirect, target)]})
        with client:
            request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
            try:
                response = client.send(request, stream=True)
            except httpx.ConnectTimeout:
                raise self._timeout(target) from None
            except httpx.ConnectError as exc:
                raise _ConnectFailed(_reason(exc, target)) from None
            except httpx.TimeoutException:
                raise self._timeout(target) from None
            except httpx.HTTPError as exc:
                raise ImageFetchFailed(f"fetching {target.redacted()} failed: {_reason(exc, target)}") from None
            try:
                return self._read(target, response, deadline)
            except httpx.TimeoutException:
                raise self._timeout(target) from None
            except httpx.HTTPError as exc:
                raise ImageFetchFailed(f"reading {target.redacted()} failed: {_reason(exc, target)}") from None
            finally:
                response.close()

    def _read(self, target: TargetUrl, response: httpx.Response, deadline: float) -> FetchedImage:
        status = response.status_code
        if not 200 <= status < 300 or status in (204, 205, 206):
            raise ImageFetchFailed(f"{target.redacted()} answered HTTP {status} {response.reason_phrase}".rstrip())
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ImageFetchFailed(f"{target.redacted()} sent a {encoding!r}-encoded body though none was asked for")
        cap = self.limits.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise ImageTooLarge(f"{target.redacted()} declares {int(declared):,} bytes; the limit is {cap:,}")
        content_type = response.headers.get("content-type")
        body = bytearray()
        sniffed = False
        floor = RateFloor(target.redacted(), min_bytes_per_s=self.limits.min_bytes_per_s,
                          grace_s=self.limits.min_rate_grace_s)
        for chunk in response.iter_raw():
            body += chunk
            floor.feed(len(chunk))
            if len(body) > cap:
                raise ImageTooLarge(f"{target.redacted()} sent more than {cap:,} bytes; the limit is {cap:,}")
            if not sniffed and len(body) >= _SNIFF_BYTES:
                _require_image(bytes(body[:_SNIFF_BYTES]), content_type)  # don't download 25 MB of HTML
                sniffed = True
            if time.monotonic() > deadline:
                raise self._timeout(target)
        data = bytes(body)
        _require_image(data, content_type)
        return FetchedImage(data, target.url, content_type)

    def _timeout(self, target: TargetUrl) -> ImageFetchFailed:
        return ImageFetchFailed(f"timed out fetching {target.redacted()} (limits: connect "
                                f"{self.limits.connect_timeout_s:g} s, read {self.limits.read_timeout_s:g} s, "
                                f"total {self.limits.total_timeout_s:g} s)")


def _raise_on_redirect(target: TargetUrl, response: httpx.Response) -> None:
    status = response.status_code
    if status in _REDIRECTS:
        location = response.headers.get("location")
        if not location:
            raise ImageFetchFailed(f"{target.redacted()} answered HTTP {status} without a Location")
        raise _Redirect(location)


def _require_image(head: bytes, content_type: str | None) -> None:
    if sniff_format(head) is None:
        said = f" (Content-Type: {content_type[:60]})" if content_type else ""
        raise UnsupportedImage(f"the URL did not return a JPEG, PNG or WebP image, judged by its bytes{said}")


def _reason(exc: httpx.HTTPError, target: TargetUrl) -> str:
    """The transport's reason, without any query string that might hold a secret."""
    text = str(exc) or type(exc).__name__
    if "?" in target.target:
        text = text.replace(target.target.split("?", 1)[1], "…")
    return text[:200]


@functools.lru_cache(maxsize=1)
def _default_ssl() -> ssl.SSLContext:
    return httpx.create_ssl_context()
