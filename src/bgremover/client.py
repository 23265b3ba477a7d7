"""A small client for the bgremover HTTP API: submit, wait, download, or all three with ``remove``.

    with Client("http://127.0.0.1:8000", api_key) as client:
        png = client.remove("https://example.com/cat.jpg")

Rate limits are part of the contract, so the client honours them instead of failing: a 429 (or a 503
with ``Retry-After``) is retried after the time the server asks for. Every error the API answers
becomes a :class:`ClientError` with the envelope's stable ``code``. The key is only ever sent to the
endpoint's own origin, never to a result URL on another host, and never appears in ``repr`` or errors.
"""
from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self
from urllib.parse import urljoin

import httpx

__all__ = ["FINAL_STATUSES", "Client", "ClientError"]

FINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
_URL_PREFIXES = ("http://", "https://", "data:")
ImageSource = str | os.PathLike[str] | bytes


class ClientError(Exception):
    """An error answered by the API (``code`` from its envelope), a failed task, or a transport problem.

    ``status`` is the HTTP status, or None for a task that failed and for network errors
    (``code`` is then ``connection_error``, ``timeout`` or ``wait_timeout``).
    """

    def __init__(self, code: str, message: str, status: int | None = None, *,
                 retry_after: float | None = None, task: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}" + (f" (HTTP {status})" if status else ""))
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.task = dict(task) if task is not None else None


class Client:
    """Thread-safe: one Client may serve many concurrent calls (``bgremover api remove`` does)."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 30.0, *, max_retries: int = 8,
                 max_retry_wait_s: float = 60.0, transport: httpx.BaseTransport | None = None) -> None:
        if not api_key:
            raise ValueError("an API key is required")
        self.base_url = base_url.rstrip("/") + "/"
        self.max_retries = max_retries
        self.max_retry_wait_s = max_retry_wait_s
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._origin = _origin(httpx.URL(self.base_url))
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  headers={"User-Agent": "bgremover-client", "Accept": "application/json"})

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---- the contract -------------------------------------------------------------------------------

    def submit(self, image: ImageSource, model: str | None = None, output_format: str = "png", *,
               wait: float | None = None, idempotency_key: str | None = None, **options: Any) -> dict[str, Any]:
        """Queue a removal; the accepted task (202), or the finished one when ``wait`` was long enough."""
        fields: dict[str, Any] = {"model": model, "output_format": output_format, "wait": wait,
                                  **{k: v for k, v in options.items()}}
        fields = {k: v for k, v in fields.items() if v is not None}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        path = "api/v1/images/tools/remove-bg"
        if isinstance(image, str) and image.startswith(_URL_PREFIXES):
            return _json(self._request("POST", path, json={"image": image, **fields}, headers=headers))
        name, data = _read_image(image)
        form = {k: _form_value(v) for k, v in fields.items()}
        files = {"image_file": (name, data, "application/octet-stream")}
        return _json(self._request("POST", path, data=form, files=files, headers=headers))

    def get(self, task_id: str) -> dict[str, Any]:
        return _json(self._request("GET", f"api/v1/tasks/{task_id}"))

    def cancel(self, task_id: str) -> dict[str, Any]:
        return _json(self._request("DELETE", f"api/v1/tasks/{task_id}"))

    def wait(self, task_id: str, timeout: float = 300.0, *, poll_interval: float = 0.25,
             max_interval: float = 2.0) -> dict[str, Any]:
        """Poll until the task is final (succeeded, failed or canceled), backing off exponentially."""
        deadline = time.monotonic() + timeout
        interval = poll_interval
        while True:
            task = self.get(task_id)
            if task.get("status") in FINAL_STATUSES:
                return task
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClientError("wait_timeout", f"task {task_id} is still {task.get('status')} after {timeout:g} s",
                                  task=task)
            time.sleep(min(interval, remaining))
            interval = min(interval * 2, max_interval)

    def download(self, url: str) -> bytes:
        """The result image; the key is sent only when the URL is on the endpoint's own origin."""
        absolute = httpx.URL(urljoin(self.base_url, url))
        same_origin = _origin(absolute) == self._origin
        return self._request("GET", str(absolute), auth=same_origin, accept="*/*").content

    def remove(self, image: ImageSource, model: str | None = None, output_format: str = "png", *,
               timeout: float = 300.0, **options: Any) -> bytes:
        """submit + wait + download: the cut-out's bytes, or ClientError with the task's error code.

        The submission asks the server to hold the answer until the task is done (``wait``, up to 60 s), so a
        result comes back as soon as it exists instead of at the next poll; polling takes over after that.
        """
        options.setdefault("wait", min(60.0, timeout))
        task = self.submit(image, model, output_format, **options)
        if task.get("status") not in FINAL_STATUSES:
            task = self.wait(task["task_id"], timeout)
        if task.get("status") != "succeeded":
            error = task.get("error") or {}
            raise ClientError(error.get("code", task.get("status", "failed")),
                              error.get("message", f"task {task.get('task_id')} ended {task.get('status')}"),
                              task=task)
        return self.download(task["result"]["url"])

    def models(self) -> list[dict[str, Any]]:
        models: list[dict[str, Any]] = _json(self._request("GET", "api/v1/models"))["models"]
        return models

    def credits(self) -> dict[str, Any]:
        return _json(self._request("GET", "billing/credits"))

    # ---- transport ----------------------------------------------------------------------------------

    def _request(self, method: str, url: str, *, auth: bool = True, accept: str | None = None,
                 headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        target = url if "://" in url else urljoin(self.base_url, url)
        sent = {**(self._auth if auth else {}), **(headers or {}), **({"Accept": accept} if accept else {})}
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.request(method, target, headers=sent, **kwargs)
            except httpx.TimeoutException as exc:
                raise ClientError("timeout", f"{method} {_safe(target)} timed out ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                raise ClientError("connection_error", f"{method} {_safe(target)} failed: {exc}") from None
            retry_after = _retry_after(response)
            throttled = response.status_code == 429 or (response.status_code == 503 and retry_after is not None)
            if throttled and attempt < self.max_retries:
                delay = retry_after if retry_after is not None else 0.5 * 2 ** attempt
                time.sleep(min(max(delay, 0.0), self.max_retry_wait_s))
                continue
            if response.is_error:
                raise _error_from(response, retry_after)
            return response
        raise AssertionError("unreachable")


def _json(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise ClientError("bad_response", f"expected a JSON object, got {type(body).__name__}", response.status_code)
    return body


def _read_image(image: ImageSource) -> tuple[str, bytes]:
    if isinstance(image, bytes | bytearray):
        return "image", bytes(image)
    path = Path(image)
    if not path.is_file():
        raise ClientError("validation_error", f"{str(image)[:200]!r} is not an http(s) URL, a data: URI or a file")
    return path.name, path.read_bytes()


def _form_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_from(response: httpx.Response, retry_after: float | None) -> ClientError:
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code = "http_error"
        message = f"{response.request.method} {_safe(str(response.request.url))} answered " \
                  f"{response.status_code} {response.reason_phrase}: {response.text[:200]}"
    return ClientError(code, message, response.status_code, retry_after=retry_after)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or {"http": 80, "https": 443}.get(url.scheme)


def _safe(url: str) -> str:
    """A URL for messages: no query (signed result URLs carry their signature there)."""
    return url.split("?", 1)[0]
