"""Tiny test images and a local HTTP server (127.0.0.1 only) that serves them, slowly or broken on request."""
from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw


def photo_bytes(size: tuple[int, int] = (96, 64), fmt: str = "JPEG") -> bytes:
    """A red disc on green: enough structure for a real model to cut something out."""
    im = Image.new("RGB", size, (40, 150, 70))
    w, h = size
    ImageDraw.Draw(im).ellipse((w // 4, h // 6, 3 * w // 4, 5 * h // 6), fill=(210, 40, 40))
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def bomb_bytes() -> bytes:
    """A 12000x12000 PNG (144 MP, over the 36 MP limit) that is only a few kB on the wire."""
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


class ImageServer:
    """``/img/<name>`` from ``files``; ``?slow=S`` trickles the body over S seconds; ``/missing`` answers 404."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                outer.requests.append(parts.path)
                name = parts.path.removeprefix("/img/")
                if not parts.path.startswith("/img/") or name not in outer.files:
                    self.send_error(404)
                    return
                body = outer.files[name]
                slow = float(parse_qs(parts.query).get("slow", ["0"])[0])
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if slow <= 0:
                        self.wfile.write(body)
                        return
                    steps = max(1, int(slow * 10))
                    chunk = max(1, len(body) // steps + 1)
                    for i in range(0, len(body), chunk):
                        self.wfile.write(body[i:i + chunk])
                        self.wfile.flush()
                        time.sleep(slow / steps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str, **query: object) -> str:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"http://127.0.0.1:{self.port}/img/{name}" + (f"?{q}" if q else "")

    def __enter__(self) -> ImageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
