"""Every error code the API answers with, its HTTP status, and the one envelope: ``{"error": {"code", "message"}}``.

``ERRORS`` is the single table; ``docs/errors.md`` is generated from it (``python -m bgremover.web.errors``)
and a test keeps the two equal. Codes marked ``task`` appear in a failed task's ``error.code``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from bgremover.errors import BgRemoverError
from bgremover.service.errors import QueueFull, RateLimited, Unauthorized

log = logging.getLogger(__name__)

BEARER_REALM = "bgremover"  # /metrics has its own realm ("metrics"): another token protects it


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    where: str  # "http": an HTTP answer; "task": a failed task's error; "both"
    meaning: str


ERRORS: dict[str, ErrorSpec] = {
    "validation_error": ErrorSpec(400, "http", "The request body, a parameter or a header is malformed or out of "
                                               "range."),
    "provider_not_allowed": ErrorSpec(400, "http", "The request's `provider` is not one the operator lets clients "
                                                   "choose (`pinnable = true`) for this model; see "
                                                   "docs/providers.md."),
    "unsupported_model": ErrorSpec(400, "http", "No such model on this endpoint; see GET /api/v1/models."),
    "model_not_available": ErrorSpec(503, "both", "The model's weights are not installed on this endpoint."),
    "license_not_accepted": ErrorSpec(503, "both", "The model's weights need a licence the operator has not "
                                                   "accepted; the message names the server setting, e.g. "
                                                   "`BGREMOVER_ACCEPT_LICENSES=agpl-3.0`."),
    "unauthorized": ErrorSpec(401, "http", "No API key, or an unknown or revoked one. The answer carries "
                                           f"`WWW-Authenticate: Bearer realm=\"{BEARER_REALM}\"` (RFC 6750), plus "
                                           "`, error=\"invalid_token\"` when a key was sent; /metrics answers "
                                           "`realm=\"metrics\"`."),
    "insufficient_credits": ErrorSpec(402, "http", "The balance does not cover the model's credits; nothing was "
                                                   "created."),
    "rate_limited": ErrorSpec(429, "http", "Over one of three limits, named in the message and in "
                                           "`X-RateLimit-Scope`: `submissions` per key and minute (POST, DELETE; "
                                           "`BGREMOVER_RATE_LIMIT_PER_MINUTE`, 120), `reads` per key and minute "
                                           "(GET: polling, lists, results; `BGREMOVER_READ_RATE_LIMIT_PER_MINUTE`, "
                                           "1200), or `tasks` in flight per account "
                                           "(`BGREMOVER_MAX_TASKS_IN_FLIGHT`, 16; a balance that cannot pay is 402 "
                                           "first). Retry after Retry-After."),
    "queue_full": ErrorSpec(503, "http", "The service is saturated (queue deeper than its limit); retry after "
                                         "Retry-After."),
    "task_not_found": ErrorSpec(404, "http", "No such task for this key (another account's task answers the same)."),
    "task_not_cancelable": ErrorSpec(409, "http", "Only a queued task can be canceled."),
    "result_not_ready": ErrorSpec(409, "http", "The task has not succeeded yet."),
    "result_expired": ErrorSpec(410, "http", "The result has passed its expiry and was deleted."),
    "idempotency_conflict": ErrorSpec(409, "http", "The Idempotency-Key was already used for a different request."),
    "not_found": ErrorSpec(404, "http", "No such route."),
    "method_not_allowed": ErrorSpec(405, "http", "The route exists but not with this method."),
    "image_too_large": ErrorSpec(413, "both", "The image has more bytes or pixels than this endpoint accepts."),
    "unsupported_image": ErrorSpec(400, "both", "The bytes are not a JPEG, PNG or WebP image."),
    "corrupt_image": ErrorSpec(400, "both", "The image is truncated or cannot be decoded."),
    "image_fetch_failed": ErrorSpec(400, "both", "The image URL could not be fetched (unreachable, HTTP error, too "
                                                "slow, too many redirects, malformed data: URI)."),
    "image_fetch_forbidden": ErrorSpec(400, "both", "The image URL points to an address the SSRF policy refuses, "
                                                   "or carries credentials."),
    "model_corrupt": ErrorSpec(500, "task", "The model file on the server fails its checksum (operator: re-fetch "
                                            "it)."),
    "model_fetch_failed": ErrorSpec(500, "task", "The server could not fetch the model's weights."),
    "catalog_invalid": ErrorSpec(500, "task", "The operator's model catalog is malformed (a preset's recipe)."),
    "account_not_found": ErrorSpec(404, "http", "No such account (administration)."),
    "account_exists": ErrorSpec(409, "http", "An account with this email exists already (administration)."),
    "key_not_found": ErrorSpec(404, "http", "No such API key (administration)."),
    "task_lease_expired": ErrorSpec(500, "task", "The worker processing the task died on every attempt."),
    "order_not_found": ErrorSpec(404, "http", "No such credit order (another account's order answers the same)."),
    "order_not_pending": ErrorSpec(409, "http", "The order is already paid or canceled."),
    "webhook_rejected": ErrorSpec(400, "http", "A payment webhook with a bad signature, a timestamp outside the "
                                               "tolerance (a replay), or a body that is not a valid event."),
    "webhook_disabled": ErrorSpec(404, "http", "No payment webhook secret is configured on this endpoint."),
    "invite_invalid": ErrorSpec(410, "http", "An invitation link that is malformed, expired or already used."),
    "csrf_failed": ErrorSpec(403, "http", "A dashboard form or console call without this session's CSRF token."),
    "forbidden": ErrorSpec(403, "http", "Signed in, but this page is for administrators."),
    "service_unavailable": ErrorSpec(503, "http", "The database is briefly unreachable or locked; retry after "
                                                  "Retry-After (nothing was created or charged)."),
    "storage_full": ErrorSpec(507, "both", "The server has no space left to store a request (nothing was "
                                           "created or charged) or a result (the task fails, refunded); try again "
                                           "later."),
    "upstream_unavailable": ErrorSpec(503, "task", "Every provider that serves the model failed (down, too slow, "
                                                   "rate limited or out of credits upstream); the task is refunded. "
                                                   "See docs/providers.md."),
    "internal_error": ErrorSpec(500, "both", "An unexpected error; it is logged on the server."),
}


def status_for(code: str) -> int:
    spec = ERRORS.get(code)
    return spec.status if spec else 500


def error_response(code: str, message: str, status: int | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status or status_for(code),
                        headers=headers)


class InvalidApiKey(Unauthorized):
    """An API key was sent but is unknown or revoked; the challenge tells the client so (RFC 6750 ``invalid_token``).

    Raised by ``web/deps.py`` only: the service layer answers ``None`` for a bad key and knows no HTTP challenges.
    """


def bearer_challenge(exc: Unauthorized) -> str:
    """RFC 6750 §3: a 401 names the scheme and realm, so a client knows it needs a Bearer key; the ``error``
    attribute only when a key was sent, none when the request carried no credentials."""
    challenge = f'Bearer realm="{BEARER_REALM}"'
    return f'{challenge}, error="invalid_token"' if isinstance(exc, InvalidApiKey) else challenge


def _error_headers(exc: BgRemoverError) -> dict[str, str]:
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": bearer_challenge(exc)}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after), "X-RateLimit-Limit": str(exc.limit),
                "X-RateLimit-Remaining": str(exc.remaining), "X-RateLimit-Reset": str(exc.reset or exc.retry_after),
                "X-RateLimit-Scope": exc.scope}
    if isinstance(exc, QueueFull):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body",)) or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def allowed_methods(request: Request) -> set[str] | None:
    """For a 405: every method the app's router would route at the request's path (RFC 9110 §10.2.1, ``Allow``
    names all the target resource supports), or ``None`` when the router did route this request (the 405 came
    from inside, e.g. a mounted static app): that answer's own ``Allow`` stands.

    Starlette's 405 names the methods of the first route whose path matches only, and FastAPI has one route per
    path operation. Each method is probed with ``route.matches`` on a fresh scope, the app's own path and root
    path (a mount rewrites ``root_path``), so included routers count and HEAD appears only where it is routed.
    """
    scope = request.scope
    root_path = scope.get("app_root_path", scope.get("root_path", ""))

    def routed(method: str) -> bool:
        probe = {"type": "http", "method": method, "path": scope["path"], "root_path": root_path}
        return any(route.matches(probe)[0] is Match.FULL for route in request.app.routes)

    if routed(request.method):
        return None
    return {method for method in HTTP_METHODS if routed(method)}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BgRemoverError)
    async def _bgremover_error(_req: Request, exc: BgRemoverError) -> JSONResponse:
        if exc.code not in ERRORS:
            log.error("error code %s is missing from web/errors.py ERRORS", exc.code)
        return error_response(exc.code, exc.message, headers=_error_headers(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response("validation_error", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "validation_error", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
                413: "image_too_large"}.get(exc.status_code, "internal_error")
        detail = exc.detail if isinstance(exc.detail, str) else code
        return error_response(code, detail, status=exc.status_code, headers=getattr(exc, "headers", None))

    async def _method_not_allowed(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = await _http(req, exc)  # the same envelope as every HTTP error; only Allow is widened
        methods = allowed_methods(req)
        if methods is not None:
            methods |= {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
            response.headers["Allow"] = ", ".join(sorted(methods))
        return response

    app.add_exception_handler(405, _method_not_allowed)  # a status handler wins over the class handler above

    async def _database_down(_req: Request, exc: Exception) -> JSONResponse:
        # a transaction that failed on a lost or locked database rolled back whole: safe to retry (a full one
        # raised StorageFull at the store's edge, answered 507 by the handler above)
        log.warning("database unavailable: %s", type(exc).__name__)
        return error_response("service_unavailable", "the database is briefly unavailable; retry shortly",
                              headers={"Retry-After": "2"})

    for db_error in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(db_error, _database_down)

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s", type(exc).__name__, exc_info=exc)
        return error_response("internal_error", "internal error; it has been logged")


def render_markdown() -> str:
    lines = ["# Error codes", "",
             "Every error answers `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}` with the status below.",
             "A failed task carries the same `{code, message}` in its `error` field (column *where*: `task`/`both`).",
             "Generated from `src/bgremover/web/errors.py` (`python -m bgremover.web.errors > docs/errors.md`).", "",
             "| code | HTTP status | where | meaning |", "|---|---|---|---|"]
    for code, spec in ERRORS.items():
        lines.append(f"| `{code}` | {spec.status} | {spec.where} | {spec.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
