"""remove.bg's API on our keys and credits: ``POST /v1.0/removebg`` and ``GET /v1.0/account``.

A call goes through the same task path as ``POST /api/v1/images/tools/remove-bg`` (``service.tasks.submit_task``:
credits reserved, then charged on success or refunded on failure; limits, idempotency, metrics, the ledger and
the dashboard all see it), and then waits server-side, up to ``BGREMOVER_REMOVEBG_WAIT_S``, for the task to
finish, because remove.bg answers synchronously.
"""
from __future__ import annotations

import base64
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials

from bgremover.fetching import fetch_image
from bgremover.imaging.background import reencode_background
from bgremover.inference.catalog import Preset
from bgremover.service import credits
from bgremover.service.errors import TaskNotCancelable, Unauthorized, disk_full_as_storage_full
from bgremover.service.results import read_result
from bgremover.service.tasks import (FINAL, QUEUED, SUCCEEDED, TaskRecord, TaskRequest, cancel_task, get_task,
                                     submit_task, task_status)
from bgremover.web.deps import Principal, StateDep, optional_principal
from bgremover.web.removebg.errors import ERROR_SCHEMA, PROCESSING_TIMEOUT, RemoveBgRoute, removebg_error
from bgremover.web.removebg.params import ACCEPTED, translate
from bgremover.web.removebg.request import UPLOAD_STORAGE_FULL, checked_bg_url, read_input
from bgremover.web.removebg.responses import account_body, result_response
from bgremover.web.state import AppState

router = APIRouter(route_class=RemoveBgRoute, tags=["remove.bg compatible"])
log = logging.getLogger(__name__)

_FIELDS = {k: {"type": "string"} for k in sorted(ACCEPTED - {"image_file"})}
REQUEST_BODY: dict[str, Any] = {"content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "image_file": {"type": "string", "format": "binary"}, "bg_image_file": {"type": "string", "format": "binary"},
        **_FIELDS}}},
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": _FIELDS}},
    "application/json": {"schema": {"type": "object", "properties": _FIELDS}}}}
_ERROR = {"description": "remove.bg's error shape", "content": {"application/json": {"schema": ERROR_SCHEMA}}}
_ERRORS: dict[int | str, dict[str, Any]] = {status: dict(_ERROR) for status in (400, 402, 403, 409, 429, 500, 503, 507)}
_IMAGE = {"schema": {"type": "string", "format": "binary"}}
RESULT = {"description": "the cut-out (or remove.bg's JSON with Accept: application/json)", "content": {
    "image/png": _IMAGE, "image/jpeg": _IMAGE, "image/webp": _IMAGE, "application/zip": _IMAGE,
    "application/json": {"schema": {"type": "object"}}}}


api_key = APIKeyHeader(name="X-Api-Key", auto_error=False, description="an API key, as remove.bg's clients send it")


