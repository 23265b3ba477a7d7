"""/console: try the endpoint in the browser, through the very same route code and credits as the API.

``POST /console/remove-bg`` authenticates by the session (plus the ``X-CSRF-Token`` header) and then calls
the API's own ``remove_bg`` handler, which parses the body, checks the model, reserves its credits and
queues the task with ``submit_task``; only the way the caller proved who they are differs. Console
requests count against the account's own rate-limit bucket, as a key's requests count against the key's.
"""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bgremover.service.tasks import get_task
from bgremover.web.dashboard.render import render
from bgremover.web.dashboard.session import Session, check_header_csrf
from bgremover.web.deps import Principal, StateDep, enforce_rate_limit
from bgremover.web.routes.remove_bg import remove_bg
from bgremover.web.views import task_public

router = APIRouter(include_in_schema=False)


def console_principal(session: Session) -> Principal:
    """The session's account; key id ``-account_id`` gives the console a rate-limit bucket of its own."""
    return Principal(account=session.account, key_id=-session.account.id)


@router.get("/console")
def console_page(request: Request, state: StateDep, session: Session) -> Response:
    return render(request, "console.html", session, default_model=state.settings.default_model,
                  max_mb=state.settings.max_image_bytes // (1024 * 1024))


@router.post("/console/remove-bg")
async def console_remove_bg(request: Request, response: Response, state: StateDep, session: Session) -> JSONResponse:
    check_header_csrf(request, session)
    principal = console_principal(session)
    enforce_rate_limit(state, principal, response, submission=True)
    return await remove_bg(request, response, state, principal, idempotency_key=None)


@router.get("/console/tasks/{task_id}")
async def console_task(task_id: str, request: Request, state: StateDep, session: Session) -> JSONResponse:
    task = await run_in_threadpool(get_task, state.db, task_id, account_id=session.account.id)
    return JSONResponse(task_public(state, request, task).model_dump(mode="json"))
