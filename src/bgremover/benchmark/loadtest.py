"""Soak a running bgremover service: a bounded stream of mixed requests, and the server's memory over time.

Client threads (1-8) send requests back to back until the time is up or ``max_requests`` were sent:

    good       an upload of a real photo: submit (with server-side ``wait``), poll if needed, download
    bad_image  an upload that is not a usable image (truncated JPEG, text, a pixel bomb): the task must fail
               with its typed code and a refund
    bad_req    a request the API must refuse at once (bad JSON, unknown model, no key, unknown task...)

Every answer is counted by its code (``ok`` or the error envelope's ``code``); an answer outside the codes
its kind expects (a 5xx, a hang past the timeout, a bad image that "succeeded") is *unexpected*. Meanwhile
the RSS of the server's process tree is sampled from /proc; a service whose memory does not level off
shows it as growth between the warm-up mark (minute 1 by default) and the end.
Only loopback addresses are accepted: this drives a local service, never someone else's.
"""
from __future__ import annotations

import io
import ipaddress
import json
import math
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from bgremover.benchmark.process_memory import MemorySample, MemorySampler

KINDS = ("good", "bad_image", "bad_req")
EXPECTED = {"good": {"ok"}, "bad_image": {"corrupt_image", "unsupported_image", "image_too_large"},
            "bad_req": {"validation_error", "unsupported_model", "unauthorized", "task_not_found"}}
ENDPOINT = "/api/v1/images/tools/remove-bg"


@dataclass(frozen=True)
class LoadPlan:
    base_url: str
    api_key: str
    duration_s: float
    concurrency: int = 4
    max_requests: int = 100_000
    mix: tuple[float, float, float] = (0.6, 0.2, 0.2)  # good, bad_image, bad_req
    model: str | None = None
    timeout_s: float = 120.0
    seed: int = 1


@dataclass
class Outcome:
    kind: str
    code: str
    latency_s: float


