"""How much one account's drip-feeding URLs delay another account's task, measured on a running service.

A loopback upstream serves a good photo and "drip" URLs (a JPEG header, then ``drip_rate`` bytes a second).
Account B's latency for one URL task (``wait``, as a client would) is timed alone, then again right after
account A has submitted ``drips`` drip URLs. The service must allow loopback fetches for the run
(``BGREMOVER_FETCH_ALLOW_NETWORKS=127.0.0.1/32``); traffic never leaves 127.0.0.1.
"""
from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


class DripUpstream:
    """``/good.jpg`` at once; ``/drip/N.jpg`` as a JPEG header then a byte every ``1/drip_rate`` s for ``hold_s``."""

    def __init__(self, photo: bytes, *, drip_rate: float, hold_s: float) -> None:
        self.photo, self.drip_rate, self.hold_s = photo, drip_rate, hold_s
        self.drips_open = 0
        self.drips_finished = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/drip/"):
                    outer._drip(self)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(outer.photo)))
                self.end_headers()
                self.wfile.write(outer.photo)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _drip(self, h: BaseHTTPRequestHandler) -> None:
        body = int(self.drip_rate * self.hold_s) + 1
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", str(len(JPEG_HEAD) + body))
        h.end_headers()
        with self._lock:
            self.drips_open += 1
        try:
            h.wfile.write(JPEG_HEAD)
            for _ in range(body):
                h.wfile.flush()
                time.sleep(1 / self.drip_rate)
                h.wfile.write(b"\0")
            with self._lock:
                self.drips_finished += 1
        except OSError:
            pass
        finally:
            with self._lock:
                self.drips_open -= 1

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class DripReport:
    drips: int
    drip_rate: float
    alone_s: list[float] = field(default_factory=list)
    attacked_s: list[float] = field(default_factory=list)
    drips_open_when_b_finished: list[int] = field(default_factory=list)
    attacker_outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def delay_s(self) -> float:
        return statistics.median(self.attacked_s) - statistics.median(self.alone_s)

    def to_json(self) -> dict[str, Any]:
        return {"drips": self.drips, "drip_rate_bytes_per_s": self.drip_rate, "b_alone_s": self.alone_s,
                "b_under_attack_s": self.attacked_s, "median_delay_s": self.delay_s,
                "drips_open_when_b_finished": self.drips_open_when_b_finished,
                "attacker_outcomes": self.attacker_outcomes}


def measure_drip_delay(base_url: str, victim_key: str, attacker_key: str, photo: bytes, *, drips: int = 16,
                       drip_rate: float = 1.0, hold_s: float = 60.0, rounds: int = 3,
                       model: str | None = None) -> DripReport:
    """B's URL-task latency alone and under A's ``drips`` drip URLs, ``rounds`` times each (A's tasks end each
    round: failed by the service's deadline or rate floor, and refunded)."""
    from bgremover.client import Client

    upstream = DripUpstream(photo, drip_rate=drip_rate, hold_s=hold_s)
    report = DripReport(drips, drip_rate)
    try:
        with Client(base_url, victim_key, timeout=300) as b, Client(base_url, attacker_key, timeout=300) as a:
            b.remove(upstream.url("/good.jpg"), model=model)  # warm: models loaded in the worker
            for _ in range(rounds):
                t = time.perf_counter()
                b.remove(upstream.url("/good.jpg"), model=model)
                report.alone_s.append(time.perf_counter() - t)
            for r in range(rounds):
                attack = [a.submit(upstream.url(f"/drip/{r}-{i}.jpg"), model=model)["task_id"]
                          for i in range(drips)]
                t = time.perf_counter()
                b.remove(upstream.url("/good.jpg"), model=model)
                report.attacked_s.append(time.perf_counter() - t)
                report.drips_open_when_b_finished.append(upstream.drips_open)
                for tid in attack:
                    task = a.wait(tid, timeout=600)
                    key = (task.get("error") or {}).get("code") or task["status"]
                    report.attacker_outcomes[key] = report.attacker_outcomes.get(key, 0) + 1
    finally:
        upstream.close()
    return report
