"""Fixtures for the fetcher tests.

The network guard is autouse: in these tests any DNS lookup of a real name, or any connection to an
address outside 127.0.0.0/8 and ::1, fails the test instead of reaching the network. The policy is
what should stop those; the guard makes sure a policy bug can never turn into real traffic.
"""
from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from .local_http import LocalServer, NetworkGuard, is_loopback


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
    guard = NetworkGuard()
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def guarded_create_connection(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not is_loopback(address[0]):
            guard.refused.append(str(address[0]))
            raise AssertionError(f"test tried to connect to non-loopback {address[0]!r}")
        guard.connections.append((str(address[0]), int(address[1])))
        return real_create_connection(address, *args, **kwargs)

    def guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not is_loopback(host):
            guard.refused.append(str(host))
            raise AssertionError(f"test tried to resolve {host!r} through real DNS")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded_create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return guard


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()


