"""Tasks: poll, list, cancel, and download the result (owner's key, or a signed URL)."""
from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from bgremover.service import results
from bgremover.service.errors import ResultExpired, TaskNotFound, Unauthorized
from bgremover.service.tasks import cancel_task, get_task, list_tasks
from bgremover.web.deps import Auth, OptionalAuth, StateDep
from bgremover.web.schemas import ErrorEnvelope, TaskPublic, TasksPage
from bgremover.web.views import task_public

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"],
                   responses={401: {"model": ErrorEnvelope}, 404: {"model": ErrorEnvelope}})

STATUSES = "^(queued|processing|succeeded|failed|canceled)$"


@router.get("", response_model=TasksPage)
def list_my_tasks(request: Request, state: StateDep, principal: Auth,
                  limit: Annotated[int, Query(ge=1, le=100)] = 20, offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
                  status: Annotated[str | None, Query(pattern=STATUSES)] = None) -> TasksPage:
    """The caller's tasks, newest first, paged with `limit` and `offset`."""
    rows, total = list_tasks(state.db, account_id=principal.account.id, limit=limit, offset=offset, status=status)
    nxt = offset + len(rows) if offset + len(rows) < total else None
    return TasksPage(tasks=[task_public(state, request, t) for t in rows], total=total, limit=limit, offset=offset,
                     next_offset=nxt)


@router.get("/{task_id}", response_model=TaskPublic)
def get_my_task(task_id: str, request: Request, state: StateDep, principal: Auth) -> TaskPublic:
    return task_public(state, request, get_task(state.db, task_id, account_id=principal.account.id))


@router.delete("/{task_id}", response_model=TaskPublic, responses={409: {"model": ErrorEnvelope}})
def cancel_my_task(task_id: str, request: Request, state: StateDep, principal: Auth) -> TaskPublic:
    """Cancel a queued task and refund its credits (a task already processing cannot be canceled)."""
    task = cancel_task(state.db, state.blobs, task_id=task_id, account_id=principal.account.id)
    return task_public(state, request, task)


@router.get("/{task_id}/result", response_class=Response,
            responses={200: {"content": {"image/png": {}, "image/webp": {}}}, 410: {"model": ErrorEnvelope}})
async def download_result(task_id: str, state: StateDep, principal: OptionalAuth,
                          expires: int | None = None, signature: str | None = None) -> Response:
    """The result image, for the owner's key or for anyone holding the signed URL from the task object."""
    if expires is not None and signature is not None:
        if not results.verify_result_signature(state.secret, task_id, expires, signature):
            raise TaskNotFound(f"no task {task_id}")
        if expires <= time.time():  # a URL signed for an earlier expiry stops working then
            raise ResultExpired(f"this result URL expired; get a fresh one from GET /api/v1/tasks/{task_id}")
        account_id = None
    elif principal is not None:
        account_id = principal.account.id
    else:
        raise Unauthorized("send the owner's API key or use the signed result URL")
    task, data = await run_in_threadpool(results.read_result, state.db, state.blobs, task_id, account_id=account_id)
    return Response(data, media_type=task.result_content_type,
                    headers={"Cache-Control": "private, max-age=300",
                             "Content-Disposition": f'inline; filename="{task.id}.{task.output_format}"'})
