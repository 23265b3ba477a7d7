"""A real HTTP server on 127.0.0.1 that speaks rembg's protocol (``POST /api/remove``) and fails on request.

``mode`` picks the answer: ok (the given cut-out, after ``delay_s``), hang, 500, 429 (``Retry-After``), 402,
truncated (half the declared body, then the connection closes), nonimage (an HTML page with a 200),
wrongsize, noalpha; with ``recover_after=N`` only the first N requests get that answer and the later ones ok
(an upstream that recovers, with no timer racing the request). It counts requests and the most that were ever
in flight at once, which is what the concurrency-cap tests read. Standard library only, so it also runs as a
script in its own process (``python fault_server.py --port N --mode hang``) for the test that kills an upstream
mid-request: it prints ``request`` on stdout when one arrives.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM_SECRET_TEXT = b"Traceback: db password hunter2 at /srv/internal"  # must never reach our clients


class FaultServer:
    def __init__(self, mode: str = "ok", *, cutout: bytes = b"", wrong_size: bytes = b"", no_alpha: bytes = b"",
                 retry_after: str = "1", delay_s: float = 0.0, recover_after: int = 0, announce: bool = False,
                 port: int = 0) -> None:
        self.mode, self.cutout, self.wrong_size, self.no_alpha = mode, cutout, wrong_size, no_alpha
        self.retry_after, self.delay_s, self.announce = retry_after, delay_s, announce
        self.recover_after = recover_after  # 0: every request gets ``mode``
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        # a short poll, so that stop() (shutdown waits for the loop to look) is quick at every test's teardown
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> FaultServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with server._lock:
                    server.requests += 1
                    nth = server.requests
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.announce:
                        print("request", flush=True)
                    server.answer(self, nth)
                finally:
                    with server._lock:
                        server.in_flight -= 1

        return Handler

    def answer(self, h: BaseHTTPRequestHandler, nth: int = 1) -> None:
        mode = "ok" if self.recover_after and nth > self.recover_after else self.mode
        if mode == "hang":
            self.stopping.wait(600)
            return
        if mode in ("500", "402"):
            return self._send(h, int(mode), UPSTREAM_SECRET_TEXT, "text/plain")
        if mode == "429":
            return self._send(h, 429, UPSTREAM_SECRET_TEXT, "text/plain", {"Retry-After": self.retry_after})
        if mode == "nonimage":
            return self._send(h, 200, b"<html><body>" + UPSTREAM_SECRET_TEXT + b"</body></html>", "text/html")
        if mode == "truncated":
            h.send_response(200)
            h.send_header("Content-Type", "image/png")
            h.send_header("Content-Length", str(len(self.cutout)))
            h.end_headers()
            h.wfile.write(self.cutout[: len(self.cutout) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        body = {"ok": self.cutout, "wrongsize": self.wrong_size, "noalpha": self.no_alpha}[mode]
        if self.delay_s:
            time.sleep(self.delay_s)
        self._send(h, 200, body, "image/png")

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str,
              headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", default="hang")
    args = p.parse_args()
    server = FaultServer(args.mode, announce=True, port=args.port)
    print("ready", flush=True)
    sys.stdout.flush()
    server.httpd.serve_forever()
