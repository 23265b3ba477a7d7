"""A small real HTTP server speaking the API contract's shape, for testing the client and `bgremover api`.

It is not the service (that has its own end-to-end tests): it answers the documented routes and
envelopes, so the client can be tested for what it must do on the wire: 202 + task_id, polling until
final, ``wait``, ``Idempotency-Key``, 429 + Retry-After (on demand, or past ``max_in_flight``), the
error envelope, and downloading a signed result URL. "Processing" turns the input image into an RGBA
PNG of the same size after ``process_s``; URL inputs come from ``images_by_url`` or fail like a 404.
"""
from __future__ import annotations

import email.parser
import email.policy
import http.server
import io
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from PIL import Image

API_KEY = "aio_" + "k" * 40


@dataclass
class FakeTask:
    id: str
    key: str
    model: str
    output_format: str
    input: bytes | None
    error: tuple[str, str] | None
    created: float = field(default_factory=time.monotonic)
    canceled: bool = False

    def status(self, process_s: float) -> str:
        if self.canceled:
            return "canceled"
        age = time.monotonic() - self.created
        if age < process_s / 2:
            return "queued"
        if age < process_s:
            return "processing"
        return "failed" if self.error or self.input is None else "succeeded"


class ContractServer:
    def __init__(self, *, process_s: float = 0.3, max_in_flight: int = 1000, host_for_results: str = "127.0.0.1"):
        self.process_s = process_s
        self.max_in_flight = max_in_flight
        self.host_for_results = host_for_results
        self.keys = {API_KEY}
        self.images_by_url: dict[str, bytes] = {}
        self.tasks: dict[str, FakeTask] = {}
        self.idempotent: dict[str, str] = {}
        self.throttle_next = 0  # answer the next N submissions 429
        self.retry_after = "1"
        self.log: list[tuple[float, str, str, int]] = []  # (time, method, path, status)
        self.result_auth: list[str | None] = []
        # the fields of each accepted submission; the Authorization header seen on each result download
        self.submissions: list[dict[str, object]] = []
        self.lock = threading.RLock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._dispatch(self, "GET")

            def do_POST(self) -> None:
                server._dispatch(self, "POST")

            def do_DELETE(self) -> None:
                server._dispatch(self, "DELETE")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def statuses(self, path_prefix: str) -> list[int]:
        return [status for _, _, path, status in self.log if path.startswith(path_prefix)]

    # ---- routing ------------------------------------------------------------------------------------

    def _dispatch(self, h: http.server.BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        key = (h.headers.get("Authorization") or "").removeprefix("Bearer ")
        route = parts.path.rstrip("/").split("/")
        if parts.path.startswith("/api/v1/tasks/") and parts.path.endswith("/result"):
            with self.lock:
                self.result_auth.append(h.headers.get("Authorization"))
            return self._result(h, route[4], key, parse_qs(parts.query))
        if key not in self.keys:
            return self._send(h, method, 401, error=("unauthorized", "missing or unknown API key"))
        if method == "POST" and parts.path == "/api/v1/images/tools/remove-bg":
            return self._submit(h, key, body)
        if parts.path.startswith("/api/v1/tasks/") and len(route) == 5:
            task = self.tasks.get(route[4])
            if task is None or task.key != key:
                return self._send(h, method, 404, error=("task_not_found", "no such task"))
            if method == "DELETE":
                if task.status(self.process_s) != "queued":
                    return self._send(h, method, 409, error=("task_not_cancelable", "only queued tasks"))
                task.canceled = True
            return self._send(h, method, 200, self._public(task))
        if parts.path == "/api/v1/models":
            return self._send(h, method, 200, {"models": [{"id": "bg-remover", "credits": 1}]})
        if parts.path == "/billing/credits":
            return self._send(h, method, 200, {"credits": 10, "reserved": 0, "ledger": []})
        return self._send(h, method, 404, error=("not_found", "no such route"))

    def _submit(self, h: http.server.BaseHTTPRequestHandler, key: str, body: bytes) -> None:
        with self.lock:
            in_flight = sum(1 for t in self.tasks.values() if t.status(self.process_s) in ("queued", "processing"))
            if self.throttle_next > 0 or in_flight >= self.max_in_flight:
                self.throttle_next = max(0, self.throttle_next - 1)
                return self._send(h, "POST", 429, error=("rate_limited", "slow down"),
                                  headers={"Retry-After": self.retry_after, "X-RateLimit-Limit": "2"})
        try:
            fields, upload = _parse_submission(h.headers.get("Content-Type", ""), body)
        except ValueError as exc:
            return self._send(h, "POST", 400, error=("validation_error", str(exc)))
        with self.lock:
            self.submissions.append({k: v for k, v in fields.items() if k != "image"})
        idem = h.headers.get("Idempotency-Key")
        if idem and idem in self.idempotent:
            return self._send(h, "POST", 202, self._accepted(self.tasks[self.idempotent[idem]]))
        image, error = upload, None
        url = str(fields.get("image", ""))
        if upload is None and url:
            image = self.images_by_url.get(url)
            error = None if image is not None else ("image_fetch_failed", "the image URL answered HTTP 404")
        if image is not None and not _is_image(image):
            error = ("unsupported_image", "the bytes are not a JPEG, PNG or WebP image")
        task = FakeTask(uuid.uuid4().hex, key, str(fields.get("model") or "bg-remover"),
                        str(fields.get("output_format", "png")), image, error)
        with self.lock:
            self.tasks[task.id] = task
            if idem:
                self.idempotent[idem] = task.id
        wait_until = time.monotonic() + float(fields.get("wait") or 0)
        while task.status(self.process_s) not in ("succeeded", "failed") and time.monotonic() < wait_until:
            time.sleep(0.02)
        if task.status(self.process_s) in ("succeeded", "failed"):
            return self._send(h, "POST", 200, self._public(task))
        self._send(h, "POST", 202, self._accepted(task), headers={"Location": f"/api/v1/tasks/{task.id}"})

    def _result(self, h: http.server.BaseHTTPRequestHandler, task_id: str, key: str,
                query: dict[str, list[str]]) -> None:
        task = self.tasks.get(task_id)
        allowed = task is not None and (task.key == key or query.get("sig") == [f"sig-{task.id}"])
        if task is None or not allowed or task.status(self.process_s) != "succeeded":
            return self._send(h, "GET", 404, error=("task_not_found", "no such result"))
        data = _cutout(task.input or b"", task.output_format)
        self._send(h, "GET", 200, raw=data, content_type=f"image/{task.output_format}")

    # ---- shapes -------------------------------------------------------------------------------------

    def _accepted(self, task: FakeTask) -> dict[str, object]:
        return {"task_id": task.id, "status": task.status(self.process_s), "model": task.model,
                "credits_reserved": 1, "created_at": "2026-01-01T00:00:00Z"}

    def _public(self, task: FakeTask) -> dict[str, object]:
        status = task.status(self.process_s)
        result = None
        if status == "succeeded":
            url = f"http://{self.host_for_results}:{self.port}/api/v1/tasks/{task.id}/result?sig=sig-{task.id}"
            result = {"url": url, "content_type": f"image/{task.output_format}"}
        error = None
        if status == "failed":
            code, message = task.error or ("unsupported_image", "not an image")
            error = {"code": code, "message": message}
        return {"task_id": task.id, "status": status, "model": task.model, "output_format": task.output_format,
                "credits_charged": 1 if status == "succeeded" else 0, "result": result, "error": error}

    def _send(self, h: http.server.BaseHTTPRequestHandler, method: str, status: int,
              payload: object = None, *, error: tuple[str, str] | None = None, raw: bytes | None = None,
              content_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
        if error is not None:
            payload = {"error": {"code": error[0], "message": error[1]}}
        data = raw if raw is not None else json.dumps(payload).encode()
        with self.lock:
            self.log.append((time.monotonic(), method, urlsplit(h.path).path, status))
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)


def _parse_submission(content_type: str, body: bytes) -> tuple[dict[str, object], bytes | None]:
    if content_type.startswith("application/json"):
        fields = json.loads(body)
        image = str(fields.get("image", ""))
        if image.startswith("data:"):
            import base64
            return fields, base64.b64decode(image.split(",", 1)[1])
        if not image.startswith(("http://", "https://")):
            raise ValueError("image: must be an http(s) URL or a data: URI")
        return fields, None
    if content_type.startswith("multipart/form-data"):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        fields, upload = {}, None
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "image_file":
                upload = part.get_payload(decode=True)
            else:
                fields[name] = part.get_content()
        if upload is None:
            raise ValueError("image_file: required")
        return fields, upload
    raise ValueError(f"unsupported content type {content_type!r}")


def _is_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
        return True
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for non-images
        return False


def _cutout(data: bytes, fmt: str) -> bytes:
    """The input's size as an RGBA image, so tests can check the round trip."""
    with Image.open(io.BytesIO(data)) as im:
        out = im.convert("RGBA")
    alpha = Image.new("L", out.size, 255)
    alpha.paste(0, (0, 0, out.width // 2, out.height))  # the left half is "background"
    out.putalpha(alpha)
    buf = io.BytesIO()
    out.save(buf, "WEBP" if fmt == "webp" else "PNG")
    return buf.getvalue()


def png_bytes(size: tuple[int, int] = (12, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buf, "PNG")
    return buf.getvalue()
