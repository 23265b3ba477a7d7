"""remove.bg's error shape, ``{"errors": [{"title", "detail", "code"}]}``, and its statuses, for the /v1.0 routes.

Every failure on these routes, from the API key check to an unexpected exception, is answered here, so a
remove.bg client never sees our native ``{"error": {...}}`` envelope. ``code`` is our stable error code
(docs/errors.md); ``title`` is remove.bg's wording; the status is remove.bg's where it has one: 400 for any
bad input (remove.bg answers a too-large file with 400, not 413), 402 no credits, 403 a missing or bad key,
429 with ``Retry-After``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from bgremover.errors import BgRemoverError
from bgremover.service.errors import QueueFull, RateLimited
from bgremover.web.errors import InvalidApiKey, status_for

log = logging.getLogger(__name__)

PROCESSING_TIMEOUT = "processing_timeout"  # ours alone: the synchronous wait ran out (see routes.py)
TITLES = {
    "validation_error": "Invalid parameters",
    "unsupported_image": "Failed to read image",
    "corrupt_image": "Failed to read image",
    "image_too_large": "File too large",
    "image_fetch_failed": "Failed to download image",
    "image_fetch_forbidden": "Failed to download image",
    "unsupported_model": "Invalid parameters",
    "unauthorized": "Missing API Key",
    "insufficient_credits": "Insufficient credits",
    "rate_limited": "Rate limit exceeded",
    "queue_full": "Service busy",
    "idempotency_conflict": "Idempotency conflict",
    "storage_full": "Storage full",
    "service_unavailable": "Service unavailable",
    PROCESSING_TIMEOUT: "Processing timeout",
}
STATUSES = {"unauthorized": 403, "insufficient_credits": 402, "rate_limited": 429, PROCESSING_TIMEOUT: 503}
ERROR_SCHEMA: dict[str, Any] = {"type": "object", "required": ["errors"], "properties": {"errors": {
    "type": "array", "items": {"type": "object", "required": ["title"], "properties": {
        "title": {"type": "string"}, "detail": {"type": "string"}, "code": {"type": "string"}}}}}}


def status_of(code: str) -> int:
    if code in STATUSES:
        return STATUSES[code]
    status = status_for(code)
    return 400 if 400 <= status < 500 and status not in (402, 409) else status


def removebg_error(code: str, detail: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    title = TITLES.get(code, "Internal error" if status_of(code) >= 500 else "Invalid request")
    return JSONResponse({"errors": [{"title": title, "detail": detail, "code": code}]}, status_code=status_of(code),
                        headers=headers)


def _from_bgremover(exc: BgRemoverError) -> JSONResponse:
    if isinstance(exc, InvalidApiKey):
        return JSONResponse({"errors": [{"title": "Invalid API Key", "detail": exc.message, "code": exc.code}]},
                            status_code=403)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after), "X-RateLimit-Limit": str(exc.limit),
                   "X-RateLimit-Remaining": str(exc.remaining), "X-RateLimit-Reset": str(exc.reset or exc.retry_after)}
    elif isinstance(exc, QueueFull):
        headers = {"Retry-After": str(exc.retry_after)}
    detail = "send your API key in the X-Api-Key header" if exc.code == "unauthorized" else exc.message
    return removebg_error(exc.code, detail, headers=headers)


def error_for(exc: Exception) -> JSONResponse:
    """The remove.bg-shaped answer to any exception raised while handling a /v1.0 request."""
    if isinstance(exc, BgRemoverError):
        return _from_bgremover(exc)
    if isinstance(exc, RequestValidationError):
        err = (exc.errors() or [{}])[0]
        where = ".".join(str(x) for x in err.get("loc", ())) or "request"
        return removebg_error("validation_error", f"{where}: {err.get('msg', 'invalid')}")
    if isinstance(exc, HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "invalid request"
        return removebg_error("validation_error" if exc.status_code < 500 else "internal_error", detail)
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        # a full database raised StorageFull at the store's edge (a BgRemoverError, above): this one is down or locked
        return removebg_error("service_unavailable", "the database is briefly unavailable; retry shortly",
                              headers={"Retry-After": "2"})
    log.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return removebg_error("internal_error", "internal error; it has been logged")


class RemoveBgRoute(APIRoute):
    """A route whose every error, dependencies' included (the API key, the rate limit), is remove.bg-shaped."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - every failure gets remove.bg's shape
                return error_for(exc)

        return handle
