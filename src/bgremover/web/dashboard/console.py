"""/console: try the endpoint in the browser, through the very same route code and credits as the API.

``POST /console/remove-bg`` authenticates by the session (plus the ``X-CSRF-Token`` header), parses the body
as the API does, and submits it to the same service call (``service.submission.submit_removal``: model,
options, source, credits, queue); only the way the caller proved who they are differs. Console requests
count against the account's own rate-limit bucket, as a key's requests count against the key's.
"""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bgremover.service.submission import submit_removal
from bgremover.service.tasks import get_task
from bgremover.web.dashboard.render import render
from bgremover.web.dashboard.session import Session, check_header_csrf
from bgremover.web.deps import Principal, StateDep, enforce_rate_limit
from bgremover.web.routes.remove_bg import answer_submission, parse_submission
from bgremover.web.views import task_public

router = APIRouter(include_in_schema=False)


def console_principal(session: Session) -> Principal:
    """The session's account; key id ``-account_id`` gives the console a rate-limit bucket of its own."""
    return Principal(account=session.account, key_id=-session.account.id)


@router.get("/console")
def console_page(request: Request, state: StateDep, session: Session) -> Response:
    return render(request, "console.html", session, default_model=state.models.default_name,
                  max_mb=state.settings.max_image_bytes // (1024 * 1024))


@router.post("/console/remove-bg")
async def console_remove_bg(request: Request, response: Response, state: StateDep, session: Session) -> JSONResponse:
    check_header_csrf(request, session)
    principal = console_principal(session)
    enforce_rate_limit(state, principal, response, submission=True)
    submission, wait = await parse_submission(request, state.settings.max_image_bytes)
    task, created = await run_in_threadpool(submit_removal, state.db, state.blobs, state.queue, state.models,
                                            account_id=principal.account.id, submission=submission)
    return await answer_submission(request, response, state, task, created=created, wait=wait)


@router.get("/console/tasks/{task_id}")
async def console_task(task_id: str, request: Request, state: StateDep, session: Session) -> JSONResponse:
    task = await run_in_threadpool(get_task, state.db, task_id, account_id=session.account.id)
    return JSONResponse(task_public(state, request, task).model_dump(mode="json"))
