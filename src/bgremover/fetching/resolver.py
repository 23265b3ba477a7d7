"""Resolve a host name once and check every address it resolves to.

The fetcher then connects to the returned address itself, never to the name, so a second
(rebinding) DNS answer can't point the connection somewhere the policy never saw. If any address of
the name is refused, the whole name is refused: a host that answers both a public and a private
address is an attack, not a misconfiguration we should route around.
"""
from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any

from bgremover.errors import ImageFetchFailed
from bgremover.fetching.address_policy import AddressPolicy, IPAddress, normalize_address
from bgremover.fetching.url_policy import TargetUrl

# Same signature as socket.getaddrinfo; tests inject one that answers from a table.
GetAddrInfo = Callable[..., Sequence[tuple[Any, ...]]]


def resolve_host(host: str, port: int, policy: AddressPolicy, *,
                 getaddrinfo: GetAddrInfo | None = None) -> list[IPAddress]:
    """All addresses of ``host``, each checked; raise ForbiddenAddress if any is refused."""
    lookup = getaddrinfo or socket.getaddrinfo  # looked up at call time, so a test guard can patch it
    try:
        infos = lookup(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ImageFetchFailed(f"could not resolve the image host {host!r}: {reason}") from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = normalize_address(str(sockaddr[0]))
        policy.check(ip, host=host)
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise ImageFetchFailed(f"the image host {host!r} has no IPv4 or IPv6 address")
    return addresses


def resolve_target(target: TargetUrl, policy: AddressPolicy, *,
                   getaddrinfo: GetAddrInfo | None = None) -> list[IPAddress]:
    """Checked addresses to connect to for ``target``; a numeric host is checked without any lookup."""
    if target.ip is not None:
        return [policy.check(target.ip)]
    return resolve_host(target.host, target.port, policy, getaddrinfo=getaddrinfo)


def resolve_checked(host: str, port: int, policy: AddressPolicy, *,
                    getaddrinfo: GetAddrInfo | None = None) -> IPAddress:
    """The one checked address to connect to (the first the resolver gave)."""
    return resolve_host(host, port, policy, getaddrinfo=getaddrinfo)[0]
