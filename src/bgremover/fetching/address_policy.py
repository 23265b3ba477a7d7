"""Which IP addresses the image fetcher may connect to (the SSRF policy).

Explicit tables rather than ``ipaddress.is_global`` alone, because what ``is_global`` says about
the IPv6 embeddings (6to4, NAT64, v4-mapped) changes between Python releases. An IPv6 address that
embeds an IPv4 address (v4-mapped, NAT64, 6to4, Teredo) is judged by the IPv4 policy too, so
``::ffff:127.0.0.1`` or ``2002:7f00:1::`` cannot smuggle loopback past the check. The operator's
allowlist (``BGREMOVER_FETCH_ALLOW_NETWORKS``) overrides everything, e.g. ``127.0.0.1/32`` in tests.
"""
from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from bgremover.errors import ForbiddenAddress

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_V4_REFUSED: tuple[tuple[IPv4Network, str], ...] = tuple((IPv4Network(cidr), why) for cidr, why in (
    ("0.0.0.0/8", "'this network' (unspecified)"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT (shared)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata)"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
))

_V6_REFUSED: tuple[tuple[IPv6Network, str], ...] = tuple((IPv6Network(cidr), why) for cidr, why in (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("::/8", "reserved (includes IPv4-translated)"),
    ("100::/64", "discard-only"),
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "IETF protocol assignments"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing (SRv6)"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
))

_V4_MAPPED = IPv6Network("::ffff:0:0/96")
_NAT64 = IPv6Network("64:ff9b::/96")
_TEREDO = IPv6Network("2001::/32")
_SIXTOFOUR = IPv6Network("2002::/16")
_GLOBAL_UNICAST = IPv6Network("2000::/3")


def parse_allowlist(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``["127.0.0.1/32", "10.1.0.0/16"]`` to networks; a bad entry is a configuration error."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"BGREMOVER_FETCH_ALLOW_NETWORKS: {cidr!r} is not an IP network (CIDR)") from exc
    return tuple(networks)


def normalize_address(ip: IPAddress | str) -> IPAddress:
    """One spelling per destination: strip an IPv6 zone, unwrap v4-mapped ``::ffff:a.b.c.d`` to IPv4."""
    if isinstance(ip, str):
        ip = ip_address(ip.split("%", 1)[0])
    if isinstance(ip, IPv6Address):
        if ip.scope_id:
            ip = IPv6Address(ip.packed)
        if ip in _V4_MAPPED and ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
    return ip


class AddressPolicy:
    """Decides whether the fetcher may connect to an address; built once from the settings."""

    def __init__(self, allow_networks: Iterable[IPNetwork | str] = ()) -> None:
        self.allow_networks: tuple[IPNetwork, ...] = tuple(
            ip_network(n, strict=False) if isinstance(n, str) else n for n in allow_networks)

    @classmethod
    def from_settings(cls, settings: object) -> AddressPolicy:
        return cls(parse_allowlist(getattr(settings, "fetch_allowlist", [])))

    def refusal_reason(self, ip: IPAddress | str) -> str | None:
        """Why ``ip`` is refused, or None when the fetcher may connect to it."""
        addr = normalize_address(ip)
        if any(addr.version == net.version and addr in net for net in self.allow_networks):
            return None
        if isinstance(addr, IPv4Address):
            return _v4_reason(addr)
        return _v6_reason(addr)

    def is_allowed(self, ip: IPAddress | str) -> bool:
        return self.refusal_reason(ip) is None

    def check(self, ip: IPAddress | str, *, host: str | None = None) -> IPAddress:
        """Return the normalised address, or raise :class:`ForbiddenAddress` saying why."""
        reason = self.refusal_reason(ip)
        if reason is not None:
            target = f"{host!r} resolves to {ip}, which" if host and host != str(ip) else f"address {ip}"
            raise ForbiddenAddress(f"refused to fetch: {target} is {reason}; only public addresses are allowed")
        return normalize_address(ip)


def _v4_reason(ip: IPv4Address) -> str | None:
    for net, why in _V4_REFUSED:
        if ip in net:
            return why
    if not ip.is_global:  # whatever the tables above missed and Python knows about
        return "not globally routable"
    return None


def _v6_reason(ip: IPv6Address) -> str | None:
    for embedded, label in _embedded_v4(ip):
        why = _v4_reason(embedded)
        if why is not None:
            return f"{label} embedding {embedded}, which is {why}"
    if ip in _NAT64 or ip in _TEREDO or ip in _SIXTOFOUR:
        return None  # the embedded public IPv4 address is the real destination, and it passed
    for net, why in _V6_REFUSED:
        if ip in net:
            return why
    if ip not in _GLOBAL_UNICAST:
        return "outside global unicast 2000::/3 (reserved or unassigned)"
    return None


def _embedded_v4(ip: IPv6Address) -> list[tuple[IPv4Address, str]]:
    if ip in _NAT64:
        return [(IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64")]
    if ip in _SIXTOFOUR and ip.sixtofour is not None:
        return [(ip.sixtofour, "6to4")]
    if ip in _TEREDO and ip.teredo is not None:
        server, client = ip.teredo
        return [(client, "Teredo"), (server, "Teredo server")]
    return []