@dataclass
class LoadReport:
    plan: LoadPlan
    wall_s: float
    outcomes: list[Outcome]
    memory: list[MemorySample] = field(default_factory=list)
    warm_mark_s: float = 60.0

    def codes(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
        for o in self.outcomes:
            out[o.kind][o.code] += 1
        return out

    @property
    def unexpected(self) -> int:
        return sum(1 for o in self.outcomes if o.code not in EXPECTED[o.kind])

    def latency(self, kind: str | None = None) -> dict[str, float]:
        xs = sorted(o.latency_s for o in self.outcomes if kind is None or o.kind == kind)
        if not xs:
            return {}
        return {"p50": percentile(xs, 50), "p95": percentile(xs, 95), "p99": percentile(xs, 99), "max": xs[-1],
                "mean": statistics.fmean(xs)}

    def memory_at(self, t: float) -> MemorySample | None:
        """The first sample at or after ``t`` seconds (the last one if the run was shorter)."""
        later = [s for s in self.memory if s.t >= t]
        return later[0] if later else (self.memory[-1] if self.memory else None)

    @property
    def memory_growth(self) -> float | None:
        """RSS growth from the warm-up mark to the end, as a fraction (0.05 = 5 %)."""
        warm, end = self.memory_at(self.warm_mark_s), (self.memory[-1] if self.memory else None)
        if warm is None or end is None or warm.rss_bytes == 0:
            return None
        return (end.rss_bytes - warm.rss_bytes) / warm.rss_bytes

    def to_json(self) -> dict[str, Any]:
        good = sum(1 for o in self.outcomes if o.kind == "good" and o.code == "ok")
        warm, end = self.memory_at(self.warm_mark_s), (self.memory[-1] if self.memory else None)
        return {
            "base_url": self.plan.base_url, "duration_s": self.plan.duration_s, "concurrency": self.plan.concurrency,
            "model": self.plan.model, "wall_s": self.wall_s, "requests": len(self.outcomes),
            "requests_per_s": len(self.outcomes) / self.wall_s, "images_per_s": good / self.wall_s,
            "unexpected": self.unexpected, "codes": {k: dict(v) for k, v in self.codes().items()},
            "latency_s": {"all": self.latency(), **{k: self.latency(k) for k in KINDS}},
            "memory": {"warm_mark_s": self.warm_mark_s,
                       "rss_warm_mb": warm.rss_bytes / 2**20 if warm else None,
                       "rss_end_mb": end.rss_bytes / 2**20 if end else None,
                       "rss_max_mb": max(s.rss_bytes for s in self.memory) / 2**20 if self.memory else None,
                       "growth_pct": None if self.memory_growth is None else 100 * self.memory_growth,
                       "samples": [[round(s.t, 1), s.rss_bytes, s.pss_bytes, s.processes] for s in self.memory]},
        }


def percentile(sorted_xs: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    k = max(0, min(len(sorted_xs) - 1, math.ceil(p / 100 * len(sorted_xs)) - 1))
    return sorted_xs[k]


def require_loopback(base_url: str) -> None:
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"the load test drives a local service only (127.0.0.0/8, ::1, localhost), not {host!r}")


def bad_images(photo: bytes) -> list[tuple[str, bytes]]:
    from PIL import Image

    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG", optimize=True)  # 144 MP in a few kB
    return [("truncated.jpg", photo[: len(photo) // 2]), ("notes.txt", b"not an image at all\n" * 50),
            ("bomb.png", bomb.getvalue()), ("empty-ish.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40)]


class LoadDriver:
    """Runs one :class:`LoadPlan` with photos given as bytes; ``server_pid`` enables the memory figures."""

    def __init__(self, plan: LoadPlan, photos: list[bytes], *, server_pid: int | None = None,
                 sample_interval_s: float = 5.0, warm_mark_s: float = 60.0) -> None:
        require_loopback(plan.base_url)
        if not 1 <= plan.concurrency <= 8:
            raise ValueError("concurrency must be 1 to 8")
        self.plan, self.photos = plan, photos
        self.bad = bad_images(photos[0])
        self.server_pid, self.sample_interval_s, self.warm_mark_s = server_pid, sample_interval_s, warm_mark_s
        self._lock = threading.Lock()
        self._sent = 0
        self.outcomes: list[Outcome] = []

    def _take_slot(self) -> bool:
        with self._lock:
            if self._sent >= self.plan.max_requests:
                return False
            self._sent += 1
            return True

    def run(self) -> LoadReport:
        sampler = MemorySampler(self.server_pid, self.sample_interval_s) if self.server_pid else None
        if sampler:
            sampler.start()
        t0 = time.monotonic()
        deadline = t0 + self.plan.duration_s
        threads = [threading.Thread(target=self._client_loop, args=(i, deadline), daemon=True)
                   for i in range(self.plan.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.plan.duration_s + self.plan.timeout_s + 30)
        wall = time.monotonic() - t0
        memory = sampler.stop() if sampler else []
        with self._lock:
            outcomes = list(self.outcomes)
        return LoadReport(self.plan, wall, outcomes, memory, self.warm_mark_s)

    def _client_loop(self, index: int, deadline: float) -> None:
        rng = random.Random(self.plan.seed * 1000 + index)
        auth = {"Authorization": f"Bearer {self.plan.api_key}"}
        with httpx.Client(base_url=self.plan.base_url, timeout=self.plan.timeout_s) as http:
            while time.monotonic() < deadline and self._take_slot():
                kind = rng.choices(KINDS, weights=self.plan.mix)[0]
                t = time.monotonic()
                try:
                    if kind == "bad_req":
                        code = self._bad_request(http, auth, rng)
                    else:
                        name, data = (("photo.jpg", rng.choice(self.photos)) if kind == "good"
                                      else rng.choice(self.bad))
                        code = self._image(http, auth, name, data, t)
                except httpx.TimeoutException:
                    code = "client_timeout"
                except httpx.TransportError as exc:
                    code = f"transport_{type(exc).__name__}"
                with self._lock:
                    self.outcomes.append(Outcome(kind, code, time.monotonic() - t))

    def _image(self, http: httpx.Client, auth: dict[str, str], name: str, data: bytes, t0: float) -> str:
        form = {"wait": "30", **({"model": self.plan.model} if self.plan.model else {})}
        r = http.post(ENDPOINT, headers=auth, data=form, files={"image_file": (name, data)})
        if r.status_code >= 400:
            return _code(r)
        task = r.json()
        while task["status"] not in ("succeeded", "failed", "canceled"):
            if time.monotonic() - t0 > self.plan.timeout_s:
                return "task_timeout"
            time.sleep(0.2)
            g = http.get(f"/api/v1/tasks/{task['task_id']}", headers=auth)
            if g.status_code >= 400:
                return _code(g)
            task = g.json()
        if task["status"] != "succeeded":
            return (task.get("error") or {}).get("code") or task["status"]
        d = http.get(task["result"]["url"])  # the signed URL, no key
        if d.status_code != 200:
            return _code(d)
        return "ok" if d.content[:4] in (b"\x89PNG", b"RIFF") else "bad_result_bytes"

    def _bad_request(self, http: httpx.Client, auth: dict[str, str], rng: random.Random) -> str:
        choice = rng.randrange(6)
        if choice == 0:
            r = http.post(ENDPOINT, headers={**auth, "Content-Type": "application/json"}, content=b'{"image": ')
        elif choice == 1:
            r = http.post(ENDPOINT, headers=auth, json={"image": "data:image/png;base64,AAAA", "model": "no-such"})
        elif choice == 2:
            r = http.post(ENDPOINT, headers=auth, json={"image": "ftp://127.0.0.1/x.jpg"})
        elif choice == 3:
            r = http.post(ENDPOINT, json={"image": "data:image/png;base64,AAAA"})  # no key
        elif choice == 4:
            r = http.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000", headers=auth)
        else:
            r = http.post(ENDPOINT, headers=auth, json={"image": "data:,x", "output_format": "gif"})
        return _code(r) if r.status_code >= 400 else f"accepted_{r.status_code}"


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"http_{r.status_code}"


def save_report(report: LoadReport, path: str) -> None:
    with open(path, "w") as f:
        json.dump(report.to_json(), f, indent=1)
