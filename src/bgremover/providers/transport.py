"""HTTP to an upstream provider, under the image fetcher's SSRF policy at every connection.

The base URL was checked when the providers file loaded; here it is resolved and checked again per call
and the request goes to the checked address itself (``Host`` header and TLS SNI keep the name), exactly as
``fetching/fetcher.py`` does for image URLs, so a DNS answer that changed to a private address since start
is refused, not followed. No redirects, no proxies from the environment, a total deadline, a body cap.
Failures become :class:`UpstreamUnavailable` with a one-word reason; the upstream's text is never kept.
"""
from __future__ import annotations

import email.utils
import functools
import logging
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bgremover import __version__
from bgremover.errors import ForbiddenAddress, ImageFetchFailed
from bgremover.fetching import resolve_target
from bgremover.fetching.resolver import GetAddrInfo
from bgremover.providers.config import ProviderSpec
from bgremover.providers.errors import ClientInputError, UpstreamUnavailable

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
MIN_BODY_CAP = 64 * 1024 * 1024


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return None


class PinnedHttp:
    """Requests to one provider's base URL; safe to share between threads (no shared connections)."""

    def __init__(self, spec: ProviderSpec, fetch_allowlist: Iterable[str] = (), *, max_body_bytes: int = MIN_BODY_CAP,
                 getaddrinfo: GetAddrInfo | None = None, ssl_context: ssl.SSLContext | None = None) -> None:
        assert spec.target is not None, "the local provider has no URL"
        self.spec, self.target = spec, spec.target
        self.policy = spec.policy(fetch_allowlist)
        self.max_body_bytes = max(max_body_bytes, MIN_BODY_CAP)
        self.getaddrinfo, self.ssl_context = getaddrinfo, ssl_context

    def request(self, method: str, path: str, *, deadline: float, headers: Mapping[str, str] | None = None,
                data: Mapping[str, str] | None = None, files: Mapping[str, Any] | None = None) -> UpstreamResponse:
        name = self.spec.name
        try:
            addresses = resolve_target(self.target, self.policy, getaddrinfo=self.getaddrinfo)
        except ForbiddenAddress as exc:
            log.error("provider %s refused by the SSRF policy at connection time: %s", name, exc.message)
            raise UpstreamUnavailable(f"{name}: its address is refused by the SSRF policy",
                                      reason="forbidden") from None
        except ImageFetchFailed:
            raise UpstreamUnavailable(f"{name}: its host name does not resolve", reason="connect") from None
        failures = []
        for ip in addresses:
            try:
                return self._send(ip, method, path, deadline, headers or {}, data, files)
            except _ConnectFailed:
                failures.append(str(ip))
        raise UpstreamUnavailable(f"{name}: could not connect ({', '.join(failures)})", reason="connect")

    def _send(self, ip: Any, method: str, path: str, deadline: float, headers: Mapping[str, str],
              data: Mapping[str, str] | None, files: Mapping[str, Any] | None) -> UpstreamResponse:
        name, target = self.spec.name, self.target
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise UpstreamUnavailable(f"{name}: timed out (task deadline)", reason="timeout")
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        url = f"{target.scheme}://{host}:{target.port}{target.target.rstrip('/')}{path}"
        sent = {"Host": target.host_header, "User-Agent": f"bgremover/{__version__} (provider client)",
                "Accept-Encoding": "identity", **headers}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" and target.ip is None else {}
        timeout = httpx.Timeout(remaining, connect=min(CONNECT_TIMEOUT_S, remaining), pool=remaining)
        with httpx.Client(trust_env=False, follow_redirects=False, timeout=timeout,
                          verify=self.ssl_context or _default_ssl()) as client:
            request = client.build_request(method, url, headers=sent, data=data, files=files, extensions=extensions)
            try:
                response = client.send(request, stream=True)
            except httpx.ConnectTimeout:
                raise UpstreamUnavailable(f"{name}: timed out connecting", reason="timeout") from None
            except httpx.ConnectError:
                raise _ConnectFailed() from None
            except httpx.TimeoutException:
                raise UpstreamUnavailable(f"{name}: timed out waiting for an answer", reason="timeout") from None
            except httpx.HTTPError as exc:
                raise UpstreamUnavailable(f"{name}: the connection failed ({type(exc).__name__})",
                                          reason="connection_lost") from None
            try:
                body = self._read(response, deadline)
            except httpx.TimeoutException:
                raise UpstreamUnavailable(f"{name}: timed out reading the answer", reason="timeout") from None
            except httpx.HTTPError as exc:  # killed mid-answer, or fewer bytes than Content-Length
                raise UpstreamUnavailable(f"{name}: the connection broke during the answer ({type(exc).__name__})",
                                          reason="connection_lost") from None
            finally:
                response.close()
        return UpstreamResponse(response.status_code, dict(response.headers), body)

    def _read(self, response: httpx.Response, deadline: float) -> bytes:
        body = bytearray()
        for chunk in response.iter_raw():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise UpstreamUnavailable(f"{self.spec.name}: answered more than {self.max_body_bytes:,} bytes",
                                          reason="bad_result")
            if time.monotonic() > deadline:
                raise UpstreamUnavailable(f"{self.spec.name}: timed out reading the answer", reason="timeout")
        return bytes(body)


class _ConnectFailed(Exception):
    pass


def retry_after_s(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date), None when absent or unreadable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def raise_for_status(spec: ProviderSpec, response: UpstreamResponse, *, client_errors: Iterable[int] = ()) -> None:
    """Map a non-2xx answer to what the router does next. ``client_errors``: statuses that, for this kind of
    upstream, mean the image itself was refused (the only ones that do not fail over)."""
    status, name = response.status, spec.name
    if 200 <= status < 300:
        return
    if status in set(client_errors):
        raise ClientInputError("the image was refused as unreadable or unusable by the provider that processed it")
    if status in (401, 403):
        log.error("provider %s refused our API key (HTTP %d); check its api_key_env", name, status)
        raise UpstreamUnavailable(f"{name}: refused our key (HTTP {status})", reason="auth")
    if status == 402:
        log.error("provider %s is out of credits (HTTP 402)", name)
        raise UpstreamUnavailable(f"{name}: out of credits (HTTP 402)", reason="out_of_credits")
    if status == 429:
        wait = retry_after_s(response.headers)
        raise UpstreamUnavailable(f"{name}: rate limited (HTTP 429)", reason="rate_limited", retry_after_s=wait)
    if status >= 500:
        raise UpstreamUnavailable(f"{name}: server error (HTTP {status})", reason="server_error",
                                  retry_after_s=retry_after_s(response.headers) if status == 503 else None)
    raise UpstreamUnavailable(f"{name}: unexpected answer (HTTP {status})", reason="bad_status")


@functools.lru_cache(maxsize=1)
def _default_ssl() -> ssl.SSLContext:
    return httpx.create_ssl_context()
