"""Test helpers for the fetcher: a fake resolver and a real HTTP server on 127.0.0.1 with handlers."""
from __future__ import annotations

import http.server
import io
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import ip_address

from PIL import Image

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


def is_loopback(host: object) -> bool:
    try:
        return ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@dataclass
class NetworkGuard:
    """What the code under test tried to connect to; anything non-loopback raised before it could."""

    connections: list[tuple[str, int]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def make_getaddrinfo(table: dict[str, list[str]]) -> Callable[..., list[tuple]]:
    """A getaddrinfo that answers from ``table`` (name -> addresses) and never touches DNS."""

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        infos = []
        for addr in table[host]:
            if ip_address(addr).version == 6:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (addr, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (addr, port)))
        return infos

    return getaddrinfo


def png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


class LocalServer:
    """A real HTTP server on 127.0.0.1 (free port); ``routes[path] = handler``; records what it saw."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Handler] = {}
        self.sni: list[str | None] = []  # server names clients asked for (https only)
        self.seen: list[tuple[str, str | None]] = []  # (path, Host header)
        self.bytes_sent: dict[str, int] = {}
        self.hung_up: dict[str, bool] = {}  # stream_forever: whether the client hung up (True) or the server gave up
        self._finished: dict[str, threading.Event] = {}
        server = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.seen.append((self.path, self.headers.get("Host")))
                route = server.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                route(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls else "http"
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)  # type: ignore[assignment]
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def finished(self, name: str) -> threading.Event:
        """Set when the streaming handler ``name`` has ended (its counts are then final)."""
        return self._finished.setdefault(name, threading.Event())

    @property
    def streams(self) -> dict[str, threading.Event]:
        """Every streaming handler that has started, by name, with its ``finished`` event."""
        return dict(self._finished)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_bytes(body: bytes, content_type: str = "image/png", status: int = 200) -> Handler:
    def handler(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    return handler


def redirect_to(location: str, status: int = 302) -> Handler:
    def handler(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return handler


def stream_forever(server: LocalServer, name: str, head: bytes, chunk: bytes, *, pause_s: float = 0.0,
                   declare_length: int | None = None, give_up_s: float = 5.0) -> Handler:
    """Send ``head`` then ``chunk`` repeatedly until the client hangs up; count what was sent."""
    def handler(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "image/png")
        if declare_length is not None:
            h.send_header("Content-Length", str(declare_length))
        h.send_header("Connection", "close")
        h.end_headers()
        sent, start = 0, time.monotonic()
        try:
            h.wfile.write(head)
            h.wfile.flush()
            sent += len(head)
            while time.monotonic() - start < give_up_s:
                h.wfile.write(chunk)
                h.wfile.flush()
                sent += len(chunk)
                if pause_s:
                    time.sleep(pause_s)
            server.hung_up[name] = False  # the server stopped: it gave up
        except OSError:
            server.hung_up[name] = True  # the client closed the connection while the server was sending
        finally:
            server.bytes_sent[name] = sent
            server.finished(name).set()
            h.close_connection = True
    return handler


def drip_feed(server: LocalServer, name: str, head: bytes, *, body_bytes: int, pause_s: float,
              delay_s: float = 0.0) -> Handler:
    """After ``delay_s``, declare ``len(head) + body_bytes``, send ``head``, then the rest one byte per ``pause_s``.

    ``server.bytes_sent[name]`` is set when the handler ends: short of the declared length when the client
    hung up first. ``server.finished(name)`` is set once every declared byte went out.
    """
    def handler(h: http.server.BaseHTTPRequestHandler) -> None:
        done = server.finished(name)
        time.sleep(delay_s)
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", str(len(head) + body_bytes))
        h.send_header("Connection", "close")
        h.end_headers()
        sent = 0
        try:
            h.wfile.write(head)
            h.wfile.flush()
            sent = len(head)
            for _ in range(body_bytes):
                time.sleep(pause_s)
                h.wfile.write(b"\0")
                h.wfile.flush()
                sent += 1
            done.set()
        except OSError:
            pass
        finally:
            server.bytes_sent[name] = sent
            h.close_connection = True
    return handler