def removebg_principal(request: Request, response: Response, state: StateDep,
                       _key: Annotated[str | None, Security(api_key)]) -> Principal:
    """The caller from ``X-Api-Key`` (or ``Authorization: Bearer``), checked and rate-limited as on every route."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    bearer = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if token else None
    principal = optional_principal(request, response, state, bearer, _key)
    if principal is None:
        raise Unauthorized("missing API key")
    return principal


Caller = Annotated[Principal, Depends(removebg_principal)]


def default_preset(state: AppState) -> Preset:
    """The preset a remove.bg call runs: the endpoint's default model, by the service's one rule (availability,
    licence, price)."""
    return state.models.resolve(None)


def _background(data: bytes | None, url: str | None, state: AppState, max_megapixels: float | None) -> str | None:
    """The background image, fetched through the SSRF-safe fetcher when given by URL, decoded within our bounds
    (a bad one is a 400 now, not a failed task), no larger than the output can use, as base64 JPEG for the task's
    options (which the database holds)."""
    if url is not None:
        data = fetch_image(checked_bg_url(url), state.settings).data
    if data is None:
        return None
    cap = 4 * max_megapixels if max_megapixels else state.settings.max_image_pixels / 1e6
    jpeg = reencode_background(data, max_bytes=state.settings.max_image_bytes,
                               max_pixels=state.settings.max_image_pixels, max_megapixels=cap)
    return base64.b64encode(jpeg).decode("ascii")


async def _wait(state: AppState, task: TaskRecord, account_id: int) -> TaskRecord:
    """The task once final, or as it stands when the wait runs out (then canceled and refunded if still queued)."""
    if task.status not in FINAL and not await state.watch.until_final(task.id, state.settings.removebg_wait_s):
        if await run_in_threadpool(task_status, state.db, task.id) == QUEUED:  # never started: the client retries
            try:
                await run_in_threadpool(cancel_task, state.db, state.blobs, task_id=task.id, account_id=account_id)
            except TaskNotCancelable:
                pass
    return await run_in_threadpool(get_task, state.db, task.id)


@router.post("/v1.0/removebg", openapi_extra={"requestBody": REQUEST_BODY}, responses={200: RESULT, **_ERRORS})
async def removebg(request: Request, response: Response, state: StateDep, principal: Caller,
                   idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Response:
    """Remove the background, remove.bg-style: answers with the result (or an error) once the task is done."""
    account_id = principal.account.id
    inp = await read_input(request, state.settings)
    tr = translate(inp.fields, has_bg_file=inp.bg_image_data is not None)
    preset = default_preset(state)
    options = dict(tr.options)
    bg = await run_in_threadpool(_background, inp.bg_image_data, tr.bg_image_url, state,
                                 tr.options.get("max_megapixels"))
    if bg is not None:
        options["bg_image"] = bg
    task_request = TaskRequest(model=preset.name, output_format=tr.output_format, options=options,
                               source_url=inp.image_url, input_data=inp.image_data)
    with disk_full_as_storage_full(UPLOAD_STORAGE_FULL):
        task, created = await run_in_threadpool(
            submit_task, state.db, state.blobs, state.queue, state.settings, account_id=account_id,
            request=task_request, credits_cost=preset.credits, idempotency_key=idempotency_key)
    if created:
        state.metrics.submitted.labels(preset.name).inc()
        log.info("task %s submitted (%s, remove.bg protocol)", task.id, preset.name,
                 extra={"request_id": getattr(request.state, "request_id", None), "task_id": task.id})
    task = await _wait(state, task, account_id)
    headers = {k: v for k, v in response.headers.items() if k.lower().startswith("x-ratelimit")}
    if task.status != SUCCEEDED:
        if not task.final or task.status == "canceled":
            wait = f"task {task.id} did not finish within {state.settings.removebg_wait_s:g} s"
            detail = (f"{wait}; it was canceled and refunded: call again (with a new Idempotency-Key, if you sent one)"
                      if task.final else f"{wait}; it is running and is charged if it succeeds: repeat the call "
                      "with the same Idempotency-Key to collect its result without a second charge")
            return removebg_error(PROCESSING_TIMEOUT, detail, headers={**headers, "Retry-After": "5"})
        return removebg_error(task.error_code or "internal_error", task.error_message or "the task failed",
                              headers=headers)
    task, data = await run_in_threadpool(read_result, state.db, state.blobs, task.id, account_id=account_id)
    as_json = "application/json" in request.headers.get("accept", "").lower()
    return await run_in_threadpool(result_response, task, data, type_hint=tr.type_hint, as_json=as_json,
                                   headers=headers)


@router.get("/v1.0/account", responses=_ERRORS)
def account(state: StateDep, principal: Caller) -> dict[str, Any]:
    """The credit balance, in remove.bg's account shape (all credits are pay-as-you-go)."""
    bal = credits.balance(state.db, account_id=principal.account.id)
    return account_body(bal.credits)
