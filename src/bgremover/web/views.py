"""Service records → public response models (the only place that builds result URLs)."""
from __future__ import annotations

from fastapi import Request

from bgremover.service.results import result_url_query
from bgremover.service.tasks import TaskRecord
from bgremover.web.schemas import ErrorBody, TaskPublic, TaskResult
from bgremover.web.state import AppState


def task_public(state: AppState, request: Request, task: TaskRecord) -> TaskPublic:
    result = None
    if task.result_available and task.result_expires_at is not None:
        base = (state.settings.public_url or str(request.base_url)).rstrip("/")
        url = f"{base}/api/v1/tasks/{task.id}/result?{result_url_query(state.secret, task)}"
        result = TaskResult(url=url, content_type=task.result_content_type or "", width=task.result_width or 0,
                            height=task.result_height or 0, bytes=task.result_bytes or 0,
                            expires_at=task.result_expires_at)
    error = ErrorBody(code=task.error_code, message=task.error_message or "") if task.error_code else None
    return TaskPublic(task_id=task.id, status=task.status, model=task.model,  # type: ignore[arg-type]
                      output_format=task.output_format, credits_reserved=task.credits_reserved,
                      credits_charged=task.credits_charged, created_at=task.created_at, started_at=task.started_at,
                      finished_at=task.finished_at, result=result, error=error,
                      provider=task.provider)
