"""POST /api/v1/images/tools/remove-bg: parse the request, submit it (``service/submission.py``), answer."""
from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from bgremover.errors import ImageTooLarge
from bgremover.service.errors import ValidationFailed, disk_full_as_storage_full
from bgremover.service.submission import STORAGE_FULL_MESSAGE, Submission, submit_removal
from bgremover.service.tasks import TaskRecord, get_task
from bgremover.web.deps import Auth, StateDep
from bgremover.web.schemas import ErrorEnvelope, RemoveBgRequest, TaskAccepted, TaskPublic
from bgremover.web.state import AppState
from bgremover.web.views import task_public

router = APIRouter(tags=["remove-bg"])
log = logging.getLogger(__name__)

FORM_FIELDS = set(RemoveBgRequest.model_fields) - {"image"}
# Starlette spools a multipart upload over 1 MiB to a temporary file: a full disk there is a 507, as it is where
# the service stores the image for the worker (service/submission.py), never a 500.
REQUEST_BODY: dict[str, Any] = {"content": {
    "application/json": {"schema": RemoveBgRequest.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "required": ["image_file"], "properties": {
        "image_file": {"type": "string", "format": "binary"},
        **{k: {"type": "string"} for k in sorted(FORM_FIELDS)}}}}}}


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes ``limit`` (a data: URI of the largest accepted image fits); the
    remove.bg route reads its JSON and form bodies with it too."""
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
            with disk_full_as_storage_full(STORAGE_FULL_MESSAGE):
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
        body = await read_body(request, max_bytes * 4 // 3 + 4096)  # JSON, whatever the client called it
        return RemoveBgRequest.model_validate_json(body), None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err.get("loc", ())) or "body"
        raise ValidationFailed(f"{loc}: {err.get('msg', 'invalid')}") from None


@router.post("/api/v1/images/tools/remove-bg", status_code=202, openapi_extra={"requestBody": REQUEST_BODY},
             responses={202: {"model": TaskAccepted, "description": "queued; poll the Location"},
                        200: {"model": TaskPublic, "description": "with `wait`: the finished task"},
                        400: {"model": ErrorEnvelope}, 401: {"model": ErrorEnvelope},
                        402: {"model": ErrorEnvelope}, 429: {"model": ErrorEnvelope}})
async def remove_bg(request: Request, response: Response, state: StateDep, principal: Auth,
                    idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    """Queue a background removal. Answers 202 at once, or 200 with the finished task when `wait` allows."""
    submission, wait = await parse_submission(request, state.settings.max_image_bytes)
    task, created = await run_in_threadpool(
        submit_removal, state.db, state.blobs, state.queue, state.models, account_id=principal.account.id,
        submission=submission, idempotency_key=idempotency_key)
    return await answer_submission(request, response, state, task, created=created, wait=wait)


def submission_of(req: RemoveBgRequest, upload: bytes | None) -> Submission:
    options = {"channels": req.channels, "crop": req.crop, "crop_margin": req.crop_margin, "bg_color": req.bg_color}
    return Submission(image=req.image, upload=upload, model=req.model, output_format=req.output_format,
                      options=options, provider=req.provider)


async def parse_submission(request: Request, max_bytes: int) -> tuple[Submission, float]:
    """The request's submission and its ``wait``: the API and the console parse the same body the same way."""
    req, upload = await _parse(request, max_bytes)
    return submission_of(req, upload), req.wait


async def answer_submission(request: Request, response: Response, state: AppState, task: TaskRecord, *,
                            created: bool, wait: float) -> JSONResponse:
    """202 with the accepted task, or 200 with the final one when it finishes within ``wait`` seconds."""
    if created:
        state.metrics.submitted.labels(task.model).inc()
        # ties the request id (access log) to the task id (worker logs) in one line
        log.info("task %s submitted (%s)", task.id, task.model,
                 extra={"request_id": getattr(request.state, "request_id", None), "task_id": task.id})
    if not task.final and wait > 0:
        await state.watch.until_final(task.id, wait)
        task = await run_in_threadpool(get_task, state.db, task.id)
    headers = {k: v for k, v in response.headers.items() if k.lower().startswith("x-ratelimit")}
    headers["Location"] = f"/api/v1/tasks/{task.id}"
    if task.final:
        return JSONResponse(task_public(state, request, task).model_dump(mode="json"), status_code=200,
                            headers=headers)
    accepted = TaskAccepted(task_id=task.id, status=task.status, model=task.model,
                            credits_reserved=task.credits_reserved, created_at=task.created_at)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202, headers=headers)
