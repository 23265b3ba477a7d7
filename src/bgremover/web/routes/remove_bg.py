"""POST /api/v1/images/tools/remove-bg: accept an image (URL, data: URI or upload), reserve credits, queue a task."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from bgremover.errors import ImageTooLarge, ModelNotAvailable
from bgremover.fetching import decode_data_uri, is_data_uri, parse_target_url
from bgremover.pipeline.remover import CutoutOptions
from bgremover.service.errors import ValidationFailed, disk_full_as_storage_full
from bgremover.service.tasks import TaskRequest, get_task, submit_task
from bgremover.web.deps import Auth, StateDep
from bgremover.web.schemas import ErrorEnvelope, RemoveBgRequest, TaskAccepted, TaskPublic
from bgremover.web.state import AppState
from bgremover.web.views import task_public

router = APIRouter(tags=["remove-bg"])
log = logging.getLogger(__name__)

FORM_FIELDS = set(RemoveBgRequest.model_fields) - {"image"}
# The API writes to disk twice: Starlette spools a multipart upload over 1 MiB to a temporary file, and an
# upload or data: URI is stored for the worker (submit_task). A full disk at either is a 507, never a 500.
UPLOAD_STORAGE_FULL = "the server has no space left to store this request; try again later"
REQUEST_BODY: dict[str, Any] = {"content": {
    "application/json": {"schema": RemoveBgRequest.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "required": ["image_file"], "properties": {
        "image_file": {"type": "string", "format": "binary"},
        **{k: {"type": "string"} for k in sorted(FORM_FIELDS)}}}}}}


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes ``limit`` (a data: URI of the largest accepted image fits)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ImageTooLarge(f"the request body is over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ImageTooLarge(f"the request body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _parse(request: Request, max_bytes: int) -> tuple[RemoveBgRequest, bytes | None]:
    ctype = request.headers.get("content-type", "")
    upload: bytes | None = None
    try:
        if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes + 65536:
                raise ImageTooLarge(f"the upload is over {max_bytes} bytes")
            with disk_full_as_storage_full(UPLOAD_STORAGE_FULL):
                form = await request.form(max_files=1, max_fields=20)
            fields: dict[str, Any] = {}
            for key, value in form.multi_items():
                if key == "image_file" and isinstance(value, UploadFile):
                    upload = await value.read(max_bytes + 1)
                    if len(upload) > max_bytes:
                        raise ImageTooLarge(f"the upload is over {max_bytes} bytes")
                elif key in FORM_FIELDS | {"image"} and isinstance(value, str):
                    fields[key] = value
                else:
                    raise ValidationFailed(f"unexpected form field {key!r}")
            return RemoveBgRequest.model_validate(fields), upload
        body = await _read_body(request, max_bytes * 4 // 3 + 4096)  # JSON, whatever the client called it
        return RemoveBgRequest.model_validate_json(body), None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err.get("loc", ())) or "body"
        raise ValidationFailed(f"{loc}: {err.get('msg', 'invalid')}") from None


def _source(req: RemoveBgRequest, upload: bytes | None, settings_max: int) -> tuple[str | None, bytes | None]:
    if (req.image is None) == (upload is None):
        raise ValidationFailed("give exactly one of `image` (URL or data: URI) and an `image_file` upload")
    if upload is not None:
        if not upload:
            raise ValidationFailed("the uploaded image_file is empty")
        return None, upload
    image = req.image.strip()  # type: ignore[union-attr]
    if is_data_uri(image):
        return None, decode_data_uri(image, max_bytes=settings_max)[0]
    if urlsplit(image).scheme.lower() not in ("http", "https"):
        raise ValidationFailed("`image` must be an http(s) URL or a data: URI")
    parse_target_url(image)  # malformed or with credentials: refused now, nothing stored or charged
    return image, None


def _check_model(state: AppState, name: str | None) -> Any:
    preset = state.remover.preset(name or state.settings.default_model)  # UnknownModel → unsupported_model
    missing = [m for m in preset.models if not state.remover.registry.is_available(m)]
    if missing:
        raise ModelNotAvailable(f"model {preset.name} is not installed on this endpoint")
    return preset


@router.post("/api/v1/images/tools/remove-bg", status_code=202, openapi_extra={"requestBody": REQUEST_BODY},
             responses={202: {"model": TaskAccepted, "description": "queued; poll the Location"},
                        200: {"model": TaskPublic, "description": "with `wait`: the finished task"},
                        400: {"model": ErrorEnvelope}, 401: {"model": ErrorEnvelope},
                        402: {"model": ErrorEnvelope}, 429: {"model": ErrorEnvelope}})
async def remove_bg(request: Request, response: Response, state: StateDep, principal: Auth,
                    idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    """Queue a background removal. Answers 202 at once, or 200 with the finished task when `wait` allows."""
    settings = state.settings
    req, upload = await _parse(request, settings.max_image_bytes)
    preset = _check_model(state, req.model)
    options = {"channels": req.channels, "crop": req.crop, "crop_margin": req.crop_margin, "bg_color": req.bg_color}
    try:
        CutoutOptions(model=preset.name, format=req.output_format, **options).validate()
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    source_url, data = await run_in_threadpool(_source, req, upload, settings.max_image_bytes)
    task_request = TaskRequest(model=preset.name, output_format=req.output_format, options=options,
                               source_url=source_url, input_data=data)
    with disk_full_as_storage_full(UPLOAD_STORAGE_FULL):  # submit_task stores the image before it reserves
        task, created = await run_in_threadpool(
            submit_task, state.db, state.blobs, state.queue, settings, account_id=principal.account.id,
            request=task_request, credits_cost=preset.credits, idempotency_key=idempotency_key)
    if created:
        state.metrics.submitted.labels(preset.name).inc()
        # ties the request id (access log) to the task id (worker logs) in one line
        log.info("task %s submitted (%s)", task.id, preset.name,
                 extra={"request_id": getattr(request.state, "request_id", None), "task_id": task.id})
    deadline = time.monotonic() + req.wait
    while not task.final and time.monotonic() < deadline:
        await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        task = await run_in_threadpool(get_task, state.db, task.id)
    headers = {k: v for k, v in response.headers.items() if k.lower().startswith("x-ratelimit")}
    headers["Location"] = f"/api/v1/tasks/{task.id}"
    if task.final:
        return JSONResponse(task_public(state, request, task).model_dump(mode="json"), status_code=200,
                            headers=headers)
    accepted = TaskAccepted(task_id=task.id, status=task.status, model=task.model,
                            credits_reserved=task.credits_reserved, created_at=task.created_at)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202, headers=headers)
