"""Make ``/openapi.json`` document the error statuses the API really answers, from the table in ``web/errors.py``.

FastAPI documents a 422 for every operation with parameters, but our validation errors answer 400
(``validation_error``), and it knows nothing of the statuses our errors map to. A client generated from
the schema, or a schema-driven fuzzer (schemathesis, tests/hardening/test_schema.py), would call every
real error answer a contract violation. So after the routes are built, each operation gets: 400 instead of
422; 401 and 429 when it takes an API key; and the codes listed for it in ``OPERATION_ERRORS``. Every 401
also documents its ``WWW-Authenticate`` challenge (RFC 6750), which the answer always carries.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from bgremover.web.errors import BEARER_REALM, ERRORS
from bgremover.web.schemas import ErrorEnvelope

ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
KEY_ERRORS = ("unauthorized", "rate_limited")
OPERATION_ERRORS: dict[tuple[str, str], tuple[str, ...]] = {
    ("post", "/api/v1/images/tools/remove-bg"): (
        "unsupported_model", "image_fetch_failed", "image_fetch_forbidden", "insufficient_credits", "image_too_large",
        "idempotency_conflict", "queue_full", "model_not_available", "license_not_accepted", "storage_full"),
    ("get", "/api/v1/tasks/{task_id}"): ("task_not_found",),
    ("delete", "/api/v1/tasks/{task_id}"): ("task_not_found", "task_not_cancelable"),
    ("get", "/api/v1/tasks/{task_id}/result"): ("task_not_found", "result_not_ready", "result_expired"),
    ("post", "/billing/webhooks/payment"): ("webhook_rejected", "webhook_disabled"),
    ("get", "/metrics"): ("unauthorized",),  # only when BGREMOVER_METRICS_TOKEN is set
}
API_KEY_CHALLENGE = (f'`Bearer realm="{BEARER_REALM}"`, plus `, error="invalid_token"` when a key was sent but is '
                     'unknown or revoked (RFC 6750).')
CHALLENGES = {"/metrics": '`Bearer realm="metrics"` (the metrics token, not an API key).'}


def _challenge_header(path: str) -> dict[str, Any]:
    """The 401's ``WWW-Authenticate``, required: a schema-driven check then fails an answer that lacks it."""
    return {"WWW-Authenticate": {"description": CHALLENGES.get(path, API_KEY_CHALLENGE), "required": True,
                                 "schema": {"type": "string"}}}


def _codes_for(method: str, path: str, op: dict[str, Any]) -> list[str]:
    codes = ["validation_error"] if op.get("parameters") or op.get("requestBody") else []
    if op.get("security"):
        codes += KEY_ERRORS
    return codes + list(OPERATION_ERRORS.get((method, path), ()))


def document_errors(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so the generated schema lists every error status each operation can answer."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, sub in ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}").get(
                "$defs", {}).items():
            components.setdefault(name, sub)
        components.setdefault("ErrorEnvelope", {k: v for k, v in ErrorEnvelope.model_json_schema(
            ref_template="#/components/schemas/{model}").items() if k != "$defs"})
        for path, item in schema.get("paths", {}).items():
            for method, op in item.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                responses = op["responses"]
                responses.pop("422", None)
                by_status: dict[str, list[str]] = {}
                for code in _codes_for(method, path, op):
                    by_status.setdefault(str(ERRORS[code].status), []).append(code)
                for status, codes in by_status.items():
                    entry = responses.setdefault(status, {"description": "",
                                                          "content": {"application/json": {"schema": ENVELOPE_REF}}})
                    listed = ", ".join(f"`{c}`" for c in codes)
                    entry["description"] = (entry.get("description", "") + f" Error codes: {listed}.").strip()
                    if status == "401":
                        entry.setdefault("headers", {}).update(_challenge_header(path))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
